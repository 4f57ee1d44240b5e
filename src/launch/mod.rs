//! Preparing a child for a target, and handing the process over to it.
//!
//! Each target is one file here and one entry in [`TARGETS`]: a [`Target`] says which program
//! it is, how to install it, the profile key naming the model it sends, how a session outlives
//! one token, and its wiring — a pure function from what gw knows ([`Input`]: the profile, the
//! credential, the user's own environment and files) to the arguments, variables and notes the
//! child gets ([`Wiring`]). [`plan`] adds what every child gets (`GW_EXEC_PROFILE`,
//! `GW_CONFIG`, `GW_TOKEN_STORE`, `DATABRICKS_HOST`), so every target's wiring is unit-tested
//! without running anything; [`process`] only carries a plan out.
//!
//! The user's own files for a client are never written. Where a client lets its files or the
//! inherited environment outrank gw's wiring, the target passes its wiring at the level that
//! outranks them, and says on stderr what it overrode and where that came from.

pub mod claude;
pub mod codex;
pub mod databricks;
pub mod gemini;
pub mod generic;
pub mod helper;
pub mod opencode;
pub mod overlay;
pub mod process;
pub mod shell;

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::config::Profile;
use crate::env_vars as ev;
use crate::error::UserError;
use crate::exchange::DatabricksToken;
use crate::platform::Os;
use crate::platform::program::{self, Start};
use crate::secret::Secret;

/// Every target, in the order `--help` lists them. Adding a target is one file and one entry.
pub static TARGETS: &[&Target] = &[
    &generic::TARGET,
    &databricks::TARGET,
    &claude::TARGET,
    &codex::TARGET,
    &gemini::TARGET,
    &opencode::TARGET,
];

/// The target called `name`.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().copied().find(|t| t.name == name)
}

/// One client gw knows how to wire to the gateway.
pub struct Target {
    /// The `--target` name.
    pub name: &'static str,
    /// One line for `--help`.
    pub about: &'static str,
    /// The client's program (`claude`, `codex`, …); `None` for any program.
    pub program: Option<&'static str>,
    /// How to install the program (the "not found" hint).
    pub install: &'static str,
    /// The profile key naming the model the client sends, when it sends one.
    pub model: Option<ModelKey>,
    /// How a session outlives one token.
    pub refresh: Refresh,
    /// The wiring: pure, so it is unit-tested and can be checked before any sign-in.
    pub wire: fn(&Input<'_>) -> Result<Wiring, UserError>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Target({})", self.name)
    }
}

impl PartialEq for Target {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

/// Which profile key names a target's model, and how to read it.
pub struct ModelKey {
    pub key: &'static str,
    pub read: fn(&Profile) -> Option<&str>,
}

/// How a target's session outlives one Databricks token.
#[derive(Debug, Clone, Copy)]
pub enum Refresh {
    /// It does not: the child holds one token (gw says when it expires).
    Once,
    /// The client runs `gw token --for <target>` itself whenever it needs a token; `min_ttl`
    /// is how long a token handed to it must still live, from the token's lifetime.
    Helper { min_ttl: fn(u64) -> u64 },
    /// The client talks to gw's local endpoint, which keeps tokens fresh.
    Endpoint,
}

/// How the child reaches the workspace.
#[derive(Debug, Clone, Copy)]
pub enum Credential<'a> {
    /// A Databricks token: the child gets it (or, for helper targets, its lifetime decides the
    /// helper's interval).
    Token(&'a DatabricksToken),
    /// gw's local endpoint.
    Endpoint(&'a LocalEndpoint),
}

/// The address of gw's local endpoint for one session.
#[derive(Debug, Clone)]
pub struct LocalEndpoint {
    /// Takes the place of the workspace host in the clients' base URLs
    /// (`http://127.0.0.1:<port>/k/<key>`).
    pub base_url: Secret,
    /// The per-session key, for clients that send it as their API key.
    pub key: Secret,
    /// The Databricks SDKs' metadata-service URL.
    pub metadata_url: Secret,
}

/// The user's own surroundings, as the child would see them: inherited variables, home,
/// working directory, and a reader for the client's files (injected for tests).
pub struct UserEnv<'a> {
    pub vars: &'a BTreeMap<String, String>,
    pub home: Option<&'a Path>,
    pub cwd: &'a Path,
    pub read: &'a dyn Fn(&Path) -> Option<String>,
    /// The names in a directory (empty when it cannot be read).
    pub list: &'a dyn Fn(&Path) -> Vec<String>,
}

impl UserEnv<'_> {
    /// An inherited variable, when set and not empty.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// `~/<rel>`, when the home is known.
    pub fn home_path(&self, rel: &str) -> Option<PathBuf> {
        self.home.map(|h| h.join(rel))
    }
}

