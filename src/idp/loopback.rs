//! The one-shot loopback redirect listener (RFC 8252 §7.3).
//!
//! - Binds loopback only: `127.0.0.1`, and `::1` too when the redirect names `localhost`.
//! - Each connection is read in its own task, so an idle pre-connect blocks nothing.
//! - A request is considered only if its `Host` is the exact `host:port` gw redirected to
//!   (DNS rebinding) and its path is the redirect path; anything else (`/favicon.ico`) gets a
//!   404 without consuming the callback.
//! - `state` must match (constant time); a missing or wrong one is answered 400 and the
//!   listener keeps waiting, so a forged request can neither finish nor abort the login.
//! - With the right `state`, an `iss` (RFC 9207) other than the issuer aborts the login, as
//!   does a missing `iss` when the provider announced it sends one.
//! - The first request with the right `state` ends the wait; the listener then closes.
//! - The browser is given a one-shot start URL on the same listener
//!   (`/gw-start/<random>`), which redirects to the authorization request: the URL in the
//!   opener's arguments — which every local user can read — reveals no `state`, `nonce` or PKCE
//!   challenge. Its first fetch is served; a second one means someone else read it and aborts
//!   the sign-in (so a neighbour can never complete it as themselves); it expires after
//!   [`START_TTL`].

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::config::{Ports, Redirect};
use crate::secret::Secret;
use crate::secret::constant_time_eq;

/// Room for a developer's localhost cookies, which the browser sends along.
const MAX_HEAD: usize = 64 * 1024;
/// How long the start URL may be fetched (a browser starts well within it).
pub const START_TTL: Duration = Duration::from_secs(120);
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Why no authorization code arrived.
#[derive(Debug, Error)]
pub enum CallbackError {
    #[error("cannot listen on {what}: {source}")]
    Bind {
        what: String,
        source: std::io::Error,
    },
    #[error("no sign-in completed within {0} s")]
    Timeout(u64),
    #[error("the identity provider refused the sign-in: {error}{}", .description.as_ref().map(|d| format!(": {d}")).unwrap_or_default())]
    Denied {
        error: String,
        description: Option<String>,
    },
    #[error(
        "the sign-in response names issuer `{got}`, not `{expected}` (RFC 9207 mix-up defence)"
    )]
    IssuerMismatch { expected: String, got: String },
    #[error("the sign-in response has no `iss` although the provider announced it (RFC 9207)")]
    IssuerMissing,
    #[error("the sign-in response has neither `code` nor `error`")]
    NoCode,
    #[error(
        "the sign-in link gw opened was fetched twice: another program or user on this machine may have read it, so this sign-in was stopped"
    )]
    StartReused,
}

/// A bound listener, ready to receive the redirect.
pub struct Listener {
    sockets: Vec<TcpListener>,
    port: u16,
    host: String,
    path: String,
    redirect_uri: String,
    /// `/gw-start/<random>`: the one-shot path that redirects to the authorization request.
    start_path: String,
}

impl Listener {
    /// Bind per the redirect's host and port choice.
    pub async fn bind(redirect: &Redirect) -> Result<Listener, CallbackError> {
        let host = redirect.host();
        let candidates: Vec<u16> = match &redirect.ports {
            // A few tries: an ephemeral port free on 127.0.0.1 may be held on ::1.
            Ports::Ephemeral => vec![0; EPHEMERAL_TRIES],
            Ports::List(list) => list.clone(),
        };
        let mut last_err = None;
        for port in candidates {
            match bind_host(&host, port).await {
                Ok((sockets, port)) => {
                    return Ok(Listener {
                        sockets,
                        port,
                        host: format!("{host}:{port}").to_ascii_lowercase(),
                        path: redirect.path(),
                        redirect_uri: redirect.uri(port),
                        start_path: format!("/gw-start/{}", crate::secret::random_token(16)),
                    });
                }
                Err(e) => last_err = Some((port, e)),
            }
        }
        let (port, source) = last_err.unwrap_or((0, std::io::Error::other("no port to try")));
        Err(CallbackError::Bind {
            what: if matches!(redirect.ports, Ports::List(ref l) if l.len() > 1) {
                format!("any of the redirect ports (last tried {host}:{port})")
            } else {
                format!("{host}:{port}")
            },
            source,
        })
    }

    /// The exact redirect URI to send in the authorization request.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL to give the browser: it reveals nothing, and redirects (once) to the
    /// authorization request.
    pub fn start_url(&self) -> String {
        format!("http://{}{}", self.host, self.start_path)
    }

