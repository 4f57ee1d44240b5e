//! Where gw keeps things, resolved once from the platform's conventions (`directories`).
//!
//! - config: `--config`, else `$GW_CONFIG`, else `<config dir>/gw/config.toml`
//! - tokens (file store) and locks: `<state dir>/gw` (Linux `$XDG_STATE_HOME/gw`, else
//!   `~/.local/state/gw`; other platforms: the local data dir)
//! - discovery metadata and JWKS: `<cache dir>/gw`
//!
//! Never a shared temp dir: these hold secrets or decide which keys are trusted.

use std::path::{Path, PathBuf};

use crate::env_vars;
use crate::error::UserError;

#[derive(Debug, Clone)]
pub struct Paths {
    pub config: PathBuf,
    /// Token files, lock files, the keyring verdict. Created 0700.
    pub state_dir: PathBuf,
    /// Discovery documents and JWKS. Created 0700.
    pub cache_dir: PathBuf,
}

impl Paths {
    /// Resolve every path; `config` is `--config` when given.
    pub fn resolve(config: Option<&Path>) -> Result<Paths, UserError> {
        let base = directories::BaseDirs::new().ok_or_else(|| {
            UserError::config(
                "cannot find the home directory",
                "set `HOME` (or pass `--config`)",
            )
        })?;
        let config = match config {
            Some(p) => p.to_owned(),
            None => match std::env::var_os(env_vars::GW_CONFIG).filter(|v| !v.is_empty()) {
                Some(p) => PathBuf::from(p),
                None => default_config_path(&base),
            },
        };
        // Absolute, so children that run elsewhere (and `GW_CONFIG` passed down) find it.
        let config = std::path::absolute(&config).unwrap_or(config);
        let state_root = base
            .state_dir()
            .unwrap_or_else(|| base.data_local_dir())
            .to_owned();
        Ok(Paths {
            config,
            state_dir: state_root.join("gw"),
            cache_dir: base.cache_dir().join("gw"),
        })
    }
}

fn default_config_path(base: &directories::BaseDirs) -> PathBuf {
    base.config_dir().join("gw").join("config.toml")
}

/// Create `dir` (and parents) with mode 0700 on Unix, and tighten it if it exists wider.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        let meta = std::fs::symlink_metadata(dir)?;
        if meta.file_type().is_symlink() || !meta.is_dir() {
            return Err(std::io::Error::other(format!(
                "`{}` is not a directory",
                dir.display()
            )));
        }
        if let Some(why) = foreign_owner(&meta, Owners::Me) {
            return Err(std::io::Error::other(format!("`{}` {why}", dir.display())));
        }
        if meta.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)
    }
}

/// Write `bytes` to `path` atomically: a 0600 temp file in the same directory, fsync, rename.
/// A reader sees the old file or the new one, never a mix; a symlink at `path` is replaced,
/// not followed.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    private_dir(dir)?;
    let mut tmp = tempfile::Builder::new().prefix(".tmp-").tempfile_in(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    crate::platform::replace::persist(tmp, path)?;
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Largest client settings file gw reads (settings files are a few KiB).
const MAX_USER_FILE: u64 = 1024 * 1024;

/// Read a file of the user's (or of a repository the user opened) that gw only inspects, such
/// as a client's settings: `None` unless it is a regular file of at most 1 MiB. Opened
/// non-blocking, so a FIFO planted at the path never hangs gw.
pub fn read_user_file(path: &Path) -> Option<String> {
    use std::io::Read;
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NONBLOCK);
    }
    let file = opts.open(path).ok()?;
    let meta = file.metadata().ok()?;
    if !meta.is_file() || meta.len() > MAX_USER_FILE {
        return None;
    }
    let mut text = String::new();
    file.take(MAX_USER_FILE).read_to_string(&mut text).ok()?;
    Some(text)
}

