//! What a refusal from the IdP or the workspace means, and what the user should run.
//!
//! Every known error body — RFC 6749 codes, Entra's `AADSTS` codes inside
//! `error_description`, Databricks' exchange refusals — maps to one line saying what happened
//! and one `hint:`, with a stable exit code. Sign-in refusals that another interactive sign-in
//! fixes (a dead or revoked refresh token, MFA now required) are marked so the session falls
//! back to a sign-in (or exits 3 with `--no-login`). The catalogue of bodies and the exact
//! lines they produce lives in `tests/errors/catalogue.json` (golden tests).

use crate::config::Profile;
use crate::error::{UserError, exit};
use crate::token_endpoint::TokenError;

/// Which request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// The authorization code or device code redemption at the IdP.
    SignIn,
    /// The refresh grant at the IdP.
    Refresh,
    /// The RFC 8693 exchange at the workspace.
    Exchange,
}

/// The user-facing reading of a refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advice {
    pub message: String,
    pub hint: String,
    pub code: u8,
    /// Another interactive sign-in is the fix (and the session may start one).
    pub needs_login: bool,
}

impl Advice {
    pub fn into_error(self) -> UserError {
        UserError::new(self.code, self.message, self.hint)
    }
}

/// The Entra ID error number in a description (`AADSTS700082: …` → `700082`).
pub fn aadsts(description: &str) -> Option<&str> {
    let rest = &description[description.find("AADSTS")? + 6..];
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    (end > 0).then(|| &rest[..end])
}

/// Read a refusal. `profile` supplies the names a hint should quote.
pub fn advise(endpoint: Endpoint, err: &TokenError, profile: &Profile) -> Advice {
    let what = match endpoint {
        Endpoint::SignIn => "the identity provider refused the sign-in",
        Endpoint::Refresh => "the identity provider refused to refresh the sign-in",
        Endpoint::Exchange => "the workspace refused the token exchange",
    };
    let fail = |hint: String| Advice {
        message: format!("{what}: {err}"),
        hint,
        code: exit::FAILURE,
        needs_login: false,
    };
    let relogin = |why: &str| Advice {
        message: format!("{what}: {why} ({err})"),
        hint: "run `gw login` (or `gw login --device` on a machine without a browser)".into(),
        code: exit::LOGIN_REQUIRED,
        needs_login: true,
    };
    let client = &profile.idp.client_id;
    let issuer = &profile.idp.issuer;
    let (status, error, description) = match err {
        TokenError::Rejected {
            status,
            error,
            description,
            ..
        } => (
            *status,
            error.as_str(),
            description.as_deref().unwrap_or(""),
        ),
        TokenError::Unexpected { .. } => {
            return fail(match endpoint {
                Endpoint::Exchange => format!(
                    "the workspace or a proxy in front of it failed; try again later and check `databricks_host` (`{}`)",
                    profile.databricks_host
                ),
                _ => {
                    "the identity provider or a proxy in front of it failed; try again later".into()
                }
            });
        }
        TokenError::Http(_) => {
            return fail(
                "check your network and proxy (`HTTPS_PROXY`, `NO_PROXY`), then run `gw doctor`"
                    .into(),
            );
        }
    };
    if endpoint == Endpoint::Exchange {
        return fail(match (status, error) {
            (400, "invalid_grant") | (400, "invalid_target") => format!(
                "the account's federation policy must list `{client}` in its audiences: `gw-admin setup-federation --audience {client}`"
            ),
            (401, _) => format!(
                "the federation policy must name the issuer `{issuer}` exactly, and your user must exist in the Databricks account; ask your account admin (`gw-admin setup-federation`)"
            ),
            (403, _) => format!(
                "no federation policy matches your token (issuer `{issuer}`, audience `{client}`), or your user lacks access; ask your account admin (`gw-admin setup-federation`, `gw-admin grant`)"
            ),
            (400, _) => "the request was malformed; this is a bug in gw, please report it with `gw -vv token`".into(),
            (429, _) | (500..=599, _) => "the workspace is busy or failing; try again in a minute".into(),
            _ => "run `gw doctor`, then ask your Databricks admin".into(),
        });
    }
    match aadsts(description) {
        Some("50173") => {
            return relogin("the saved sign-in was revoked (password changed or sessions revoked)");
        }
        Some("700082" | "700084") => {
            return relogin("the saved sign-in expired after a long time unused");
        }
        Some("50076" | "50079" | "50158") => {
            return relogin("the identity provider now requires multi-factor authentication");
        }
        Some("53003") => {
            return fail("a Conditional Access policy blocked the sign-in: sign in from a compliant device or network, or ask your IT admin".into());
        }
        Some("65001") => {
            return fail(format!(
                "an Entra ID administrator must grant consent for the app `{client}` (admin consent)"
            ));
        }
        Some("7000218") => {
            return fail(format!(
                "enable \"Allow public client flows\" on the app registration `{client}` in Entra ID"
            ));
        }
        Some("9002327") => {
            return fail(format!(
                "the app `{client}` registers its redirect URI as a single-page application: in Entra ID, add `http://localhost` under \"Mobile and desktop applications\" instead"
            ));
        }
        Some("700016") => {
            return fail(format!(
                "the app `{client}` does not exist in this tenant: check `idp.client_id` and `idp.tenant_id`"
            ));
        }
        _ => {}
    }
    match error {
        "invalid_grant" if endpoint == Endpoint::Refresh => {
            relogin("the saved sign-in is no longer valid")
        }
        "interaction_required" | "login_required" | "consent_required" => {
            relogin("the identity provider needs you to sign in again")
        }
        "invalid_grant" => {
            fail("the sign-in expired or was already used; run `gw login` again".into())
        }
        "invalid_client" | "unauthorized_client" => fail(format!(
            "check `idp.client_id` (`{client}`): it must be a public client allowed to use this flow (Entra ID: \"Allow public client flows\")"
        )),
        "invalid_scope" => {
            fail("check `idp.scopes`: the identity provider does not allow one of them".into())
        }
        "temporarily_unavailable" | "server_error" => {
            fail("the identity provider is failing; try again in a minute".into())
        }
        _ if status == 429 || status >= 500 => {
            fail("the identity provider is busy or failing; try again in a minute".into())
        }
        _ => fail("run `gw login` again; if it persists, run `gw doctor`".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aadsts_numbers_are_found_in_descriptions() {
        assert_eq!(
            aadsts("AADSTS700082: The refresh token has expired"),
            Some("700082")
        );
        assert_eq!(aadsts("x AADSTS50076 y"), Some("50076"));
        assert_eq!(aadsts("AADSTS"), None);
        assert_eq!(aadsts("no code"), None);
    }
}