    /// The addresses listened on (all loopback).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.sockets
            .iter()
            .filter_map(|s| s.local_addr().ok())
            .collect()
    }

    /// Wait for the one valid callback and return its authorization code. `authorize` is where
    /// the start URL sends the browser (`None`: the start URL is not served, as when no
    /// browser was opened).
    pub async fn wait(
        self,
        state: &Secret,
        issuer: &str,
        iss_required: bool,
        timeout: Duration,
        authorize: Option<&str>,
    ) -> Result<Secret, CallbackError> {
        let (tx, mut rx) = mpsc::channel::<(String, TcpStream)>(16);
        let mut tasks = JoinSet::new();
        for socket in self.sockets {
            let tx = tx.clone();
            tasks.spawn(async move {
                let mut readers = JoinSet::new();
                loop {
                    let stream = match socket.accept().await {
                        Ok((stream, _)) => stream,
                        Err(_) => {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            continue;
                        }
                    };
                    let tx = tx.clone();
                    readers.spawn(async move {
                        if let Ok(Some((head, stream))) = read_head(stream).await {
                            let _ = tx.send((head, stream)).await;
                        }
                    });
                    while readers.try_join_next().is_some() {}
                }
            });
        }
        drop(tx);
        let expect = Expect {
            host: &self.host,
            path: &self.path,
            start_path: authorize.map(|_| self.start_path.as_str()),
            state,
            issuer,
            iss_required,
        };
        let start_until = tokio::time::Instant::now() + START_TTL;
        let mut started = false;
        let outcome = tokio::time::timeout(timeout, async {
            while let Some((head, mut stream)) = rx.recv().await {
                let verdict = judge(&head, &expect);
                if let (Verdict::Start, Some(url)) = (&verdict, authorize) {
                    match start_use(started, tokio::time::Instant::now() < start_until) {
                        StartUse::Redirect => {
                            started = true;
                            let _ = redirect(&mut stream, url).await;
                        }
                        StartUse::Expired => {
                            let _ = respond(
                                &mut stream,
                                410,
                                "This sign-in link has expired. Open the URL printed in the terminal.",
                            )
                            .await;
                        }
                        StartUse::Abort => {
                            let e = CallbackError::StartReused;
                            let _ = respond(&mut stream, 410, &format!("{e}.")).await;
                            return Some(Err(e));
                        }
                    }
                    continue;
                }
                let (status, page) = verdict.page();
                let _ = respond(&mut stream, status, &page).await;
                if let Verdict::Done(result) = verdict {
                    return Some(result);
                }
            }
            None
        })
        .await;
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
        match outcome {
            Ok(Some(result)) => result,
            _ => Err(CallbackError::Timeout(timeout.as_secs())),
        }
    }
}

/// How many ephemeral ports to try for a `localhost` redirect.
const EPHEMERAL_TRIES: usize = 8;

/// Whether an error binding [::1] means someone else holds the port there (rather than IPv6
/// being unavailable). Pure.
pub fn v6_taken(kind: std::io::ErrorKind) -> bool {
    matches!(
        kind,
        std::io::ErrorKind::AddrInUse | std::io::ErrorKind::PermissionDenied
    )
}

async fn bind_host(host: &str, port: u16) -> std::io::Result<(Vec<TcpListener>, u16)> {
    let v4 = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let v6 = SocketAddr::from((Ipv6Addr::LOCALHOST, port));
    match host {
        "[::1]" => {
            let l = TcpListener::bind(v6).await?;
            let port = l.local_addr()?.port();
            Ok((vec![l], port))
        }
        "localhost" => {
            let l4 = TcpListener::bind(v4).await?;
            let port = l4.local_addr()?.port();
            let mut all = vec![l4];
            // A browser may resolve `localhost` to ::1 first: listen there too, or — when
            // someone else holds ::1 on this port — not on this port at all.
            match TcpListener::bind(SocketAddr::from((Ipv6Addr::LOCALHOST, port))).await {
                Ok(l6) => all.push(l6),
                Err(e) if v6_taken(e.kind()) => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::AddrInUse,
                        format!("[::1]:{port} is held by another program"),
                    ));
                }
                Err(_) => {} // no IPv6 here: 127.0.0.1 is all `localhost` can mean
            }
            Ok((all, port))
        }
        _ => {
            let ip: Ipv4Addr = host.parse().unwrap_or(Ipv4Addr::LOCALHOST);
            let addr = if ip.is_loopback() {
                SocketAddr::from((ip, port))
            } else {
                v4
            };
            let l = TcpListener::bind(addr).await?;
            let port = l.local_addr()?.port();
            Ok((vec![l], port))
        }
    }
}

/// Read a request head (up to the blank line), bounded in size and time.
async fn read_head(mut stream: TcpStream) -> std::io::Result<Option<(String, TcpStream)>> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    let read = tokio::time::timeout(READ_TIMEOUT, async {
        loop {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok::<bool, std::io::Error>(false);
            }
            buf.extend_from_slice(&chunk[..n]);
            if buf.windows(4).any(|w| w == b"\r\n\r\n") {
                return Ok(true);
            }
            if buf.len() > MAX_HEAD {
                return Ok(false);
            }
        }
    })
    .await;
    match read {
        Ok(Ok(true)) => Ok(Some((String::from_utf8_lossy(&buf).into_owned(), stream))),
        Ok(Ok(false)) if buf.len() > MAX_HEAD => {
            let _ = respond(&mut stream, 431, "Request header too large.").await;
            Ok(None)
        }
        _ => Ok(None),
    }
}

