//! The bodies of gw's fuzz targets, shared by the cargo-fuzz binaries (`fuzz_targets/*.rs`)
//! and the stable replay test (`tests/fuzz_replay.rs`, which includes this file with
//! `#[path]`), so CI checks the corpus against exactly the invariants the fuzzer checks.
//!
//! Each `check_*` takes the raw fuzz input and panics when an invariant breaks; returning
//! means the input is fine. Nothing here may use a crate the `gw` package's tests cannot
//! (`gw`, its dependency `url`, `std`).

use std::path::Path;

use gw::config::{Config, Ports, Profile, checked_url};
use gw::http::Response;
use gw::idp::loopback::{Expect, Verdict, judge};
use gw::secret::Secret;
use gw::token_endpoint::{TokenResponse, interpret};

/// A fuzz target's body: panics when the input breaks an invariant.
pub type Body = fn(&[u8]);

/// The fuzz targets: name (= corpus directory under `tests/fuzz_corpus/`) and body.
pub const TARGETS: &[(&str, Body)] = &[
    ("callback", check_callback),
    ("token_response", check_token_response),
    ("config", check_config),
    ("endpoint_request", check_endpoint_request),
    ("state_file", check_state_file),
];

// ---------------------------------------------------------------------------------------
// callback: `gw::idp::loopback::judge` on an arbitrary request head.

/// The `Host` the listener expects.
pub const CALLBACK_HOST: &str = "127.0.0.1:5000";
/// The redirect path.
pub const CALLBACK_PATH: &str = "/callback";
/// The `state` gw sent.
pub const CALLBACK_STATE: &str = "S1";
/// The issuer the `iss` parameter must match.
pub const CALLBACK_ISSUER: &str = "https://idp";
/// The one-shot start path.
pub const CALLBACK_START: &str = "/gw-start/R4nd0m";

/// Input: the request head, bytes as received (decoded as lossy UTF-8, as the listener does).
/// Judged once with `iss` optional and once with `iss` required.
pub fn check_callback(data: &[u8]) {
    let head = String::from_utf8_lossy(data);
    let state = Secret::new(CALLBACK_STATE);
    for iss_required in [false, true] {
        let expect = Expect {
            host: CALLBACK_HOST,
            path: CALLBACK_PATH,
            start_path: Some(CALLBACK_START),
            state: &state,
            issuer: CALLBACK_ISSUER,
            iss_required,
        };
        let verdict = judge(&head, &expect);
        let (status, page) = verdict.page();
        assert!(!page.is_empty(), "empty page for {verdict:?}");
        match &verdict {
            Verdict::Start => {
                let request_line = head.split("\r\n").next().unwrap_or("");
                assert!(
                    request_line.starts_with(&format!("GET {CALLBACK_START}")),
                    "request line {request_line:?} was taken for the start URL"
                );
                assert_eq!(status, 302);
            }
            Verdict::Ignore(s, _) => {
                assert!(
                    matches!(*s, 400 | 404 | 405),
                    "ignored with status {s}: {verdict:?}"
                );
                assert_eq!(status, *s, "page status differs from the verdict's");
            }
            Verdict::Done(result) => {
                // Only a GET of the redirect path with the exact Host (and the right state,
                // which the unit tests pin) may end the wait: forged requests must neither
                // finish nor abort a login.
                let request_line = head.split("\r\n").next().unwrap_or("");
                assert!(
                    request_line.starts_with("GET /callback"),
                    "request line {request_line:?} ended the wait: {verdict:?}"
                );
                assert!(
                    head.to_ascii_lowercase().contains(CALLBACK_HOST),
                    "no Host {CALLBACK_HOST} yet the wait ended: {verdict:?}"
                );
                match result {
                    Ok(code) => {
                        assert_eq!(status, 200);
                        assert!(!code.expose().is_empty(), "empty code accepted");
                    }
                    Err(_) => assert_eq!(status, 400),
                }
            }
        }
        // Pure: the same head gets the same answer.
        let again = judge(&head, &expect);
        assert_eq!(again.page(), (status, page), "judge is not deterministic");
    }
}

