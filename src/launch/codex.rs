//! `codex`: the OpenAI Codex CLI on the gateway's Responses API, without editing
//! `~/.codex/config.toml`.
//!
//! Codex takes `-c key=value` overrides (TOML values) on its command line, and they outrank
//! both the user's `config.toml` and a profile file chosen with `--profile`. gw passes a model
//! provider at `<host>/ai-gateway/codex/v1` (`wire_api = "responses"`) whose `auth.command` is
//! `gw token --for codex`, selects it, and sets `model` to the profile's `codex_model`, so
//! Codex never sends its built-in default model. Codex re-runs the command on its refresh
//! interval; the token it prints outlives that interval ([`helper::min_ttl`]).
//!
//! What would defeat that is refused before any sign-in: a `-c model_provider=…` of the user's
//! (gw's provider must be the one used), and a legacy `profile = "…"` line in `config.toml`,
//! with which Codex itself refuses to start. Legacy `[profiles.*]` tables are pointed out.

use std::ffi::OsString;
use std::path::PathBuf;

use super::{Input, ModelKey, Refresh, Target, Wiring, helper};
use crate::error::UserError;

pub static TARGET: Target = Target {
    name: "codex",
    about: "OpenAI Codex CLI: a model provider at the gateway whose auth command is `gw token`",
    program: Some("codex"),
    install: "install Codex: `npm install -g @openai/codex`",
    model: Some(ModelKey {
        key: "codex_model",
        read: |p| p.codex_model.as_deref(),
    }),
    refresh: Refresh::Helper {
        min_ttl: helper::min_ttl,
    },
    wire,
};

/// The provider name gw registers.
pub const PROVIDER: &str = "gw-databricks";

/// How long Codex waits for `gw token` (long enough for a browser sign-in, which the helper
/// may start; it never waits on a prompt Codex cannot show).
const AUTH_TIMEOUT_MS: u64 = 330_000;

fn wire(input: &Input<'_>) -> Result<Wiring, UserError> {
    let mut w = Wiring::default();
    if !input.is_client {
        w.args = input.args.to_vec();
        return Ok(w);
    }
    let token = super::generic::one_token(input)?;
    let model = input.model.unwrap_or_default();
    let user_args = UserArgs::read(input.args);
    if let Some(key) = &user_args.fights {
        return Err(UserError::config(
            format!(
                "`-c {key}=…` would make Codex use another model provider than the gateway gw set up"
            ),
            "leave the model provider to gw (`gw exec --target codex`), or run `codex` without gw for other providers",
        ));
    }
    let dir = codex_home(input);
    let config = dir.join("config.toml");
    if let Some(text) = (input.user.read)(&config) {
        check_legacy_profiles(
            &text,
            &config,
            &dir,
            user_args.profile.as_deref(),
            &mut w.notes,
        )?;
    }
    let provider = format!(
        "model_providers.{PROVIDER}={{ name = \"Databricks AI Gateway (gw)\", base_url = {}, wire_api = \"responses\", auth = {{ command = {}, args = [{}], timeout_ms = {AUTH_TIMEOUT_MS}, refresh_interval_ms = {} }} }}",
        toml_str(&format!("{}/ai-gateway/codex/v1", input.base())),
        toml_str(&input.origin.gw_exe.display().to_string()),
        helper::args(&input.profile.name, TARGET.name)
            .iter()
            .map(|a| toml_str(a))
            .collect::<Vec<_>>()
            .join(", "),
        helper::interval(token.lifetime) * 1000,
    );
    let ours: Vec<OsString> = vec![
        "-c".into(),
        provider.into(),
        "-c".into(),
        format!("model_provider={}", toml_str(PROVIDER)).into(),
        "-c".into(),
        format!("model={}", toml_str(model)).into(),
    ];
    w.args = super::prepend(ours, input.args);
    Ok(w)
}

/// `$CODEX_HOME`, else `~/.codex`.
fn codex_home(input: &Input<'_>) -> PathBuf {
    input
        .user
        .var("CODEX_HOME")
        .map(PathBuf::from)
        .or_else(|| input.user.home_path(".codex"))
        .unwrap_or_else(|| PathBuf::from(".codex"))
}

/// What the user's own arguments say that matters to gw.
#[derive(Debug, Default, PartialEq, Eq)]
struct UserArgs {
    /// A `-c` key that would replace gw's provider.
    fights: Option<String>,
    /// The `--profile` chosen.
    profile: Option<String>,
}

