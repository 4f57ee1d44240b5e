//! Wiring the OpenAI Codex CLI to the gateway without editing `~/.codex/config.toml`.
//!
//! Codex takes `-c key=value` overrides (TOML values) on its command line; gw passes a model
//! provider whose `auth.command` is `gw token --profile P`, so Codex re-runs it for fresh
//! tokens (its command-backed provider auth), pointed at `<host>/ai-gateway/codex/v1` with
//! the Responses API. Only applied when the program is `codex`.

use std::ffi::OsString;
use std::path::Path;

use super::Origin;
use crate::config::Profile;

/// The provider name gw registers.
pub const PROVIDER: &str = "gw-databricks";

/// TOML basic string.
fn toml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The `-c` overrides for Codex, followed by the user's arguments.
pub fn args(user_args: Vec<OsString>, profile: &Profile, origin: &Origin<'_>) -> Vec<OsString> {
    let gw = origin.gw_exe.display().to_string();
    let provider = format!(
        "model_providers.{PROVIDER}={{ name = \"Databricks AI Gateway (gw)\", base_url = {}, wire_api = \"responses\", auth = {{ command = {}, args = [\"token\", \"--profile\", {}], timeout_ms = 60000, refresh_interval_ms = 300000 }} }}",
        toml_str(&format!("{}/ai-gateway/codex/v1", profile.databricks_host)),
        toml_str(&gw),
        toml_str(&profile.name),
    );
    let mut out: Vec<OsString> = vec![
        "-c".into(),
        provider.into(),
        "-c".into(),
        format!("model_provider={}", toml_str(PROVIDER)).into(),
    ];
    out.extend(user_args);
    out
}

/// Whether `program` is the Codex CLI (by file name).
pub fn is_codex(program: &Path) -> bool {
    program.file_stem().is_some_and(|n| n == "codex")
}
