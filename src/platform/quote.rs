//! One command line for the shell that will run it, or a refusal.
//!
//! Claude Code runs its `apiKeyHelper` through a shell: `/bin/sh -c` on Unix, `cmd.exe /d /s /c`
//! on Windows (Node's `shell: true`). The two read a line differently:
//! - `/bin/sh`: single quotes keep everything literal; a `'` is written `'\''`.
//! - `cmd.exe`: double quotes keep `& | < > ^ ( )` literal, but `%NAME%` expands even inside
//!   them (and `!NAME!` under delayed expansion), and a `"` cannot be written inside; the
//!   program then splits its line by the MSVCRT rules (backslashes are literal unless they
//!   precede a `"`). So a word holding `"`, `%`, `!` or a control character is refused.

use std::path::Path;

use super::Os;

/// The shell a client runs a command line with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    Sh,
    Cmd,
}

impl Shell {
    /// The shell Node's `shell: true` uses on `os`. Pure.
    pub fn of(os: Os) -> Shell {
        if os.is_windows() {
            Shell::Cmd
        } else {
            Shell::Sh
        }
    }
}

/// A word `cmd.exe` cannot be given safely.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` cannot be passed through cmd.exe (it holds \", %, ! or a control character)")]
pub struct Unquotable(pub String);

/// `words` as one command line for `shell`. Pure.
pub fn command_line(words: &[&str], shell: Shell) -> Result<String, Unquotable> {
    let quoted: Result<Vec<String>, Unquotable> = words
        .iter()
        .map(|w| match shell {
            Shell::Sh => Ok(sh(w)),
            Shell::Cmd => cmd(w),
        })
        .collect();
    Ok(quoted?.join(" "))
}

/// A program and its arguments as one command line for `shell`. Pure.
pub fn program_line(program: &Path, args: &[String], shell: Shell) -> Result<String, Unquotable> {
    let program = program.display().to_string();
    let mut words = vec![program.as_str()];
    words.extend(args.iter().map(String::as_str));
    command_line(&words, shell)
}

/// POSIX single-quoting for `/bin/sh -c`; plain words stay bare. Pure.
pub fn sh(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c))
    {
        return s.to_owned();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// One word for `cmd.exe` and the MSVCRT argument rules; plain words stay bare. Pure.
pub fn cmd(s: &str) -> Result<String, Unquotable> {
    if s.chars()
        .any(|c| matches!(c, '"' | '%' | '!') || c.is_control())
    {
        return Err(Unquotable(s.chars().take(80).collect()));
    }
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || r"\/._-+:@".contains(c))
    {
        return Ok(s.to_owned());
    }
    // Inside quotes a run of backslashes is literal, except before the closing quote, where
    // it must be doubled so the quote still closes.
    let trailing = s.len() - s.trim_end_matches('\\').len();
    Ok(format!("\"{s}{}\"", "\\".repeat(trailing)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sh_quotes_what_the_shell_would_read() {
        assert_eq!(sh("/opt/gw"), "/opt/gw");
        assert_eq!(sh("/opt/my tools/gw"), "'/opt/my tools/gw'");
        assert_eq!(sh("it's"), r"'it'\''s'");
        assert_eq!(sh(""), "''");
        assert_eq!(sh("$(x)"), "'$(x)'");
    }

    #[test]
    fn cmd_quotes_paths_with_spaces_and_keeps_the_closing_quote_closing() {
        assert_eq!(
            command_line(
                &[
                    r"C:\Users\Jane Doe\AppData\Local\gw\bin\gw.exe",
                    "token",
                    "--profile",
                    "dev",
                    "--for",
                    "claude"
                ],
                Shell::Cmd
            )
            .unwrap(),
            r#""C:\Users\Jane Doe\AppData\Local\gw\bin\gw.exe" token --profile dev --for claude"#
        );
        assert_eq!(cmd(r"C:\gw\gw.exe").unwrap(), r"C:\gw\gw.exe");
        assert_eq!(cmd(r"C:\my dir\").unwrap(), r#""C:\my dir\\""#);
        assert_eq!(cmd("a&b").unwrap(), "\"a&b\"");
        assert_eq!(cmd("").unwrap(), "\"\"");
        assert_eq!(cmd("R&D (x)").unwrap(), "\"R&D (x)\"");
    }

    #[test]
    fn cmd_refuses_what_it_would_expand_or_cannot_hold() {
        for bad in ["%USERPROFILE%", "a\"b", "wow!", "a\nb", "a\u{0}b"] {
            assert!(cmd(bad).is_err(), "{bad:?}");
        }
        assert!(command_line(&["gw", "100%"], Shell::Cmd).is_err());
        assert_eq!(
            command_line(&["gw", "100%"], Shell::Sh).unwrap(),
            "gw '100%'",
            "the same word is fine for sh"
        );
    }

    #[test]
    fn the_shell_follows_the_os() {
        assert_eq!(Shell::of(Os::Windows), Shell::Cmd);
        assert_eq!(Shell::of(Os::MacOs), Shell::Sh);
        assert_eq!(Shell::of(Os::Linux), Shell::Sh);
    }
}
