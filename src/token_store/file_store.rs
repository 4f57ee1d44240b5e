//! The file store: one JSON record per key in `<state dir>/gw/tokens/`, directory 0700,
//! files 0600, replaced atomically (temp file in the same directory, fsync, rename).
//!
//! Reads go through [`crate::paths::read_state`]: a record that is a symlink, not a regular
//! file, another user's, writable by others or oversized is a miss with a warning, as is a
//! damaged one.

use std::path::{Path, PathBuf};

use super::{KeyLock, StoreError, StoreKind, StoredTokens, TokenStore, parse_record};
use crate::paths::write_private;

/// The largest token record read (records are about 0.5–20 KiB; Entra group claims grow them).
const MAX_RECORD: u64 = 1024 * 1024;

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
        let Some(bytes) = crate::paths::read_state(&path, MAX_RECORD, "token cache") else {
            return Ok(None);
        };
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
