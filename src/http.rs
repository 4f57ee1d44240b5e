//! The one HTTP client: TLS always verified (OS trust store, plus `ca_file`; `SSL_CERT_FILE`
//! replaces the store), proxies from the environment, connect and total timeouts, no redirects
//! followed (requests carry codes, verifiers and tokens), and response bodies capped in size.

use std::path::Path;
use std::time::{Duration, SystemTime};

use thiserror::Error;

/// Largest response body gw reads; OAuth and discovery documents are a few KiB.
pub const MAX_BODY: usize = 1024 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const TOTAL_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a streamed answer through gw's local endpoint may go silent.
const STREAM_IDLE_TIMEOUT: Duration = Duration::from_secs(600);

/// A response read whole (up to [`MAX_BODY`]).
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    /// The server's `Date` header, for clock-skew checks.
    pub date: Option<SystemTime>,
    /// `Cache-Control: max-age` (0 for `no-store`/`no-cache`), when sent.
    pub max_age: Option<u64>,
    pub content_type: Option<String>,
    /// The raw `Retry-After` header (seconds or an HTTP date), when sent.
    pub retry_after: Option<String>,
    pub body: Vec<u8>,
}

impl Response {
    /// A response with only a status, a content type and a body (tests, fuzzing).
    pub fn new(status: u16, content_type: Option<&str>, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            date: None,
            max_age: None,
            content_type: content_type.map(str::to_owned),
            retry_after: None,
            body: body.into(),
        }
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Whether the body claims to be JSON.
    pub fn is_json(&self) -> bool {
        self.content_type
            .as_deref()
            .is_some_and(|c| c.contains("json"))
            || self.body.first() == Some(&b'{')
    }

    /// A short description of a body that is not what was expected, without its content.
    pub fn describe(&self) -> String {
        let kind = self.content_type.as_deref().unwrap_or("no content type");
        let kind = kind.split(';').next().unwrap_or(kind).trim();
        format!(
            "HTTP {} with a non-JSON body ({})",
            self.status,
            crate::sanitize::one_line(kind, 80)
        )
    }
}

/// Why a request got no response.
#[derive(Debug, Error)]
pub enum HttpError {
    #[error("cannot build the HTTP client: {0}")]
    Setup(String),
    #[error("cannot reach `{url}`: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("`{url}` did not answer within {secs} s")]
    Timeout { url: String, secs: u64 },
    #[error("`{url}` answered with a body larger than {max} bytes")]
    TooLarge { url: String, max: usize },
    #[error("`{url}` redirected to `{location}`; gw does not follow redirects")]
    Redirect { url: String, location: String },
}

/// The HTTP client gw uses for every call.
#[derive(Clone)]
pub struct Http {
    client: reqwest::Client,
    total: Duration,
}

impl Http {
    /// Build the client; `ca_file` adds PEM certificates to the trust store.
    pub fn new(ca_file: Option<&Path>) -> Result<Http, HttpError> {
        Self::with_timeouts(ca_file, CONNECT_TIMEOUT, TOTAL_TIMEOUT)
    }

    /// [`Http::new`] with other timeouts (tests).
    pub fn with_timeouts(
        ca_file: Option<&Path>,
        connect: Duration,
        total: Duration,
    ) -> Result<Http, HttpError> {
        let b = Self::builder(ca_file, connect)?.timeout(total);
        let client = b.build().map_err(|e| HttpError::Setup(e.to_string()))?;
        Ok(Http { client, total })
    }

