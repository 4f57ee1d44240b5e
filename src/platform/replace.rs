//! Replacing a file atomically while another process may hold it open.
//!
//! On Unix `rename(2)` replaces a file whatever holds it. On Windows `MoveFileEx` fails with
//! "access denied" or a sharing violation while another process (an antivirus scan, a backup,
//! an indexer, another gw reading its record) has the target open without `FILE_SHARE_DELETE`:
//! gw tries again for about a second before it reports the error, so a rotated refresh token
//! is not lost to a passing scanner.

use std::path::Path;
use std::time::Duration;

use super::Os;

/// Windows' ERROR_ACCESS_DENIED, ERROR_SHARING_VIOLATION, ERROR_LOCK_VIOLATION.
const BUSY: [i32; 3] = [5, 32, 33];

/// Attempts in all, and the first pause (doubling: 10, 20, 40, … ms; about 1.3 s in all).
pub const ATTEMPTS: u32 = 8;
const FIRST_PAUSE_MS: u64 = 10;

/// After failed attempt `attempt` (0-based) with OS error `code`, how long to wait before the
/// next one, or `None` to give up. Pure.
pub fn retry_after(code: Option<i32>, attempt: u32, os: Os) -> Option<Duration> {
    let busy = os.is_windows() && code.is_some_and(|c| BUSY.contains(&c));
    (busy && attempt + 1 < ATTEMPTS).then(|| Duration::from_millis(FIRST_PAUSE_MS << attempt))
}

/// Persist `tmp` at `path`, retrying while the platform says the target is busy.
pub fn persist(mut tmp: tempfile::NamedTempFile, path: &Path) -> std::io::Result<()> {
    let mut attempt = 0;
    loop {
        match tmp.persist(path) {
            Ok(_) => return Ok(()),
            Err(e) => match retry_after(e.error.raw_os_error(), attempt, Os::current()) {
                Some(pause) => {
                    std::thread::sleep(pause);
                    tmp = e.file;
                    attempt += 1;
                }
                None => return Err(e.error),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_retries_a_busy_target_for_about_a_second_and_nothing_else() {
        let total: Duration = (0..ATTEMPTS)
            .map_while(|a| retry_after(Some(32), a, Os::Windows))
            .sum();
        assert!(
            total >= Duration::from_millis(1000) && total <= Duration::from_millis(1500),
            "{total:?}"
        );
        assert_eq!(
            retry_after(Some(5), 0, Os::Windows),
            Some(Duration::from_millis(10))
        );
        assert_eq!(retry_after(Some(5), ATTEMPTS - 1, Os::Windows), None);
        assert_eq!(
            retry_after(Some(2), 0, Os::Windows),
            None,
            "not found is final"
        );
        assert_eq!(retry_after(None, 0, Os::Windows), None);
        assert_eq!(
            retry_after(Some(32), 0, Os::Linux),
            None,
            "rename(2) never is busy"
        );
        assert_eq!(retry_after(Some(5), 0, Os::MacOs), None);
    }

    #[test]
    fn persisting_replaces_the_file() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"old").unwrap();
        let mut tmp = tempfile::NamedTempFile::new_in(dir.path()).unwrap();
        tmp.write_all(b"new").unwrap();
        persist(tmp, &path).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
    }

    /// The edge on Windows: a target held open without `FILE_SHARE_DELETE` (as a scanner
    /// would) for a moment is replaced once it is let go, not reported as an error.
    #[cfg(windows)]
    #[test]
    fn a_target_held_open_for_a_moment_is_replaced_once_released() {
        use std::io::Write;
        use std::os::windows::fs::OpenOptionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"old").unwrap();
        let held = std::fs::OpenOptions::new()
            .read(true)
            .share_mode(1) // FILE_SHARE_READ only
            .open(&path)
            .unwrap();
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(150));
            drop(held);
        });
        let mut tmp = tempfile::NamedTempFile::new_in(dir.path()).unwrap();
        tmp.write_all(b"new").unwrap();
        persist(tmp, &path).unwrap();
        release.join().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
    }
}
