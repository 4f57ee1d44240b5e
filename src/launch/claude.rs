//! Wiring Claude Code to the gateway (SPEC "Targets", `claude`).
//!
//! - Env: `ANTHROPIC_BASE_URL` = `<host>/<gateway>/anthropic`, the three family models, the
//!   coding-agent header in `ANTHROPIC_CUSTOM_HEADERS`, and
//!   `CLAUDE_CODE_API_KEY_HELPER_TTL_MS` from the token's lifetime. No token: Claude Code asks
//!   `gw token --for claude` (the `apiKeyHelper`) whenever it needs one, so sessions outlive
//!   any single token. `ANTHROPIC_API_KEY`, `ANTHROPIC_AUTH_TOKEN` and the cloud-provider
//!   switches are removed (each outranks the helper), with a note when they were set.
//! - Args: one inline `--settings '<json>'` holding the helper and a deny of the hosted
//!   `WebSearch` tool (the gateway rejects it). Claude Code honours only the last
//!   `--settings`, so a user's own is merged into ours, never dropped. Nothing is written to
//!   disk: the user's `~/.claude/settings.json` stays byte for byte.

use std::ffi::OsString;

use serde_json::{Value as Json, json};

use super::{ChildEnv, Origin, remove_noting, sh_quote};
use crate::config::Profile;
use crate::env_vars as ev;
use crate::error::UserError;
use crate::exchange::DatabricksToken;

/// The header Databricks' coding-agent tooling sends to the gateway.
pub const CODING_AGENT_HEADER: &str = "x-databricks-use-coding-agent-mode: true";

/// How often Claude Code re-runs the helper, in seconds: a quarter of the token's lifetime,
/// between 1 s and 15 min.
pub fn helper_ttl(lifetime: u64) -> u64 {
    (lifetime / 4).clamp(1, 900)
}

/// The life a token handed to the helper must still have: the helper interval plus a margin
/// for requests in flight (an eighth of the lifetime, 1 s to 5 min). Always below the
/// lifetime for tokens of 4 s or more, so a fresh token is served from cache, not refreshed
/// in a loop.
pub fn helper_min_ttl(lifetime: u64) -> u64 {
    helper_ttl(lifetime) + (lifetime / 8).clamp(1, 300)
}

/// The `claude` target's variables.
pub fn env(
    env: &mut ChildEnv,
    notes: &mut Vec<String>,
    profile: &Profile,
    token: &DatabricksToken,
    inherited: &dyn Fn(&str) -> Option<String>,
) -> Result<(), UserError> {
    let models = profile.models.as_ref().ok_or_else(|| {
        UserError::config(
            format!("profile `{}` names no model for Claude Code", profile.name),
            "set `model` (or `models = { opus, sonnet, haiku }`) in the profile: the serving endpoint names requests go to",
        )
    })?;
    env.set(
        ev::ANTHROPIC_BASE_URL,
        format!(
            "{}/{}/anthropic",
            profile.databricks_host,
            profile.gateway.path()
        ),
    );
    env.set(ev::ANTHROPIC_DEFAULT_OPUS_MODEL, models.opus.clone());
    env.set(ev::ANTHROPIC_DEFAULT_SONNET_MODEL, models.sonnet.clone());
    env.set(ev::ANTHROPIC_DEFAULT_HAIKU_MODEL, models.haiku.clone());
    let headers = match inherited(ev::ANTHROPIC_CUSTOM_HEADERS) {
        Some(h)
            if h.to_ascii_lowercase()
                .contains("x-databricks-use-coding-agent-mode") =>
        {
            h
        }
        Some(h) if !h.trim().is_empty() => format!("{}\n{CODING_AGENT_HEADER}", h.trim_end()),
        _ => CODING_AGENT_HEADER.to_owned(),
    };
    env.set(ev::ANTHROPIC_CUSTOM_HEADERS, headers);
    env.set(
        ev::CLAUDE_CODE_API_KEY_HELPER_TTL_MS,
        (helper_ttl(token.lifetime) * 1000).to_string(),
    );
    for name in [
        ev::ANTHROPIC_API_KEY,
        ev::ANTHROPIC_AUTH_TOKEN,
        ev::CLAUDE_CODE_USE_BEDROCK,
        ev::CLAUDE_CODE_USE_VERTEX,
        ev::CLAUDE_CODE_USE_FOUNDRY,
        ev::DATABRICKS_TOKEN,
    ] {
        remove_noting(env, notes, name, "Claude Code", inherited);
    }
    Ok(())
}

