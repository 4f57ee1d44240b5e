//! Preparing a child for a target, and handing the process over to it.
//!
//! [`plan`] decides everything (program, arguments, variables set and removed, notes for the
//! user) as plain data, so every target's wiring is unit-tested without running anything;
//! [`exec`] only carries it out. Every child gets `GW_EXEC_PROFILE`, `GW_CONFIG` and
//! `GW_TOKEN_STORE`, so a helper it starts resolves the same session. On Unix the child
//! replaces gw (execve): its exit code is the user's, stdout is its own, and nothing of gw is
//! left running.

pub mod claude;
pub mod codex;
pub mod shell;

use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::process::Command;

use crate::cli::Target;
use crate::config::Profile;
use crate::env_vars as ev;
use crate::error::UserError;
use crate::exchange::DatabricksToken;
use crate::secret::Secret;

/// One variable for the child: plain, or a secret that only `exec` and `gw env` reveal.
#[derive(Debug, Clone)]
pub enum Value {
    Plain(String),
    Secret(Secret),
}

impl Value {
    /// The value to put in the environment.
    ///
    /// # Security
    /// Reveals a secret value; only for the child's environment and `gw env`.
    pub fn expose(&self) -> &str {
        match self {
            Value::Plain(s) => s,
            Value::Secret(s) => s.expose(),
        }
    }
}

/// What the child's environment gets and loses.
#[derive(Debug, Default)]
pub struct ChildEnv {
    pub set: Vec<(&'static str, Value)>,
    pub remove: Vec<&'static str>,
}

impl ChildEnv {
    fn set(&mut self, name: &'static str, value: impl Into<String>) {
        self.set.push((name, Value::Plain(value.into())));
    }

    /// The value set for `name`, if any.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.set
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.expose())
    }
}

/// Which session the child belongs to.
pub struct Origin<'a> {
    pub config_path: &'a Path,
    pub store: &'a str,
    /// This gw, as the child should call it back (the token helper).
    pub gw_exe: &'a Path,
}

/// Everything needed to start the child.
#[derive(Debug)]
pub struct Plan {
    pub program: OsString,
    pub args: Vec<OsString>,
    pub env: ChildEnv,
    /// Said on stderr before the child starts.
    pub notes: Vec<String>,
}

/// The environment a target needs (what `gw env` prints).
///
/// `inherited` reads gw's own environment (injected for tests).
pub fn target_env(
    target: Target,
    profile: &Profile,
    token: &DatabricksToken,
    origin: &Origin<'_>,
    inherited: &dyn Fn(&str) -> Option<String>,
) -> Result<(ChildEnv, Vec<String>), UserError> {
    let mut env = ChildEnv::default();
    let mut notes = Vec::new();
    env.set(ev::GW_EXEC_PROFILE, profile.name.clone());
    env.set(ev::GW_CONFIG, origin.config_path.display().to_string());
    env.set(ev::GW_TOKEN_STORE, origin.store);
    env.set(ev::DATABRICKS_HOST, profile.databricks_host.clone());
    match target {
        Target::Generic | Target::Databricks => {
            env.set.push((
                ev::DATABRICKS_TOKEN,
                Value::Secret(token.access_token.clone()),
            ));
        }
        Target::Claude => claude::env(&mut env, &mut notes, profile, token, inherited)?,
        Target::Codex => {}
        Target::Gemini => {
            let model = profile.models.as_ref().map(|m| m.sonnet.clone());
            env.set(
                ev::GOOGLE_GEMINI_BASE_URL,
                format!("{}/ai-gateway/gemini", profile.databricks_host),
            );
            env.set.push((
                ev::GEMINI_API_KEY,
                Value::Secret(token.access_token.clone()),
            ));
            env.set(ev::GEMINI_API_KEY_AUTH_MECHANISM, "bearer");
            if let Some(m) = model {
                env.set(ev::GEMINI_MODEL, m);
            }
            for name in [ev::GOOGLE_API_KEY, ev::GOOGLE_GENAI_USE_VERTEXAI] {
                remove_noting(&mut env, &mut notes, name, "Gemini CLI", inherited);
            }
            notes.push(format!(
                "note: Gemini CLI cannot refresh its key; this session's token is valid until {}",
                crate::time::rfc3339(token.expires_at)
            ));
        }
    }
    Ok((env, notes))
}

/// Remove an inherited variable that would outrank gw's wiring, saying so when it was set.
fn remove_noting(
    env: &mut ChildEnv,
    notes: &mut Vec<String>,
    name: &'static str,
    consumer: &str,
    inherited: &dyn Fn(&str) -> Option<String>,
) {
    env.remove.push(name);
    if inherited(name).is_some() {
        notes.push(format!(
            "note: not passing {name} to {consumer}: it would outrank the gateway session gw set up"
        ));
    }
}

/// The whole plan for running `program args` as `target`.
pub fn plan(
    target: Target,
    profile: &Profile,
    token: &DatabricksToken,
    origin: &Origin<'_>,
    program: OsString,
    args: Vec<OsString>,
    inherited: &dyn Fn(&str) -> Option<String>,
) -> Result<Plan, UserError> {
    let (env, notes) = target_env(target, profile, token, origin, inherited)?;
    let args = match target {
        Target::Claude => claude::args(args, profile, token, origin)?,
        Target::Codex if codex::is_codex(Path::new(&program)) => codex::args(args, profile, origin),
        _ => args,
    };
    Ok(Plan {
        program,
        args,
        env,
        notes,
    })
}

/// The command with its environment applied.
pub fn command(plan: &Plan) -> Command {
    let mut cmd = Command::new(&plan.program);
    cmd.args(&plan.args);
    for name in &plan.env.remove {
        cmd.env_remove(name);
    }
    for (name, value) in &plan.env.set {
        cmd.env(name, value.expose());
    }
    cmd
}

/// Replace this process with `cmd` (Unix), or run it and return its exit code (elsewhere).
/// Returns only on failure to start it.
pub fn exec(mut cmd: Command) -> std::io::Error {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.exec()
    }
    #[cfg(not(unix))]
    {
        match cmd.status() {
            Ok(status) => std::process::exit(status.code().unwrap_or(1)),
            Err(e) => e,
        }
    }
}

/// How to install a target's program, for the "not found" hint.
pub fn install_hint(target: Target, program: &OsStr) -> String {
    let name = program.to_string_lossy();
    match target {
        Target::Claude => {
            "install Claude Code: `npm install -g @anthropic-ai/claude-code` (or set GW_CLAUDE_BIN)"
                .into()
        }
        Target::Codex => "install Codex: `npm install -g @openai/codex`".into(),
        Target::Gemini => "install Gemini CLI: `npm install -g @google/gemini-cli`".into(),
        Target::Databricks => {
            "install the Databricks CLI: https://docs.databricks.com/dev-tools/cli/install".into()
        }
        Target::Generic => format!("install `{name}` or check that it is on PATH"),
    }
}

/// POSIX single-quoting for `/bin/sh -c` (helper commands).
pub fn sh_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c))
    {
        return s.to_owned();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests;
