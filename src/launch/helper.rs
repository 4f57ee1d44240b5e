//! Clients that refresh through a command of their own (Claude Code's `apiKeyHelper`, Codex's
//! `auth.command`) run `gw token --profile P --for <target>`: how often they should run it,
//! how long the token it prints must still live, and the command itself.

use std::path::Path;

use crate::platform::quote::{self, Shell, Unquotable};

/// How often the client re-runs the helper, in seconds: a quarter of the token's lifetime,
/// between 1 s and 15 min.
pub fn interval(lifetime: u64) -> u64 {
    (lifetime / 4).clamp(1, 900)
}

/// The life a token handed to the helper must still have: the helper interval plus a margin
/// for requests in flight (an eighth of the lifetime, 1 s to 5 min). Always below the
/// lifetime for tokens of 4 s or more, so a fresh token is served from cache, not refreshed
/// in a loop.
pub fn min_ttl(lifetime: u64) -> u64 {
    interval(lifetime) + (lifetime / 8).clamp(1, 300)
}

/// The helper's arguments after gw's own path.
pub fn args(profile: &str, target: &str) -> [String; 5] {
    [
        "token".into(),
        "--profile".into(),
        profile.into(),
        "--for".into(),
        target.into(),
    ]
}

/// The helper as one command line for the shell the client runs it with (Claude Code runs
/// `apiKeyHelper` through `/bin/sh -c`, or `cmd.exe` on Windows); an error when a word cannot
/// be given to that shell safely.
pub fn command_line(
    gw: &Path,
    profile: &str,
    target: &str,
    shell: Shell,
) -> Result<String, Unquotable> {
    quote::program_line(gw, &args(profile, target), shell)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_handed_out_outlives_the_interval_but_not_its_own_lifetime() {
        assert_eq!(interval(3600), 900);
        assert_eq!(min_ttl(3600), 900 + 300);
        for lifetime in [4, 30, 300, 3600, 86400] {
            assert!(min_ttl(lifetime) > interval(lifetime), "{lifetime}");
            assert!(
                min_ttl(lifetime) < lifetime,
                "{lifetime}: a fresh token is served, not refreshed in a loop"
            );
        }
    }

    #[test]
    fn the_helper_command_survives_the_shell_that_runs_it() {
        assert_eq!(
            command_line(Path::new("/opt/my tools/gw"), "it's", "claude", Shell::Sh).unwrap(),
            r"'/opt/my tools/gw' token --profile 'it'\''s' --for claude"
        );
        assert_eq!(
            command_line(
                Path::new(r"C:\Program Files\gw\gw.exe"),
                "dev",
                "claude",
                Shell::Cmd
            )
            .unwrap(),
            r#""C:\Program Files\gw\gw.exe" token --profile dev --for claude"#
        );
        assert!(command_line(Path::new(r"C:\gw.exe"), "100%", "claude", Shell::Cmd).is_err());
    }
}
