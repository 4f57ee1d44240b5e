//! `gemini`: Gemini CLI on the gateway's Gemini API, through gw's local endpoint.
//!
//! - Gemini CLI refuses to start without an auth type, and the user's own settings (say,
//!   Google sign-in) outrank every variable. Only its system settings outrank user settings,
//!   and those must be root-owned; so gw gives it a home overlay instead
//!   (`GEMINI_CLI_HOME` = gw's directory whose `.gemini/` links to each of the user's own
//!   entries — extensions, MCP config, history — with a copy of the user's `settings.json`
//!   that selects `gemini-api-key`). The user's `~/.gemini` is never written.
//! - The base URL, key, bearer mechanism and model are set in the environment, which `.env`
//!   files never override. Every other variable that could pick another auth, endpoint,
//!   header or proxy is set too — emptied, or to the shell's own value — because a set
//!   variable (even empty) is one a repository's `.env` cannot fill.
//! - The key is gw's session key for the local endpoint, which refreshes tokens, so a
//!   session lasts all day. `gw env` gives the direct wiring with one token instead.

use std::path::{Path, PathBuf};

use serde_json::{Value as Json, json};

use super::{Credential, Entry, Input, ModelKey, Refresh, Target, Wiring};
use crate::env_vars as ev;
use crate::error::UserError;

pub static TARGET: Target = Target {
    name: "gemini",
    about: "Gemini CLI: the gateway's Gemini API through gw's local endpoint (refreshes all day)",
    program: Some("gemini"),
    install: "install Gemini CLI: `npm install -g @google/gemini-cli`",
    model: Some(ModelKey {
        key: "gemini_model",
        read: |p| p.gemini_model.as_deref(),
    }),
    refresh: Refresh::Endpoint,
    wire,
};

/// The auth type gw selects: an API key (gw's), sent as a bearer.
pub const AUTH_TYPE: &str = "gemini-api-key";

/// Variables that pick another auth, endpoint or header: emptied.
const FOREIGN: &[&str] = &[
    ev::GOOGLE_API_KEY,
    "GOOGLE_GENAI_USE_GCA",
    ev::GOOGLE_GENAI_USE_VERTEXAI,
    "GOOGLE_VERTEX_BASE_URL",
    "GOOGLE_GENAI_API_VERSION",
    "GEMINI_CLI_CUSTOM_HEADERS",
    "CODE_ASSIST_ENDPOINT",
    "NODE_TLS_REJECT_UNAUTHORIZED",
];

/// Variables that would switch the auth type by themselves: removed.
const SWITCHES: &[&str] = &[
    "GEMINI_DEFAULT_AUTH_TYPE",
    "CLOUD_SHELL",
    "GEMINI_CLI_USE_COMPUTE_ADC",
];

/// Proxy variables: the shell's values, or empty.
const TRANSPORT: &[&str] = &[
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
];

fn wire(input: &Input<'_>) -> Result<Wiring, UserError> {
    let user = input.user;
    let mut w = Wiring {
        args: input.args.to_vec(),
        ..Wiring::default()
    };
    w.env.set(
        ev::GOOGLE_GEMINI_BASE_URL,
        format!("{}/ai-gateway/gemini", input.base()),
    );
    match input.credential {
        Credential::Token(t) => {
            w.env.secret(ev::GEMINI_API_KEY, &t.access_token);
            w.notes.push(super::generic::expiry_note(t, "Gemini CLI"));
        }
        Credential::Endpoint(e) => w.env.secret(ev::GEMINI_API_KEY, &e.key),
    }
    w.env.set(ev::GEMINI_API_KEY_AUTH_MECHANISM, "bearer");
    if let Some(m) = input.model {
        w.env.set(ev::GEMINI_MODEL, m);
    }
    for name in [
        ev::GOOGLE_GEMINI_BASE_URL,
        ev::GEMINI_API_KEY,
        ev::GEMINI_MODEL,
    ] {
        if user.var(name).is_some() {
            w.notes.push(format!(
                "note: replacing the inherited {name}: Gemini CLI talks to the gateway gw set up"
            ));
        }
    }
    for name in FOREIGN {
        if user.var(name).is_some() {
            w.notes.push(format!(
                "note: not passing {name} to Gemini CLI: it would outrank the gateway session gw set up"
            ));
        }
        w.env.set(name, "");
    }
    for name in SWITCHES {
        w.env.remove_noting(&mut w.notes, name, "Gemini CLI", user);
    }
    for name in TRANSPORT {
        w.env.set(name, user.var(name).unwrap_or_default());
    }
    match input.overlay {
        Some(dir) => overlay(input, dir, &mut w),
        None => w.notes.push(format!(
            "note: Gemini CLI also needs the auth type `{AUTH_TYPE}` selected; `gw exec --target gemini` selects it for its run"
        )),
    }
    Ok(w)
}

