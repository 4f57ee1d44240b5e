//! The OS keyring store (macOS Keychain, Windows Credential Manager, the Secret Service on
//! Linux) through the `keyring` crate: service `gw`, account `tokens/<cache key>`, holding the
//! same JSON record as the file store.
//!
//! - Every keyring call runs under a time limit ([`CALL_TIMEOUT`]): a keyring waiting for an
//!   unlock prompt nobody sees makes gw fall back or fail, never hang. A macOS Keychain dialog
//!   ("allow gw to use this item") is waited for when a person sees gw's stderr, and makes an
//!   unattended gw exit 3 otherwise: it is never taken for "no keyring" ([`within`]).
//! - A record larger than the backend's item limit (Windows: 2560 bytes; Entra tokens with
//!   group claims exceed it) is stored in chunks: the parts under a generation named by the
//!   content's hash, then a head item naming that generation. A reader sees the old record or
//!   the new one, never a mix; a head whose parts do not add up is a miss.
//! - [`probe`] is a write/read/delete round trip of a throwaway entry: a backend that accepts
//!   a write but reads back nothing (the kernel keyring without a session keyring) counts as
//!   unavailable.

use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::platform::keychain::{self, Slow};

use super::{KeyLock, StoreError, StoreKind, StoredTokens, TokenStore, parse_record};

/// The keyring service name of every gw entry.
pub const SERVICE: &str = "gw";
/// Longest a single keyring call may take.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(3);
/// Largest item gw writes in one piece. Windows Credential Manager caps a blob at 2560 bytes
/// and stores UTF-16, so 1200 UTF-8 bytes (at most 1200 UTF-16 units) always fit.
pub const MAX_ITEM: usize = if cfg!(windows) { 1200 } else { 256 * 1024 };
const CHUNK_HEAD: &str = "gw-chunks:v1:";

/// What the platform said, kept as the source of an unavailable keyring.
pub type Cause = std::sync::Arc<dyn std::error::Error + Send + Sync>;

/// Why a backend call failed.
#[derive(Debug, Clone)]
pub enum BackendError {
    /// The keyring has no such item.
    NotFound,
    /// No usable keyring here (no Secret Service, locked, timed out): `reason` says it the
    /// way a user can act on it, `cause` is what the platform said.
    Unavailable {
        reason: String,
        cause: Option<Cause>,
    },
    /// The keyring answered, but refused.
    Failed(String),
    /// The keyring waits for a person nobody can be (a macOS Keychain dialog shown to a
    /// client's token helper): never a reason to read another store.
    NeedsPerson(String),
}

impl BackendError {
    /// Unavailable, with no platform error behind it (a timeout, a probe's verdict).
    pub fn unavailable(reason: impl Into<String>) -> BackendError {
        BackendError::Unavailable {
            reason: reason.into(),
            cause: None,
        }
    }
}

/// One secret string per account: the seam to the OS keyring (and to test doubles).
pub trait SecretBackend: Send + Sync {
    fn get(&self, account: &str) -> Result<Option<String>, BackendError>;
    fn set(&self, account: &str, value: &str) -> Result<(), BackendError>;
    /// `Ok(false)` when there was nothing to delete.
    fn delete(&self, account: &str) -> Result<bool, BackendError>;
    /// What to call this backend in messages.
    fn name(&self) -> &'static str;
}

/// The platform keyring, and what a call that does not answer in time means
/// ([`keychain::when_slow`]).
pub struct OsKeyring {
    pub when_slow: Slow,
}

impl OsKeyring {
    fn call<T: Send + 'static>(
        &self,
        account: &str,
        op: impl FnOnce(keyring::Entry) -> keyring::Result<T> + Send + 'static,
    ) -> Result<T, BackendError> {
        let account = account.to_owned();
        within(
            CALL_TIMEOUT,
            keychain::PATIENCE,
            self.when_slow,
            move || {
                keyring::Entry::new(SERVICE, &account)
                    .and_then(op)
                    .map_err(classify)
            },
        )
    }
}

/// Run a keyring call on its own thread and read its answer: within `limit`, or — when a
/// person may be answering a dialog ([`Slow::Wait`]) — within `patience` more, said on stderr.
/// A call still running is left to finish or die with the process.
pub fn within<T: Send + 'static>(
    limit: Duration,
    patience: Duration,
    when_slow: Slow,
    call: impl FnOnce() -> Result<T, BackendError> + Send + 'static,
) -> Result<T, BackendError> {
    let answer = spawn(call);
    let late = |secs: u64| {
        BackendError::unavailable(format!(
            "the keyring did not answer within {secs} s (locked, waiting for an unlock prompt?)"
        ))
    };
    match answer.recv_timeout(limit) {
        Ok(r) => r,
        Err(_) => match when_slow {
            Slow::FallBack => Err(late(limit.as_secs())),
            Slow::GiveUp => Err(BackendError::NeedsPerson(keychain::SAY_GIVE_UP.into())),
            Slow::Wait => {
                eprintln!("{}", keychain::SAY_WAIT);
                answer
                    .recv_timeout(patience)
                    .map_err(|_| late((limit + patience).as_secs()))?
            }
        },
    }
}

