//! A client home overlay: a directory of gw's (under its state directory, 0700) that shows a
//! client the user's own files through links, with gw's changes in files of its own — so a
//! client whose settings files outrank its environment can be given gw's wiring without
//! editing the user's files or hiding the rest of them.
//!
//! Kept between runs and brought up to date at each start (idempotent, so concurrent runs
//! agree): a link is added for each of the user's entries, gw's files are rewritten
//! atomically, and whatever the client itself created there stays. The user's own files are
//! only ever linked to.

use std::path::{Path, PathBuf};

use super::Entry;

/// Bring `dir` up to date with `entries`.
pub fn apply(dir: &Path, entries: &[(PathBuf, Entry)]) -> std::io::Result<()> {
    crate::paths::private_dir(dir)?;
    for (rel, entry) in entries {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            crate::paths::private_dir(parent)?;
        }
        match entry {
            Entry::File(text) => crate::paths::write_private(&path, text.as_bytes())?,
            Entry::Link(target) => match std::fs::read_link(&path) {
                Ok(now) if &now == target => {}
                Ok(_) => {
                    std::fs::remove_file(&path)?;
                    link(target, &path)?;
                }
                // Something the client made itself (or nothing yet).
                Err(_) if std::fs::symlink_metadata(&path).is_ok() => {}
                Err(_) => link(target, &path).or_else(|e| {
                    if e.kind() == std::io::ErrorKind::AlreadyExists {
                        Ok(())
                    } else {
                        Err(e)
                    }
                })?,
            },
        }
    }
    Ok(())
}

#[cfg(unix)]
fn link(target: &Path, at: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, at)
}

/// Windows: directory links need no privilege only as junctions, which std cannot make; a
/// symbolic link is tried (Developer Mode allows it), and kept only when it reads through.
/// Else a file is hard-linked (no privilege, same volume), else copied; a directory is left
/// out (the client then starts that part fresh).
#[cfg(windows)]
fn link(target: &Path, at: &Path) -> std::io::Result<()> {
    if target.is_dir() {
        return std::os::windows::fs::symlink_dir(target, at).or(Ok(()));
    }
    if std::os::windows::fs::symlink_file(target, at).is_ok() {
        if std::fs::metadata(at).is_ok() {
            return Ok(());
        }
        let _ = std::fs::remove_file(at);
    }
    std::fs::hard_link(target, at).or_else(|_| std::fs::copy(target, at).map(|_| ()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_linked_or_written_and_a_second_run_agrees() {
        let root = tempfile::tempdir().unwrap();
        let own = root.path().join("own.txt");
        std::fs::write(&own, "mine").unwrap();
        let dir = root.path().join("clients/x");
        let entries = [
            (PathBuf::from("a/settings.json"), Entry::File("{}".into())),
            (PathBuf::from("a/own.txt"), Entry::Link(own.clone())),
        ];
        apply(&dir, &entries).unwrap();
        std::fs::write(dir.join("a/made-by-the-client"), "x").unwrap();
        apply(&dir, &entries).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join("a/own.txt")).unwrap(),
            "mine"
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("a/settings.json")).unwrap(),
            "{}"
        );
        assert!(
            dir.join("a/made-by-the-client").exists(),
            "the client's own files stay"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
        assert_eq!(
            std::fs::read_to_string(&own).unwrap(),
            "mine",
            "the user's file stays"
        );
    }
}
