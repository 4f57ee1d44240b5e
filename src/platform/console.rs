//! Ctrl+C while gw supervises a child.
//!
//! Unix: the child runs in gw's process group, so the terminal delivers SIGINT to both; gw's
//! signal forwarding lives with the launcher (`launch::process`). Windows: the console
//! delivers Ctrl+C and Ctrl+Break to every process attached to it, and the default handler
//! would end gw at once and leave the child running without its endpoint. While a child runs,
//! gw handles those two events by doing nothing (the child gets them too and decides), and
//! ends when the child does. A handler function, unlike `SetConsoleCtrlHandler(NULL, TRUE)`,
//! is not inherited, so the child keeps Ctrl+C.

/// Console events (wincon.h).
pub const CTRL_C_EVENT: u32 = 0;
pub const CTRL_BREAK_EVENT: u32 = 1;
pub const CTRL_CLOSE_EVENT: u32 = 2;

/// Whether gw swallows console event `event` while a child runs (the default handler, which
/// ends gw, runs for the others: a closed console, a logoff, a shutdown). Pure.
pub fn swallowed_while_supervising(event: u32) -> bool {
    matches!(event, CTRL_C_EVENT | CTRL_BREAK_EVENT)
}

/// Restores the default Ctrl+C handling when dropped.
pub struct Guard {
    _private: (),
}

/// From now until the guard is dropped, Ctrl+C and Ctrl+Break do not end gw (Windows; a no-op
/// elsewhere).
pub fn leave_ctrl_c_to_the_child() -> Guard {
    #[cfg(windows)]
    edge::install();
    Guard { _private: () }
}

impl Drop for Guard {
    fn drop(&mut self) {
        #[cfg(windows)]
        edge::remove();
    }
}

#[cfg(windows)]
mod edge {
    use windows_sys::Win32::Foundation::{FALSE, TRUE};
    use windows_sys::Win32::System::Console::SetConsoleCtrlHandler;

    unsafe extern "system" fn handler(event: u32) -> windows_sys::core::BOOL {
        if super::swallowed_while_supervising(event) {
            TRUE
        } else {
            FALSE
        }
    }

    pub fn install() {
        // SAFETY: registering a handler that only reads its argument.
        unsafe {
            SetConsoleCtrlHandler(Some(handler), TRUE);
        }
    }

    pub fn remove() {
        // SAFETY: removing the handler registered above.
        unsafe {
            SetConsoleCtrlHandler(Some(handler), FALSE);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctrl_c_and_break_are_left_to_the_child_and_a_closing_console_is_not() {
        assert!(swallowed_while_supervising(CTRL_C_EVENT));
        assert!(swallowed_while_supervising(CTRL_BREAK_EVENT));
        assert!(!swallowed_while_supervising(CTRL_CLOSE_EVENT));
        assert!(!swallowed_while_supervising(5), "logoff");
        assert!(!swallowed_while_supervising(6), "shutdown");
    }
}
