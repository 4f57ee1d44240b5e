//! Token endpoint requests (RFC 6749 §4.1.3, §6; RFC 8628 §3.4; RFC 8693) and their answers:
//! the plumbing the IdP sign-in flows and the Databricks exchange share.
//!
//! Every grant gw sends (authorization code, refresh, device code) is a form POST with the
//! client id in the body (public client) and an answer that is either a token response or an
//! RFC 6749 §5.2 error body. A non-JSON answer (an HTML 502 from a proxy) is reported as such,
//! never as a parse error.

use std::time::SystemTime;

use serde::{Deserialize, Deserializer};
use thiserror::Error;

use crate::http::{Http, HttpError};
use crate::secret::Secret;

/// A successful token response. Secrets are wrapped at this boundary.
#[derive(Debug, Deserialize)]
pub struct TokenResponse {
    pub access_token: Option<Secret>,
    pub id_token: Option<Secret>,
    pub refresh_token: Option<Secret>,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub expires_in: Option<u64>,
    pub token_type: Option<String>,
    pub scope: Option<String>,
}

/// A token response and the server's clock.
#[derive(Debug)]
pub struct Answer<T> {
    pub body: T,
    pub server_date: Option<SystemTime>,
}

/// Why a token request failed.
#[derive(Debug, Error)]
pub enum TokenError {
    #[error(transparent)]
    Http(#[from] HttpError),
    /// An RFC 6749 §5.2 error body.
    #[error("`{url}` answered HTTP {status}: {}", describe(error, description))]
    Rejected {
        url: String,
        status: u16,
        error: String,
        description: Option<String>,
    },
    #[error("`{url}` answered {detail}")]
    Unexpected {
        url: String,
        status: u16,
        detail: String,
    },
}

impl TokenError {
    /// The RFC 6749 `error` code, when the server sent one.
    pub fn oauth_error(&self) -> Option<&str> {
        match self {
            TokenError::Rejected { error, .. } => Some(error),
            _ => None,
        }
    }
}

fn describe(error: &str, description: &Option<String>) -> String {
    match description {
        Some(d) if !d.is_empty() => format!("{error}: {d}"),
        _ => error.to_owned(),
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    error: Option<String>,
    error_description: Option<String>,
    // Okta's own shape.
    #[serde(rename = "errorCode")]
    error_code: Option<String>,
    #[serde(rename = "errorSummary")]
    error_summary: Option<String>,
}

/// POST a form to a token endpoint and parse the answer as `T`.
///
/// # Security
/// `form` holds secrets. None of its values appears in the returned error: a server
/// description that echoes one is redacted.
pub async fn post<T: for<'de> Deserialize<'de>>(
    http: &Http,
    url: &str,
    form: &[(&str, &str)],
) -> Result<Answer<T>, TokenError> {
    let resp = http.post_form(url, form).await?;
    let secrets: Vec<&str> = form
        .iter()
        .filter(|(k, _)| SECRET_FIELDS.contains(k))
        .map(|(_, v)| *v)
        .collect();
    let body = interpret(url, &resp, &secrets)?;
    Ok(Answer {
        body,
        server_date: resp.date,
    })
}

/// What a token endpoint's response means: the parsed body, an RFC 6749 §5.2 rejection, or
/// an unexpected answer described without its content. Pure, so it can be fuzzed.
pub fn interpret<T: for<'de> Deserialize<'de>>(
    url: &str,
    resp: &crate::http::Response,
    secrets: &[&str],
) -> Result<T, TokenError> {
    // A 200 that carries an RFC 6749 error body is a refusal, not a success.
    if resp.is_success() && !error_in_success(&resp.body) {
        return serde_json::from_slice::<T>(&resp.body).map_err(|e| {
            let detail = if resp.is_json() {
                format!("HTTP {} with an unexpected JSON body: {e}", resp.status)
            } else {
                resp.describe()
            };
            TokenError::Unexpected {
                url: url.to_owned(),
                status: resp.status,
                detail: redact(&detail, secrets),
            }
        });
    }
    match serde_json::from_slice::<ErrorBody>(&resp.body) {
        Ok(e) if e.error.is_some() || e.error_code.is_some() => Err(TokenError::Rejected {
            url: url.to_owned(),
            status: resp.status,
            error: first_line(&redact(
                &e.error.or(e.error_code).unwrap_or_default(),
                secrets,
            )),
            description: e
                .error_description
                .or(e.error_summary)
                .map(|d| first_line(&redact(&d, secrets))),
        }),
        _ => Err(TokenError::Unexpected {
            url: url.to_owned(),
            status: resp.status,
            detail: resp.describe(),
        }),
    }
}

/// Whether a success body is really an error (`{"error": "..."}`, some IdPs answer 200).
fn error_in_success(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("error").map(serde_json::Value::is_string))
        .unwrap_or(false)
}

/// Form fields whose values are secrets.
const SECRET_FIELDS: &[&str] = &[
    "code",
    "code_verifier",
    "refresh_token",
    "subject_token",
    "device_code",
    "client_secret",
];

/// A server's text as gw shows it: one line, at most 300 characters, control characters
/// escaped.
fn first_line(s: &str) -> String {
    crate::sanitize::one_line(s, 300)
}

fn redact(text: &str, secrets: &[&str]) -> String {
    secrets
        .iter()
        .filter(|s| s.len() >= 8)
        .fold(text.to_owned(), |t, s| t.replace(s, "[redacted]"))
}

/// `expires_in` as a number or a numeric string (some IdPs send strings).
pub fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumOrStr {
        Num(f64),
        Str(String),
    }
    Ok(match Option::<NumOrStr>::deserialize(d)? {
        Some(NumOrStr::Num(n)) if n.is_finite() && n >= 0.0 => Some(n as u64),
        Some(NumOrStr::Str(s)) => s.trim().parse().ok(),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_are_one_line_and_never_echo_a_secret() {
        let d = first_line(&redact(
            "bad code abcdefgh123\r\nTrace ID: 1",
            &["abcdefgh123"],
        ));
        assert_eq!(d, "bad code [redacted]");
        let long = "r".repeat(1000);
        let d = first_line(&redact(
            &format!("Refresh token {long} is revoked"),
            &[&long],
        ));
        assert_eq!(
            d, "Refresh token [redacted] is revoked",
            "redacted before it is cut"
        );
    }

    #[test]
    fn a_200_carrying_an_error_is_a_refusal() {
        let resp = crate::http::Response::new(
            200,
            Some("application/json"),
            r#"{"error":"invalid_grant","error_description":"expired"}"#,
        );
        match interpret::<TokenResponse>("u", &resp, &[]) {
            Err(TokenError::Rejected { error, status, .. }) => {
                assert_eq!((error.as_str(), status), ("invalid_grant", 200));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn expires_in_accepts_numbers_and_numeric_strings() {
        let t: TokenResponse = serde_json::from_str(r#"{"expires_in":"3599"}"#).unwrap();
        assert_eq!(t.expires_in, Some(3599));
        let t: TokenResponse = serde_json::from_str(r#"{"expires_in":60}"#).unwrap();
        assert_eq!(t.expires_in, Some(60));
    }
}
