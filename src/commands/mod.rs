//! One module per `gw` command. Each returns the exit code; stdout is written only through
//! [`emit`], so nothing else in gw can write to the stream a caller reads a token from.

pub mod claude;
pub mod config_init;
pub mod doctor;
pub mod env;
pub mod exec;
pub mod login;
pub mod logout;
pub mod serve;
pub mod status;
pub mod token;

use std::io::Write;

use anyhow::Context as _;

use crate::env_vars;
use crate::idp::browser::SystemBrowser;
use crate::idp::method::{self, Method};
use crate::session::Login;

/// The only writer to stdout.
pub fn emit(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .context("cannot write to stdout")
}

/// The sign-in a command that needs a token may start.
///
/// - `--no-login` → none (exit 3 when one is needed).
/// - Unattended (Claude Code's token helper, or any gw inside a gw child, which
///   `GW_EXEC_PROFILE` marks): nobody can answer a device-code prompt there, so a browser
///   sign-in when a browser can be shown, else none.
/// - Otherwise browser or device code, decided only if a sign-in is needed ([`method::pick`]).
pub fn login_policy(no_login: bool, unattended: bool) -> Login<'static> {
    if no_login {
        return Login::Never;
    }
    let unattended = unattended || std::env::var_os(env_vars::GW_EXEC_PROFILE).is_some();
    if unattended {
        return match method::choose(false, &method::Signals::from_env()).0 {
            Method::Browser => Login::Interactive {
                method: Some(Method::Browser),
                opener: &SystemBrowser,
            },
            Method::Device => Login::Never,
        };
    }
    Login::Interactive {
        method: None,
        opener: &SystemBrowser,
    }
}

/// This gw's own path, as a child should call it back.
pub fn gw_exe() -> std::path::PathBuf {
    std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .unwrap_or_else(|_| "gw".into())
}

/// Resolve a program name on PATH (a name with a `/` is taken as is).
pub fn resolve_program(program: &std::ffi::OsStr) -> Option<std::path::PathBuf> {
    let p = std::path::Path::new(program);
    if p.components().count() > 1 {
        return p.is_file().then(|| p.to_owned());
    }
    crate::paths::find_on_path(&program.to_string_lossy())
}
