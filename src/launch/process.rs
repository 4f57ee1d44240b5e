//! Handing the process over to the child: replaced (execve) when nothing of gw must outlive
//! the start, or supervised when gw's local endpoint serves the child.
//!
//! Supervised, the child runs in gw's process group, so the terminal's Ctrl+C (SIGINT, and
//! SIGQUIT) reaches it directly while gw only waits; SIGTERM and SIGHUP sent to gw are
//! forwarded to it. gw then ends the way the child did: its exit code, or — when it died of a
//! signal — the same signal (128+N if that cannot be re-raised), so a caller sees no
//! difference. stdout is the child's alone.

use std::process::{Command, ExitStatus};

/// How the child ended, as gw should end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Exit with this code.
    Code(u8),
    /// Die of this signal (Unix).
    #[cfg_attr(not(unix), allow(dead_code))]
    Signal(i32),
}

impl Ending {
    /// The shell's reading of it: the code, or 128+N for signal N.
    pub fn code(self) -> u8 {
        match self {
            Ending::Code(c) => c,
            Ending::Signal(s) => 128u8.saturating_add(u8::try_from(s).unwrap_or(127)),
        }
    }
}

/// Read an exit status. Pure.
pub fn ending(status: ExitStatus) -> Ending {
    if let Some(code) = status.code() {
        return Ending::Code(u8::try_from(code & 0xff).unwrap_or(1));
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return Ending::Signal(sig);
        }
    }
    Ending::Code(1)
}

/// Replace this process with `cmd` (Unix: returns only when it cannot start), or run it as
/// gw's child and say how it ended (elsewhere).
#[cfg_attr(not(unix), allow(unused_mut))]
pub fn exec(mut cmd: Command) -> std::io::Result<Ending> {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        Err(cmd.exec())
    }
    #[cfg(not(unix))]
    {
        supervise(cmd)
    }
}

/// Run `cmd` as gw's child and wait for it, forwarding signals; how it ended.
pub fn supervise(mut cmd: Command) -> std::io::Result<Ending> {
    let mut child = cmd.spawn()?;
    let guard = signals::forward_to(child.id());
    let status = child.wait();
    drop(guard);
    status.map(ending)
}

/// End gw the way the child ended (re-raising its signal where the platform has them).
pub fn end_like(end: Ending) -> u8 {
    if let Ending::Signal(sig) = end {
        signals::reraise(sig);
    }
    end.code()
}

#[cfg(unix)]
mod signals {
    use std::sync::atomic::{AtomicI32, Ordering};

    static CHILD: AtomicI32 = AtomicI32::new(0);

    extern "C" fn forward(sig: libc::c_int) {
        let pid = CHILD.load(Ordering::SeqCst);
        if pid > 0 {
            // SAFETY: kill(2) is async-signal-safe.
            unsafe {
                libc::kill(pid, sig);
            }
        }
    }

    /// A handler that does nothing: the terminal already delivered the signal to the child
    /// (same process group). Unlike SIG_IGN, a handler is reset by exec, so the child (and
    /// whatever it starts) keeps the default disposition.
    extern "C" fn ignore(_: libc::c_int) {}

    pub struct Guard;

    impl Drop for Guard {
        fn drop(&mut self) {
            CHILD.store(0, Ordering::SeqCst);
            for sig in [libc::SIGINT, libc::SIGQUIT, libc::SIGTERM, libc::SIGHUP] {
                set(sig, libc::SIG_DFL);
            }
        }
    }

    fn set(sig: libc::c_int, handler: libc::sighandler_t) {
        // SAFETY: installing a handler with sigaction; the handlers only touch an atomic and
        // call kill(2).
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = handler;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(sig, &action, std::ptr::null_mut());
        }
    }

    pub fn forward_to(pid: u32) -> Guard {
        CHILD.store(i32::try_from(pid).unwrap_or(0), Ordering::SeqCst);
        set(
            libc::SIGINT,
            ignore as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
        set(
            libc::SIGQUIT,
            ignore as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
        set(
            libc::SIGTERM,
            forward as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
        set(
            libc::SIGHUP,
            forward as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
        Guard
    }

    pub fn reraise(sig: i32) {
        set(sig, libc::SIG_DFL);
        // SAFETY: raising a signal at ourselves with its default action.
        unsafe {
            libc::raise(sig);
        }
    }
}

#[cfg(not(unix))]
mod signals {
    pub use crate::platform::console::Guard;

    /// The console delivers Ctrl+C to every process attached to it, the child too: gw leaves
    /// it to the child and waits ([`crate::platform::console`]).
    pub fn forward_to(_pid: u32) -> Guard {
        crate::platform::console::leave_ctrl_c_to_the_child()
    }

    pub fn reraise(_sig: i32) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endings_read_as_a_shell_would() {
        assert_eq!(Ending::Code(3).code(), 3);
        assert_eq!(Ending::Signal(2).code(), 130);
        assert_eq!(Ending::Signal(15).code(), 143);
    }

    #[cfg(unix)]
    #[test]
    fn a_supervised_child_keeps_its_exit_code_and_signal() {
        let code = supervise({
            let mut c = Command::new("sh");
            c.args(["-c", "exit 7"]);
            c
        })
        .unwrap();
        assert_eq!(code, Ending::Code(7));
        let sig = supervise({
            let mut c = Command::new("sh");
            c.args(["-c", "kill -TERM $$"]);
            c
        })
        .unwrap();
        assert_eq!(sig, Ending::Signal(libc::SIGTERM));
    }
}
