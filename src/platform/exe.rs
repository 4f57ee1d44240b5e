//! gw's own path, for the helpers a client calls back (Claude Code's `apiKeyHelper`, Codex's
//! auth command, `gw env`): the path gw was invoked by, not its canonical one. Homebrew's
//! `/opt/homebrew/bin/gw` is a link into `Cellar/gw/<version>/`, which `brew upgrade` deletes;
//! Windows' canonical form is a `\\?\C:\…` path cmd.exe cannot run; scoop and winget shims,
//! asdf and mise work the same way.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use super::Os;

/// What the choice is made from.
pub struct Invocation<'a> {
    /// `argv[0]`.
    pub argv0: Option<&'a OsStr>,
    pub cwd: Option<&'a Path>,
    /// The running executable as the OS reports it.
    pub current_exe: Option<PathBuf>,
    /// `name` looked up on `PATH`.
    pub on_path: &'a dyn Fn(&str) -> Option<PathBuf>,
    /// Whether two paths are the same file.
    pub same_file: &'a dyn Fn(&Path, &Path) -> bool,
}

/// gw's path as invoked: `argv[0]` made absolute (against the working directory, or looked up
/// on `PATH` when it is a bare name), when that is this very executable and it is called `gw`
/// (a multi-call link such as `claude-db` would start the wrapper instead); else the gw beside
/// that link; else the OS's path of the running executable. Never canonicalized. Pure given
/// its edges.
pub fn as_invoked(inv: &Invocation<'_>, os: Os) -> PathBuf {
    let fallback = || {
        inv.current_exe
            .clone()
            .unwrap_or_else(|| PathBuf::from(gw_name(os)))
    };
    let Some(current) = inv.current_exe.as_deref() else {
        return fallback();
    };
    let Some(argv0) = inv
        .argv0
        .map(Path::new)
        .filter(|p| !p.as_os_str().is_empty())
    else {
        return fallback();
    };
    let text = argv0.to_string_lossy();
    let seps: &[char] = if os.is_windows() {
        &['/', '\\']
    } else {
        &['/']
    };
    let absolute = if os.is_windows() {
        text.starts_with(seps) || text.get(1..3).is_some_and(|s| s == ":\\" || s == ":/")
    } else {
        text.starts_with('/')
    };
    let invoked = if text.contains(seps) {
        match (absolute, inv.cwd) {
            (true, _) => Some(argv0.to_owned()),
            (false, Some(cwd)) => Some(cwd.join(argv0)),
            (false, None) => None,
        }
    } else {
        (inv.on_path)(&argv0.to_string_lossy())
    };
    let Some(invoked) = invoked.filter(|p| (inv.same_file)(p, current)) else {
        return fallback();
    };
    if is_gw(&invoked, os) {
        return invoked;
    }
    let shown = invoked.to_string_lossy();
    let dir_len = shown.rfind(seps).map_or(0, |i| i + 1);
    let beside = PathBuf::from(format!("{}{}", &shown[..dir_len], gw_name(os)));
    if (inv.same_file)(&beside, current) {
        beside
    } else {
        fallback()
    }
}

fn gw_name(os: Os) -> &'static str {
    if os.is_windows() { "gw.exe" } else { "gw" }
}

/// Whether `p`'s file name is gw's. Pure.
pub fn is_gw(p: &Path, os: Os) -> bool {
    let text = p.to_string_lossy();
    if os.is_windows() {
        let n = text.rsplit(['/', '\\']).next().unwrap_or_default();
        n.eq_ignore_ascii_case("gw.exe") || n.eq_ignore_ascii_case("gw")
    } else {
        text.rsplit('/').next() == Some("gw")
    }
}

/// This process's path as invoked.
pub fn current() -> PathBuf {
    let argv0 = std::env::args_os().next();
    let cwd = std::env::current_dir().ok();
    let on_path = |name: &str| super::program::find(name);
    as_invoked(
        &Invocation {
            argv0: argv0.as_deref(),
            cwd: cwd.as_deref(),
            current_exe: std::env::current_exe().ok(),
            on_path: &on_path,
            same_file: &same_file,
        },
        Os::current(),
    )
}

