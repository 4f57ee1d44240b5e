//! `claude` (`gw claude`, alias `claude-db`): Claude Code on the gateway's Anthropic API.
//!
//! - Claude Code applies the `env` of `~/.claude/settings.json`, `<project>/.claude/settings.json`
//!   and `.claude/settings.local.json` over its process environment, and command-line
//!   `--settings` outrank those files (only managed settings outrank the command line). So gw's
//!   wiring goes into one inline `--settings '<json>'` — the token helper (`apiKeyHelper` =
//!   `gw token --for claude`), the `WebSearch` deny (the gateway rejects the hosted tool) and an
//!   `env` block — and into the process environment as well.
//! - The `env` block pins every variable that decides where requests go or which credential
//!   they carry: the base URL and models are gw's; the other providers' switches, base URLs,
//!   keys and tokens are emptied; proxy and TLS variables keep the shell's values. A settings
//!   file (a cloned repository's among them) therefore cannot send the user's token elsewhere.
//!   gw says on stderr which file set what it overrode, and says plainly when managed settings
//!   (which outrank it) set any of them.
//! - No token in the environment: Claude Code asks the helper whenever it needs one, so a
//!   session outlives every token. Nothing is written to disk: the user's files stay byte for
//!   byte.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde_json::{Value as Json, json};

use super::{Input, ModelKey, Refresh, Target, UserEnv, Wiring, helper};
use crate::env_vars as ev;
use crate::error::UserError;
use crate::platform::Os;
use crate::platform::quote::Shell;

pub static TARGET: Target = Target {
    name: "claude",
    about: "Claude Code: the gateway's Anthropic API, the profile's models, a token helper that refreshes",
    program: Some("claude"),
    install: "install Claude Code: `npm install -g @anthropic-ai/claude-code` (or set GW_CLAUDE_BIN)",
    model: Some(ModelKey {
        key: "model",
        read: |p| p.models.as_ref().map(|m| m.opus.as_str()),
    }),
    refresh: Refresh::Helper {
        min_ttl: helper::min_ttl,
    },
    wire,
};

/// The header Databricks' coding-agent tooling sends to the gateway.
pub const CODING_AGENT_HEADER: &str = "x-databricks-use-coding-agent-mode: true";

/// Variables Claude Code reads that choose another provider or carry another credential:
/// always emptied in gw's settings, and removed from the process environment.
const FOREIGN: &[&str] = &[
    ev::ANTHROPIC_API_KEY,
    ev::ANTHROPIC_AUTH_TOKEN,
    ev::ANTHROPIC_MODEL,
    "ANTHROPIC_SMALL_FAST_MODEL",
    "CLAUDE_CODE_OAUTH_TOKEN",
    ev::CLAUDE_CODE_USE_BEDROCK,
    ev::CLAUDE_CODE_USE_VERTEX,
    ev::CLAUDE_CODE_USE_FOUNDRY,
    "CLAUDE_CODE_USE_ANTHROPIC_AWS",
    "CLAUDE_CODE_USE_ANTHROPIC_GOOGLE_CLOUD",
    "CLAUDE_CODE_USE_MANTLE",
    "CLAUDE_CODE_USE_GATEWAY",
    "ANTHROPIC_BEDROCK_BASE_URL",
    "ANTHROPIC_VERTEX_BASE_URL",
    "ANTHROPIC_FOUNDRY_BASE_URL",
    "ANTHROPIC_FOUNDRY_API_KEY",
    "ANTHROPIC_FOUNDRY_AUTH_TOKEN",
    "AWS_BEARER_TOKEN_BEDROCK",
    ev::DATABRICKS_TOKEN,
];

/// Proxy and TLS variables: a settings file could route requests through a proxy it controls
/// (and distrust certificates), so they keep the values of gw's own environment.
const TRANSPORT: &[&str] = &[
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
    "NODE_TLS_REJECT_UNAUTHORIZED",
    "NODE_EXTRA_CA_CERTS",
];

/// Whether a variable named in a settings file or the shell belongs to the class gw pins even
/// when it is not in the lists above (another provider's base URL, key or token).
fn foreign_by_name(name: &str) -> bool {
    (name.starts_with("ANTHROPIC_") || name.starts_with("CLAUDE_CODE_"))
        && ["BASE_URL", "API_KEY", "AUTH_TOKEN", "OAUTH_TOKEN"]
            .iter()
            .any(|s| name.ends_with(s))
}

