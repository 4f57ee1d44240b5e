//! Diagnostics on stderr at `-v` (info) and `-vv` (debug). Never a secret: callers pass
//! only names, URLs without queries, expiries and decisions.

use std::sync::atomic::{AtomicU8, Ordering};

static LEVEL: AtomicU8 = AtomicU8::new(0);

pub fn set_level(level: u8) {
    LEVEL.store(level, Ordering::Relaxed);
}

pub fn enabled(level: u8) -> bool {
    LEVEL.load(Ordering::Relaxed) >= level
}

/// `-v`: what gw decided.
macro_rules! info {
    ($($arg:tt)*) => {
        if $crate::diag::enabled(1) { eprintln!("gw: {}", format_args!($($arg)*)); }
    };
}

/// `-vv`: how it got there.
macro_rules! debug {
    ($($arg:tt)*) => {
        if $crate::diag::enabled(2) { eprintln!("gw: debug: {}", format_args!($($arg)*)); }
    };
}

pub(crate) use {debug, info};
