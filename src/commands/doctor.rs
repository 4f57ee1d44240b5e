//! `gw doctor`: one line per check, `ok` / `warn` / `fail`.
//!
//! Offline checks (config, token store and keyring health, the cached sign-in, Claude Code on
//! PATH) take about a second at most. Network checks (IdP discovery, the workspace, clock
//! skew from their `Date` headers) only warn, each bounded to a few seconds; `--offline`
//! skips them. Exit 1 when a check fails.
//!
//! `--json`: `{"ok": bool, "checks": [{"name", "status", "detail"}]}` with names `config`,
//! `store`, `sign-in`, `claude`, and unless `--offline`: `idp`, `workspace`, `clock`.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::cli::StoreChoice;
use crate::env_vars;
use crate::http::Http;
use crate::session::Context;
use crate::time::{now_unix, rfc3339, unix};
use crate::token_store::keyring_store::{self, OsKeyring};

const NETWORK_TIMEOUT: Duration = Duration::from_secs(5);
/// Clock difference worth a warning.
pub const MAX_SKEW: u64 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

#[derive(Debug, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    pub detail: String,
}

fn check(name: &'static str, status: Status, detail: impl Into<String>) -> Check {
    Check {
        name,
        status,
        detail: detail.into(),
    }
}

pub fn run(
    ctx: &Context<'_>,
    choice: StoreChoice,
    as_json: bool,
    offline: bool,
) -> anyhow::Result<u8> {
    let mut checks = vec![
        check(
            "config",
            Status::Ok,
            format!(
                "`{}`, profile `{}` ({:?} sign-in)",
                ctx.config.path.display(),
                ctx.profile.name,
                ctx.profile.idp.kind
            )
            .replace("Azure", "azure")
            .replace("Oidc", "oidc")
            .replace("Databricks", "databricks"),
        ),
        store_check(ctx, choice),
        sign_in_check(ctx),
        claude_check(),
    ];
    if !offline {
        checks.extend(network_checks(ctx));
    }
    let ok = checks.iter().all(|c| c.status != Status::Fail);
    if as_json {
        super::emit(&format!(
            "{}\n",
            serde_json::json!({ "ok": ok, "checks": checks })
        ))?;
    } else {
        let mut out = String::new();
        for c in &checks {
            let s = match c.status {
                Status::Ok => "ok  ",
                Status::Warn => "warn",
                Status::Fail => "FAIL",
            };
            out.push_str(&format!(
                "{s}  {:<10} {}\n",
                c.name,
                crate::sanitize::shown(&c.detail)
            ));
        }
        super::emit(&out)?;
    }
    Ok(if ok { 0 } else { crate::error::exit::FAILURE })
}

/// The keyring health check: a fresh write/read/delete round trip (the saved verdict is
/// refreshed with it).
fn store_check(ctx: &Context<'_>, choice: StoreChoice) -> Check {
    let files = ctx.paths.state_dir.join("tokens");
    if choice == StoreChoice::File {
        return check(
            "store",
            Status::Ok,
            format!(
                "file store in `{}` (keyring not used: `--store file`)",
                files.display()
            ),
        );
    }
    let probe = keyring_store::probe(
        OsKeyring {
            when_slow: crate::token_store::Slow::FallBack,
        },
        keyring_store::CALL_TIMEOUT,
    );
    crate::token_store::remember_verdict(ctx.paths, &probe);
    match (probe, choice) {
        (Ok(()), _) => check(
            "store",
            Status::Ok,
            "OS keyring works (write/read/delete round trip)",
        ),
        (Err(why), StoreChoice::Keyring) => check(
            "store",
            Status::Fail,
            format!("OS keyring unavailable: {why}; use `--store file`"),
        ),
        (Err(why), _) => check(
            "store",
            Status::Warn,
            format!(
                "no usable OS keyring ({why}); tokens are kept in a private file in `{}`",
                files.display()
            ),
        ),
    }
}

fn sign_in_check(ctx: &Context<'_>) -> Check {
    let rec = match ctx.store.load(&ctx.key()) {
        Ok(r) => r,
        Err(e) => {
            return check(
                "sign-in",
                Status::Fail,
                format!("cannot read the token store: {e}"),
            );
        }
    };
    let now = now_unix();
    match rec {
        None => check("sign-in", Status::Warn, "not signed in: run `gw login`"),
        Some(r) => {
            let who = r
                .identity
                .as_ref()
                .map_or("unknown", |i| i.name.as_str())
                .to_owned();
            let until = r.databricks.as_ref().map(|t| t.expires_at);
            match (until, r.refresh_token.is_some()) {
                (Some(e), _) if e > now => check(
                    "sign-in",
                    Status::Ok,
                    format!("{who}, token valid until {}", rfc3339(e)),
                ),
                (_, true) => check(
                    "sign-in",
                    Status::Ok,
                    format!("{who}, token expired; it refreshes silently"),
                ),
                _ => check(
                    "sign-in",
                    Status::Warn,
                    format!("{who}, token expired and no refresh token: run `gw login`"),
                ),
            }
        }
    }
}

