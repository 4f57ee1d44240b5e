//! Where results go: stdout in the binary, a buffer in tests.
//!
//! Results (summaries, `--json` documents, `--dry-run` requests) are written here; progress
//! and notes go to stderr. This is the only writer to stdout, so the workspace's
//! `print_stdout` lint holds everywhere else.

use std::io::Write;
use std::sync::{Arc, Mutex};

/// A sink for results.
#[derive(Clone, Debug)]
pub struct Output {
    target: Target,
}

#[derive(Clone, Debug)]
enum Target {
    Stdout,
    /// `--dry-run --json`: the requests go here, so stdout stays one JSON document.
    Stderr,
    Capture(Arc<Mutex<String>>),
}

impl Output {
    /// Results go to stdout.
    pub fn stdout() -> Self {
        Output {
            target: Target::Stdout,
        }
    }

    /// Results go to stderr.
    pub fn stderr() -> Self {
        Output {
            target: Target::Stderr,
        }
    }

    /// Results are kept in memory; read them with [`Output::captured`].
    pub fn capture() -> Self {
        Output {
            target: Target::Capture(Arc::default()),
        }
    }

    /// Write `text` as is.
    pub fn write(&self, text: &str) {
        // A closed stream (`gw-admin show | head`) is not worth failing a change for.
        match &self.target {
            Target::Capture(buf) => buf.lock().unwrap_or_else(|e| e.into_inner()).push_str(text),
            Target::Stdout => {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
            }
            Target::Stderr => {
                let mut out = std::io::stderr().lock();
                let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
            }
        }
    }

    /// Write `text` and a newline.
    pub fn line(&self, text: &str) {
        self.write(&format!("{text}\n"));
    }

    /// Everything written so far (empty unless made with [`Output::capture`]).
    pub fn captured(&self) -> String {
        match &self.target {
            Target::Capture(b) => b.lock().unwrap_or_else(|e| e.into_inner()).clone(),
            _ => String::new(),
        }
    }
}