/// The helper command Claude Code runs with `/bin/sh -c`.
pub fn helper_command(origin: &Origin<'_>, profile: &Profile) -> String {
    format!(
        "{} token --profile {} --for claude",
        sh_quote(&origin.gw_exe.display().to_string()),
        sh_quote(&profile.name)
    )
}

/// Claude Code's arguments: the user's, with one merged `--settings` in front.
pub fn args(
    user_args: Vec<OsString>,
    profile: &Profile,
    _token: &DatabricksToken,
    origin: &Origin<'_>,
) -> Result<Vec<OsString>, UserError> {
    let (theirs, mut rest) = take_settings(user_args)?;
    let settings = merge_settings(theirs, &helper_command(origin, profile));
    let mut out: Vec<OsString> = vec!["--settings".into(), settings.to_string().into()];
    out.append(&mut rest);
    Ok(out)
}

/// Remove the user's `--settings X` / `--settings=X` (the last one wins, as in Claude Code)
/// and read it: inline JSON, or a file path.
fn take_settings(args: Vec<OsString>) -> Result<(Option<Json>, Vec<OsString>), UserError> {
    let mut value = None;
    let mut rest = Vec::new();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let s = a.to_string_lossy();
        if s == "--" {
            rest.push(a);
            rest.extend(it);
            break;
        } else if s == "--settings" {
            value = Some(it.next().ok_or_else(|| {
                UserError::config(
                    "`--settings` needs a value",
                    "pass `--settings '<json>'` or `--settings FILE`",
                )
            })?);
        } else if let Some(v) = s.strip_prefix("--settings=") {
            value = Some(OsString::from(v));
        } else {
            rest.push(a);
        }
    }
    let parsed = match value {
        None => None,
        Some(v) => Some(read_settings(&v.to_string_lossy())?),
    };
    Ok((parsed, rest))
}

fn read_settings(v: &str) -> Result<Json, UserError> {
    let hint = "pass valid JSON to `--settings`, inline or in a file";
    let text = if v.trim_start().starts_with('{') {
        v.to_owned()
    } else {
        std::fs::read_to_string(v).map_err(|e| {
            UserError::config(
                format!("cannot read the `--settings` file `{v}`: {e}"),
                hint,
            )
        })?
    };
    let json: Json = serde_json::from_str(&text)
        .map_err(|e| UserError::config(format!("`--settings` is not valid JSON: {e}"), hint))?;
    if !json.is_object() {
        return Err(UserError::config(
            "`--settings` must be a JSON object",
            hint,
        ));
    }
    Ok(json)
}

/// The user's settings (if any) with gw's helper and the `WebSearch` deny added.
pub fn merge_settings(theirs: Option<Json>, helper: &str) -> Json {
    let mut s = theirs.unwrap_or_else(|| json!({}));
    let obj = s.as_object_mut().expect("settings are an object");
    obj.insert("apiKeyHelper".into(), Json::String(helper.to_owned()));
    let perms = obj.entry("permissions").or_insert_with(|| json!({}));
    if !perms.is_object() {
        *perms = json!({});
    }
    let deny = perms
        .as_object_mut()
        .expect("object")
        .entry("deny")
        .or_insert_with(|| json!([]));
    if !deny.is_array() {
        *deny = json!([]);
    }
    let list = deny.as_array_mut().expect("array");
    if !list.iter().any(|v| v == "WebSearch") {
        list.push(Json::String("WebSearch".into()));
    }
    s
}