// ---------------------------------------------------------------------------------------
// token_response: `gw::token_endpoint::interpret::<TokenResponse>`.

/// A short secret the client "sent" (say, an authorization code).
pub const SHORT_SECRET: &str = "SECRETSECRET123";
/// The token endpoint's URL, as shown in errors.
pub const TOKEN_URL: &str = "https://idp/token";

/// A long secret the client "sent" (a refresh token is often 1–2 KB): 512 pseudo-random
/// alphanumeric characters, always the same.
pub fn long_secret() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..512)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ALPHABET[(x % ALPHABET.len() as u64) as usize] as char
        })
        .collect()
}

/// Input layout: `SSS` `C` `M` `body…`
/// - `SSS`: the HTTP status; three ASCII digits from 100 to 599 mean that status (any other
///   three bytes still map into 100..=599);
/// - `C`: the content type: `j` application/json, `J` application/json; charset=utf-8,
///   `h` text/html, `t` text/plain, `n` none, `p` application/problem+json, anything else one
///   of those by its value;
/// - `M`: where the client's secrets go: every `$` in the body is replaced by `s` the short
///   secret, `L` the long secret, `b` both in turn, `-` (or anything else) left alone.
///
/// The secrets are passed to `interpret` as the request's secret values; its error (Display
/// and Debug) must never show one (nor, for the long one, any 32-character run of it).
pub fn check_token_response(data: &[u8]) {
    let (status, content_type, mode, raw_body) = split_token_input(data);
    let long = long_secret();
    let body = inject_secrets(raw_body, mode, &long);
    let resp = Response::new(status, content_type, body);
    let secrets = [SHORT_SECRET, long.as_str()];
    match interpret::<TokenResponse>(TOKEN_URL, &resp, &secrets) {
        Ok(_) => assert!(
            resp.is_success(),
            "HTTP {status} accepted as a token response"
        ),
        Err(e) => {
            for text in [e.to_string(), format!("{e:?}")] {
                assert!(
                    !text.contains(SHORT_SECRET),
                    "the error shows the secret {SHORT_SECRET:?}: {text}"
                );
                // A run of 32 characters of the long secret can only come from the body it
                // was injected into (unless the raw input already held it).
                for chunk in long.as_bytes().chunks(16) {
                    let chunk = std::str::from_utf8(chunk).unwrap_or_default();
                    assert!(
                        !text.contains(chunk) || contains(raw_body, chunk.as_bytes()),
                        "the error shows part of the long secret ({chunk:?}…): {text}"
                    );
                }
            }
        }
    }
}

fn split_token_input(data: &[u8]) -> (u16, Option<&'static str>, u8, &[u8]) {
    let byte = |i: usize| data.get(i).copied().unwrap_or(b'0');
    let digit = |b: u8| u16::from(b.wrapping_sub(b'0') % 10);
    let v = digit(byte(0)) * 100 + digit(byte(1)) * 10 + digit(byte(2));
    // 100..=599 map to themselves; the rest of 0..=999 wraps into that range.
    let status = 100 + (v + 400) % 500;
    const TYPES: [Option<&str>; 6] = [
        Some("application/json"),
        Some("application/json; charset=utf-8"),
        Some("text/html; charset=utf-8"),
        Some("text/plain"),
        None,
        Some("application/problem+json"),
    ];
    let content_type = match byte(3) {
        b'j' => TYPES[0],
        b'J' => TYPES[1],
        b'h' => TYPES[2],
        b't' => TYPES[3],
        b'n' => TYPES[4],
        b'p' => TYPES[5],
        other => TYPES[usize::from(other) % TYPES.len()],
    };
    let body = data.get(5..).unwrap_or_default();
    (status, content_type, byte(4), body)
}

