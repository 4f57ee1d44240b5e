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

use url::Url;

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

/// The authorization request URL (RFC 6749 §4.1.1 with PKCE and OIDC `nonce`).
pub fn authorization_url(
    meta: &ProviderMetadata,
    idp: &IdpSettings,
    redirect_uri: &str,
    secrets: &AuthRequestSecrets,
    with_nonce: bool,
) -> String {
    let mut url = Url::parse(&meta.authorization_endpoint)
        .unwrap_or_else(|_| Url::parse("https://invalid.invalid/").expect("static URL"));
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", &idp.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", &idp.scopes.join(" "))
            .append_pair("state", secrets.state.expose())
            .append_pair("code_challenge", &secrets.challenge)
            .append_pair("code_challenge_method", "S256");
        if with_nonce {
            q.append_pair("nonce", secrets.nonce.expose());
        }
    }
    url.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_authorization_endpoint_with_a_query_keeps_it() {
        let idp = crate::config::Config::parse(
            "[profiles.p]\ndatabricks_host = \"https://h\"\n[profiles.p.idp]\nkind = \"oidc\"\nissuer = \"https://idp\"\nclient_id = \"c\"\n",
            std::path::Path::new("c.toml"),
        )
        .unwrap()
        .profiles["p"]
        .idp
        .clone();
        let meta = ProviderMetadata {
            issuer: "https://idp".into(),
            authorization_endpoint: "https://idp/authorize?p=B2C_1_signin".into(),
            token_endpoint: "https://idp/token?p=B2C_1_signin".into(),
            jwks_uri: None,
            device_authorization_endpoint: None,
            authorization_response_iss_parameter_supported: false,
        };
        let url = authorization_url(
            &meta,
            &idp,
            "http://127.0.0.1:5/callback",
            &AuthRequestSecrets::generate(),
            true,
        );
        let parsed = Url::parse(&url).unwrap();
        let q: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
        assert_eq!(q[0], ("p".into(), "B2C_1_signin".into()), "{url}");
        assert!(q.iter().any(|(k, _)| k == "code_challenge"), "{url}");
    }
}