fn claude_check() -> Check {
    match claude_binary() {
        Some(path) => check(
            "claude",
            Status::Ok,
            format!("Claude Code at `{}`", path.display()),
        ),
        None => check(
            "claude",
            Status::Warn,
            "Claude Code (`claude`) is not on PATH: `npm install -g @anthropic-ai/claude-code`, or set GW_CLAUDE_BIN",
        ),
    }
}

/// `$GW_CLAUDE_BIN`, else `claude` on PATH.
pub fn claude_binary() -> Option<PathBuf> {
    if let Some(bin) = std::env::var_os(env_vars::GW_CLAUDE_BIN).filter(|v| !v.is_empty()) {
        let p = PathBuf::from(bin);
        return p.is_file().then_some(p);
    }
    crate::platform::program::find("claude")
}

fn network_checks(ctx: &Context<'_>) -> Vec<Check> {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            return vec![check(
                "idp",
                Status::Warn,
                format!("cannot start the async runtime: {e}"),
            )];
        }
    };
    runtime.block_on(async {
        let http = match Http::new(ctx.config.ca_file.as_deref()) {
            Ok(h) => h,
            Err(e) => return vec![check("idp", Status::Fail, e.to_string())],
        };
        let mut out = Vec::new();
        let mut server_date = None;
        let idp = &ctx.profile.idp;
        let discovery = tokio::time::timeout(NETWORK_TIMEOUT, http.get(&idp.discovery_url)).await;
        out.push(match discovery {
            Err(_) => check(
                "idp",
                Status::Warn,
                format!(
                    "`{}` did not answer within {} s",
                    idp.discovery_url,
                    NETWORK_TIMEOUT.as_secs()
                ),
            ),
            Ok(Err(e)) => check("idp", Status::Warn, e.to_string()),
            Ok(Ok(resp)) => {
                server_date = resp.date;
                let issuer = serde_json::from_slice::<serde_json::Value>(&resp.body)
                    .ok()
                    .and_then(|v| v.get("issuer").and_then(|i| i.as_str()).map(str::to_owned));
                match issuer {
                    _ if !resp.is_success() => check(
                        "idp",
                        Status::Warn,
                        format!("`{}` answered HTTP {}", idp.discovery_url, resp.status),
                    ),
                    Some(i) if i == idp.issuer => check(
                        "idp",
                        Status::Ok,
                        format!("discovery at `{}` is reachable", idp.discovery_url),
                    ),
                    Some(i) => check(
                        "idp",
                        Status::Warn,
                        format!(
                            "the provider's issuer is `{i}`, the config says `{}`",
                            idp.issuer
                        ),
                    ),
                    None => check(
                        "idp",
                        Status::Warn,
                        format!("`{}` is not a discovery document", idp.discovery_url),
                    ),
                }
            }
        });
        let ws_url = format!(
            "{}/oidc/.well-known/oauth-authorization-server",
            ctx.profile.databricks_host
        );
        let ws = tokio::time::timeout(NETWORK_TIMEOUT, http.get(&ws_url)).await;
        out.push(match ws {
            Err(_) => check(
                "workspace",
                Status::Warn,
                format!(
                    "`{}` did not answer within {} s",
                    ctx.profile.databricks_host,
                    NETWORK_TIMEOUT.as_secs()
                ),
            ),
            Ok(Err(e)) => check("workspace", Status::Warn, e.to_string()),
            Ok(Ok(resp)) => {
                server_date = server_date.or(resp.date);
                check(
                    "workspace",
                    Status::Ok,
                    format!(
                        "`{}` is reachable (HTTP {})",
                        ctx.profile.databricks_host, resp.status
                    ),
                )
            }
        });
        out.push(clock_check(server_date, SystemTime::now()));
        out
    })
}

/// Compare the local clock with a server's `Date`.
pub fn clock_check(server: Option<SystemTime>, local: SystemTime) -> Check {
    let Some(server) = server else {
        return check(
            "clock",
            Status::Warn,
            "no server sent a Date header to compare with",
        );
    };
    let (s, l) = (unix(server), unix(local));
    let skew = s.abs_diff(l);
    let direction = if l > s { "ahead of" } else { "behind" };
    if skew > MAX_SKEW {
        check(
            "clock",
            Status::Warn,
            format!(
                "the local clock is {skew} s {direction} the server's; tokens may look expired or not yet valid"
            ),
        )
    } else {
        check(
            "clock",
            Status::Ok,
            format!("within {skew} s of the server's"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_skew_warns_above_a_minute() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(10_000);
        assert_eq!(
            clock_check(Some(t), t + Duration::from_secs(60)).status,
            Status::Ok
        );
        let c = clock_check(Some(t), t + Duration::from_secs(61));
        assert_eq!(c.status, Status::Warn);
        assert!(c.detail.contains("61 s ahead of"), "{}", c.detail);
        assert!(
            clock_check(Some(t), t - Duration::from_secs(600))
                .detail
                .contains("behind")
        );
        assert_eq!(clock_check(None, t).status, Status::Warn);
    }
}