fn inject_secrets(body: &[u8], mode: u8, long: &str) -> Vec<u8> {
    if !matches!(mode, b's' | b'L' | b'b') {
        return body.to_vec();
    }
    let mut out = Vec::with_capacity(body.len());
    let mut nth = 0usize;
    for &b in body {
        if b == b'$' {
            let secret = match (mode, nth % 2) {
                (b's', _) | (b'b', 0) => SHORT_SECRET,
                _ => long,
            };
            out.extend_from_slice(secret.as_bytes());
            nth += 1;
        } else {
            out.push(b);
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

// ---------------------------------------------------------------------------------------
// config: `gw::config::Config::parse`.

/// Input: the config file's text (lossy UTF-8). A config that parses must be usable: every
/// URL https or loopback http, every redirect URI an http loopback URI naming the port the
/// listener binds, cache keys stable.
pub fn check_config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let path = Path::new("/fuzz/config.toml");
    let config = match Config::parse(&text, path) {
        Ok(c) => c,
        Err(e) => {
            assert!(!e.message.is_empty(), "an error without a message");
            assert_eq!(e.code, 2, "a config error that is not exit 2: {e:?}");
            return;
        }
    };
    match config.profile(None) {
        Ok(p) => assert!(config.profiles.contains_key(&p.name)),
        Err(e) => assert!(!e.message.is_empty()),
    }
    if let Some(d) = &config.default_profile {
        assert!(
            config.profiles.contains_key(d),
            "default_profile {d:?} unknown"
        );
    }
    for (name, profile) in &config.profiles {
        assert_eq!(&profile.name, name);
        check_profile(profile);
    }
}

fn check_profile(p: &Profile) {
    let key = p.cache_key();
    assert_eq!(key, p.cache_key(), "cache key not stable");
    assert!(
        key.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "cache key {key:?} is not a safe file/keyring name"
    );
    assert!(!p.databricks_host.ends_with('/'), "{:?}", p.databricks_host);
    for (what, url) in [
        ("databricks_host", &p.databricks_host),
        ("issuer", &p.idp.issuer),
        ("discovery_url", &p.idp.discovery_url),
    ] {
        assert!(
            checked_url(url).is_ok(),
            "profile {:?}: {what} {url:?} is not an https (or loopback http) URL: {:?}",
            p.name,
            checked_url(url)
        );
    }
    assert!(!p.idp.client_id.trim().is_empty());
    let redirect = &p.idp.redirect;
    let ports: Vec<u16> = match &redirect.ports {
        Ports::Ephemeral => vec![1234],
        Ports::List(list) => {
            assert!(!list.is_empty(), "no port to bind");
            list.clone()
        }
    };
    for port in ports {
        let uri = redirect.uri(port);
        let url = url::Url::parse(&uri)
            .unwrap_or_else(|e| panic!("redirect URI {uri:?} (port {port}) is not a URL: {e}"));
        assert_eq!(url.scheme(), "http", "redirect URI {uri:?}");
        assert!(
            gw::config::is_loopback_host(&url),
            "redirect URI {uri:?} is not loopback"
        );
        // The browser is sent where the listener is: the URI names the bound port.
        assert_eq!(
            url.port_or_known_default(),
            Some(port),
            "redirect URI {uri:?} does not lead to the listener's port {port} \
             (template {:?})",
            redirect.template
        );
    }
    let _ = (redirect.host(), redirect.path());
}

// ---------------------------------------------------------------------------------------
// endpoint_request: `gw::endpoint::route::judge` on an arbitrary request head to gw's local
// endpoint.

/// The session key the endpoint expects.
pub const ENDPOINT_KEY: &str = "k3y-abcdefghijklmnopqrstuvwxyz012345";
/// Its port.
pub const ENDPOINT_PORT: u16 = 4242;
/// The workspace it serves.
pub const ENDPOINT_HOST: &str = "https://adb-1.azuredatabricks.net";

/// Input: a request head (`METHOD TARGET HTTP/1.1`, then `Name: value` lines). Invariants:
/// nothing but model traffic with the key and the loopback `Host` is forwarded, the forwarded
/// path never carries the key or a segment that could be normalised elsewhere, refusals are
/// 4xx, and the metadata service answers only its own version header.
pub fn check_endpoint_request(data: &[u8]) {
    use gw::endpoint::route::{Expect, Heads, Route, judge};
    let head = String::from_utf8_lossy(data);
    let mut lines = head.split("\r\n");
    let request = lines.next().unwrap_or("");
    let mut parts = request.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let headers: Vec<(String, &str)> = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim()))
        .collect();
    let get = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| *v);
    let heads = Heads {
        host: get("host"),
        authorization: get("authorization"),
        x_api_key: get("x-api-key"),
        x_goog_api_key: get("x-goog-api-key"),
        metadata_version: get("x-databricks-metadata-version"),
        databricks_host: get("x-databricks-host"),
    };
    let expect = Expect {
        port: ENDPOINT_PORT,
        key: ENDPOINT_KEY,
        host: ENDPOINT_HOST,
    };
    let verdict = judge(method, target, &heads, &expect);
    let host_ok = heads.host.is_some_and(|h| {
        let h = h.to_ascii_lowercase();
        h == format!("127.0.0.1:{ENDPOINT_PORT}") || h == format!("localhost:{ENDPOINT_PORT}")
    });
    let keyed = target.contains(ENDPOINT_KEY)
        || [heads.authorization, heads.x_api_key, heads.x_goog_api_key]
            .into_iter()
            .flatten()
            .any(|v| v.contains(ENDPOINT_KEY));
    match &verdict {
        Route::Model { path_and_query } => {
            assert!(host_ok, "forwarded without the loopback Host: {verdict:?}");
            assert!(keyed, "forwarded without the key: {verdict:?}");
            let path = path_and_query.split('?').next().unwrap_or("");
            assert!(
                path.starts_with("/ai-gateway/") || path.starts_with("/serving-endpoints/"),
                "not model traffic: {path}"
            );
            assert!(
                !path_and_query.contains(ENDPOINT_KEY),
                "the key went upstream"
            );
            assert!(
                !path.contains(['%', '\\']),
                "an escape went upstream: {path}"
            );
            assert!(
                path.split('/')
                    .skip(1)
                    .all(|s| !s.is_empty() && s != "." && s != ".."),
                "a segment that normalises elsewhere: {path}"
            );
        }
        Route::Metadata => {
            assert!(
                host_ok && keyed,
                "metadata without key or Host: {verdict:?}"
            );
            assert_eq!(method, "GET");
            assert_eq!(heads.metadata_version, Some("1"));
        }
        Route::Reject { status, .. } => {
            assert!((400..500).contains(status), "refused with {status}");
        }
    }
    assert_eq!(
        judge(method, target, &heads, &expect),
        verdict,
        "judge is not deterministic"
    );
}

