//! Building a child's environment per target, and handing the process over to it.
//!
//! Every child gets `GW_EXEC_PROFILE`, `GW_CONFIG` and `GW_TOKEN_STORE`, so a helper it starts
//! resolves the same session. On Unix the child replaces gw (execve): its exit code is the
//! user's, stdout is its own, and nothing of gw is left running.

use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::process::Command;

use crate::cli::Target;
use crate::config::Profile;
use crate::env_vars;
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

/// Which session the child belongs to.
pub struct Origin<'a> {
    pub config_path: &'a Path,
    pub store: &'a str,
}

/// The environment `target` needs for `profile`.
pub fn child_env(
    target: Target,
    profile: &Profile,
    token: &DatabricksToken,
    origin: &Origin<'_>,
) -> ChildEnv {
    let mut env = ChildEnv::default();
    env.set.push((
        env_vars::GW_EXEC_PROFILE,
        Value::Plain(profile.name.clone()),
    ));
    env.set.push((
        env_vars::GW_CONFIG,
        Value::Plain(origin.config_path.display().to_string()),
    ));
    env.set.push((
        env_vars::GW_TOKEN_STORE,
        Value::Plain(origin.store.to_owned()),
    ));
    match target {
        Target::Generic | Target::Databricks => {
            env.set.push((
                env_vars::DATABRICKS_HOST,
                Value::Plain(profile.databricks_host.clone()),
            ));
            env.set.push((
                env_vars::DATABRICKS_TOKEN,
                Value::Secret(token.access_token.clone()),
            ));
        }
    }
    env
}

/// The command with its environment applied.
pub fn command(program: &OsStr, args: &[OsString], env: &ChildEnv) -> Command {
    let mut cmd = Command::new(program);
    cmd.args(args);
    for name in &env.remove {
        cmd.env_remove(name);
    }
    for (name, value) in &env.set {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn profile() -> Profile {
        let text = r#"
[profiles.p]
databricks_host = "https://h.example"
[profiles.p.idp]
kind = "oidc"
issuer = "https://idp.example"
client_id = "c"
"#;
        crate::config::Config::parse(text, Path::new("c.toml"))
            .unwrap()
            .profiles["p"]
            .clone()
    }

    #[test]
    fn generic_target_gets_host_token_and_the_session_markers() {
        let tok = DatabricksToken {
            access_token: Secret::new("canary-7f3a"),
            token_type: "Bearer".into(),
            expires_at: 0,
            lifetime: 0,
        };
        let env = child_env(
            Target::Generic,
            &profile(),
            &tok,
            &Origin {
                config_path: Path::new("/c.toml"),
                store: "file",
            },
        );
        let get = |n: &str| {
            env.set
                .iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| v.expose().to_owned())
        };
        assert_eq!(get("DATABRICKS_HOST").as_deref(), Some("https://h.example"));
        assert_eq!(get("DATABRICKS_TOKEN").as_deref(), Some("canary-7f3a"));
        assert_eq!(get("GW_EXEC_PROFILE").as_deref(), Some("p"));
        assert_eq!(get("GW_CONFIG").as_deref(), Some("/c.toml"));
        assert_eq!(get("GW_TOKEN_STORE").as_deref(), Some("file"));
        assert!(
            !format!("{env:?}").contains("canary-7f3a"),
            "Debug must not show the token"
        );
    }
}
