//! Errors the user sees: one line saying what failed, a `hint:` line, and an exit code.
//!
//! Library modules return their own error types; the decisions that matter to the user
//! (config broken → exit 2, login needed but not allowed → exit 3) are made where the failure
//! is understood, by wrapping it in a [`UserError`]. `main` finds the outermost `UserError` in
//! the chain for the code and the hint; anything else is exit 1.

use std::fmt;

/// Exit codes from SPEC.
pub mod exit {
    pub const FAILURE: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const LOGIN_REQUIRED: u8 = 3;
}

/// A failure with an exit code and a hint saying what to run.
#[derive(Debug)]
pub struct UserError {
    pub code: u8,
    pub message: String,
    pub hint: Option<String>,
}

impl UserError {
    pub fn new(code: u8, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            hint: Some(hint.into()),
        }
    }

    /// A config or usage error: exit 2.
    pub fn config(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::new(exit::USAGE, message, hint)
    }

    /// A login is needed but not allowed here: exit 3.
    pub fn login_required(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::new(exit::LOGIN_REQUIRED, message, hint)
    }

    /// Any other failure: exit 1.
    pub fn failure(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::new(exit::FAILURE, message, hint)
    }
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UserError {}

/// How `main` reports an error: the one line, the hint, the exit code.
pub struct Report {
    pub line: String,
    pub hint: Option<String>,
    pub code: u8,
}

/// Decide what to print for an error chain.
///
/// The line is the whole chain joined by `: ` (outermost first); the code and hint come from
/// the first [`UserError`] in the chain, else exit 1 with a generic hint.
///
/// Both are made safe for the terminal ([`crate::sanitize`]): an error can quote what a
/// server or a file said.
pub fn report(err: &anyhow::Error) -> Report {
    let user = err.chain().find_map(|e| e.downcast_ref::<UserError>());
    let line = crate::sanitize::shown(&format!("{err:#}").replace('\n', " "));
    match user {
        Some(u) => Report {
            line,
            hint: u.hint.as_deref().map(crate::sanitize::shown),
            code: u.code,
        },
        None => Report {
            line,
            hint: Some("run `gw doctor` to check the setup, or add `-v` for details".into()),
            code: exit::FAILURE,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn code_and_hint_come_from_the_user_error_in_the_chain() {
        let err = Err::<(), _>(UserError::login_required(
            "no cached token",
            "run `gw login`",
        ))
        .context("cannot get a token for profile `work`")
        .unwrap_err();
        let r = report(&err);
        assert_eq!(r.code, 3);
        assert_eq!(r.hint.as_deref(), Some("run `gw login`"));
        assert_eq!(
            r.line,
            "cannot get a token for profile `work`: no cached token"
        );
    }

    #[test]
    fn what_a_server_said_cannot_drive_the_terminal() {
        let err = anyhow::Error::new(UserError::failure(
            "refused: \u{1b}]52;c;cm0gLXJmIH4=\u{7}\rFAKE OK",
            "hint \u{1b}[2J",
        ));
        let r = report(&err);
        assert!(
            !r.line.contains('\u{1b}') && !r.line.contains('\r'),
            "{}",
            r.line
        );
        assert!(r.line.contains("\\u{1b}]52"), "shown, escaped: {}", r.line);
        assert!(!r.hint.unwrap().contains('\u{1b}'));
    }

    #[test]
    fn other_errors_exit_1_with_a_generic_hint() {
        let r = report(&anyhow::anyhow!("boom"));
        assert_eq!(r.code, 1);
        assert!(r.hint.unwrap().contains("gw doctor"));
    }
}