/// The names in `dir` (empty when it cannot be read), sorted.
pub fn list_dir(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Who may own a file gw trusts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owners {
    /// Only the user gw runs as (tokens, caches, locks, verdicts).
    Me,
    /// The user or root (a config a platform team installed).
    MeOrRoot,
}

/// Why a file or directory's owner or mode makes it untrustworthy, if it does (Unix; on
/// other platforms the profile directories are the user's own by construction).
#[allow(unused_variables)]
fn foreign_owner(meta: &std::fs::Metadata, owners: Owners) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid(2) cannot fail.
        let me = unsafe { libc::geteuid() };
        let ok = meta.uid() == me || (owners == Owners::MeOrRoot && meta.uid() == 0);
        if !ok {
            return Some(format!("is owned by another user (uid {})", meta.uid()));
        }
        if meta.mode() & 0o022 != 0 {
            return Some("can be written by group or others".into());
        }
    }
    None
}

/// Why a state file was not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The one way gw reads a file it will trust (token records, the discovery and key cache,
/// the keyring verdict, the config): `Ok(None)` when it does not exist; refused — never
/// trusted — when it is a symlink, not a regular file (a FIFO would hang the read), owned by
/// someone else, writable by group or others, or larger than `max` bytes. Opened with
/// `O_NOFOLLOW | O_NONBLOCK` and checked on the open descriptor, so what is checked is what is
/// read.
pub fn read_trusted(path: &Path, max: u64, owners: Owners) -> Result<Option<Vec<u8>>, Refused> {
    use std::io::Read;
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let file = match opts.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        #[cfg(unix)]
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(Refused("is a symbolic link".into()));
        }
        Err(e) => return Err(Refused(format!("cannot be opened ({e})"))),
    };
    let meta = file
        .metadata()
        .map_err(|e| Refused(format!("cannot be examined ({e})")))?;
    if !meta.is_file() {
        return Err(Refused("is not a regular file".into()));
    }
    if let Some(why) = foreign_owner(&meta, owners) {
        return Err(Refused(why));
    }
    if meta.len() > max {
        return Err(Refused(format!("is larger than {max} bytes")));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Refused(format!("cannot be read ({e})")))?;
    if bytes.len() as u64 > max {
        return Err(Refused(format!("is larger than {max} bytes")));
    }
    Ok(Some(bytes))
}

/// [`read_trusted`] for gw's own state, where a refused file is a miss: said once on stderr
/// (`what` names it), then treated as absent so the next save replaces it.
pub fn read_state(path: &Path, max: u64, what: &str) -> Option<Vec<u8>> {
    match read_trusted(path, max, Owners::Me) {
        Ok(found) => found,
        Err(why) => {
            eprintln!(
                "warning: ignoring {what} `{}`: it {why}; gw will replace it",
                crate::sanitize::shown(&path.display().to_string())
            );
            None
        }
    }
}

#[cfg(test)]
mod trusted_tests {
    use super::*;

    #[test]
    fn only_a_small_regular_file_of_ones_own_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("rec.json");
        assert_eq!(read_trusted(&f, 100, Owners::Me), Ok(None));
        std::fs::write(&f, b"{}").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        assert_eq!(read_trusted(&f, 100, Owners::Me), Ok(Some(b"{}".to_vec())));
        assert!(read_trusted(&f, 1, Owners::Me).is_err(), "oversized");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o666)).unwrap();
            let err = read_trusted(&f, 100, Owners::Me).unwrap_err();
            assert!(err.0.contains("group or others"), "{err}");
            std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
            let link = dir.path().join("link.json");
            std::os::unix::fs::symlink(&f, &link).unwrap();
            assert_eq!(
                read_trusted(&link, 100, Owners::Me),
                Err(Refused("is a symbolic link".into()))
            );
            let fifo = dir.path().join("fifo.json");
            let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
            // SAFETY: mkfifo on a fresh path in a temp dir.
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
            assert_eq!(
                read_trusted(&fifo, 100, Owners::Me),
                Err(Refused("is not a regular file".into())),
                "a FIFO is refused at once, never waited on"
            );
            // Another user's file (only root can make one here; CI runs as root).
            // SAFETY: geteuid cannot fail; chown on a temp file this test made.
            if unsafe { libc::geteuid() } == 0 {
                let c = std::ffi::CString::new(f.to_str().unwrap()).unwrap();
                assert_eq!(unsafe { libc::chown(c.as_ptr(), 65534, 65534) }, 0);
                let err = read_trusted(&f, 100, Owners::Me).unwrap_err();
                assert!(err.0.contains("another user (uid 65534)"), "{err}");
                assert!(read_trusted(&f, 100, Owners::MeOrRoot).is_err());
            }
        }
    }
}
