//! Where tokens live between runs: the [`TokenStore`] trait, the record format, the
//! per-key lock, and the choice of store (SPEC "Stores").
//!
//! A miss is `Ok(None)`, not an error. A record that cannot be parsed counts as a miss, with
//! a warning, so a damaged cache never stops gw; the next save replaces it whole.

pub mod file_store;
pub mod keyring_store;
pub mod lock;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::exchange::DatabricksToken;
use crate::secret::Secret;

pub use crate::platform::keychain::Slow;
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

/// The signed-in identity, from the validated ID token (or the Databricks token for U2M):
/// what to show, and what a refreshed ID token must repeat (OIDC Core §12.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// What to show: `preferred_username`, else `email`, else `sub`.
    pub name: String,
    pub iss: String,
    pub sub: String,
    /// The sign-in's `aud` (empty in records from before it was kept).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aud: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azp: Option<String>,
    /// When the user authenticated (`auth_time`), when the IdP said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<u64>,
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
    #[error("the OS keyring is unavailable: {reason}")]
    Unavailable {
        reason: String,
        /// What the platform said, when it said something.
        #[source]
        cause: Option<keyring_store::Cause>,
    },
    #[error("cannot {what} `{path}`: {source}")]
    Io {
        what: &'static str,
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the keyring refused to {what}: {reason}")]
    Keyring { what: &'static str, reason: String },
    /// The keyring waits for a person who is not there ([`Slow::GiveUp`]).
    #[error("{reason}")]
    NeedsPerson { reason: String },
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

    /// Which store holds `key`'s record, and where (for `gw status`).
    fn holder(&self, key: &str) -> Option<(StoreKind, String)> {
        match self.load(key) {
            Ok(Some(_)) => Some((self.kind(), self.location(key))),
            _ => None,
        }
    }
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

/// Where tokens are kept (`--store`, `GW_TOKEN_STORE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreChoice {
    /// The OS keyring, with a private file when none is usable.
    Auto,
    /// Only the OS keyring.
    Keyring,
    /// Only a private file.
    File,
}

impl StoreChoice {
    pub const ALL: [StoreChoice; 3] = [StoreChoice::Auto, StoreChoice::Keyring, StoreChoice::File];

    pub fn as_str(self) -> &'static str {
        match self {
            StoreChoice::Auto => "auto",
            StoreChoice::Keyring => "keyring",
            StoreChoice::File => "file",
        }
    }

    /// One line for `--help`.
    pub fn about(self) -> &'static str {
        match self {
            StoreChoice::Auto => {
                "The OS keyring; a private file when no keyring is available (said once on stderr)"
            }
            StoreChoice::Keyring => "Only the OS keyring; fail when it is unavailable",
            StoreChoice::File => "Only a private file in the user's state directory",
        }
    }

    /// The choice called `name` (`auto`, `keyring`, `file`; any case).
    pub fn from_name(name: &str) -> Option<StoreChoice> {
        StoreChoice::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(name.trim()))
    }
}

/// The store a run uses, and why that one.
pub struct Opened {
    pub store: Box<dyn TokenStore>,
    /// Which store and why, for `gw status` (e.g. "file store: no Secret Service on the
    /// session bus").
    pub detail: String,
}

/// How long a keyring verdict is trusted: a working keyring is re-probed daily, a missing
/// one hourly (someone may have started one).
const VERDICT_OK_SECS: u64 = 24 * 3600;
const VERDICT_BAD_SECS: u64 = 3600;

#[derive(Debug, Serialize, Deserialize)]
struct Verdict {
    available: bool,
    reason: String,
    checked_at: u64,
}

/// Open the store for `choice`:
/// - `file`: the file store; the keyring is never touched.
/// - `keyring`: the OS keyring, probed (≤ 3 s) unless a recent verdict says it works; an
///   unavailable keyring is an error, never a fallback.
/// - `auto`: the keyring when the probe (or a recent verdict) says it works, with the file
///   store behind it; else the file store, said once on stderr when the verdict is made.
///
/// `when_slow` says what a keyring call that does not answer in time means
/// ([`crate::platform::keychain::when_slow`]).
pub fn open(
    choice: StoreChoice,
    paths: &crate::paths::Paths,
    when_slow: Slow,
) -> Result<Opened, StoreError> {
    let file = file_store::FileStore::new(&paths.state_dir.join("tokens"));
    if choice == StoreChoice::File {
        return Ok(Opened {
            store: Box::new(file),
            detail: "file store, chosen with `--store file` / `GW_TOKEN_STORE=file`".into(),
        });
    }
    let verdict = keyring_verdict(paths);
    let keyring = keyring_store::KeyringStore::os(when_slow);
    match (choice, verdict) {
        (StoreChoice::Keyring, Ok(())) => Ok(Opened {
            store: Box::new(keyring),
            detail: "OS keyring, chosen with `--store keyring` / `GW_TOKEN_STORE=keyring`".into(),
        }),
        (StoreChoice::Keyring, Err(why)) => Err(StoreError::Unavailable {
            reason: why,
            cause: None,
        }),
        (_, Ok(())) => Ok(Opened {
            store: Box::new(FallbackStore { keyring, file }),
            detail: "OS keyring (the default, `auto`)".into(),
        }),
        (_, Err(why)) => Ok(Opened {
            store: Box::new(file),
            detail: format!("file store, because there is no usable OS keyring: {why}"),
        }),
    }
}

