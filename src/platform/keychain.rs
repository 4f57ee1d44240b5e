//! What a keyring that does not answer within its time limit means.
//!
//! On macOS a Keychain item made by another build of gw (every unsigned build is "another
//! application") is read only after the person allows it in a dialog: the call blocks until
//! they answer. Taking that for "no keyring" would read the empty file store and start a new
//! sign-in while the dialog is still up. Elsewhere a keyring that does not answer is locked
//! with nobody to unlock it, or broken: the private file store is the way on.

use std::time::Duration;

use super::Os;

/// What to do when a keyring call has not answered in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slow {
    /// Take the keyring as unavailable (the file store is used when allowed).
    FallBack,
    /// A person can answer the dialog: say what to choose, and wait up to [`PATIENCE`].
    Wait,
    /// Nobody can answer (a client's token helper, `--no-login`): fail as "sign-in needed"
    /// (exit 3) instead of reading another store or prompting.
    GiveUp,
}

/// How long gw waits for a person to answer a Keychain dialog.
pub const PATIENCE: Duration = Duration::from_secs(300);

/// What a person is told while gw waits.
pub const SAY_WAIT: &str = "macOS is asking whether gw may use its Keychain item: enter your login password and choose \"Always Allow\" (gw waits)";

/// What is said when nobody could answer.
pub const SAY_GIVE_UP: &str =
    "the macOS Keychain is waiting for someone to allow gw to read its item";

/// The hint then.
pub const HINT_GIVE_UP: &str = "run `gw token` in a terminal once and choose \"Always Allow\" in the Keychain dialog; a signed gw build keeps that answer across upgrades";

/// The decision. `attended`: a person sees gw's stderr and may answer a dialog. Pure.
pub fn when_slow(os: Os, attended: bool) -> Slow {
    match (os, attended) {
        (Os::MacOs, true) => Slow::Wait,
        (Os::MacOs, false) => Slow::GiveUp,
        _ => Slow::FallBack,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_macos_keychain_dialog_is_waited_for_and_never_by_a_helper() {
        assert_eq!(when_slow(Os::MacOs, true), Slow::Wait);
        assert_eq!(when_slow(Os::MacOs, false), Slow::GiveUp);
        for os in [Os::Linux, Os::Windows, Os::OtherUnix] {
            assert_eq!(when_slow(os, true), Slow::FallBack, "{os:?}");
            assert_eq!(when_slow(os, false), Slow::FallBack, "{os:?}");
        }
    }
}