/// Whether `a` and `b` name the same file (links followed).
pub fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(a), std::fs::metadata(b)) {
            (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        // Only compared, never used: the canonical form is fine here.
        match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
            (Ok(x), Ok(y)) => x == y,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Homebrew layout: the link in bin/, the file in the versioned Cellar.
    fn brew(argv0: &str) -> PathBuf {
        let cellar = PathBuf::from("/opt/homebrew/Cellar/gw/1.2.0/bin/gw");
        let links = [
            PathBuf::from("/opt/homebrew/bin/gw"),
            PathBuf::from("/opt/homebrew/bin/claude-db"),
            cellar.clone(),
        ];
        let on_path = |name: &str| {
            let p = PathBuf::from(format!("/opt/homebrew/bin/{name}"));
            links.contains(&p).then_some(p)
        };
        let same =
            |a: &Path, b: &Path| links.iter().any(|l| l == a) && links.iter().any(|l| l == b);
        as_invoked(
            &Invocation {
                argv0: Some(OsStr::new(argv0)),
                cwd: Some(Path::new("/home/me")),
                current_exe: Some(cellar),
                on_path: &on_path,
                same_file: &same,
            },
            Os::MacOs,
        )
    }

    #[test]
    fn the_link_a_package_manager_keeps_is_used_not_its_versioned_target() {
        assert_eq!(brew("gw"), PathBuf::from("/opt/homebrew/bin/gw"));
        assert_eq!(
            brew("/opt/homebrew/bin/gw"),
            PathBuf::from("/opt/homebrew/bin/gw")
        );
        assert_eq!(
            brew("claude-db"),
            PathBuf::from("/opt/homebrew/bin/gw"),
            "the multi-call link names gw beside it"
        );
        assert_eq!(
            brew("/elsewhere/gw"),
            PathBuf::from("/opt/homebrew/Cellar/gw/1.2.0/bin/gw"),
            "an argv[0] that is not this executable is not trusted"
        );
    }

    #[test]
    fn windows_keeps_the_plain_path_and_a_relative_argv0_is_made_absolute() {
        let exe = PathBuf::from(r"C:\Users\me\.local\bin\gw.exe");
        let same = |a: &Path, b: &Path| a == b;
        let nowhere = |_: &str| None;
        let inv = Invocation {
            argv0: Some(OsStr::new(r"C:\Users\me\.local\bin\gw.exe")),
            cwd: None,
            current_exe: Some(exe.clone()),
            on_path: &nowhere,
            same_file: &same,
        };
        assert_eq!(as_invoked(&inv, Os::Windows), exe);
        // A multi-call link on Windows (claude-db.exe beside gw.exe) names gw.exe.
        let linked = Invocation {
            argv0: Some(OsStr::new(r"C:\Users\me\.local\bin\claude-db.exe")),
            same_file: &|_: &Path, _: &Path| true,
            ..inv
        };
        assert_eq!(
            as_invoked(&linked, Os::Windows),
            PathBuf::from(r"C:\Users\me\.local\bin\gw.exe")
        );
        let here = PathBuf::from("/work/bin/gw");
        let rel = Invocation {
            argv0: Some(OsStr::new("./bin/gw")),
            cwd: Some(Path::new("/work")),
            current_exe: Some(here.clone()),
            on_path: &nowhere,
            same_file: &|a: &Path, b: &Path| {
                a == Path::new("/work/./bin/gw") && b == Path::new("/work/bin/gw")
            },
        };
        assert_eq!(as_invoked(&rel, Os::Linux), PathBuf::from("/work/./bin/gw"));
        let none = Invocation { argv0: None, ..rel };
        assert_eq!(as_invoked(&none, Os::Linux), here);
    }

    #[test]
    fn gws_file_name_per_os() {
        assert!(is_gw(Path::new(r"C:\x\GW.EXE"), Os::Windows));
        assert!(is_gw(Path::new("/x/gw"), Os::Linux));
        assert!(!is_gw(Path::new("/x/claude-db"), Os::Linux));
        assert!(!is_gw(Path::new("/x/gw.exe"), Os::Linux));
    }
}
