//! `gw claude [ARGS...]` (alias `claude-db`): `gw exec --target claude -- claude ARGS...`, with
//! Claude Code from `$GW_CLAUDE_BIN` or PATH.
//!
//! Also the process wrapper of the Claude Code IDE extensions (VS Code's
//! `claudeCode.claudeProcessWrapper`): they run `<wrapper> <path of their bundled claude>
//! <claude's arguments…>` without a shell and speak JSON over its stdin and stdout. gw takes a
//! first argument that is the path of a Claude Code executable as the program to run, and
//! replaces itself with it (stdio untouched). The setting names one executable, so gw
//! answers to the name `claude-db` too (a link to gw that the installer makes): invoked as
//! `claude-db ARGS…`, it is `gw claude ARGS…`.

use std::ffi::OsString;
use std::path::Path;

use crate::env_vars;
use crate::launch::claude::TARGET;
use crate::session::Context;

/// The name under which gw is `gw claude`.
pub const MULTI_CALL_NAME: &str = "claude-db";

/// The arguments as `gw` would have been called: `claude-db X` is `gw claude X`. Pure.
pub fn as_invoked(mut args: Vec<OsString>) -> Vec<OsString> {
    let called = args
        .first()
        .map(|a| crate::launch::is_client_name(MULTI_CALL_NAME, Path::new(a)))
        .unwrap_or(false);
    if called {
        args.insert(1, "claude".into());
    }
    args
}

/// The program and its arguments: the IDE's own Claude Code when it passed its path first,
/// else `$GW_CLAUDE_BIN` or `claude` on PATH.
pub fn program_and_args(
    args: Vec<OsString>,
    configured: Option<OsString>,
    is_file: impl Fn(&Path) -> bool,
) -> (OsString, Vec<OsString>) {
    if let Some(first) = args.first() {
        let p = Path::new(first);
        let a_path = p.components().count() > 1;
        if a_path && crate::launch::is_client(&TARGET, p) && is_file(p) {
            return (first.clone(), args[1..].to_vec());
        }
    }
    let program = configured
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "claude".into());
    (program, args)
}

pub fn run(
    ctx: &Context<'_>,
    store: crate::cli::StoreChoice,
    args: Vec<OsString>,
) -> anyhow::Result<u8> {
    let (program, args) = program_and_args(
        args,
        std::env::var_os(env_vars::GW_CLAUDE_BIN),
        Path::is_file,
    );
    super::exec::launch_target(ctx, store, &TARGET, program, args)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    #[test]
    fn called_as_claude_db_it_is_gw_claude() {
        assert_eq!(
            as_invoked(v(&["/home/u/.local/bin/claude-db", "-p", "hi"])),
            v(&["/home/u/.local/bin/claude-db", "claude", "-p", "hi"])
        );
        assert_eq!(
            as_invoked(v(&[r"C:\bin\claude-db.exe"])),
            v(&[r"C:\bin\claude-db.exe", "claude"])
        );
        assert_eq!(as_invoked(v(&["gw", "token"])), v(&["gw", "token"]));
    }

    #[test]
    fn the_ides_claude_path_is_the_program() {
        let ext = "/home/u/.vscode/extensions/anthropic.claude-code/resources/native-binary/claude";
        let (p, a) = program_and_args(
            v(&[ext, "--output-format", "stream-json"]),
            Some("/opt/other/claude".into()),
            |_| true,
        );
        assert_eq!(p, ext);
        assert_eq!(a, v(&["--output-format", "stream-json"]));
        let (p, a) = program_and_args(v(&["-p", "hi"]), None, |_| true);
        assert_eq!((p, a), ("claude".into(), v(&["-p", "hi"])));
        let (p, _) = program_and_args(v(&["./notes/claude"]), None, |_| false);
        assert_eq!(p, "claude", "a path that is not a file is an argument");
        let (p, _) = program_and_args(v(&["src/main.rs"]), Some("/x/claude".into()), |_| true);
        assert_eq!(p, "/x/claude", "only a Claude Code executable is taken");
    }
}
