//! Authorization Code + PKCE in the user's browser (RFC 6749 §4.1, RFC 7636, RFC 8252).
//!
//! 1. Bind the loopback listener (its port decides the redirect URI).
//! 2. Fresh `state`, `nonce`, PKCE verifier (S256) for this attempt only.
//! 3. Print the authorization URL on stderr, then open it.
//! 4. Wait for the one valid callback (see [`super::loopback`]).
//! 5. Redeem the code with the verifier at the token endpoint.
//!
//! The ID token is verified by the caller, with the returned nonce.

use std::time::Duration;

use openidconnect::core::{CoreAuthenticationFlow, CoreClient};
use openidconnect::{AuthUrl, ClientId, CsrfToken, IssuerUrl, Nonce, RedirectUrl, Scope};

use crate::config::IdpSettings;
use crate::http::Http;
use crate::idp::browser::OpenUrl;
use crate::idp::discovery::ProviderMetadata;
use crate::idp::loopback::{CallbackError, Listener};
use crate::idp::pkce::AuthRequestSecrets;
use crate::secret::Secret;
use crate::token_endpoint::{self, Answer, TokenError, TokenResponse};

/// Why the browser sign-in failed.
#[derive(Debug, thiserror::Error)]
pub enum BrowserLoginError {
    #[error(transparent)]
    Callback(#[from] CallbackError),
    #[error("cannot redeem the authorization code: {0}")]
    Token(#[from] TokenError),
}

/// Tokens from a completed sign-in, with the nonce the ID token must carry.
pub struct Completed {
    pub answer: Answer<TokenResponse>,
    pub nonce: Option<Secret>,
}

/// Run the whole browser sign-in.
pub async fn login(
    http: &Http,
    idp: &IdpSettings,
    meta: &ProviderMetadata,
    opener: &dyn OpenUrl,
    timeout: Duration,
) -> Result<Completed, BrowserLoginError> {
    let listener = Listener::bind(&idp.redirect).await?;
    let secrets = AuthRequestSecrets::generate();
    let uses_nonce = idp.proof.uses_nonce();
    let url = authorization_url(meta, idp, listener.redirect_uri(), &secrets, uses_nonce);
    eprintln!("Sign in at your identity provider in the browser.");
    eprintln!("If no browser opens, visit this URL:\n\n  {url}\n");
    // The opener gets a one-shot link that reveals nothing (its arguments are public).
    let opened = opener.opens()
        && match opener.open(&listener.start_url()) {
            Ok(()) => true,
            Err(e) => {
                eprintln!("note: could not open a browser ({e}); open the URL above yourself");
                false
            }
        };
    let redirect_uri = listener.redirect_uri().to_owned();
    let code = listener
        .wait(
            &secrets.state,
            &meta.issuer,
            meta.authorization_response_iss_parameter_supported,
            timeout,
            opened.then_some(url.as_str()),
        )
        .await?;
    let answer = token_endpoint::post::<TokenResponse>(
        http,
        &meta.token_endpoint,
        &[
            ("grant_type", "authorization_code"),
            ("code", code.expose()),
            ("redirect_uri", &redirect_uri),
            ("client_id", &idp.client_id),
            ("code_verifier", secrets.verifier.expose()),
        ],
    )
    .await?;
    Ok(Completed {
        answer,
        nonce: uses_nonce.then_some(secrets.nonce),
    })
}

/// The authorization request URL (RFC 6749 §4.1.1 with PKCE): an OpenID Connect request by
/// openidconnect (`openid` scope first, `nonce`) when the ID token is the proof, else a plain
/// OAuth request by oauth2 (the scopes as configured, no `nonce`). A query the endpoint
/// already has (Azure AD B2C's `p=`) is kept.
pub fn authorization_url(
    meta: &ProviderMetadata,
    idp: &IdpSettings,
    redirect_uri: &str,
    secrets: &AuthRequestSecrets,
    with_nonce: bool,
) -> String {
    let auth = AuthUrl::new(meta.authorization_endpoint.clone())
        .unwrap_or_else(|_| AuthUrl::new("https://invalid.invalid/".into()).expect("static URL"));
    let redirect = RedirectUrl::new(redirect_uri.to_owned())
        .unwrap_or_else(|_| RedirectUrl::new("http://127.0.0.1/".into()).expect("static URL"));
    let client_id = ClientId::new(idp.client_id.clone());
    let state = secrets.state.expose().to_owned();
    if with_nonce {
        let nonce = secrets.nonce.expose().to_owned();
        let issuer = IssuerUrl::new(idp.issuer.clone()).unwrap_or_else(|_| {
            IssuerUrl::new("https://invalid.invalid/".into()).expect("static URL")
        });
        let client = CoreClient::new(client_id, issuer, Default::default())
            .set_auth_uri(auth)
            .set_redirect_uri(redirect);
        let scopes = idp.scopes.iter().filter(|s| *s != "openid");
        let (url, _, _) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || CsrfToken::new(state),
                move || Nonce::new(nonce),
            )
            .add_scopes(scopes.map(|s| Scope::new(s.clone())))
            .set_pkce_challenge(secrets.challenge.clone())
            .url();
        url.into()
    } else {
        let client = oauth2::basic::BasicClient::new(client_id)
            .set_auth_uri(auth)
            .set_redirect_uri(redirect);
        let (url, _) = client
            .authorize_url(move || CsrfToken::new(state))
            .add_scopes(idp.scopes.iter().map(|s| Scope::new(s.clone())))
            .set_pkce_challenge(secrets.challenge.clone())
            .url();
        url.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idp() -> IdpSettings {
        crate::config::Config::parse(
            "[profiles.p]\ndatabricks_host = \"https://h\"\n[profiles.p.idp]\nkind = \"oidc\"\nissuer = \"https://idp\"\nclient_id = \"c\"\n",
            std::path::Path::new("c.toml"),
        )
        .unwrap()
        .profiles["p"]
        .idp
        .clone()
    }

    fn meta(authorization_endpoint: &str, token_endpoint: &str) -> ProviderMetadata {
        ProviderMetadata {
            issuer: "https://idp".into(),
            authorization_endpoint: authorization_endpoint.into(),
            token_endpoint: token_endpoint.into(),
            jwks_uri: None,
            device_authorization_endpoint: None,
            authorization_response_iss_parameter_supported: false,
        }
    }

    #[test]
    fn an_authorization_endpoint_with_a_query_keeps_it() {
        let idp = idp();
        let meta = meta(
            "https://idp/authorize?p=B2C_1_signin",
            "https://idp/token?p=B2C_1_signin",
        );
        let url = authorization_url(
            &meta,
            &idp,
            "http://127.0.0.1:5/callback",
            &AuthRequestSecrets::generate(),
            true,
        );
        let parsed = url::Url::parse(&url).unwrap();
        let q: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
        assert_eq!(q[0], ("p".into(), "B2C_1_signin".into()), "{url}");
        assert!(q.iter().any(|(k, _)| k == "code_challenge"), "{url}");
    }

    #[test]
    fn an_oidc_request_carries_nonce_and_one_openid_scope_and_a_plain_one_neither() {
        let mut idp = idp();
        idp.scopes = vec!["openid".into(), "offline_access".into()];
        let meta = meta("https://idp/authorize", "https://idp/token");
        let secrets = AuthRequestSecrets::generate();
        let query = |idp: &IdpSettings, with_nonce| -> std::collections::HashMap<String, String> {
            let url = authorization_url(&meta, idp, "http://127.0.0.1:5/cb", &secrets, with_nonce);
            url::Url::parse(&url)
                .unwrap()
                .query_pairs()
                .into_owned()
                .collect()
        };
        let oidc = query(&idp, true);
        assert_eq!(oidc["scope"], "openid offline_access");
        assert_eq!(oidc["nonce"], secrets.nonce.expose());
        assert_eq!(oidc["state"], secrets.state.expose());
        assert_eq!(oidc["response_type"], "code");
        assert_eq!(oidc["redirect_uri"], "http://127.0.0.1:5/cb");
        assert_eq!(oidc["code_challenge"], secrets.challenge.as_str());
        assert_eq!(oidc["code_challenge_method"], "S256");
        idp.scopes = vec!["all-apis".into(), "offline_access".into()];
        let plain = query(&idp, false);
        assert_eq!(plain["scope"], "all-apis offline_access");
        assert!(!plain.contains_key("nonce"));
        assert_eq!(plain["state"], secrets.state.expose());
        assert_eq!(plain["code_challenge"], secrets.challenge.as_str());
    }
}
