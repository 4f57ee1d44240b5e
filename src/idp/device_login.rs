//! Device Authorization Grant (RFC 8628), for machines where no browser can reach a
//! loopback listener (SSH, containers, WSL).
//!
//! 1. POST the device authorization endpoint with the client id and scopes.
//! 2. Show the verification URI (the `_complete` one when sent) and the user code on stderr.
//! 3. Poll the token endpoint every `interval` seconds (5 when absent, RFC 8628 §3.2):
//!    `authorization_pending` → keep polling; `slow_down` → interval + 5 s (§3.5);
//!    `expired_token`, `access_denied` and Entra's `authorization_declined`,
//!    `bad_verification_code` → stop with a clear message; anything else → stop.
//!    The device code's `expires_in` bounds the whole wait.

use std::future::Future;
use std::time::Duration;

use serde::Deserialize;

use crate::config::IdpSettings;
use crate::http::Http;
use crate::idp::discovery::ProviderMetadata;
use crate::idp::token_endpoint::{self, Answer, TokenError, TokenResponse, lenient_u64};
use crate::secret::Secret;

pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";
const DEFAULT_INTERVAL: u64 = 5;
const SLOW_DOWN_STEP: u64 = 5;

/// Why the device sign-in failed.
#[derive(Debug, thiserror::Error)]
pub enum DeviceLoginError {
    #[error(
        "the identity provider has no device authorization endpoint (it does not support `--device`)"
    )]
    Unsupported,
    #[error("cannot start the device sign-in: {0}")]
    Start(TokenError),
    #[error("the code expired before the sign-in was approved")]
    Expired,
    #[error("the sign-in was declined at the identity provider")]
    Denied,
    #[error("the code was not recognised by the identity provider")]
    BadCode,
    #[error("the device sign-in failed: {0}")]
    Token(TokenError),
}

#[derive(Debug, Deserialize)]
struct DeviceAuthorization {
    device_code: Secret,
    user_code: String,
    #[serde(alias = "verification_url")]
    verification_uri: String,
    verification_uri_complete: Option<String>,
    #[serde(default, deserialize_with = "lenient_u64")]
    expires_in: Option<u64>,
    #[serde(default, deserialize_with = "lenient_u64")]
    interval: Option<u64>,
}

/// The decision after a poll error (RFC 8628 §3.5, plus Entra's own codes). Pure.
pub fn after_error(error: &str, interval: Duration) -> Result<Duration, &'static str> {
    match error {
        "authorization_pending" => Ok(interval),
        "slow_down" => Ok(interval + Duration::from_secs(SLOW_DOWN_STEP)),
        "expired_token" | "code_expired" => Err("expired"),
        "access_denied" | "authorization_declined" => Err("denied"),
        "bad_verification_code" => Err("bad_code"),
        _ => Err("other"),
    }
}

/// Run the device sign-in. `sleep` is injected so tests need not wait.
pub async fn login<S, F>(
    http: &Http,
    idp: &IdpSettings,
    meta: &ProviderMetadata,
    sleep: S,
) -> Result<Answer<TokenResponse>, DeviceLoginError>
where
    S: Fn(Duration) -> F,
    F: Future<Output = ()>,
{
    let endpoint = meta
        .device_authorization_endpoint
        .as_deref()
        .ok_or(DeviceLoginError::Unsupported)?;
    let scope = idp.scopes.join(" ");
    let start = token_endpoint::post::<DeviceAuthorization>(
        http,
        endpoint,
        &[("client_id", &idp.client_id), ("scope", &scope)],
    )
    .await
    .map_err(DeviceLoginError::Start)?
    .body;
    let shown = start
        .verification_uri_complete
        .as_deref()
        .unwrap_or(&start.verification_uri);
    eprintln!("To sign in, open this page on any device:\n\n  {shown}\n");
    eprintln!("and enter the code: {}\n", start.user_code);
    eprintln!("Waiting for the sign-in to be approved…");
    let mut interval = Duration::from_secs(start.interval.unwrap_or(DEFAULT_INTERVAL));
    let mut budget = Duration::from_secs(start.expires_in.unwrap_or(900));
    loop {
        if budget.is_zero() {
            return Err(DeviceLoginError::Expired);
        }
        let wait = interval.min(budget);
        sleep(wait).await;
        budget = budget.saturating_sub(wait);
        let answer = token_endpoint::post::<TokenResponse>(
            http,
            &meta.token_endpoint,
            &[
                ("grant_type", GRANT_TYPE),
                ("device_code", start.device_code.expose()),
                ("client_id", &idp.client_id),
            ],
        )
        .await;
        match answer {
            Ok(a) => return Ok(a),
            Err(e) => {
                let code = e.oauth_error().unwrap_or_default().to_owned();
                match after_error(&code, interval) {
                    Ok(next) => interval = next,
                    Err("expired") => return Err(DeviceLoginError::Expired),
                    Err("denied") => return Err(DeviceLoginError::Denied),
                    Err("bad_code") => return Err(DeviceLoginError::BadCode),
                    Err(_) => return Err(DeviceLoginError::Token(e)),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polling_rules_follow_rfc8628_and_entra() {
        let i = Duration::from_secs(5);
        assert_eq!(after_error("authorization_pending", i), Ok(i));
        assert_eq!(after_error("slow_down", i), Ok(Duration::from_secs(10)));
        assert_eq!(after_error("expired_token", i), Err("expired"));
        assert_eq!(after_error("access_denied", i), Err("denied"));
        assert_eq!(after_error("authorization_declined", i), Err("denied"));
        assert_eq!(after_error("bad_verification_code", i), Err("bad_code"));
        assert_eq!(after_error("invalid_client", i), Err("other"));
    }
}
