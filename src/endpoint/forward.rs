//! Carrying one judged request out: model traffic forwarded to the workspace with a fresh
//! token and streamed back as it arrives; the metadata service answered from memory.
//!
//! - The client's own credential headers (its API key: gw's session key) and hop-by-hop
//!   headers are dropped; `Authorization: Bearer <token>` is added.
//! - A request body with a known length up to [`REPLAYABLE`] is held, so a 401 from the
//!   workspace can be retried once with a new token; a longer or unsized one streams through
//!   (not replayable). Bodies are bounded by [`MAX_BODY`].
//! - The response streams frame by frame (SSE is never buffered).
//! - Failures are one-line JSON errors the clients can show: 401 with "run `gw login`" when the
//!   sign-in has ended, 502 when the workspace cannot be reached.

use std::convert::Infallible;

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use http_body_util::{BodyExt, Full, Limited, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response, StatusCode};

use super::Shared;
use super::tokens::Failure;
use crate::exchange::DatabricksToken;

/// A body held for a possible replay at most this large (agents' requests are a few KiB to a
/// few MiB of JSON).
pub const REPLAYABLE: u64 = 8 * 1024 * 1024;
/// The largest request body forwarded at all.
pub const MAX_BODY: usize = 64 * 1024 * 1024;

pub type Body = BoxBody<Bytes, std::io::Error>;

/// Headers never forwarded: hop-by-hop (RFC 9110 §7.6.1) and the client's own credentials.
const DROPPED: &[&str] = &[
    "host",
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
    "proxy-authenticate",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "authorization",
    "x-api-key",
    "x-goog-api-key",
    "cookie",
];

/// A JSON error the clients show (`error.message` is what the Anthropic, OpenAI and Gemini
/// SDKs print).
pub fn error(status: u16, message: &str) -> Response<Body> {
    let body = serde_json::json!({
        "error": { "message": message, "type": "gw_local_endpoint", "code": status }
    })
    .to_string();
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("cache-control", "no-store")
        .body(full(body))
        .expect("static response parts")
}

fn full(b: impl Into<Bytes>) -> Body {
    Full::new(b.into())
        .map_err(|e: Infallible| match e {})
        .boxed()
}

/// The answer to a token failure.
pub fn token_failure(f: &Failure) -> Response<Body> {
    match f {
        Failure::LoginRequired(_) => error(
            401,
            "gw: the sign-in behind this session has ended; run `gw login`, then try again",
        ),
        Failure::Failed(why) => error(
            502,
            &format!(
                "gw: cannot get a Databricks token: {}",
                crate::sanitize::one_line(why, 300)
            ),
        ),
    }
}

/// The Databricks SDKs' metadata-service answer: the current token and its expiry (integer
/// Unix seconds, as the Go and Python SDKs parse it).
pub async fn metadata(shared: &Shared) -> Response<Body> {
    match shared.tokens.current().await {
        Ok(t) => {
            let body = serde_json::json!({
                "access_token": t.access_token.expose(),
                "token_type": t.token_type,
                "expires_on": t.expires_at,
            })
            .to_string();
            Response::builder()
                .status(200)
                .header("content-type", "application/json")
                .header("cache-control", "no-store")
                .body(full(body))
                .expect("static response parts")
        }
        Err(f) => token_failure(&f),
    }
}

/// What the request body became: held (replayable) or a stream.
enum Outgoing {
    Held(Bytes),
    Streamed(reqwest::Body),
}

/// Forward a model request to `<host><path_and_query>`.
pub async fn model(
    shared: &Shared,
    req: Request<Incoming>,
    path_and_query: &str,
) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let url = format!("{}{path_and_query}", shared.host);
    let length = parts
        .headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if length.is_some_and(|n| n > MAX_BODY as u64) {
        return error(413, "gw: the request body is too large");
    }
    let outgoing = match length {
        Some(n) if n <= REPLAYABLE => match Limited::new(body, MAX_BODY).collect().await {
            Ok(b) => Outgoing::Held(b.to_bytes()),
            Err(_) => return error(400, "gw: could not read the request body"),
        },
        _ => {
            let mut seen = 0usize;
            let stream = http_body_util::BodyStream::new(body)
                .try_filter_map(|frame| async move { Ok(frame.into_data().ok()) })
                .map_err(std::io::Error::other)
                .map(move |chunk| {
                    let chunk = chunk?;
                    seen += chunk.len();
                    if seen > MAX_BODY {
                        return Err(std::io::Error::other("request body too large"));
                    }
                    Ok::<Bytes, std::io::Error>(chunk)
                });
            Outgoing::Streamed(reqwest::Body::wrap_stream(stream))
        }
    };
    let token = match shared.tokens.current().await {
        Ok(t) => t,
        Err(f) => return token_failure(&f),
    };
    let held = match &outgoing {
        Outgoing::Held(b) => Some(b.clone()),
        Outgoing::Streamed(_) => None,
    };
    let first = send(shared, &parts, &url, &token, outgoing).await;
    let resp = match (first, held) {
        (Ok(r), Some(bytes)) if r.status() == reqwest::StatusCode::UNAUTHORIZED => {
            crate::diag::debug!("the workspace refused the token; retrying once with a new one");
            match shared.tokens.after_refusal(&token.access_token).await {
                Ok(next) => send(shared, &parts, &url, &next, Outgoing::Held(bytes)).await,
                Err(f) => return token_failure(&f),
            }
        }
        (first, _) => first,
    };
    match resp {
        Ok(r) => stream_back(r),
        Err(e) => error(
            502,
            &format!(
                "gw: cannot reach the workspace ({}): {}",
                shared.host,
                crate::sanitize::one_line(&crate::http::error_chain(&e), 300)
            ),
        ),
    }
}

async fn send(
    shared: &Shared,
    parts: &hyper::http::request::Parts,
    url: &str,
    token: &DatabricksToken,
    body: Outgoing,
) -> Result<reqwest::Response, reqwest::Error> {
    let mut req = shared.client.request(parts.method.clone(), url);
    for (name, value) in &parts.headers {
        if !DROPPED.contains(&name.as_str()) {
            req = req.header(name, value);
        }
    }
    req = req.bearer_auth(token.access_token.expose());
    req = match body {
        Outgoing::Held(b) => req.body(b),
        Outgoing::Streamed(s) => req.body(s),
    };
    req.send().await
}

fn stream_back(resp: reqwest::Response) -> Response<Body> {
    let mut out = Response::builder()
        .status(StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY));
    for (name, value) in resp.headers() {
        if !DROPPED.contains(&name.as_str()) && name != "set-cookie" {
            out = out.header(name, value);
        }
    }
    let frames = resp
        .bytes_stream()
        .map(|chunk| chunk.map(Frame::data).map_err(std::io::Error::other));
    out.body(BodyExt::boxed(StreamBody::new(frames)))
        .unwrap_or_else(|_| error(502, "gw: the workspace sent a response gw cannot pass on"))
}
