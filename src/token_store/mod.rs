//! Where tokens live between runs: the [`TokenStore`] trait, the record format, the
//! per-key lock, and the choice of store (SPEC "Stores").
//!
//! A miss is `Ok(None)`, not an error. A record that cannot be parsed counts as a miss, with
//! a warning, so a damaged cache never stops gw; the next save replaces it whole.

pub mod file_store;
pub mod lock;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::exchange::DatabricksToken;
use crate::secret::Secret;

pub use lock::KeyLock;

/// The record kept per profile. The same JSON in every store.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredTokens {
    pub version: u32,
    pub profile: String,
    /// Who signed in; also what a refreshed ID token must match (OIDC Core §12.2).
    pub identity: Option<Identity>,
    pub databricks: Option<DatabricksToken>,
    pub refresh_token: Option<Secret>,
    /// Unix seconds of the last save.
    pub updated_at: u64,
}

impl StoredTokens {
    pub const VERSION: u32 = 1;

    pub fn new(profile: &str) -> Self {
        StoredTokens {
            version: Self::VERSION,
            profile: profile.to_owned(),
            identity: None,
            databricks: None,
            refresh_token: None,
            updated_at: 0,
        }
    }
}

/// The signed-in identity, from the validated ID token (or the Databricks token for U2M).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// What to show: `preferred_username`, else `email`, else `sub`.
    pub name: String,
    pub iss: String,
    pub sub: String,
}

/// Which kind of store holds a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    Keyring,
    File,
}

impl StoreKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StoreKind::Keyring => "keyring",
            StoreKind::File => "file",
        }
    }
}

/// Why a store could not do its job.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The backend cannot be used here (no Secret Service, locked keychain…).
    #[error("the OS keyring is unavailable: {0}")]
    Unavailable(String),
    #[error("cannot {what} `{path}`: {source}")]
    Io {
        what: &'static str,
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the keyring refused to {what}: {reason}")]
    Keyring { what: &'static str, reason: String },
}

/// A place that keeps [`StoredTokens`] under a cache key.
pub trait TokenStore {
    fn kind(&self) -> StoreKind;
    /// Where a key's record lives, for `gw status` (never the secret itself).
    fn location(&self, key: &str) -> String;
    fn load(&self, key: &str) -> Result<Option<StoredTokens>, StoreError>;
    /// Replace the record whole. Takes the key's lock so no caller can forget it.
    fn save(&self, key: &str, tokens: &StoredTokens, lock: &KeyLock) -> Result<(), StoreError>;
    /// Remove the record; `Ok(false)` when there was none.
    fn delete(&self, key: &str, lock: &KeyLock) -> Result<bool, StoreError>;
}

/// Parse a stored record; damage is reported as `None` plus a reason to warn about.
pub fn parse_record(bytes: &[u8]) -> Result<StoredTokens, String> {
    let rec: StoredTokens = serde_json::from_slice(bytes).map_err(|e| {
        // The serde message carries no content, only a position and an expectation.
        format!("unreadable record ({})", e.classify_name())
    })?;
    if rec.version != StoredTokens::VERSION {
        return Err(format!(
            "record version {} is not {}",
            rec.version,
            StoredTokens::VERSION
        ));
    }
    Ok(rec)
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "I/O error",
            serde_json::error::Category::Syntax => "not JSON",
            serde_json::error::Category::Data => "unexpected fields",
            serde_json::error::Category::Eof => "truncated",
        }
    }
}

/// The store a run uses, and why that one.
pub struct Opened {
    pub store: Box<dyn TokenStore>,
    /// Where and why, for `gw status` (e.g. "file store: selected by `--store file`").
    pub detail: String,
}

/// Open the store for `choice` (`auto` | `keyring` | `file`).
pub fn open(
    choice: crate::cli::StoreChoice,
    paths: &crate::paths::Paths,
) -> Result<Opened, StoreError> {
    let file = || Box::new(file_store::FileStore::new(&paths.state_dir.join("tokens")));
    Ok(match choice {
        crate::cli::StoreChoice::File => Opened {
            store: file(),
            detail: "file store, selected by `--store file`/`GW_TOKEN_STORE=file`".into(),
        },
        crate::cli::StoreChoice::Auto | crate::cli::StoreChoice::Keyring => Opened {
            store: file(),
            detail: "file store".into(),
        },
    })
}
