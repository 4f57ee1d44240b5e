//! The file store: one JSON record per key in `<state dir>/gw/tokens/`, directory 0700,
//! files 0600, replaced atomically (temp file in the same directory, fsync, rename).
//!
//! Reads never follow a symlink planted at the record's path; a damaged record is a miss
//! with a warning.

use std::fs::OpenOptions;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::{KeyLock, StoreError, StoreKind, StoredTokens, TokenStore, parse_record};
use crate::paths::write_private;

pub struct FileStore {
    dir: PathBuf,
}

impl FileStore {
    /// A store in `dir` (created 0700 on first save).
    pub fn new(dir: &Path) -> Self {
        FileStore {
            dir: dir.to_owned(),
        }
    }

    pub fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.json"))
    }
}

impl TokenStore for FileStore {
    fn kind(&self) -> StoreKind {
        StoreKind::File
    }

    fn location(&self, key: &str) -> String {
        self.path(key).display().to_string()
    }

    fn load(&self, key: &str) -> Result<Option<StoredTokens>, StoreError> {
        let path = self.path(key);
        let mut opts = OpenOptions::new();
        opts.read(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.custom_flags(libc::O_NOFOLLOW);
        }
        let mut file = match opts.open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                eprintln!(
                    "warning: ignoring token cache `{}`: {e}; the next sign-in replaces it",
                    path.display()
                );
                return Ok(None);
            }
        };
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|source| StoreError::Io {
                what: "read",
                path: path.clone(),
                source,
            })?;
        match parse_record(&bytes) {
            Ok(rec) => Ok(Some(rec)),
            Err(why) => {
                eprintln!(
                    "warning: ignoring token cache `{}`: {why}; the next sign-in replaces it",
                    path.display()
                );
                Ok(None)
            }
        }
    }

    fn save(&self, key: &str, tokens: &StoredTokens, _lock: &KeyLock) -> Result<(), StoreError> {
        let path = self.path(key);
        let bytes = serde_json::to_vec_pretty(tokens).map_err(|e| StoreError::Io {
            what: "encode",
            path: path.clone(),
            source: std::io::Error::other(e),
        })?;
        write_private(&path, &bytes).map_err(|source| StoreError::Io {
            what: "write",
            path,
            source,
        })
    }

    fn delete(&self, key: &str, _lock: &KeyLock) -> Result<bool, StoreError> {
        let path = self.path(key);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(StoreError::Io {
                what: "remove",
                path,
                source,
            }),
        }
    }
}
