//! The Databricks REST client: one [`gw::api::Http`], one base URL, one bearer token.
//!
//! - Every call is JSON in, JSON out, with typed structs in the sibling modules.
//! - Errors are Databricks' `{"error_code","message"}` bodies, kept as [`ApiError`] with the
//!   HTTP status and a hint that says what to do.
//! - 429 and 503 are retried with exponential backoff ([`RetryPolicy`]); no other status is.
//! - In dry-run mode every request is printed (`METHOD URL` and the pretty JSON body) and
//!   nothing is sent: calls return [`Reply::DryRun`]. The token is never printed.

pub mod ai_gateway;
pub mod federation_policy;
pub mod permissions;
pub mod serving_endpoints;

use std::time::{Duration, Instant, SystemTime};

use gw::api::Secret;
use gw::api::{Http, HttpError, Response};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::output::Output;

/// Which Databricks API a client talks to; it decides the hints for 401 and 403.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// `https://<workspace>/api/2.0/...` with a workspace token.
    Workspace,
    /// `https://accounts.../api/2.0/accounts/<id>/...` with an account admin's token.
    Account,
}

/// What a call returned.
#[derive(Debug)]
pub enum Reply<T> {
    /// The decoded answer.
    Got(T),
    /// Dry run: the request was printed, not sent.
    DryRun,
}

impl<T> Reply<T> {
    /// The answer, or `None` in a dry run.
    pub fn sent(self) -> Option<T> {
        match self {
            Reply::Got(t) => Some(t),
            Reply::DryRun => None,
        }
    }
}

/// When to retry a 429 or 503, and for how long.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub retries: u32,
    /// The first backoff; each retry doubles it.
    pub first_delay: Duration,
    /// No single wait is longer, whatever `Retry-After` says.
    pub max_delay: Duration,
    /// The waits of one call add up to no more than this.
    pub max_total: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            retries: 5,
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            max_total: Duration::from_secs(90),
        }
    }
}

impl RetryPolicy {
    /// How long to wait before retry number `attempt` (0 for the first retry), or `None` to
    /// give up.
    ///
    /// 1. No retries left → give up.
    /// 2. The server's `Retry-After` when it sent one, else `first_delay × 2^attempt`.
    /// 3. Capped at `max_delay`.
    /// 4. Give up when the wait would take the call past `max_total`.
    pub fn delay(
        &self,
        attempt: u32,
        retry_after: Option<Duration>,
        waited: Duration,
    ) -> Option<Duration> {
        if attempt >= self.retries {
            return None;
        }
        let backoff = self
            .first_delay
            .saturating_mul(2u32.saturating_pow(attempt.min(16)));
        let wait = retry_after.unwrap_or(backoff).min(self.max_delay);
        (waited + wait <= self.max_total).then_some(wait)
    }
}

/// A `Retry-After` value: delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The `Retry-After` of a response (seconds or an HTTP date).
fn retry_after(resp: &Response) -> Option<Duration> {
    resp.retry_after
        .as_deref()
        .and_then(|v| parse_retry_after(v, SystemTime::now()))
}

/// A failed call.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Databricks answered with an error status (and usually `{"error_code","message"}`).
    #[error(
        "`{method} {url}` failed with HTTP {status}{}: {message}",
        code_suffix(error_code)
    )]
    Status {
        method: String,
        url: String,
        status: u16,
        error_code: Option<String>,
        message: String,
        /// The thing the call was about (`serving endpoint `x``), for the hint.
        what: String,
        api: Api,
        /// Retries made before giving up (429/503).
        retries: u32,
    },
    /// No answer at all (the cause is the source, shown by the error chain).
    #[error("`{method} {url}` failed")]
    Transport {
        method: String,
        url: String,
        #[source]
        source: HttpError,
    },
    /// A success status with a body that is not the expected JSON.
    #[error("`{method} {url}` answered {detail}")]
    Unexpected {
        method: String,
        url: String,
        detail: String,
    },
    /// A name or id that would make the path reach another API (`.` or `..`); nothing is sent.
    #[error(
        "`{path}` has a `.` or `..` segment (from a name or id), which would reach another API"
    )]
    BadPath { path: String },
}

fn code_suffix(code: &Option<String>) -> String {
    code.as_deref().map(|c| format!(" {c}")).unwrap_or_default()
}

