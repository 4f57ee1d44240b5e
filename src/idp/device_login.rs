//! Device Authorization Grant (RFC 8628), for machines where no browser can reach a
//! loopback listener (SSH, containers, WSL).
//!
//! 1. POST the device authorization endpoint with the client id and scopes.
//! 2. Show the verification URI (the `_complete` one when sent) and the user code on stderr,
//!    made safe for the terminal.
//! 3. Poll the token endpoint every `interval` seconds (5 when absent, RFC 8628 §3.2; held
//!    between 1 and 60 s, so a server's 0 is no hot loop and a huge value no overflow):
//!    `authorization_pending` → keep polling; `slow_down` → interval + 5 s (§3.5); a network
//!    failure or a 5xx → back off (interval doubled) and keep polling; `expired_token`,
//!    `access_denied` and Entra's `authorization_declined`, `bad_verification_code` → stop with
//!    a clear message; anything else → stop. [`after_error`] decides, as data.
//!    The device code's `expires_in` (at most 30 min) bounds the whole wait, on the clock.

use std::future::Future;
use std::time::Duration;

use serde::Deserialize;

use crate::config::IdpSettings;
use crate::http::Http;
use crate::idp::discovery::ProviderMetadata;
use crate::secret::Secret;
use crate::token_endpoint::{self, Answer, TokenError, TokenResponse, lenient_u64};

pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";
const DEFAULT_INTERVAL: u64 = 5;
const SLOW_DOWN_STEP: u64 = 5;
const MIN_INTERVAL: u64 = 1;
const MAX_INTERVAL: u64 = 60;
const DEFAULT_EXPIRES_IN: u64 = 900;
const MAX_EXPIRES_IN: u64 = 1800;

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

/// Why polling stopped without tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Expired,
    Denied,
    BadCode,
    /// Any other refusal: reported as it came.
    Other,
}

/// What to do after a poll that brought no tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Poll {
    /// Poll again after this interval.
    Again(Duration),
    Stop(Stop),
}

/// The first interval: the server's, held to 1–60 s, or 5 s. Pure.
pub fn first_interval(server: Option<u64>) -> Duration {
    Duration::from_secs(
        server
            .unwrap_or(DEFAULT_INTERVAL)
            .clamp(MIN_INTERVAL, MAX_INTERVAL),
    )
}

/// The decision after a poll error (RFC 8628 §3.5, plus Entra's own codes). Pure.
pub fn after_error(err: &TokenError, interval: Duration) -> Poll {
    let max = Duration::from_secs(MAX_INTERVAL);
    let back_off = Poll::Again((interval * 2).min(max));
    match err {
        TokenError::Rejected { error, status, .. } => match error.as_str() {
            "authorization_pending" => Poll::Again(interval),
            "slow_down" => Poll::Again((interval + Duration::from_secs(SLOW_DOWN_STEP)).min(max)),
            "expired_token" | "code_expired" => Poll::Stop(Stop::Expired),
            "access_denied" | "authorization_declined" => Poll::Stop(Stop::Denied),
            "bad_verification_code" => Poll::Stop(Stop::BadCode),
            "server_error" | "temporarily_unavailable" => back_off,
            _ if *status >= 500 => back_off,
            _ => Poll::Stop(Stop::Other),
        },
        TokenError::Http(_) => back_off,
        TokenError::Unexpected { status, .. } if *status >= 500 || *status == 429 => back_off,
        TokenError::Unexpected { .. } => Poll::Stop(Stop::Other),
    }
}