impl SecretBackend for OsKeyring {
    fn get(&self, account: &str) -> Result<Option<String>, BackendError> {
        match self.call(account, |e| e.get_password()) {
            Ok(v) => Ok(Some(v)),
            Err(BackendError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn set(&self, account: &str, value: &str) -> Result<(), BackendError> {
        let value = value.to_owned();
        self.call(account, move |e| e.set_password(&value))
    }

    fn delete(&self, account: &str) -> Result<bool, BackendError> {
        match self.call(account, |e| e.delete_credential()) {
            Ok(()) => Ok(true),
            Err(BackendError::NotFound) => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn name(&self) -> &'static str {
        if cfg!(target_os = "macos") {
            "macOS Keychain"
        } else if cfg!(windows) {
            "Windows Credential Manager"
        } else {
            "Secret Service"
        }
    }
}

/// Map a keyring error to what it means for gw, without ever formatting secret bytes.
fn classify(e: keyring::Error) -> BackendError {
    match e {
        keyring::Error::NoEntry => BackendError::NotFound,
        keyring::Error::PlatformFailure(err) | keyring::Error::NoStorageAccess(err) => {
            BackendError::Unavailable {
                reason: explain(&err.to_string()),
                cause: Some(std::sync::Arc::from(err)),
            }
        }
        keyring::Error::BadEncoding(_) => {
            BackendError::Failed("the stored item is not UTF-8".into())
        }
        keyring::Error::TooLong(name, max) => BackendError::Failed(format!(
            "`{name}` is longer than the keyring's limit of {max}"
        )),
        keyring::Error::Invalid(attr, why) => {
            BackendError::Failed(format!("`{attr}` is invalid: {why}"))
        }
        keyring::Error::Ambiguous(items) => {
            BackendError::Failed(format!("{} keyring items match one entry", items.len()))
        }
        other => BackendError::Failed(first_line(&other.to_string())),
    }
}

/// A platform error, said the way a user can act on it.
fn explain(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    if cfg!(target_os = "linux")
        && std::env::var_os(crate::env_vars::DBUS_SESSION_BUS_ADDRESS).is_none()
    {
        "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is unset)".into()
    } else if lower.contains("serviceunknown")
        || lower.contains("org.freedesktop.secrets")
        || lower.contains("not provided by any .service")
    {
        "no Secret Service on the session bus".into()
    } else if lower.contains("locked") {
        "the keyring is locked".into()
    } else {
        first_line(text)
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").chars().take(200).collect()
}

/// Run `f` on its own thread; `None` if it has not finished within `limit` (the thread is
/// left to finish or die with the process).
pub fn bounded<T: Send + 'static>(
    limit: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    spawn(f).recv_timeout(limit).ok()
}

/// Run `f` on its own thread; its answer arrives on the receiver.
fn spawn<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> std::sync::mpsc::Receiver<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx
}

/// A write/read/delete round trip of a throwaway entry, bounded by `limit` in all.
pub fn probe(backend: impl SecretBackend + 'static, limit: Duration) -> Result<(), String> {
    let outcome = bounded(limit, move || {
        let account = format!("probe/{}", crate::secret::random_token(9));
        let value = crate::secret::random_token(12);
        backend.set(&account, &value)?;
        let back = backend.get(&account);
        let _ = backend.delete(&account);
        match back? {
            Some(v) if v == value => Ok(()),
            Some(_) => Err(BackendError::unavailable(
                "the keyring returned another value than it was given",
            )),
            None => Err(BackendError::unavailable(
                "the keyring accepted a write but read back nothing",
            )),
        }
    });
    match outcome {
        Some(Ok(())) => Ok(()),
        Some(Err(
            BackendError::Unavailable { reason: m, .. }
            | BackendError::Failed(m)
            | BackendError::NeedsPerson(m),
        )) => Err(m),
        Some(Err(BackendError::NotFound)) => {
            Err("the keyring lost an item it was just given".into())
        }
        None => Err(format!(
            "the keyring did not answer within {} s",
            limit.as_secs()
        )),
    }
}

/// The item under `tokens/<key>`.
enum Head {
    Whole(String),
    /// The record is in `parts` items of generation `generation` (a hash of the whole).
    Chunked {
        generation: String,
        parts: usize,
    },
}

/// Tokens in a keyring backend, chunked when larger than `max_item`.
pub struct KeyringStore<B> {
    backend: B,
    max_item: usize,
}

impl KeyringStore<OsKeyring> {
    pub fn os(when_slow: Slow) -> Self {
        KeyringStore {
            backend: OsKeyring { when_slow },
            max_item: MAX_ITEM,
        }
    }
}

impl<B: SecretBackend> KeyringStore<B> {
    pub fn with_backend(backend: B, max_item: usize) -> Self {
        KeyringStore { backend, max_item }
    }

    fn account(key: &str) -> String {
        format!("tokens/{key}")
    }

    fn part(key: &str, generation: &str, i: usize) -> String {
        format!("tokens/{key}#{generation}.{i}")
    }

    fn err(what: &'static str, e: BackendError) -> StoreError {
        match e {
            BackendError::Unavailable { reason, cause } => {
                StoreError::Unavailable { reason, cause }
            }
            BackendError::NotFound => StoreError::Keyring {
                what,
                reason: "the item is gone".into(),
            },
            BackendError::Failed(reason) => StoreError::Keyring { what, reason },
            BackendError::NeedsPerson(reason) => StoreError::NeedsPerson { reason },
        }
    }

    /// The head item: the whole record, or where its chunks are.
    fn head(&self, key: &str) -> Result<Option<Head>, StoreError> {
        let Some(head) = self
            .backend
            .get(&Self::account(key))
            .map_err(|e| Self::err("read", e))?
        else {
            return Ok(None);
        };
        let chunked = head.strip_prefix(CHUNK_HEAD).and_then(|rest| {
            let (n, generation) = rest.split_once(':')?;
            Some(Head::Chunked {
                generation: generation.to_owned(),
                parts: n.parse().ok()?,
            })
        });
        Ok(Some(chunked.unwrap_or(Head::Whole(head))))
    }

    fn delete_parts(&self, key: &str, generation: &str, n: usize) {
        for i in 0..n {
            let _ = self.backend.delete(&Self::part(key, generation, i));
        }
    }
}

impl<B: SecretBackend> TokenStore for KeyringStore<B> {
    fn kind(&self) -> StoreKind {
        StoreKind::Keyring
    }

    fn location(&self, key: &str) -> String {
        format!(
            "{}, service `{SERVICE}`, account `{}`",
            self.backend.name(),
            Self::account(key)
        )
    }

    fn load(&self, key: &str) -> Result<Option<StoredTokens>, StoreError> {
        let Some(head) = self.head(key)? else {
            return Ok(None);
        };
        let text = match head {
            Head::Whole(text) => text,
            Head::Chunked {
                generation,
                parts: n,
            } => {
                let mut whole = String::new();
                for i in 0..n {
                    match self
                        .backend
                        .get(&Self::part(key, &generation, i))
                        .map_err(|e| Self::err("read", e))?
                    {
                        Some(p) => whole.push_str(&p),
                        None => {
                            eprintln!(
                                "warning: ignoring the keyring record of `{key}`: a part is missing"
                            );
                            return Ok(None);
                        }
                    }
                }
                if generation_of(&whole) != generation {
                    eprintln!(
                        "warning: ignoring the keyring record of `{key}`: its parts do not add up"
                    );
                    return Ok(None);
                }
                whole
            }
        };
        match parse_record(text.as_bytes()) {
            Ok(r) => Ok(Some(r)),
            Err(why) => {
                eprintln!("warning: ignoring the keyring record of `{key}`: {why}");
                Ok(None)
            }
        }
    }

    fn save(&self, key: &str, tokens: &StoredTokens, _lock: &KeyLock) -> Result<(), StoreError> {
        let text = serde_json::to_string(tokens).map_err(|e| StoreError::Keyring {
            what: "encode",
            reason: e.to_string(),
        })?;
        let old = match self.head(key)? {
            Some(Head::Chunked { generation, parts }) => Some((generation, parts)),
            _ => None,
        };
        if text.len() <= self.max_item {
            self.backend
                .set(&Self::account(key), &text)
                .map_err(|e| Self::err("write", e))?;
        } else {
            let generation = generation_of(&text);
            let parts = split(&text, self.max_item);
            for (i, p) in parts.iter().enumerate() {
                self.backend
                    .set(&Self::part(key, &generation, i), p)
                    .map_err(|e| Self::err("write", e))?;
            }
            let head = format!("{CHUNK_HEAD}{}:{generation}", parts.len());
            self.backend
                .set(&Self::account(key), &head)
                .map_err(|e| Self::err("write", e))?;
            if old.as_ref().is_some_and(|(g, _)| *g == generation) {
                return Ok(());
            }
        }
        if let Some((generation, n)) = old {
            self.delete_parts(key, &generation, n);
        }
        Ok(())
    }

    fn delete(&self, key: &str, _lock: &KeyLock) -> Result<bool, StoreError> {
        if let Some(Head::Chunked { generation, parts }) = self.head(key)? {
            self.delete_parts(key, &generation, parts);
        }
        self.backend
            .delete(&Self::account(key))
            .map_err(|e| Self::err("delete", e))
    }
}

fn generation_of(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Split on char boundaries into pieces of at most `max` bytes.
fn split(text: &str, max: usize) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut end = rest.len().min(max.max(4));
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        parts.push(&rest[..end]);
        rest = &rest[end..];
    }
    parts
}

/// A keyring in memory, with an optional item size cap: for tests of the chunking and the
/// fallback, and of backends that lose writes.
pub struct MemoryKeyring {
    pub items: std::sync::Mutex<std::collections::BTreeMap<String, String>>,
    pub max_item: Option<usize>,
    pub broken: Option<BackendError>,
}

impl MemoryKeyring {
    pub fn new(max_item: Option<usize>) -> Self {
        MemoryKeyring {
            items: Default::default(),
            max_item,
            broken: None,
        }
    }
}

impl SecretBackend for std::sync::Arc<MemoryKeyring> {
    fn get(&self, account: &str) -> Result<Option<String>, BackendError> {
        if let Some(e) = &self.broken {
            return Err(e.clone());
        }
        Ok(self.items.lock().unwrap().get(account).cloned())
    }

    fn set(&self, account: &str, value: &str) -> Result<(), BackendError> {
        if let Some(e) = &self.broken {
            return Err(e.clone());
        }
        if self.max_item.is_some_and(|m| value.len() > m) {
            return Err(BackendError::Failed(format!(
                "item of {} bytes is over the limit",
                value.len()
            )));
        }
        self.items
            .lock()
            .unwrap()
            .insert(account.to_owned(), value.to_owned());
        Ok(())
    }

    fn delete(&self, account: &str) -> Result<bool, BackendError> {
        if let Some(e) = &self.broken {
            return Err(e.clone());
        }
        Ok(self.items.lock().unwrap().remove(account).is_some())
    }

    fn name(&self) -> &'static str {
        "memory keyring"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A keyring call that answers after `ms` (a Keychain dialog someone clicks).
    fn answers_after(ms: u64) -> impl FnOnce() -> Result<&'static str, BackendError> + Send {
        move || {
            std::thread::sleep(Duration::from_millis(ms));
            Ok("record")
        }
    }

    #[test]
    fn a_slow_keychain_is_waited_for_by_a_person_and_never_taken_for_no_keyring_by_a_helper() {
        let limit = Duration::from_millis(50);
        let patience = Duration::from_secs(10);
        assert_eq!(
            within(limit, patience, Slow::Wait, answers_after(300)).unwrap(),
            "record",
            "with a person there, the answer after the dialog is read"
        );
        assert!(matches!(
            within(limit, patience, Slow::GiveUp, answers_after(300)),
            Err(BackendError::NeedsPerson(_))
        ));
        assert!(matches!(
            within(limit, patience, Slow::FallBack, answers_after(300)),
            Err(BackendError::Unavailable { .. })
        ));
        assert_eq!(
            within(limit, patience, Slow::GiveUp, answers_after(0)).unwrap(),
            "record",
            "a prompt answer is read whoever asks"
        );
    }

    #[test]
    fn a_keychain_nobody_can_answer_is_no_reason_to_read_the_file_store() {
        struct Waiting;
        impl SecretBackend for Waiting {
            fn get(&self, _: &str) -> Result<Option<String>, BackendError> {
                Err(BackendError::NeedsPerson("dialog".into()))
            }
            fn set(&self, _: &str, _: &str) -> Result<(), BackendError> {
                Err(BackendError::NeedsPerson("dialog".into()))
            }
            fn delete(&self, _: &str) -> Result<bool, BackendError> {
                Err(BackendError::NeedsPerson("dialog".into()))
            }
            fn name(&self) -> &'static str {
                "waiting"
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let store = super::super::FallbackStore {
            keyring: KeyringStore::with_backend(Waiting, MAX_ITEM),
            file: super::super::file_store::FileStore::new(dir.path()),
        };
        let (_d, l) = lock();
        store.file.save("k", &record(10), &l).unwrap();
        assert!(matches!(
            store.load("k"),
            Err(StoreError::NeedsPerson { .. })
        ));
    }

    fn record(size: usize) -> StoredTokens {
        let mut r = StoredTokens::new("p");
        r.refresh_token = Some(crate::secret::Secret::new("é".repeat(size / 2)));
        r
    }

    fn lock() -> (tempfile::TempDir, KeyLock) {
        let d = tempfile::tempdir().unwrap();
        let l = KeyLock::acquire(d.path(), "k", Duration::from_secs(1), || {}).unwrap();
        (d, l)
    }

    #[test]
    fn a_16k_record_round_trips_through_a_2560_byte_cap_and_leaves_nothing_after_delete() {
        let mem = Arc::new(MemoryKeyring::new(Some(2560)));
        let store = KeyringStore::with_backend(mem.clone(), 2048);
        let (_d, l) = lock();
        let big = record(16 * 1024);
        store.save("k", &big, &l).unwrap();
        assert!(mem.items.lock().unwrap().len() > 8, "stored in chunks");
        let back = store.load("k").unwrap().unwrap();
        assert_eq!(back.refresh_token, big.refresh_token);
        // Replace with a different large record: old parts are gone, new ones read back.
        let big2 = record(12 * 1024);
        store.save("k", &big2, &l).unwrap();
        assert_eq!(
            store.load("k").unwrap().unwrap().refresh_token,
            big2.refresh_token
        );
        let n = mem.items.lock().unwrap().len();
        assert_eq!(
            n,
            1 + split(&serde_json::to_string(&big2).unwrap(), 2048).len(),
            "no orphan parts"
        );
        // Small again: a single item.
        store.save("k", &record(10), &l).unwrap();
        assert_eq!(mem.items.lock().unwrap().len(), 1);
        assert!(store.delete("k", &l).unwrap());
        assert!(mem.items.lock().unwrap().is_empty());
        assert!(store.load("k").unwrap().is_none());
    }

    #[test]
    fn a_record_with_a_missing_or_mixed_part_is_a_miss() {
        let mem = Arc::new(MemoryKeyring::new(None));
        let store = KeyringStore::with_backend(mem.clone(), 100);
        let (_d, l) = lock();
        store.save("k", &record(1000), &l).unwrap();
        let part = mem
            .items
            .lock()
            .unwrap()
            .keys()
            .find(|k| k.ends_with(".1"))
            .cloned()
            .unwrap();
        mem.items.lock().unwrap().insert(part.clone(), "xx".into());
        assert!(store.load("k").unwrap().is_none());
        mem.items.lock().unwrap().remove(&part);
        assert!(store.load("k").unwrap().is_none());
    }

    #[test]
    fn the_probe_refuses_a_backend_that_loses_writes_or_hangs() {
        struct Forgetful;
        impl SecretBackend for Forgetful {
            fn get(&self, _: &str) -> Result<Option<String>, BackendError> {
                Ok(None)
            }
            fn set(&self, _: &str, _: &str) -> Result<(), BackendError> {
                Ok(())
            }
            fn delete(&self, _: &str) -> Result<bool, BackendError> {
                Ok(false)
            }
            fn name(&self) -> &'static str {
                "forgetful"
            }
        }
        struct Hangs;
        impl SecretBackend for Hangs {
            fn get(&self, _: &str) -> Result<Option<String>, BackendError> {
                Ok(None)
            }
            fn set(&self, _: &str, _: &str) -> Result<(), BackendError> {
                std::thread::sleep(Duration::from_secs(30));
                Ok(())
            }
            fn delete(&self, _: &str) -> Result<bool, BackendError> {
                Ok(false)
            }
            fn name(&self) -> &'static str {
                "hangs"
            }
        }
        assert!(
            probe(Forgetful, Duration::from_secs(1))
                .unwrap_err()
                .contains("read back nothing")
        );
        let started = std::time::Instant::now();
        assert!(
            probe(Hangs, Duration::from_millis(300))
                .unwrap_err()
                .contains("did not answer")
        );
        assert!(started.elapsed() < Duration::from_secs(5));
        probe(Arc::new(MemoryKeyring::new(None)), Duration::from_secs(1)).unwrap();
    }

    #[test]
    fn split_respects_char_boundaries() {
        let parts = split("aéb", 2);
        assert_eq!(parts.concat(), "aéb");
        assert!(parts.iter().all(|p| p.len() <= 4));
    }
}