fn wire(input: &Input<'_>) -> Result<Wiring, UserError> {
    let profile = input.profile;
    let models = profile.models.as_ref().ok_or_else(|| {
        UserError::config(
            format!("profile `{}` names no model for Claude Code", profile.name),
            "set `model` (or `models = { opus, sonnet, haiku }`) in the profile: the serving endpoint names requests go to",
        )
    })?;
    let token = super::generic::one_token(input)?;
    let user = input.user;
    let files = SettingsFiles::read(user);

    // What gw decides, whatever the files or the shell say.
    let mut ours: BTreeMap<String, String> = BTreeMap::new();
    ours.insert(
        ev::ANTHROPIC_BASE_URL.into(),
        format!("{}/{}/anthropic", input.base(), profile.gateway.path()),
    );
    ours.insert(ev::ANTHROPIC_DEFAULT_OPUS_MODEL.into(), models.opus.clone());
    ours.insert(
        ev::ANTHROPIC_DEFAULT_SONNET_MODEL.into(),
        models.sonnet.clone(),
    );
    ours.insert(
        ev::ANTHROPIC_DEFAULT_HAIKU_MODEL.into(),
        models.haiku.clone(),
    );
    ours.insert(
        ev::ANTHROPIC_CUSTOM_HEADERS.into(),
        custom_headers(user.var(ev::ANTHROPIC_CUSTOM_HEADERS)),
    );
    ours.insert(
        ev::CLAUDE_CODE_API_KEY_HELPER_TTL_MS.into(),
        (helper::interval(token.lifetime) * 1000).to_string(),
    );
    let mut emptied: Vec<String> = FOREIGN.iter().map(|s| (*s).to_owned()).collect();
    let named = files
        .iter()
        .flat_map(|f| f.env_names.iter())
        .chain(user.vars.keys());
    for name in named {
        if foreign_by_name(name) && !ours.contains_key(name) && !emptied.contains(name) {
            emptied.push(name.clone());
        }
    }
    let mut pinned = ours.clone();
    for name in &emptied {
        pinned.insert(name.clone(), String::new());
    }
    for name in TRANSPORT {
        pinned.insert(
            (*name).to_owned(),
            user.vars.get(*name).cloned().unwrap_or_default(),
        );
    }

    let mut w = Wiring::default();
    for (name, value) in &ours {
        w.env.set(name, value.clone());
    }
    if user.var(ev::ANTHROPIC_BASE_URL).is_some() {
        w.notes.push(format!(
            "note: replacing the inherited {}: Claude Code talks to the gateway gw set up",
            ev::ANTHROPIC_BASE_URL
        ));
    }
    for name in &emptied {
        w.env.remove_noting(&mut w.notes, name, "Claude Code", user);
    }
    for file in &files {
        w.notes.extend(file.note(&pinned));
    }
    if input.is_client {
        let (theirs, rest) = take_settings(input.args)?;
        if let Some(t) = &theirs {
            w.notes.extend(
                SettingsFile::from_json("your `--settings`", Scope::CommandLine, t).note(&pinned),
            );
        }
        let shell = Shell::of(Os::current());
        let helper = helper::command_line(input.origin.gw_exe, &profile.name, TARGET.name, shell)
            .map_err(|e| {
                UserError::config(
                    format!("cannot build Claude Code's token helper: {e}"),
                    "install gw in a directory whose path holds no `%`, `!` or `\"`, and use a profile name of letters, digits, `-` and `_`",
                )
            })?;
        let settings = merge_settings(theirs, &helper, &pinned);
        w.args = super::prepend(
            vec!["--settings".into(), settings.to_string().into()],
            &rest,
        );
    } else {
        w.args = input.args.to_vec();
    }
    Ok(w)
}

/// The user's `ANTHROPIC_CUSTOM_HEADERS` with the coding-agent header added once.
fn custom_headers(inherited: Option<&str>) -> String {
    match inherited {
        Some(h)
            if h.to_ascii_lowercase()
                .contains("x-databricks-use-coding-agent-mode") =>
        {
            h.to_owned()
        }
        Some(h) if !h.trim().is_empty() => format!("{}\n{CODING_AGENT_HEADER}", h.trim_end()),
        _ => CODING_AGENT_HEADER.to_owned(),
    }
}

/// Where a settings file sits in Claude Code's precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// Managed (policy) settings: they outrank the command line.
    Managed,
    /// User, project or local settings files: the command line outranks them.
    File,
    /// The user's own `--settings`, merged into gw's.
    CommandLine,
}

/// What one settings file says that matters here (names only, never values).
struct SettingsFile {
    shown: String,
    scope: Scope,
    env_names: Vec<String>,
    api_key_helper: bool,
}