    /// What every client of gw's shares: TLS trust, no redirects, the connect timeout.
    fn builder(
        ca_file: Option<&Path>,
        connect: Duration,
    ) -> Result<reqwest::ClientBuilder, HttpError> {
        let mut b = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(connect)
            .https_only(false)
            .user_agent(concat!("gw/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = ca_file {
            let pem = std::fs::read(path).map_err(|e| {
                HttpError::Setup(format!("cannot read `ca_file` `{}`: {e}", path.display()))
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                HttpError::Setup(format!("`ca_file` `{}` is not PEM: {e}", path.display()))
            })?;
            if certs.is_empty() {
                return Err(HttpError::Setup(format!(
                    "`ca_file` `{}` holds no certificate",
                    path.display()
                )));
            }
            for c in certs {
                b = b.add_root_certificate(c);
            }
        }
        Ok(b)
    }

    /// A client for gw's local endpoint to forward model traffic with: the same trust store
    /// and proxies, no redirects, a connect timeout, but no total timeout (a streamed answer
    /// may last many minutes) and an idle read timeout instead.
    pub fn streaming_client(ca_file: Option<&Path>) -> Result<reqwest::Client, HttpError> {
        let b = Self::builder(ca_file, CONNECT_TIMEOUT)?.read_timeout(STREAM_IDLE_TIMEOUT);
        b.build().map_err(|e| HttpError::Setup(e.to_string()))
    }

    /// `GET url` (JSON expected).
    pub async fn get(&self, url: &str) -> Result<Response, HttpError> {
        self.send(url, self.client.get(url)).await
    }

    /// `POST url` with an `application/x-www-form-urlencoded` body.
    ///
    /// # Security
    /// The form may hold secrets; it goes only into the request body, never into errors.
    pub async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Result<Response, HttpError> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let req = self
            .client
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(url, req).await
    }

    /// A JSON API call (`GET`/`POST`/`PUT`/`PATCH`/`DELETE`) with an optional bearer token and
    /// JSON body.
    ///
    /// # Security
    /// The bearer token goes only into the `Authorization` header, never into errors.
    pub async fn send_json(
        &self,
        method: &str,
        url: &str,
        bearer: Option<&crate::secret::Secret>,
        body: Option<&serde_json::Value>,
    ) -> Result<Response, HttpError> {
        let method = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|e| HttpError::Setup(format!("bad HTTP method `{method}`: {e}")))?;
        let mut req = self.client.request(method, url);
        if let Some(token) = bearer {
            req = req.bearer_auth(token.expose());
        }
        if let Some(body) = body {
            req = req
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        self.send(url, req).await
    }

    async fn send(&self, url: &str, req: reqwest::RequestBuilder) -> Result<Response, HttpError> {
        let shown = strip_query(url);
        let fail = |e: reqwest::Error| {
            if e.is_timeout() {
                HttpError::Timeout {
                    url: shown.clone(),
                    secs: self.total.as_secs(),
                }
            } else {
                HttpError::Unreachable {
                    url: shown.clone(),
                    reason: error_chain(&e),
                }
            }
        };
        let mut resp = req
            .header("accept", "application/json")
            .send()
            .await
            .map_err(fail)?;
        let status = resp.status().as_u16();
        let headers = resp.headers();
        if (300..400).contains(&status) {
            let location = headers
                .get("location")
                .and_then(|v| v.to_str().ok())
                .map(strip_query)
                .unwrap_or_default();
            return Err(HttpError::Redirect {
                url: shown,
                location,
            });
        }
        let date = headers
            .get("date")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok());
        let max_age = headers
            .get("cache-control")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_max_age);
        let content_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let retry_after = headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if resp.content_length().is_some_and(|n| n > MAX_BODY as u64) {
            return Err(HttpError::TooLarge {
                url: shown,
                max: MAX_BODY,
            });
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(fail)? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(HttpError::TooLarge {
                    url: shown,
                    max: MAX_BODY,
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response {
            status,
            date,
            max_age,
            content_type,
            retry_after,
            body,
        })
    }
}

/// The URL without query or fragment (which could carry a code or state).
fn strip_query(url: &str) -> String {
    url.split(['?', '#']).next().unwrap_or(url).to_owned()
}

/// An error and its sources, as one line.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = s.source();
    }
    parts.join(": ")
}

/// `max-age` from a `Cache-Control` header; `no-store`/`no-cache` count as 0.
pub fn parse_max_age(value: &str) -> Option<u64> {
    let mut max_age = None;
    for directive in value.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return Some(0);
        }
        if let Some(v) = lower.strip_prefix("max-age=") {
            max_age = v.trim_matches('"').parse().ok();
        }
    }
    max_age
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_control_max_age() {
        assert_eq!(parse_max_age("public, max-age=3600"), Some(3600));
        assert_eq!(parse_max_age("no-store"), Some(0));
        assert_eq!(parse_max_age("max-age=60, no-cache"), Some(0));
        assert_eq!(parse_max_age("public"), None);
    }

    #[test]
    fn shown_urls_drop_the_query() {
        assert_eq!(
            strip_query("https://h/cb?code=secret&state=x"),
            "https://h/cb"
        );
    }
}
