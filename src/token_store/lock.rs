//! One advisory lock per cache key, on `<key>.lock` beside the record (kubelogin-style).
//!
//! Taken only when a refresh or login is needed. The OS releases it when its holder dies, so
//! a killed process never blocks the next. Waiters poll, so they can say what they wait for.

use std::fs::{File, OpenOptions};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::paths::private_dir;

/// Proof that the key's lock is held; dropped → released.
#[derive(Debug)]
pub struct KeyLock {
    _file: File,
}

/// How often a waiter retries.
const POLL: Duration = Duration::from_millis(25);

impl KeyLock {
    /// Take the lock for `key` in `dir`, waiting up to `patience`. `on_wait` runs once if the
    /// lock is busy (to tell the user another gw is signing in).
    pub fn acquire(
        dir: &Path,
        key: &str,
        patience: Duration,
        on_wait: impl FnOnce(),
    ) -> std::io::Result<KeyLock> {
        private_dir(dir)?;
        let path = dir.join(format!("{key}.lock"));
        let file = open_lock_file(&path)?;
        let started = Instant::now();
        let mut on_wait = Some(on_wait);
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(KeyLock { _file: file }),
                Err(std::fs::TryLockError::WouldBlock) => {
                    if let Some(f) = on_wait.take() {
                        f();
                    }
                    if started.elapsed() >= patience {
                        return Err(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            format!("another gw process holds `{}`", path.display()),
                        ));
                    }
                    std::thread::sleep(POLL);
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(e),
            }
        }
    }
}

fn open_lock_file(path: &Path) -> std::io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // O_NOFOLLOW: never take a lock through a planted symlink.
        opts.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    let file = opts.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // A lock file someone else planted could be held by them forever.
        // SAFETY: geteuid(2) cannot fail.
        if file.metadata()?.uid() != unsafe { libc::geteuid() } {
            return Err(std::io::Error::other(format!(
                "`{}` is owned by another user",
                path.display()
            )));
        }
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_taker_waits_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let first = KeyLock::acquire(dir.path(), "k", Duration::from_secs(1), || {}).unwrap();
        let mut waited = false;
        let err = KeyLock::acquire(dir.path(), "k", Duration::from_millis(100), || {
            waited = true
        })
        .unwrap_err();
        assert!(waited);
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
        drop(first);
        KeyLock::acquire(dir.path(), "k", Duration::from_millis(100), || {}).unwrap();
        KeyLock::acquire(dir.path(), "other", Duration::from_millis(100), || {}).unwrap();
    }
}