impl ApiError {
    /// The HTTP status, when Databricks answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Databricks' `error_code`, when it sent one.
    pub fn error_code(&self) -> Option<&str> {
        match self {
            ApiError::Status { error_code, .. } => error_code.as_deref(),
            _ => None,
        }
    }

    /// What to do about it: one line, by status.
    pub fn hint(&self) -> String {
        let (status, code, what, api, retries) = match self {
            ApiError::Status {
                status,
                error_code,
                what,
                api,
                retries,
                ..
            } => (
                *status,
                error_code.as_deref(),
                what.as_str(),
                *api,
                *retries,
            ),
            ApiError::Transport { .. } => {
                return "check `--host`/`--account-host`, your network and proxy (`HTTPS_PROXY`)"
                    .into();
            }
            ApiError::Unexpected { .. } => {
                return "this does not look like a Databricks API: check `--host`/`--account-host`"
                    .into();
            }
            ApiError::BadPath { .. } => {
                return "names and ids cannot be `.` or `..`: check the name or id you passed (or the one Databricks returned)"
                    .into();
            }
        };
        if code == Some("RESOURCE_ALREADY_EXISTS") || status == 409 {
            return format!(
                "{what} already exists or is being changed right now: see what is there with \
                 `gw-admin show`, then run the command again (it changes only what differs)"
            );
        }
        match (status, api) {
            (400, _) => "Databricks refused the request as invalid (the message names the field): \
                 check the flags, and add `--dry-run` to see the exact request"
                .into(),
            (401, Api::Workspace) => "the workspace token was refused (expired, revoked, or for \
                 another workspace): run `gw login`, or set `DATABRICKS_TOKEN` to a valid token \
                 for this workspace"
                .into(),
            (401, Api::Account) => "the account token was refused: unset \
                 `DATABRICKS_ACCOUNT_TOKEN` to sign in at the account console, or set it to a \
                 valid token for `--account-host`"
                .into(),
            (403, Api::Workspace) => "this needs a workspace admin (or CAN_MANAGE on the \
                 endpoint): run as one, e.g. `DATABRICKS_TOKEN=<an admin's token> gw-admin …`"
                .into(),
            (403, Api::Account) => "federation policies need an account admin: sign in as one, \
                 or set `DATABRICKS_ACCOUNT_TOKEN` to an account admin's token"
                .into(),
            (404, _) => format!(
                "{what} does not exist: check the name (`gw-admin show` lists what there is) and \
                 that `--host`/`--account-id` point where you think"
            ),
            (429, _) => format!(
                "Databricks kept rate-limiting the request (gave up after {retries} retries): \
                 wait a minute and run the command again; it is idempotent"
            ),
            (503, _) => format!(
                "Databricks is temporarily unavailable (gave up after {retries} retries): try \
                 again in a few minutes; the command is idempotent"
            ),
            (500..=599, _) => "Databricks failed to handle the request: try again later; the \
                 command is idempotent"
                .into(),
            _ => "add `--dry-run` to see the exact request".into(),
        }
    }
}

/// `{"error_code","message"}`, Databricks' error body (older APIs send `error` instead).
#[derive(serde::Deserialize)]
struct ErrorBody {
    error_code: Option<String>,
    message: Option<String>,
    error: Option<String>,
}

/// The Databricks REST client.
pub struct DatabricksClient {
    http: Http,
    base: String,
    /// `None` in a dry run.
    token: Option<Secret>,
    api: Api,
    out: Output,
    retry: RetryPolicy,
}

impl DatabricksClient {
    /// A client that sends requests with `token`.
    pub fn new(http: Http, base: &str, token: Secret, api: Api) -> Self {
        DatabricksClient {
            http,
            base: base.trim_end_matches('/').to_owned(),
            token: Some(token),
            api,
            out: Output::stdout(),
            retry: RetryPolicy::default(),
        }
    }

    /// A client that prints every request to `out` and sends nothing.
    pub fn dry_run(http: Http, base: &str, api: Api, out: Output) -> Self {
        DatabricksClient {
            http,
            base: base.trim_end_matches('/').to_owned(),
            token: None,
            api,
            out,
            retry: RetryPolicy::default(),
        }
    }

