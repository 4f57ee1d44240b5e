//! What one request to gw's local endpoint may do: the pure judge every request goes through
//! before anything else happens (unit-tested and fuzzed).
//!
//! - `Host` must be the exact loopback address and port gw listens on (`127.0.0.1:<port>` or
//!   `localhost:<port>`): a web page that rebinds its DNS name to 127.0.0.1 is refused.
//! - The per-session key must be presented: as the first path segments (`/k/<key>/…`), or as
//!   the client's API key (`Authorization: Bearer`, `x-api-key`, `x-goog-api-key`). Compared
//!   in constant time.
//! - What remains must be model traffic — `/ai-gateway/…` or `/serving-endpoints/<name>/…` —
//!   or the metadata service (`/metadata`, with `X-Databricks-Metadata-Version: 1` and, when
//!   sent, the profile's host in `X-Databricks-Host`). Nothing else of the workspace API is
//!   reachable, and no path that could be normalised into it upstream (`.`/`..` segments,
//!   empty segments, `%`-escapes, backslashes).
//!
//! A refusal is a status and a reason for the client; it never echoes the key.

use crate::secret::constant_time_eq;

/// The headers the judge reads (lowercase names; the first value of each).
#[derive(Debug, Default, Clone)]
pub struct Heads<'a> {
    pub host: Option<&'a str>,
    pub authorization: Option<&'a str>,
    pub x_api_key: Option<&'a str>,
    pub x_goog_api_key: Option<&'a str>,
    pub metadata_version: Option<&'a str>,
    pub databricks_host: Option<&'a str>,
}

/// What the endpoint knows about itself.
#[derive(Debug, Clone, Copy)]
pub struct Expect<'a> {
    pub port: u16,
    pub key: &'a str,
    /// The profile's workspace URL (scheme and host, no trailing slash).
    pub host: &'a str,
}

/// The verdict on one request.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// Forward to the workspace at this path and query (the key and any `key=` query
    /// parameter removed).
    Model { path_and_query: String },
    /// Answer with the current token for the Databricks SDKs.
    Metadata,
    /// Refuse.
    Reject { status: u16, reason: &'static str },
}

const KEY_PREFIX: &str = "/k/";