/// Whether the OS keyring works here: a recent verdict from disk, else a fresh probe whose
/// verdict is saved (and, when negative, said once on stderr).
fn keyring_verdict(paths: &crate::paths::Paths) -> Result<(), String> {
    let path = verdict_path(paths);
    let now = crate::time::now_unix();
    if let Some(v) = crate::paths::read_state(&path, 64 * 1024, "keyring verdict")
        .and_then(|b| serde_json::from_slice::<Verdict>(&b).ok())
    {
        let ttl = if v.available {
            VERDICT_OK_SECS
        } else {
            VERDICT_BAD_SECS
        };
        if v.checked_at <= now && now - v.checked_at < ttl {
            return if v.available { Ok(()) } else { Err(v.reason) };
        }
    }
    let result = keyring_store::probe(
        keyring_store::OsKeyring {
            when_slow: Slow::FallBack,
        },
        keyring_store::CALL_TIMEOUT,
    );
    remember_verdict(paths, &result);
    if let Err(why) = &result {
        eprintln!(
            "note: no usable OS keyring ({why}); keeping tokens in a private file under `{}`",
            paths.state_dir.display()
        );
    }
    result
}

/// Save a probe's outcome so later runs need not probe again.
pub fn remember_verdict(paths: &crate::paths::Paths, result: &Result<(), String>) {
    let verdict = Verdict {
        available: result.is_ok(),
        reason: result.clone().err().unwrap_or_default(),
        checked_at: crate::time::now_unix(),
    };
    if let Ok(bytes) = serde_json::to_vec(&verdict) {
        let _ = crate::paths::write_private(&verdict_path(paths), &bytes);
    }
}

fn verdict_path(paths: &crate::paths::Paths) -> std::path::PathBuf {
    paths.state_dir.join("keyring-verdict.json")
}

/// The keyring first; the file store for records saved while the keyring was unavailable,
/// and for saves when it fails at run time (said on stderr). A record saved to the keyring
/// removes its file copy, so one record never lives in two places.
pub struct FallbackStore<K: TokenStore> {
    pub keyring: K,
    pub file: file_store::FileStore,
}

impl<K: TokenStore> TokenStore for FallbackStore<K> {
    fn kind(&self) -> StoreKind {
        StoreKind::Keyring
    }

    fn location(&self, key: &str) -> String {
        self.keyring.location(key)
    }

    fn load(&self, key: &str) -> Result<Option<StoredTokens>, StoreError> {
        match self.keyring.load(key) {
            Ok(Some(r)) => Ok(Some(r)),
            Ok(None) => self.file.load(key),
            Err(StoreError::Unavailable { reason: why, .. }) => {
                eprintln!("note: the OS keyring is unavailable ({why}); reading the file store");
                self.file.load(key)
            }
            Err(e) => Err(e),
        }
    }

    fn save(&self, key: &str, tokens: &StoredTokens, lock: &KeyLock) -> Result<(), StoreError> {
        match self.keyring.save(key, tokens, lock) {
            Ok(()) => {
                let _ = self.file.delete(key, lock);
                Ok(())
            }
            Err(StoreError::Unavailable { reason: why, .. }) => {
                eprintln!(
                    "note: the OS keyring is unavailable ({why}); saving to `{}`",
                    self.file.location(key)
                );
                self.file.save(key, tokens, lock)
            }
            Err(e) => Err(e),
        }
    }

    fn delete(&self, key: &str, lock: &KeyLock) -> Result<bool, StoreError> {
        let from_file = self.file.delete(key, lock)?;
        let from_keyring = self.keyring.delete(key, lock)?;
        Ok(from_file || from_keyring)
    }

    fn holder(&self, key: &str) -> Option<(StoreKind, String)> {
        self.keyring.holder(key).or_else(|| self.file.holder(key))
    }
}
