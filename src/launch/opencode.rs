//! `opencode`: OpenCode with a gw provider on the gateway's Anthropic API, through gw's local
//! endpoint.
//!
//! OpenCode merges its configs (global, `OPENCODE_CONFIG`, project files up the tree, then
//! `OPENCODE_CONFIG_CONTENT`, then managed), later ones winning key by key. gw's inline config
//! (`OPENCODE_CONFIG_CONTENT`) therefore outranks the user's `opencode.json` and a
//! repository's, and it pins everything that decides where requests go: the provider (its
//! `npm` package too, so a project cannot swap in a module of its own), `model` and
//! `small_model` (the title request), `enabled_providers` (no other provider is reachable),
//! and sharing off. `opencode run` and the TUI also get `--model`, which outranks an agent's
//! own model. The key OpenCode holds is gw's session key for the loopback endpoint, which
//! keeps the real tokens fresh, so a session lasts all day and no Databricks token is in
//! OpenCode's (or its tools') reach.

use std::ffi::OsString;

use serde_json::{Map, Value as Json, json};

use super::{Credential, Input, ModelKey, Refresh, Target, Wiring};
use crate::env_vars as ev;
use crate::error::UserError;

pub static TARGET: Target = Target {
    name: "opencode",
    about: "OpenCode: a gw provider on the gateway's Anthropic API through gw's local endpoint",
    program: Some("opencode"),
    install: "install OpenCode: `npm install -g opencode-ai`",
    model: Some(ModelKey {
        key: "opencode_model",
        read: |p| p.opencode_model.as_deref(),
    }),
    refresh: Refresh::Endpoint,
    wire,
};

/// The provider id gw adds.
pub const PROVIDER: &str = "gw-databricks";
/// The AI SDK package of the Anthropic API (bundled in OpenCode, so nothing is installed).
const NPM: &str = "@ai-sdk/anthropic";

/// Inherited variables OpenCode reads for its built-in Anthropic provider.
const FOREIGN: &[&str] = &[
    ev::ANTHROPIC_API_KEY,
    ev::ANTHROPIC_BASE_URL,
    ev::ANTHROPIC_AUTH_TOKEN,
];

fn wire(input: &Input<'_>) -> Result<Wiring, UserError> {
    let mut w = Wiring::default();
    let model = input.model.unwrap_or_default();
    let key = match input.credential {
        Credential::Token(t) => {
            w.notes.push(super::generic::expiry_note(t, "OpenCode"));
            t.access_token.expose().to_owned()
        }
        Credential::Endpoint(e) => e.key.expose().to_owned(),
    };
    let p = input.profile;
    let mut names = vec![model.to_owned()];
    if let Some(m) = &p.models {
        names.extend([m.opus.clone(), m.sonnet.clone(), m.haiku.clone()]);
    }
    names.dedup();
    let models: Map<String, Json> = names
        .iter()
        .map(|n| (n.clone(), json!({ "provider": { "npm": NPM } })))
        .collect();
    let chosen = format!("{PROVIDER}/{model}");
    let config = json!({
        "$schema": "https://opencode.ai/config.json",
        "model": chosen,
        "small_model": chosen,
        "enabled_providers": [PROVIDER],
        "share": "disabled",
        "provider": {
            PROVIDER: {
                "npm": NPM,
                "name": "Databricks AI Gateway (gw)",
                "options": {
                    "baseURL": format!("{}/ai-gateway/anthropic/v1", input.base()),
                    "apiKey": key,
                    "headers": { "x-databricks-use-coding-agent-mode": "true" },
                },
                "models": models,
            }
        },
    });
    w.env.secret(
        ev::OPENCODE_CONFIG_CONTENT,
        &crate::secret::Secret::new(config.to_string()),
    );
    w.env.set("OPENCODE_DISABLE_SHARE", "1");
    w.env.set("OPENCODE_DISABLE_MODELS_FETCH", "1");
    for name in FOREIGN {
        w.env
            .remove_noting(&mut w.notes, name, "OpenCode", input.user);
    }
    if input.user.var(ev::OPENCODE_CONFIG_CONTENT).is_some() {
        w.notes.push(format!(
            "note: replacing the inherited {}: OpenCode gets gw's provider",
            ev::OPENCODE_CONFIG_CONTENT
        ));
    }
    if let Some(text) = (input.user.read)(std::path::Path::new(MANAGED))
        && let Ok(json) = serde_json::from_str::<Json>(&text)
        && [
            "provider",
            "model",
            "small_model",
            "enabled_providers",
            "disabled_providers",
        ]
        .iter()
        .any(|k| json.get(k).is_some())
    {
        w.notes.push(format!(
            "warning: OpenCode's managed config `{MANAGED}` sets its providers or model; it outranks gw's, so OpenCode may not use the gateway session gw set up (ask whoever manages this machine)"
        ));
    }
    w.args = if input.is_client {
        with_model(input.args, &chosen)
    } else {
        input.args.to_vec()
    };
    Ok(w)
}

/// OpenCode's managed config (Linux and macOS), which outranks every other.
const MANAGED: &str = "/etc/opencode/opencode.json";

/// `--model` for `opencode run …` and the TUI (`opencode [project]`), unless the user chose
/// one; other subcommands take the config's model.
fn with_model(args: &[OsString], chosen: &str) -> Vec<OsString> {
    let theirs = args.iter().any(|a| {
        let a = a.to_string_lossy();
        a == "-m" || a == "--model" || a.starts_with("--model=")
    });
    let first = args.first().map(|a| a.to_string_lossy().into_owned());
    let ours: [OsString; 2] = ["--model".into(), chosen.into()];
    match first.as_deref() {
        _ if theirs => args.to_vec(),
        Some("run") => {
            let mut out = vec![args[0].clone()];
            out.extend(ours);
            out.extend(args[1..].iter().cloned());
            out
        }
        None => ours.to_vec(),
        Some(a) if a.starts_with('-') || a.contains(['/', '\\', '.']) => {
            super::prepend(ours.to_vec(), args)
        }
        Some(_) => args.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    #[test]
    fn the_model_flag_goes_where_opencode_reads_it() {
        let m = "gw-databricks/ep";
        assert_eq!(
            with_model(&v(&["run", "hi"]), m),
            v(&["run", "--model", m, "hi"])
        );
        assert_eq!(with_model(&v(&[]), m), v(&["--model", m]));
        assert_eq!(with_model(&v(&["."]), m), v(&["--model", m, "."]));
        assert_eq!(
            with_model(&v(&["run", "-m", "gw-databricks/x", "hi"]), m),
            v(&["run", "-m", "gw-databricks/x", "hi"]),
            "the user's own choice stands"
        );
        assert_eq!(with_model(&v(&["auth", "list"]), m), v(&["auth", "list"]));
    }
}
