//! Where gw meets the operating system. Each platform decision is a pure function of an
//! [`Os`] and plain inputs, compiled and tested on every OS; each OS call is a thin `cfg` edge
//! beside the decision it carries out.
//!
//! - [`program`]: finding a program (`PATH`, `PATHEXT`) and how to start it (npm's `.cmd`
//!   shims through node, other batch files within cmd.exe's limit).
//! - [`quote`]: one command line for the shell that will run it (`/bin/sh`, `cmd.exe`), or a
//!   refusal when it cannot be quoted safely.
//! - [`exe`]: gw's own path as it was invoked (never canonicalized: package managers replace
//!   versioned directories).
//! - [`keychain`]: what a keyring that does not answer in time means.
//! - [`replace`]: replacing a file another process holds open (Windows), with retries.
//! - [`console`]: Ctrl+C while a child runs (Windows: the child handles it, gw waits).

pub mod console;
pub mod exe;
pub mod keychain;
pub mod program;
pub mod quote;
pub mod replace;

/// The operating systems gw tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    Linux,
    MacOs,
    Windows,
    /// The BSDs and other Unixes: Linux's rules, without Linux's extras.
    OtherUnix,
}

impl Os {
    /// The OS gw was built for.
    pub const fn current() -> Os {
        if cfg!(windows) {
            Os::Windows
        } else if cfg!(target_os = "macos") {
            Os::MacOs
        } else if cfg!(target_os = "linux") {
            Os::Linux
        } else {
            Os::OtherUnix
        }
    }

    pub const fn is_windows(self) -> bool {
        matches!(self, Os::Windows)
    }
}
