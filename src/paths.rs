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

/// The first executable file named `program` in a `PATH` directory.
pub fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| is_executable(p))
}

fn is_executable(p: &std::path::Path) -> bool {
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
    tmp.persist(path).map_err(|e| e.error)?;
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