// ---------------------------------------------------------------------------------------
// state_file: `gw::paths::read_trusted` and `gw::token_store::parse_record` on arbitrary bytes
// written where gw keeps a token record.

/// Input: a token record's bytes. Invariants: reading and parsing never panic; what parses
/// round-trips; an oversized file is refused, never read whole.
pub fn check_state_file(data: &[u8]) {
    use std::io::Write;
    const MAX: u64 = 16 * 1024;
    let mut file = tempfile::Builder::new()
        .prefix("gw-fuzz-state-")
        .tempfile()
        .expect("a temp file");
    file.write_all(data).expect("write the input");
    file.flush().expect("flush");
    match gw::paths::read_trusted(file.path(), MAX, gw::paths::Owners::Me) {
        Ok(Some(bytes)) => {
            assert!(bytes.len() as u64 <= MAX, "read past the cap");
            assert_eq!(bytes, data, "read something else than was written");
            if let Ok(rec) = gw::token_store::parse_record(&bytes) {
                let again = serde_json::to_vec(&rec).expect("a record serialises");
                let back = gw::token_store::parse_record(&again).expect("and parses back");
                assert_eq!(
                    serde_json::to_value(&back).unwrap(),
                    serde_json::to_value(&rec).unwrap(),
                    "a record does not round-trip"
                );
            }
        }
        Ok(None) => panic!("an existing file read as missing"),
        Err(why) => assert!(
            data.len() as u64 > MAX,
            "a small regular file of ours was refused: {why}"
        ),
    }
}