/// Run the device sign-in. `sleep` and `elapsed` (time since the start) are injected so
/// tests need not wait.
pub async fn login<S, F>(
    http: &Http,
    idp: &IdpSettings,
    meta: &ProviderMetadata,
    sleep: S,
    elapsed: &dyn Fn() -> Duration,
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
    eprintln!(
        "To sign in, open this page on any device:\n\n  {}\n",
        crate::sanitize::shown(shown)
    );
    eprintln!(
        "and enter the code: {}\n",
        crate::sanitize::shown(&start.user_code)
    );
    eprintln!("Waiting for the sign-in to be approved…");
    let mut interval = first_interval(start.interval);
    let deadline = Duration::from_secs(
        start
            .expires_in
            .unwrap_or(DEFAULT_EXPIRES_IN)
            .clamp(1, MAX_EXPIRES_IN),
    );
    loop {
        let left = deadline.saturating_sub(elapsed());
        if left.is_zero() {
            return Err(DeviceLoginError::Expired);
        }
        sleep(interval.min(left)).await;
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
            Err(e) => match after_error(&e, interval) {
                Poll::Again(next) => {
                    if next > interval {
                        crate::diag::debug!(
                            "device sign-in: polling every {} s now",
                            next.as_secs()
                        );
                    }
                    interval = next;
                }
                Poll::Stop(Stop::Expired) => return Err(DeviceLoginError::Expired),
                Poll::Stop(Stop::Denied) => return Err(DeviceLoginError::Denied),
                Poll::Stop(Stop::BadCode) => return Err(DeviceLoginError::BadCode),
                Poll::Stop(Stop::Other) => return Err(DeviceLoginError::Token(e)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(error: &str, status: u16) -> TokenError {
        TokenError::Rejected {
            url: "u".into(),
            status,
            error: error.into(),
            description: None,
        }
    }

    #[test]
    fn polling_rules_follow_rfc8628_and_entra() {
        let i = Duration::from_secs(5);
        let again = |s| Poll::Again(Duration::from_secs(s));
        assert_eq!(
            after_error(&rejected("authorization_pending", 400), i),
            again(5)
        );
        assert_eq!(after_error(&rejected("slow_down", 400), i), again(10));
        assert_eq!(
            after_error(&rejected("expired_token", 400), i),
            Poll::Stop(Stop::Expired)
        );
        assert_eq!(
            after_error(&rejected("access_denied", 400), i),
            Poll::Stop(Stop::Denied)
        );
        assert_eq!(
            after_error(&rejected("authorization_declined", 400), i),
            Poll::Stop(Stop::Denied)
        );
        assert_eq!(
            after_error(&rejected("bad_verification_code", 400), i),
            Poll::Stop(Stop::BadCode)
        );
        assert_eq!(
            after_error(&rejected("invalid_client", 401), i),
            Poll::Stop(Stop::Other)
        );
    }

    #[test]
    fn network_failures_and_5xx_back_off_instead_of_giving_up() {
        let i = Duration::from_secs(5);
        let html = TokenError::Unexpected {
            url: "u".into(),
            status: 502,
            detail: "HTTP 502 with a non-JSON body (text/html)".into(),
        };
        assert_eq!(after_error(&html, i), Poll::Again(Duration::from_secs(10)));
        let net = TokenError::Http(crate::http::HttpError::Unreachable {
            url: "u".into(),
            reason: "connection refused".into(),
        });
        assert_eq!(after_error(&net, i), Poll::Again(Duration::from_secs(10)));
        assert_eq!(
            after_error(&rejected("temporarily_unavailable", 503), i),
            Poll::Again(Duration::from_secs(10))
        );
        assert_eq!(
            after_error(&net, Duration::from_secs(50)),
            Poll::Again(Duration::from_secs(60)),
            "at most a minute"
        );
    }

    #[test]
    fn a_servers_interval_is_held_to_sane_bounds() {
        assert_eq!(first_interval(None), Duration::from_secs(5));
        assert_eq!(
            first_interval(Some(0)),
            Duration::from_secs(1),
            "no hot loop"
        );
        assert_eq!(first_interval(Some(u64::MAX)), Duration::from_secs(60));
        assert_eq!(
            after_error(&rejected("slow_down", 400), Duration::from_secs(60)),
            Poll::Again(Duration::from_secs(60)),
            "slow_down never overflows"
        );
    }
}