/// Judge a request line and its headers. Pure.
pub fn judge(method: &str, target: &str, heads: &Heads<'_>, expect: &Expect<'_>) -> Route {
    let reject = |status, reason| Route::Reject { status, reason };
    if !host_ok(heads.host, expect.port) {
        return reject(
            421,
            "this endpoint answers only at its own loopback address",
        );
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let (keyed, rest) = match path.strip_prefix(KEY_PREFIX) {
        Some(after) => {
            let (candidate, rest) = after.split_at(after.find('/').unwrap_or(after.len()));
            let ok = constant_time_eq(candidate.as_bytes(), expect.key.as_bytes());
            if !ok {
                return reject(401, "wrong or missing session key");
            }
            (true, rest)
        }
        None => (false, path),
    };
    if !keyed && !header_key_ok(heads, expect.key) {
        return reject(401, "wrong or missing session key");
    }
    if rest.is_empty() || rest == "/" {
        return reject(404, "only model traffic is forwarded here");
    }
    if !path_is_plain(rest) {
        return reject(400, "malformed path");
    }
    if rest == "/metadata" {
        if method != "GET" {
            return reject(405, "the metadata service answers GET only");
        }
        if heads.metadata_version != Some("1") {
            return reject(400, "X-Databricks-Metadata-Version: 1 is required");
        }
        if let Some(h) = heads.databricks_host
            && normalize_host(h) != normalize_host(expect.host)
        {
            return reject(400, "this metadata service serves another workspace");
        }
        return Route::Metadata;
    }
    if !is_model_path(rest) {
        return reject(404, "only model traffic is forwarded here");
    }
    let query = strip_key_param(query, expect.key);
    Route::Model {
        path_and_query: if query.is_empty() {
            rest.to_owned()
        } else {
            format!("{rest}?{query}")
        },
    }
}

fn host_ok(host: Option<&str>, port: u16) -> bool {
    let Some(h) = host else { return false };
    let h = h.trim().to_ascii_lowercase();
    h == format!("127.0.0.1:{port}") || h == format!("localhost:{port}")
}

fn header_key_ok(heads: &Heads<'_>, key: &str) -> bool {
    let bearer = heads.authorization.and_then(|a| {
        let (scheme, value) = a.trim().split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then_some(value.trim())
    });
    [bearer, heads.x_api_key, heads.x_goog_api_key]
        .into_iter()
        .flatten()
        .any(|v| constant_time_eq(v.trim().as_bytes(), key.as_bytes()))
}

/// `/a/b:c` with no empty, `.` or `..` segment, no `%` escape and no backslash.
fn path_is_plain(path: &str) -> bool {
    path.starts_with('/')
        && !path.contains(['%', '\\'])
        && path
            .split('/')
            .skip(1)
            .all(|seg| !seg.is_empty() && seg != "." && seg != "..")
        && path.chars().all(|c| c.is_ascii_graphic())
}

/// `/ai-gateway/<anything>` or `/serving-endpoints/<name>/<anything>`.
fn is_model_path(path: &str) -> bool {
    let mut segs = path.split('/').skip(1);
    match segs.next() {
        Some("ai-gateway") => segs.next().is_some(),
        Some("serving-endpoints") => segs.next().is_some() && segs.next().is_some(),
        _ => false,
    }
}

/// The query without a `key=` parameter (some clients put their API key there) or any other
/// that carries the session key: the key never leaves this machine.
fn strip_key_param(query: &str, key: &str) -> String {
    query
        .split('&')
        .filter(|p| !p.is_empty() && p.split('=').next() != Some("key") && !p.contains(key))
        .collect::<Vec<_>>()
        .join("&")
}

/// `https://Host:443/` → `https://host` (how the SDKs normalise `X-Databricks-Host`).
fn normalize_host(h: &str) -> String {
    let h = h.trim().trim_end_matches('/').to_ascii_lowercase();
    h.strip_suffix(":443")
        .filter(|_| h.starts_with("https://"))
        .map(str::to_owned)
        .unwrap_or(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "k3y-abcdefghijklmnopqrstuvwxyz012345";
    const EXPECT: Expect<'static> = Expect {
        port: 4242,
        key: KEY,
        host: "https://adb-1.azuredatabricks.net",
    };

    fn heads() -> Heads<'static> {
        Heads {
            host: Some("127.0.0.1:4242"),
            ..Heads::default()
        }
    }

    fn model(p: &str) -> Route {
        Route::Model {
            path_and_query: p.to_owned(),
        }
    }

    #[test]
    fn model_traffic_with_the_key_in_the_path_is_forwarded_without_it() {
        let t = format!(
            "/k/{KEY}/ai-gateway/gemini/v1beta/models/m:streamGenerateContent?alt=sse&key={KEY}"
        );
        assert_eq!(
            judge("POST", &t, &heads(), &EXPECT),
            model("/ai-gateway/gemini/v1beta/models/m:streamGenerateContent?alt=sse")
        );
        let t = format!("/k/{KEY}/serving-endpoints/anthropic/v1/messages");
        assert_eq!(
            judge("POST", &t, &heads(), &EXPECT),
            model("/serving-endpoints/anthropic/v1/messages")
        );
    }

    #[test]
    fn the_key_may_come_as_the_clients_api_key() {
        for h in [
            Heads {
                authorization: Some(&*format!("Bearer {KEY}").leak()),
                ..heads()
            },
            Heads {
                x_api_key: Some(KEY),
                ..heads()
            },
            Heads {
                x_goog_api_key: Some(KEY),
                ..heads()
            },
        ] {
            assert_eq!(
                judge("POST", "/ai-gateway/anthropic/v1/messages", &h, &EXPECT),
                model("/ai-gateway/anthropic/v1/messages")
            );
        }
    }

    #[test]
    fn no_key_a_wrong_key_or_a_foreign_host_reaches_no_one() {
        let refused = |r: Route, status: u16| {
            assert!(
                matches!(r, Route::Reject { status: s, .. } if s == status),
                "{r:?}"
            );
        };
        refused(judge("POST", "/ai-gateway/x/y", &heads(), &EXPECT), 401);
        refused(
            judge("POST", "/k/wrong/ai-gateway/x/y", &heads(), &EXPECT),
            401,
        );
        let short = &KEY[..KEY.len() - 1];
        refused(
            judge(
                "POST",
                &format!("/k/{short}/ai-gateway/x"),
                &heads(),
                &EXPECT,
            ),
            401,
        );
        let bad = Heads {
            x_api_key: Some("nope"),
            ..heads()
        };
        refused(judge("POST", "/ai-gateway/x/y", &bad, &EXPECT), 401);
        for host in [
            None,
            Some("evil.example:4242"),
            Some("127.0.0.1:4243"),
            Some("127.0.0.1"),
        ] {
            let h = Heads { host, ..heads() };
            refused(
                judge("POST", &format!("/k/{KEY}/ai-gateway/x/y"), &h, &EXPECT),
                421,
            );
        }
        let h = Heads {
            host: Some("LOCALHOST:4242"),
            ..heads()
        };
        assert!(matches!(
            judge("GET", &format!("/k/{KEY}/ai-gateway/x/y"), &h, &EXPECT),
            Route::Model { .. }
        ));
    }

    #[test]
    fn only_model_paths_and_no_path_that_could_escape_upstream() {
        for p in [
            "/api/2.0/clusters/list",
            "/api/2.0/serving-endpoints/x",
            "/serving-endpoints/x",
            "/ai-gateway",
            "/oidc/v1/token",
            "/",
        ] {
            assert!(
                matches!(
                    judge("GET", &format!("/k/{KEY}{p}"), &heads(), &EXPECT),
                    Route::Reject { status: 404, .. }
                ),
                "{p}"
            );
        }
        for p in [
            "/ai-gateway/../api/2.0/clusters/list",
            "/ai-gateway/%2e%2e/api",
            "/serving-endpoints/a%2Fb/invocations",
            "/ai-gateway//x",
            "/ai-gateway/./x",
            "/ai-gateway\\..\\api",
        ] {
            assert!(
                matches!(
                    judge("GET", &format!("/k/{KEY}{p}"), &heads(), &EXPECT),
                    Route::Reject { status: 400, .. }
                ),
                "{p}"
            );
        }
    }

    #[test]
    fn the_metadata_service_needs_its_version_header_and_one_host() {
        let t = format!("/k/{KEY}/metadata");
        let v1 = Heads {
            metadata_version: Some("1"),
            ..heads()
        };
        assert_eq!(judge("GET", &t, &v1, &EXPECT), Route::Metadata);
        assert!(matches!(
            judge("GET", &t, &heads(), &EXPECT),
            Route::Reject { status: 400, .. }
        ));
        let same = Heads {
            databricks_host: Some("https://ADB-1.azuredatabricks.net:443/"),
            ..v1.clone()
        };
        assert_eq!(judge("GET", &t, &same, &EXPECT), Route::Metadata);
        let other = Heads {
            databricks_host: Some("https://other.cloud.databricks.com"),
            ..v1.clone()
        };
        assert!(matches!(
            judge("GET", &t, &other, &EXPECT),
            Route::Reject { status: 400, .. }
        ));
        assert!(matches!(
            judge("POST", &t, &v1, &EXPECT),
            Route::Reject { status: 405, .. }
        ));
    }
}