impl SettingsFile {
    fn from_json(shown: &str, scope: Scope, json: &Json) -> SettingsFile {
        let env_names = json
            .get("env")
            .and_then(Json::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        SettingsFile {
            shown: shown.to_owned(),
            scope,
            env_names,
            api_key_helper: json.get("apiKeyHelper").is_some(),
        }
    }

    /// What to tell the user about the variables (and helper) this file sets that gw pins.
    fn note(&self, pinned: &BTreeMap<String, String>) -> Option<String> {
        let mut names: Vec<&str> = self
            .env_names
            .iter()
            .filter(|n| pinned.contains_key(n.as_str()))
            .map(String::as_str)
            .collect();
        if self.api_key_helper {
            names.push("apiKeyHelper");
        }
        if names.is_empty() {
            return None;
        }
        let list = names.join(", ");
        Some(match self.scope {
            Scope::Managed => format!(
                "warning: Claude Code's managed settings `{}` set {list}; managed settings outrank gw's, so Claude Code may not use the gateway session gw set up (ask whoever manages this machine)",
                self.shown
            ),
            Scope::File | Scope::CommandLine => format!(
                "note: {} sets {list}; gw's settings override {} for this run",
                self.shown,
                if names.len() == 1 { "it" } else { "them" }
            ),
        })
    }
}

struct SettingsFiles(Vec<SettingsFile>);

impl SettingsFiles {
    /// The settings files Claude Code would read here: managed, user, project, local.
    fn read(user: &UserEnv<'_>) -> SettingsFiles {
        let mut paths: Vec<(PathBuf, Scope)> = managed_paths(std::env::consts::OS)
            .into_iter()
            .map(|p| (p, Scope::Managed))
            .collect();
        let user_dir = user
            .var("CLAUDE_CONFIG_DIR")
            .map(PathBuf::from)
            .or_else(|| user.home_path(".claude"));
        if let Some(dir) = user_dir {
            paths.push((dir.join("settings.json"), Scope::File));
        }
        let project = user.cwd.join(".claude");
        paths.push((project.join("settings.json"), Scope::File));
        paths.push((project.join("settings.local.json"), Scope::File));
        let files = paths
            .into_iter()
            .filter_map(|(path, scope)| {
                let text = (user.read)(&path)?;
                let json: Json = serde_json::from_str(&text).ok()?;
                Some(SettingsFile::from_json(
                    &format!("`{}`", crate::sanitize::shown(&path.display().to_string())),
                    scope,
                    &json,
                ))
            })
            .collect();
        SettingsFiles(files)
    }

    fn iter(&self) -> impl Iterator<Item = &SettingsFile> {
        self.0.iter()
    }
}

impl<'a> IntoIterator for &'a SettingsFiles {
    type Item = &'a SettingsFile;
    type IntoIter = std::slice::Iter<'a, SettingsFile>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Claude Code's managed settings files on `os` (its policy folder is fixed per platform).
pub fn managed_paths(os: &str) -> Vec<PathBuf> {
    let dir = Path::new(match os {
        "macos" => "/Library/Application Support/ClaudeCode",
        "windows" => r"C:\Program Files\ClaudeCode",
        _ => "/etc/claude-code",
    });
    vec![dir.join("managed-settings.json")]
}

/// Remove the user's `--settings X` / `--settings=X` (the last one wins, as in Claude Code)
/// and read it: inline JSON, or a file path.
fn take_settings(args: &[OsString]) -> Result<(Option<Json>, Vec<OsString>), UserError> {
    let mut value = None;
    let mut rest = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let s = a.to_string_lossy();
        if s == "--" {
            rest.push(a.clone());
            rest.extend(it.cloned());
            break;
        } else if s == "--settings" {
            value = Some(it.next().cloned().ok_or_else(|| {
                UserError::config(
                    "`--settings` needs a value",
                    "pass `--settings '<json>'` or `--settings FILE`",
                )
            })?);
        } else if let Some(v) = s.strip_prefix("--settings=") {
            value = Some(OsString::from(v));
        } else {
            rest.push(a.clone());
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

/// The user's settings (if any) with gw's helper, the `WebSearch` deny and the pinned
/// variables added; the user's other settings and variables are kept.
pub fn merge_settings(
    theirs: Option<Json>,
    helper: &str,
    pinned: &BTreeMap<String, String>,
) -> Json {
    let mut s = theirs.unwrap_or_else(|| json!({}));
    let obj = s.as_object_mut().expect("settings are an object");
    obj.insert("apiKeyHelper".into(), Json::String(helper.to_owned()));
    let env = object_at(obj, "env");
    for (name, value) in pinned {
        env.insert(name.clone(), Json::String(value.clone()));
    }
    let perms = object_at(obj, "permissions");
    let deny = perms.entry("deny").or_insert_with(|| json!([]));
    if !deny.is_array() {
        *deny = json!([]);
    }
    let list = deny.as_array_mut().expect("array");
    if !list.iter().any(|v| v == "WebSearch") {
        list.push(Json::String("WebSearch".into()));
    }
    s
}

/// `obj[key]` as an object, replacing whatever else was there.
fn object_at<'a>(
    obj: &'a mut serde_json::Map<String, Json>,
    key: &str,
) -> &'a mut serde_json::Map<String, Json> {
    let v = obj.entry(key).or_insert_with(|| json!({}));
    if !v.is_object() {
        *v = json!({});
    }
    v.as_object_mut().expect("object")
}