impl UserArgs {
    fn read(args: &[OsString]) -> UserArgs {
        let mut out = UserArgs::default();
        let mut it = args.iter().map(|a| a.to_string_lossy().into_owned());
        while let Some(a) = it.next() {
            if a == "--" {
                break;
            }
            let override_value = match a.as_str() {
                "-c" | "--config" => it.next(),
                _ => a
                    .strip_prefix("--config=")
                    .or_else(|| a.strip_prefix("-c").filter(|v| !v.is_empty()))
                    .map(str::to_owned),
            };
            let profile = match a.as_str() {
                "-p" | "--profile" => it.next(),
                _ => a.strip_prefix("--profile=").map(str::to_owned),
            };
            if let Some(p) = profile {
                out.profile = Some(p);
            }
            if let Some(v) = override_value {
                let key = v.split('=').next().unwrap_or("").trim().trim_matches('"');
                if key == "model_provider" || key.starts_with("model_providers") {
                    out.fights = Some(key.to_owned());
                }
            }
        }
        out
    }
}

/// Codex 0.169 refuses to start with a `profile = "…"` line in `config.toml`, or with
/// `--profile X` while `config.toml` holds `[profiles.X]`; other `[profiles.*]` tables are
/// ignored. gw cannot edit the file; it says how to move the settings.
fn check_legacy_profiles(
    text: &str,
    config: &std::path::Path,
    dir: &std::path::Path,
    chosen: Option<&str>,
    notes: &mut Vec<String>,
) -> Result<(), UserError> {
    let Ok(table) = text.parse::<toml::Table>() else {
        return Ok(());
    };
    let shown = |p: &std::path::Path| crate::sanitize::shown(&p.display().to_string());
    let tables: Vec<String> = table
        .get("profiles")
        .and_then(toml::Value::as_table)
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default();
    let selector = table.get("profile").and_then(toml::Value::as_str);
    let refused = selector.or(chosen.filter(|c| tables.iter().any(|t| t == c)));
    if let Some(name) = refused {
        let name = crate::sanitize::shown(name);
        return Err(UserError::config(
            format!(
                "`{}` holds a legacy `profile = \"{name}\"` line or `[profiles.{name}]` table, with which Codex refuses to start",
                shown(config)
            ),
            format!(
                "move the `[profiles.{name}]` settings into `{}`, remove the legacy line and table, then pass `--profile {name}` (gw never edits your files)",
                shown(&dir.join(format!("{name}.config.toml")))
            ),
        ));
    }
    if !tables.is_empty() {
        notes.push(format!(
            "note: `{}` has legacy `[profiles.*]` tables ({}), which Codex no longer reads: move each into `<name>.config.toml` beside it and choose it with `--profile <name>`",
            shown(config),
            tables
                .iter()
                .map(|t| crate::sanitize::shown(t))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(())
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    #[test]
    fn user_overrides_that_would_replace_the_provider_are_found() {
        for a in [
            &["-c", "model_provider=openai"][..],
            &["--config", "model_provider = \"x\""],
            &["-cmodel_provider=x"],
            &["--config=model_providers.gw-databricks.base_url=\"http://evil\""],
            &["exec", "-c", "model_providers.other={}"],
        ] {
            assert!(UserArgs::read(&args(a)).fights.is_some(), "{a:?}");
        }
        for a in [
            &["-c", "model_reasoning_effort=high"][..],
            &["-m", "databricks-gpt-5-2", "exec", "hi"],
            &["--", "-c", "model_provider=x"],
        ] {
            assert!(UserArgs::read(&args(a)).fights.is_none(), "{a:?}");
        }
        assert_eq!(
            UserArgs::read(&args(&["--profile", "work"]))
                .profile
                .as_deref(),
            Some("work")
        );
    }

    #[test]
    fn legacy_profiles_refuse_or_warn_as_codex_does() {
        let p = std::path::Path::new("/h/.codex/config.toml");
        let d = std::path::Path::new("/h/.codex");
        let mut notes = vec![];
        let err =
            check_legacy_profiles("profile = \"default\"\n", p, d, None, &mut notes).unwrap_err();
        assert_eq!(err.code, 2);
        let expected = d.join("default.config.toml").display().to_string();
        assert!(err.hint.unwrap().contains(&expected));
        let tables = "[profiles.work]\nmodel = \"o3\"\n";
        assert!(check_legacy_profiles(tables, p, d, Some("work"), &mut notes).is_err());
        check_legacy_profiles(tables, p, d, None, &mut notes).unwrap();
        assert!(notes[0].contains("work"), "{notes:?}");
        let mut none = vec![];
        check_legacy_profiles("model = \"x\"\n", p, d, None, &mut none).unwrap();
        check_legacy_profiles("not toml [[[", p, d, None, &mut none).unwrap();
        assert!(none.is_empty());
    }

    #[test]
    fn toml_strings_are_escaped() {
        assert_eq!(toml_str(r#"C:\a "b""#), r#""C:\\a \"b\"""#);
        assert_eq!(toml_str("x\u{1}"), "\"x\\u0001\"");
    }
}