/// What to do with one request.
#[derive(Debug)]
pub enum Verdict {
    /// Not the callback (wrong host, path or state): answer and keep waiting.
    Ignore(u16, &'static str),
    /// The start URL: redirect to the authorization request (once).
    Start,
    /// The callback: answer and finish with this result.
    Done(Result<Secret, CallbackError>),
}

/// What the listener expects.
#[derive(Debug, Clone, Copy)]
pub struct Expect<'a> {
    /// The exact `host:port` the browser was sent to (lowercase).
    pub host: &'a str,
    /// The redirect path.
    pub path: &'a str,
    /// The one-shot start path, while it is served.
    pub start_path: Option<&'a str>,
    pub state: &'a Secret,
    pub issuer: &'a str,
    pub iss_required: bool,
}

/// What a fetch of the start URL gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartUse {
    /// The first fetch, in time: the redirect.
    Redirect,
    /// Too late (nobody fetched it in time): a page pointing at the printed URL.
    Expired,
    /// A second fetch: someone else read the link; stop the sign-in.
    Abort,
}

/// Decide a start-URL fetch. Pure.
pub fn start_use(already_used: bool, in_time: bool) -> StartUse {
    match (already_used, in_time) {
        (true, _) => StartUse::Abort,
        (false, true) => StartUse::Redirect,
        (false, false) => StartUse::Expired,
    }
}

impl Verdict {
    /// The status and message the browser is shown.
    pub fn page(&self) -> (u16, String) {
        match self {
            Verdict::Ignore(status, msg) => (*status, (*msg).to_owned()),
            Verdict::Start => (302, "Continuing to your identity provider.".to_owned()),
            Verdict::Done(Ok(_)) => (
                200,
                "Signed in. You may close this tab and return to the terminal.".to_owned(),
            ),
            Verdict::Done(Err(e)) => (
                400,
                format!("Sign-in failed: {e}. Return to the terminal for details."),
            ),
        }
    }
}

/// Decide what a request head means. Pure, so every rule is unit-tested (and fuzzed).
pub fn judge(head: &str, expect: &Expect<'_>) -> Verdict {
    let Expect {
        host: expected_host,
        path: expected_path,
        start_path,
        state,
        issuer,
        iss_required,
    } = *expect;
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or("");
    let mut parts = request_line.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let host = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("host"))
        .map(|(_, v)| v.trim().to_ascii_lowercase());
    if host.as_deref() != Some(expected_host) {
        return Verdict::Ignore(400, "Unexpected Host header.");
    }
    if method != "GET" {
        return Verdict::Ignore(405, "Method not allowed.");
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if start_path.is_some_and(|s| constant_time_eq(path.as_bytes(), s.as_bytes())) {
        return Verdict::Start;
    }
    if path != expected_path {
        return Verdict::Ignore(404, "Not found.");
    }
    let mut params = std::collections::HashMap::new();
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        if params.insert(k.into_owned(), v.into_owned()).is_some() {
            return Verdict::Ignore(400, "Repeated parameter.");
        }
    }
    let state_ok = params
        .get("state")
        .is_some_and(|s| constant_time_eq(s.as_bytes(), state.expose().as_bytes()));
    if !state_ok {
        return Verdict::Ignore(
            400,
            "This response does not belong to the sign-in gw started.",
        );
    }
    match params.get("iss") {
        Some(iss) if iss != issuer => {
            return Verdict::Done(Err(CallbackError::IssuerMismatch {
                expected: issuer.to_owned(),
                got: crate::sanitize::one_line(iss, 200),
            }));
        }
        None if iss_required => return Verdict::Done(Err(CallbackError::IssuerMissing)),
        _ => {}
    }
    if let Some(error) = params.get("error") {
        let description = params
            .get("error_description")
            .map(|d| crate::sanitize::one_line(d, 300));
        return Verdict::Done(Err(CallbackError::Denied {
            error: crate::sanitize::one_line(error, 100),
            description,
        }));
    }
    match params.remove("code") {
        Some(code) if !code.is_empty() => Verdict::Done(Ok(Secret::new(code))),
        _ => Verdict::Done(Err(CallbackError::NoCode)),
    }
}

/// `302` to the authorization request, cached nowhere, with no referrer.
async fn redirect(stream: &mut TcpStream, location: &str) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 302 Found\r\nlocation: {location}\r\ncontent-length: 0\r\n\
         cache-control: no-store\r\nreferrer-policy: no-referrer\r\nconnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await?;
    stream.flush().await?;
    stream.shutdown().await
}

async fn respond(stream: &mut TcpStream, status: u16, message: &str) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        410 => "Gone",
        431 => "Request Header Fields Too Large",
        _ => "Bad Request",
    };
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>gw</title></head>\
         <body><p>{}</p></body></html>",
        html_escape(message)
    );
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: text/html; charset=utf-8\r\n\
         content-length: {}\r\ncache-control: no-store\r\nreferrer-policy: no-referrer\r\n\
         content-security-policy: default-src 'none'\r\nx-content-type-options: nosniff\r\n\
         connection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.flush().await?;
    stream.shutdown().await
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests;
