//! Finding a program and starting it.
//!
//! - Unix: `<dir>/<name>` for each `PATH` entry, the first executable file.
//! - Windows: `<dir>/<name><ext>` for each `PATH` entry and each `PATHEXT` extension
//!   (`.COM;.EXE;.BAT;.CMD` when unset), in that order; a name that already ends in one of them
//!   is taken as it is. The extensionless file npm puts beside its `.cmd` shim is a `#!/bin/sh`
//!   script CreateProcess cannot start (os error 193), so it is never chosen.
//! - Starting a `.cmd`/`.bat`: an npm shim (`cmd-shim`) is started as the node script it calls,
//!   so no argument passes through cmd.exe (its quoting, `%` expansion and 8191-character
//!   command line); any other batch file is started by Rust's standard library (which escapes
//!   the arguments for cmd.exe or refuses), within [`CMD_MAX_LINE`].

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use super::Os;

/// `PATHEXT` when it is unset or empty (Windows' own default, minus the script hosts).
pub const DEFAULT_PATHEXT: &str = ".COM;.EXE;.BAT;.CMD";

/// The longest command line cmd.exe runs.
pub const CMD_MAX_LINE: usize = 8191;

/// The files to try for `name`, in order. A name with a directory part is the only candidate.
/// Pure.
pub fn candidates(
    name: &str,
    path_dirs: &[PathBuf],
    pathext: Option<&str>,
    os: Os,
) -> Vec<PathBuf> {
    let has_dir = name.contains('/') || (os.is_windows() && name.contains('\\'));
    if has_dir {
        return vec![PathBuf::from(name)];
    }
    if !os.is_windows() {
        return path_dirs.iter().map(|d| d.join(name)).collect();
    }
    let exts: Vec<&str> = pathext
        .filter(|p| !p.trim().is_empty())
        .unwrap_or(DEFAULT_PATHEXT)
        .split(';')
        .map(str::trim)
        .filter(|e| e.starts_with('.') && e.len() > 1)
        .collect();
    let lower = name.to_ascii_lowercase();
    let has_ext = exts
        .iter()
        .any(|e| lower.ends_with(&e.to_ascii_lowercase()));
    path_dirs
        .iter()
        .flat_map(|d| {
            if has_ext {
                vec![d.join(name)]
            } else {
                exts.iter()
                    .map(|e| d.join(format!("{name}{}", e.to_ascii_lowercase())))
                    .collect()
            }
        })
        .collect()
}

/// Find `name` on `PATH` (this process's `PATH` and `PATHEXT`).
pub fn find(name: &str) -> Option<PathBuf> {
    let dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    let pathext = std::env::var("PATHEXT").ok();
    candidates(name, &dirs, pathext.as_deref(), Os::current())
        .into_iter()
        .find(|p| runnable(p))
}

/// A regular file this user may run (Unix: an execute bit; Windows: the extension decided).
fn runnable(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        p.is_file()
    }
}

/// How to start a resolved program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// As it is.
    Direct,
    /// An npm shim: run `node` (the one beside the shim when there is one) with this script.
    Node { node: PathBuf, script: PathBuf },
    /// Another batch file, run through cmd.exe by the standard library.
    Batch,
}

/// Whether `program` is a Windows batch file. Pure.
pub fn is_batch(program: &Path, os: Os) -> bool {
    os.is_windows()
        && program
            .extension()
            .and_then(OsStr::to_str)
            .is_some_and(|e| e.eq_ignore_ascii_case("cmd") || e.eq_ignore_ascii_case("bat"))
}

/// How to start `program`; `shim` is the batch file's text when it is one (`None` when it
/// could not be read). Pure.
pub fn how_to_start(program: &Path, shim: Option<&str>, node_beside: bool, os: Os) -> Start {
    if !is_batch(program, os) {
        return Start::Direct;
    }
    let dir = program.parent().unwrap_or(Path::new(""));
    match shim.and_then(npm_shim_script) {
        Some(rel) => Start::Node {
            node: if node_beside {
                dir.join("node.exe")
            } else {
                PathBuf::from("node")
            },
            script: dir.join(rel),
        },
        None => Start::Batch,
    }
}

/// The script an npm `cmd-shim` runs, relative to the shim's directory: the quoted
/// `"%dp0%\…"` argument of its last command, before `%*`. `None` for any other batch file, and
/// for a script path that leaves the shim's directory. Pure.
pub fn npm_shim_script(text: &str) -> Option<PathBuf> {
    let line = text.lines().rev().find(|l| l.trim_end().ends_with("%*"))?;
    let before = line.trim_end().strip_suffix("%*")?.trim_end();
    let quoted = before.strip_suffix('"')?;
    let start = quoted.rfind("\"%dp0%\\")?;
    let rel = &quoted[start + "\"%dp0%\\".len()..];
    let parts: Vec<&str> = rel.split(['\\', '/']).collect();
    let safe = !rel.is_empty()
        && parts
            .iter()
            .all(|p| !p.is_empty() && *p != "." && *p != ".." && !p.contains([':', '%', '"']));
    safe.then(|| parts.iter().collect())
}

/// The length of the command line cmd.exe would be given for `program` and `args` (each
/// quoted, with a space between). Pure.
pub fn batch_line_len(program: &OsStr, args: &[OsString]) -> usize {
    std::iter::once(program)
        .chain(args.iter().map(OsString::as_os_str))
        .map(|a| a.len() + 3)
        .sum()
}