/// The home overlay: links to the user's own Gemini files, and a settings copy that selects
/// gw's auth type.
fn overlay(input: &Input<'_>, dir: &Path, w: &mut Wiring) {
    let user = input.user;
    let real_home: Option<PathBuf> = user
        .var(ev::GEMINI_CLI_HOME)
        .map(PathBuf::from)
        .or_else(|| user.home.map(Path::to_owned));
    let Some(real_home) = real_home else {
        return;
    };
    let real = real_home.join(".gemini");
    let mut entries = Vec::new();
    for name in (user.list)(&real) {
        if name != "settings.json" {
            entries.push((
                PathBuf::from(".gemini").join(&name),
                Entry::Link(real.join(&name)),
            ));
        }
    }
    let top = (user.list)(&real_home);
    for name in [".agents", ".env"] {
        if top.iter().any(|n| n == name) {
            entries.push((PathBuf::from(name), Entry::Link(real_home.join(name))));
        }
    }
    let shown = crate::sanitize::shown(&real.join("settings.json").display().to_string());
    let theirs = (user.read)(&real.join("settings.json"));
    let mut settings = match theirs
        .as_deref()
        .map(|t| serde_json::from_str::<Json>(&strip_comments(t)))
    {
        Some(Ok(v)) if v.is_object() => v,
        Some(_) => {
            w.notes.push(format!(
                "note: `{shown}` is not JSON gw can read; this run uses Gemini CLI's defaults with gw's auth type"
            ));
            json!({})
        }
        None => json!({}),
    };
    let before = settings
        .pointer("/security/auth/selectedType")
        .and_then(Json::as_str)
        .map(str::to_owned);
    select_auth(&mut settings);
    if let Some(b) = before.filter(|b| b != AUTH_TYPE) {
        w.notes.push(format!(
            "note: `{shown}` selects `{}`; gw selects `{AUTH_TYPE}` for this run only",
            crate::sanitize::shown(&b)
        ));
    }
    let text = serde_json::to_string_pretty(&settings).unwrap_or_else(|_| "{}".into());
    entries.push((
        PathBuf::from(".gemini/settings.json"),
        Entry::File(text.clone()),
    ));
    // Gemini CLI's launcher reads `<GEMINI_CLI_HOME>/settings.json` for its memory settings.
    entries.push((PathBuf::from("settings.json"), Entry::File(text)));
    w.env.set(ev::GEMINI_CLI_HOME, dir.display().to_string());
    w.overlay = entries;
}

fn select_auth(settings: &mut Json) {
    let obj = settings.as_object_mut().expect("an object");
    let security = obj.entry("security").or_insert_with(|| json!({}));
    if !security.is_object() {
        *security = json!({});
    }
    let auth = security
        .as_object_mut()
        .expect("an object")
        .entry("auth")
        .or_insert_with(|| json!({}));
    if !auth.is_object() {
        *auth = json!({});
    }
    let auth = auth.as_object_mut().expect("an object");
    auth.insert("selectedType".into(), Json::String(AUTH_TYPE.into()));
    auth.remove("enforcedType");
}

/// JSON with `//` and `/* */` comments (Gemini CLI's settings allow them) as plain JSON.
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                '\\' => {
                    if let Some(n) = chars.next() {
                        out.push(n);
                    }
                }
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match (c, chars.peek()) {
            ('"', _) => {
                in_string = true;
                out.push(c);
            }
            ('/', Some('/')) => {
                for n in chars.by_ref() {
                    if n == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            ('/', Some('*')) => {
                chars.next();
                let mut prev = ' ';
                for n in chars.by_ref() {
                    if prev == '*' && n == '/' {
                        break;
                    }
                    prev = n;
                }
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_are_dropped_but_not_inside_strings() {
        let t = "{\n // a comment\n \"url\": \"http://x//y\", /* block */ \"n\": 1\n}";
        let v: Json = serde_json::from_str(&strip_comments(t)).unwrap();
        assert_eq!(v["url"], "http://x//y");
        assert_eq!(v["n"], 1);
    }

    #[test]
    fn the_auth_type_is_selected_and_an_enforced_other_one_dropped() {
        let mut s = json!({"security": {"auth": {"selectedType": "oauth-personal", "enforcedType": "oauth-personal"}}, "mcpServers": {"m": {}}});
        select_auth(&mut s);
        assert_eq!(s["security"]["auth"]["selectedType"], AUTH_TYPE);
        assert!(s["security"]["auth"].get("enforcedType").is_none());
        assert!(
            s["mcpServers"].get("m").is_some(),
            "the user's other settings stay"
        );
        let mut odd = json!({"security": 3});
        select_auth(&mut odd);
        assert_eq!(odd["security"]["auth"]["selectedType"], AUTH_TYPE);
    }
}