    /// Use another retry policy (tests use zero delays).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The base URL, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn is_dry_run(&self) -> bool {
        self.token.is_none()
    }

    /// The HTTP client, for APIs called through gw's own clients (`gw::api::usage`).
    pub fn http(&self) -> &Http {
        &self.http
    }

    /// The bearer token (`None` in a dry run), for the same.
    pub fn token(&self) -> Option<&Secret> {
        self.token.as_ref()
    }

    /// The full URL of `path` (already encoded, see [`seg`]) with `query`.
    pub fn url(&self, path: &str, query: &[(&str, &str)]) -> String {
        let mut url = format!("{}{path}", self.base);
        if !query.is_empty() {
            let q = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(query)
                .finish();
            url.push('?');
            url.push_str(&q);
        }
        url
    }

    /// One API call; `what` names the thing it is about, for the 404/409 hints.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
        what: &str,
    ) -> Result<Reply<T>, ApiError> {
        if has_dot_segment(path) {
            return Err(ApiError::BadPath {
                path: path.to_owned(),
            });
        }
        let url = self.url(path, query);
        let Some(token) = &self.token else {
            self.print_request(method, &url, body);
            return Ok(Reply::DryRun);
        };
        let resp = self
            .send_with_retries(method, &url, token, body, what)
            .await?;
        decode(method, &url, &resp).map(Reply::Got)
    }

    /// A GET where 404 means "there is none" rather than an error.
    pub async fn get_optional<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
        what: &str,
    ) -> Result<Reply<Option<T>>, ApiError> {
        match self.call::<T>("GET", path, query, None, what).await {
            Ok(Reply::Got(t)) => Ok(Reply::Got(Some(t))),
            Ok(Reply::DryRun) => Ok(Reply::DryRun),
            // A 404 with a Databricks error body; a bare 404 means a wrong host or path.
            Err(ApiError::Status {
                status: 404,
                error_code: Some(_),
                ..
            }) => Ok(Reply::Got(None)),
            Err(e) => Err(e),
        }
    }

    fn print_request(&self, method: &str, url: &str, body: Option<&Value>) {
        let mut text = format!("{method} {url}\n");
        if let Some(body) = body {
            let pretty = serde_json::to_string_pretty(body).unwrap_or_else(|_| body.to_string());
            text.push_str(&pretty);
            text.push('\n');
        }
        text.push('\n');
        self.out.write(&text);
    }

    /// Send, retrying 429 and 503 per the policy; any other status is final.
    async fn send_with_retries(
        &self,
        method: &str,
        url: &str,
        token: &Secret,
        body: Option<&Value>,
        what: &str,
    ) -> Result<Response, ApiError> {
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            let resp = self
                .http
                .send_json(method, url, Some(token), body)
                .await
                .map_err(|source| ApiError::Transport {
                    method: method.to_owned(),
                    url: shown(url),
                    source,
                })?;
            if resp.is_success() {
                return Ok(resp);
            }
            if matches!(resp.status, 429 | 503)
                && let Some(wait) = self
                    .retry
                    .delay(attempt, retry_after(&resp), started.elapsed())
            {
                eprintln!(
                    "Databricks answered HTTP {} to {method} {}; retrying in {} s…",
                    resp.status,
                    shown(url),
                    wait.as_secs_f32().ceil()
                );
                tokio::time::sleep(wait).await;
                attempt += 1;
                continue;
            }
            return Err(status_error(method, url, &resp, what, self.api, attempt));
        }
    }
}

/// The URL without its query, for messages.
fn shown(url: &str) -> String {
    url.split('?').next().unwrap_or(url).to_owned()
}

fn status_error(
    method: &str,
    url: &str,
    resp: &Response,
    what: &str,
    api: Api,
    retries: u32,
) -> ApiError {
    let parsed = serde_json::from_slice::<ErrorBody>(&resp.body).ok();
    let error_code = parsed
        .as_ref()
        .and_then(|b| b.error_code.clone().or_else(|| b.error.clone()));
    let message = parsed
        .and_then(|b| b.message)
        .map(|m| first_line(&m))
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| {
            if resp.body.is_empty() {
                "no error details".to_owned()
            } else if resp.is_json() {
                "an error body without a message".to_owned()
            } else {
                resp.describe()
            }
        });
    ApiError::Status {
        method: method.to_owned(),
        url: shown(url),
        status: resp.status,
        error_code,
        message,
        what: what.to_owned(),
        api,
        retries,
    }
}

fn decode<T: DeserializeOwned>(method: &str, url: &str, resp: &Response) -> Result<T, ApiError> {
    // Some calls answer 200 with an empty body; treat it as `{}`.
    let body: &[u8] = if resp.body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        &resp.body
    };
    serde_json::from_slice(body).map_err(|e| ApiError::Unexpected {
        method: method.to_owned(),
        url: shown(url),
        detail: if resp.is_json() {
            format!("HTTP {} with an unexpected JSON body: {e}", resp.status)
        } else {
            resp.describe()
        },
    })
}