/// Refuse a batch command line cmd.exe would cut. Pure.
pub fn check_batch_line(program: &OsStr, args: &[OsString]) -> Result<(), usize> {
    let len = batch_line_len(program, args);
    if len > CMD_MAX_LINE { Err(len) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dirs() -> Vec<PathBuf> {
        vec![PathBuf::from(r"C:\npm"), PathBuf::from(r"C:\bin")]
    }

    #[test]
    fn windows_tries_each_pathext_extension_in_each_directory_and_never_the_bare_name() {
        let c = candidates("claude", &dirs(), Some(".COM;.EXE;.BAT;.CMD"), Os::Windows);
        let names: Vec<String> = c.iter().map(|p| p.display().to_string()).collect();
        assert_eq!(names.len(), 8);
        assert!(names[0].ends_with("claude.com") && names[1].ends_with("claude.exe"));
        assert!(names[3].ends_with("claude.cmd"), "{names:?}");
        assert!(names.iter().all(|n| !n.ends_with("claude")), "{names:?}");
        // A name with an extension is taken as it is; an unset PATHEXT has a default.
        assert_eq!(
            candidates("databricks.exe", &dirs(), None, Os::Windows).len(),
            2
        );
        assert_eq!(
            candidates("claude", &dirs(), Some(" "), Os::Windows).len(),
            8
        );
        assert_eq!(
            candidates(r"C:\tools\x.exe", &dirs(), None, Os::Windows),
            [PathBuf::from(r"C:\tools\x.exe")]
        );
    }

    #[test]
    fn unix_looks_for_the_name_itself() {
        let d = vec![PathBuf::from("/usr/bin")];
        assert_eq!(
            candidates("claude", &d, Some(".EXE"), Os::Linux),
            [PathBuf::from("/usr/bin/claude")]
        );
        assert_eq!(
            candidates("./x", &d, None, Os::MacOs),
            [PathBuf::from("./x")]
        );
        assert_eq!(
            candidates(r"a\b", &d, None, Os::Linux),
            [PathBuf::from("/usr/bin/a\\b")]
        );
    }

    /// The shim npm 10 writes for a package's bin (cmd-shim).
    const NPM_SHIM: &str = "@ECHO off\r\nGOTO start\r\n:find_dp0\r\nSET dp0=%~dp0\r\nEXIT /b\r\n:start\r\nSETLOCAL\r\nCALL :find_dp0\r\n\r\nIF EXIST \"%dp0%\\node.exe\" (\r\n  SET \"_prog=%dp0%\\node.exe\"\r\n) ELSE (\r\n  SET \"_prog=node\"\r\n  SET PATHEXT=%PATHEXT:;.JS;=;%\r\n)\r\n\r\nendLocal & goto #_undefined_# 2>NUL || title %COMSPEC% & \"%_prog%\"  \"%dp0%\\node_modules\\@anthropic-ai\\claude-code\\cli.js\" %*\r\n";

    #[test]
    fn an_npm_shim_is_started_as_its_node_script() {
        assert_eq!(
            npm_shim_script(NPM_SHIM),
            Some(
                ["node_modules", "@anthropic-ai", "claude-code", "cli.js"]
                    .iter()
                    .collect()
            )
        );
        let shim = Path::new(r"C:\npm\claude.cmd");
        match how_to_start(shim, Some(NPM_SHIM), false, Os::Windows) {
            Start::Node { node, script } => {
                assert_eq!(node, PathBuf::from("node"));
                assert!(script.ends_with("cli.js"), "{script:?}");
            }
            other => panic!("{other:?}"),
        }
        match how_to_start(shim, Some(NPM_SHIM), true, Os::Windows) {
            Start::Node { node, .. } => assert!(node.ends_with("node.exe")),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            how_to_start(shim, Some("@echo hi %*"), false, Os::Windows),
            Start::Batch
        );
        assert_eq!(how_to_start(shim, None, false, Os::Windows), Start::Batch);
        assert_eq!(
            how_to_start(Path::new(r"C:\x\claude.exe"), None, false, Os::Windows),
            Start::Direct
        );
        assert_eq!(
            how_to_start(Path::new("/x/claude.cmd"), Some(NPM_SHIM), false, Os::Linux),
            Start::Direct
        );
    }

    #[test]
    fn a_shim_whose_script_leaves_its_directory_is_not_followed() {
        for bad in [
            "\"%_prog%\" \"%dp0%\\..\\evil.js\" %*",
            "\"%_prog%\" \"%dp0%\\C:\\evil.js\" %*",
            "\"%_prog%\" \"%dp0%\\\" %*",
            "\"%_prog%\" \"%dp0%\\a\\%X%\\b.js\" %*",
        ] {
            assert_eq!(npm_shim_script(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_batch_line_over_cmds_limit_is_refused() {
        let short = vec![OsString::from("--version")];
        assert!(check_batch_line(OsStr::new(r"C:\x\tool.cmd"), &short).is_ok());
        let long = vec![OsString::from("x".repeat(CMD_MAX_LINE))];
        assert!(check_batch_line(OsStr::new(r"C:\x\tool.cmd"), &long).is_err());
    }

    /// The edge on Windows: beside npm's extensionless `#!/bin/sh` script, the `.cmd` is the
    /// one found.
    #[cfg(windows)]
    #[test]
    fn the_cmd_shim_is_found_not_the_sh_script_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("claude"), "#!/bin/sh\n").unwrap();
        std::fs::write(dir.path().join("claude.cmd"), NPM_SHIM).unwrap();
        let found = candidates("claude", &[dir.path().to_owned()], None, Os::Windows)
            .into_iter()
            .find(|p| runnable(p))
            .unwrap();
        assert_eq!(found, dir.path().join("claude.cmd"));
    }
}