/// Which session the child belongs to.
pub struct Origin<'a> {
    pub config_path: &'a Path,
    pub store: &'a str,
    /// This gw, as the child should call it back (the token helper).
    pub gw_exe: &'a Path,
}

/// What a target's wiring is given.
pub struct Input<'a> {
    pub profile: &'a Profile,
    /// The model the profile names for this target (checked present by [`model_for`]).
    pub model: Option<&'a str>,
    pub credential: Credential<'a>,
    pub origin: &'a Origin<'a>,
    /// The user's arguments to the program.
    pub args: &'a [OsString],
    /// Whether the program is the target's own client (else only the environment applies).
    pub is_client: bool,
    pub user: &'a UserEnv<'a>,
    /// gw's home overlay for this target's client ([`overlay`]), when there is a child to
    /// give one (not in `gw env`).
    pub overlay: Option<&'a Path>,
}

impl Input<'_> {
    /// The workspace host, or gw's local endpoint in its place.
    pub fn base(&self) -> String {
        match self.credential {
            Credential::Token(_) => self.profile.databricks_host.clone(),
            Credential::Endpoint(e) => e.base_url.expose().to_owned(),
        }
    }
}

/// What a target's wiring gives the child: its whole argument list, variables, notes, and
/// what goes in its home overlay.
#[derive(Debug, Default)]
pub struct Wiring {
    pub args: Vec<OsString>,
    pub env: ChildEnv,
    /// Said on stderr before the child starts.
    pub notes: Vec<String>,
    /// Entries of the home overlay, by path relative to it.
    pub overlay: Vec<(PathBuf, Entry)>,
}

/// One entry of a home overlay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A link to one of the user's own files or directories (so the client sees it as is).
    Link(PathBuf),
    /// A file gw writes (0600).
    File(String),
}

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
    pub set: Vec<(String, Value)>,
    pub remove: Vec<String>,
}

impl ChildEnv {
    /// Set `name` (replacing an earlier value, so a name is set once).
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.put(name, Value::Plain(value.into()));
    }

    /// Set `name` to a secret.
    pub fn secret(&mut self, name: &str, value: &Secret) {
        self.put(name, Value::Secret(value.clone()));
    }

    fn put(&mut self, name: &str, value: Value) {
        self.remove.retain(|n| n != name);
        self.set.retain(|(n, _)| n != name);
        self.set.push((name.to_owned(), value));
    }

    /// The value set for `name`, if any.
    #[cfg(test)]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.set
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.expose())
    }

    /// Remove an inherited variable that would outrank gw's wiring, saying so when it was set.
    pub fn remove_noting(
        &mut self,
        notes: &mut Vec<String>,
        name: &str,
        consumer: &str,
        user: &UserEnv<'_>,
    ) {
        if self.set.iter().any(|(n, _)| n == name) || self.remove.iter().any(|n| n == name) {
            return;
        }
        self.remove.push(name.to_owned());
        if user.var(name).is_some() {
            notes.push(format!(
                "note: not passing {name} to {consumer}: it would outrank the gateway session gw set up"
            ));
        }
    }
}

/// Everything needed to start the child.
#[derive(Debug)]
pub struct Plan {
    pub program: OsString,
    pub args: Vec<OsString>,
    pub env: ChildEnv,
    /// Said on stderr before the child starts.
    pub notes: Vec<String>,
    /// Entries of the home overlay.
    pub overlay: Vec<(PathBuf, Entry)>,
}

/// The model the profile names for `target`: a config error naming the key when the target
/// needs one and the profile has none (the client's built-in default never reaches the
/// gateway).
pub fn model_for<'p>(target: &Target, profile: &'p Profile) -> Result<Option<&'p str>, UserError> {
    let Some(key) = &target.model else {
        return Ok(None);
    };
    match (key.read)(profile) {
        Some(m) => Ok(Some(m)),
        None => Err(UserError::config(
            format!(
                "profile `{}` names no model for the `{}` target",
                profile.name, target.name
            ),
            format!(
                "set `{}` in `[profiles.{}]`: the serving endpoint (model) name its requests go to",
                key.key, profile.name
            ),
        )),
    }
}