fn first_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or("").trim();
    if line.chars().count() > 400 {
        format!("{}…", line.chars().take(400).collect::<String>())
    } else {
        line.to_owned()
    }
}

/// One path segment, percent-encoded (names, ids and policy ids go into paths).
pub fn seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Whether a path has a segment that is `.` or `..`, percent-encoded or not (URL parsers
/// normalise `%2e%2e` like `..`). Pure.
pub fn has_dot_segment(path: &str) -> bool {
    path.split('/').any(|seg| {
        let s = seg.to_ascii_lowercase().replace("%2e", ".");
        s == "." || s == ".."
    })
}

/// A typed body as JSON.
pub fn to_json<T: serde::Serialize>(body: &T) -> Value {
    serde_json::to_value(body).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_is_capped_and_gives_up() {
        let p = RetryPolicy {
            retries: 3,
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(3),
            max_total: Duration::from_secs(10),
        };
        assert_eq!(
            p.delay(0, None, Duration::ZERO),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            p.delay(1, None, Duration::ZERO),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            p.delay(2, None, Duration::ZERO),
            Some(Duration::from_secs(3))
        );
        assert_eq!(p.delay(3, None, Duration::ZERO), None);
        // The total wait is capped.
        assert_eq!(p.delay(1, None, Duration::from_secs(9)), None);
    }

    #[test]
    fn retry_after_wins_over_backoff_but_not_over_the_cap() {
        let p = RetryPolicy::default();
        let d = |s| Some(Duration::from_secs(s));
        assert_eq!(p.delay(0, d(0), Duration::ZERO), d(0));
        assert_eq!(p.delay(0, d(7), Duration::ZERO), d(7));
        assert_eq!(p.delay(0, d(3600), Duration::ZERO), Some(p.max_delay));
    }

    #[test]
    fn retry_after_is_seconds_or_an_http_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after(" 5 ", now), Some(Duration::from_secs(5)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(12));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(12))
        );
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(12));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(seg("claude-code_1.x"), "claude-code_1.x");
        assert_eq!(seg("a/b c"), "a%2Fb%20c");
    }

    #[test]
    fn a_dot_segment_never_leaves_the_api_it_was_meant_for() {
        for id in ["..", "."] {
            let path = format!("/api/2.0/serving-endpoints/{}/ai-gateway", seg(id));
            assert!(has_dot_segment(&path), "{id}: {path}");
        }
        assert!(has_dot_segment("/api/2.0/serving-endpoints/%2e%2E/x"));
        assert!(
            !has_dot_segment(&format!("/x/{}", seg("%2e%2e"))),
            "an id that spells an escape is encoded, not decoded"
        );
        assert!(!has_dot_segment(
            "/api/2.0/serving-endpoints/a..b/ai-gateway"
        ));
        assert!(
            !has_dot_segment(&format!("/x/{}", seg("a/.."))),
            "encoded as one segment"
        );
    }

    #[test]
    fn every_status_has_its_own_hint() {
        let err = |status, code: Option<&str>, api| ApiError::Status {
            method: "POST".into(),
            url: "https://h/api".into(),
            status,
            error_code: code.map(str::to_owned),
            message: "m".into(),
            what: "serving endpoint `e`".into(),
            api,
            retries: 5,
        };
        let hints: Vec<String> = [
            err(400, None, Api::Workspace),
            err(401, None, Api::Workspace),
            err(401, None, Api::Account),
            err(403, None, Api::Workspace),
            err(403, None, Api::Account),
            err(404, None, Api::Workspace),
            err(409, None, Api::Workspace),
            err(429, None, Api::Workspace),
            err(503, None, Api::Workspace),
        ]
        .iter()
        .map(ApiError::hint)
        .collect();
        for (i, h) in hints.iter().enumerate() {
            for other in &hints[i + 1..] {
                assert_ne!(h, other);
            }
        }
        assert!(hints[4].contains("account admin"));
        assert!(hints[5].contains("serving endpoint `e` does not exist"));
        assert!(hints[7].contains("5 retries"));
        assert!(
            err(400, Some("RESOURCE_ALREADY_EXISTS"), Api::Workspace)
                .hint()
                .contains("already exists")
        );
    }
}
