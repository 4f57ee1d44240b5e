//! One module per `gw` command. Each returns the exit code; stdout is written only through
//! [`emit`], so nothing else in gw can write to the stream a caller reads a token from.

pub mod claude;
pub mod config_init;
pub mod doctor;
pub mod env;
pub mod exec;
pub mod login;
pub mod logout;
mod run;
pub mod serve;
pub mod status;
pub mod token;
pub mod usage;

use std::io::Write;

use anyhow::Context as _;

pub use crate::session::login_policy;
pub use run::main;

/// The only writer to stdout.
pub fn emit(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .context("cannot write to stdout")
}

/// This gw's own path, as a child should call it back.
pub fn gw_exe() -> std::path::PathBuf {
    crate::platform::exe::current()
}

/// Resolve a program name on PATH (a name with a `/` is taken as is).
pub fn resolve_program(program: &std::ffi::OsStr) -> Option<std::path::PathBuf> {
    let p = std::path::Path::new(program);
    if p.components().count() > 1 {
        return p.is_file().then(|| p.to_owned());
    }
    crate::platform::program::find(&program.to_string_lossy())
}