/// Whether `program` is the target's own client, by file name (`codex`, `codex.exe`,
/// `codex.cmd`, after a `/` or a `\`: the same answer on every platform); a target
/// without a client takes any program.
pub fn is_client(target: &Target, program: &Path) -> bool {
    target
        .program
        .is_none_or(|name| is_client_name(name, program))
}

/// Whether `program`'s file name, without an executable extension, is `name`.
pub fn is_client_name(name: &str, program: &Path) -> bool {
    let text = program.to_string_lossy();
    let file = text.rsplit(['/', '\\']).next().unwrap_or(&text);
    let stem = match file.rsplit_once('.') {
        Some((stem, ext))
            if ["exe", "cmd", "bat", "ps1"]
                .iter()
                .any(|e| ext.eq_ignore_ascii_case(e)) =>
        {
            stem
        }
        _ => file,
    };
    stem.eq_ignore_ascii_case(name)
}

/// What to say when the program run for a target is not the target's client.
pub fn not_client_note(target: &Target, program: &Path) -> Option<String> {
    let client = target.program.filter(|_| !is_client(target, program))?;
    Some(format!(
        "note: `{}` is not {client}; it gets the `{}` target's environment only",
        program.display(),
        target.name
    ))
}

/// The whole plan for running `program` as `target`.
pub fn plan(target: &Target, program: OsString, input: &Input<'_>) -> Result<Plan, UserError> {
    let mut wiring = (target.wire)(input)?;
    let env = &mut wiring.env;
    env.set(ev::GW_EXEC_PROFILE, input.profile.name.clone());
    env.set(
        ev::GW_CONFIG,
        input.origin.config_path.display().to_string(),
    );
    env.set(ev::GW_TOKEN_STORE, input.origin.store);
    env.set(ev::DATABRICKS_HOST, input.profile.databricks_host.clone());
    Ok(Plan {
        program,
        args: wiring.args,
        env: wiring.env,
        notes: wiring.notes,
        overlay: wiring.overlay,
    })
}

/// The command with its environment applied, started the way the platform can start it
/// ([`program::how_to_start`]: on Windows an npm `.cmd` shim runs as its node script).
pub fn command(plan: &Plan) -> Result<Command, UserError> {
    let path = Path::new(&plan.program);
    let os = Os::current();
    let shim = program::is_batch(path, os)
        .then(|| crate::paths::read_user_file(path))
        .flatten();
    let node_beside = path.parent().is_some_and(|d| d.join("node.exe").is_file());
    let mut cmd = match program::how_to_start(path, shim.as_deref(), node_beside, os) {
        Start::Direct => Command::new(path),
        Start::Node { node, script } => {
            let mut c = Command::new(node);
            c.arg(script);
            c
        }
        Start::Batch => {
            program::check_batch_line(path.as_os_str(), &plan.args).map_err(|len| {
                UserError::failure(
                    format!(
                        "cannot run `{}`: its command line would be {len} characters, more than cmd.exe's {}",
                        path.display(),
                        program::CMD_MAX_LINE
                    ),
                    "install the program's .exe (or its npm package, whose shim gw starts through node), or pass fewer arguments",
                )
            })?;
            Command::new(path)
        }
    };
    cmd.args(&plan.args);
    for name in &plan.env.remove {
        cmd.env_remove(name);
    }
    for (name, value) in &plan.env.set {
        cmd.env(name, value.expose());
    }
    Ok(cmd)
}

/// How to install a target's program, for the "not found" hint.
pub fn install_hint(target: &Target, program: &OsStr) -> String {
    if target.program.is_some() {
        target.install.to_owned()
    } else {
        format!(
            "install `{}` or check that it is on PATH",
            program.to_string_lossy()
        )
    }
}

/// The user's arguments, with gw's in front (the clients read options before their own).
pub fn prepend(ours: Vec<OsString>, user: &[OsString]) -> Vec<OsString> {
    let mut out = ours;
    out.extend(user.iter().cloned());
    out
}

#[cfg(test)]
mod tests;
