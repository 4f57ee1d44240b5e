//! Opening the authorization URL: `$BROWSER <url>` when set, else the platform opener.
//!
//! The URL is always printed on stderr first, so a failed opener costs nothing. Whatever the
//! opener prints goes to stderr: stdout belongs to `gw token`'s caller.

use std::process::{Command, Stdio};

use crate::env_vars;

/// The seam for "show this URL to the user".
pub trait OpenUrl {
    fn open(&self, url: &str) -> std::io::Result<()>;
    /// Whether this opener shows the URL to anyone (a one-shot link is served only then).
    fn opens(&self) -> bool {
        true
    }
}

/// `$BROWSER`, else `open` (macOS), `wslview` (WSL), `xdg-open` (Linux/BSD), `rundll32`
/// (Windows).
pub struct SystemBrowser;

impl OpenUrl for SystemBrowser {
    fn open(&self, url: &str) -> std::io::Result<()> {
        let (program, args) = opener_command(
            std::env::var(env_vars::BROWSER).ok(),
            url,
            std::env::consts::OS,
            super::method::Signals::from_env().wsl_opener,
        );
        let mut cmd = Command::new(&program);
        cmd.args(&args).stdin(Stdio::null());
        // The opener's output must not reach our stdout.
        cmd.stdout(stderr_handle());
        let mut child = cmd
            .spawn()
            .map_err(|e| std::io::Error::new(e.kind(), format!("cannot run `{program}`: {e}")))?;
        std::thread::spawn(move || child.wait());
        Ok(())
    }
}

/// A browser that is never opened (`--no-browser`): the user copies the printed URL.
pub struct NoBrowser;

impl OpenUrl for NoBrowser {
    fn open(&self, _url: &str) -> std::io::Result<()> {
        Ok(())
    }

    fn opens(&self) -> bool {
        false
    }
}

fn stderr_handle() -> Stdio {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        match std::io::stderr().as_fd().try_clone_to_owned() {
            Ok(fd) => Stdio::from(fd),
            Err(_) => Stdio::null(),
        }
    }
    #[cfg(not(unix))]
    {
        Stdio::null()
    }
}

/// The command that opens `url` on `os`. `BROWSER` may hold several commands, separated as
/// that platform separates paths (`:`, or `;` on Windows, where `C:\…` holds a colon), of
/// which the first is used, and a `%s` placeholder; otherwise the URL is appended as one
/// argument. Under WSL with `wslview` on PATH (`wsl_opener`), the Windows browser opens it.
/// Pure.
pub fn opener_command(
    browser: Option<String>,
    url: &str,
    os: &str,
    wsl_opener: bool,
) -> (String, Vec<String>) {
    if let Some(b) = browser.filter(|b| !b.trim().is_empty()) {
        let separator = if os == "windows" { ';' } else { ':' };
        let first = b.split(separator).next().unwrap_or(&b).trim().to_owned();
        let whole_path = os == "windows" && first.to_ascii_lowercase().ends_with(".exe");
        let mut words = if whole_path {
            vec![first.clone()]
        } else {
            words(&first)
        }
        .into_iter();
        let program = words.next().unwrap_or_default();
        let mut args: Vec<String> = words.collect();
        if args.iter().any(|a| a.contains("%s")) {
            args = args.into_iter().map(|a| a.replace("%s", url)).collect();
        } else {
            args.push(url.to_owned());
        }
        return (program, args);
    }
    if os == "macos" {
        ("open".into(), vec![url.into()])
    } else if os == "linux" && wsl_opener {
        ("wslview".into(), vec![url.into()])
    } else if os == "windows" {
        (
            "rundll32".into(),
            vec!["url.dll,FileProtocolHandler".into(), url.into()],
        )
    } else {
        ("xdg-open".into(), vec![url.into()])
    }
}

/// Split on whitespace, keeping `"…"` together (a Windows path with spaces). Pure.
fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in s.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browser_env_wins_and_takes_the_url_as_one_argument() {
        let (p, a) = opener_command(
            Some("/opt/browser.sh".into()),
            "http://x/?a=1&b=2",
            "linux",
            false,
        );
        assert_eq!(p, "/opt/browser.sh");
        assert_eq!(a, ["http://x/?a=1&b=2"]);
        let (p, a) = opener_command(
            Some("firefox --new-tab %s:chromium".into()),
            "u",
            "linux",
            false,
        );
        assert_eq!(
            (p.as_str(), a),
            ("firefox", vec!["--new-tab".to_owned(), "u".to_owned()])
        );
        let (p, _) = opener_command(Some("  ".into()), "u", "linux", false);
        assert_ne!(p, "");
        let (p, a) = opener_command(
            Some(r"C:\Program Files\Firefox\firefox.exe;chrome".into()),
            "u",
            "windows",
            false,
        );
        assert_eq!(
            p, r"C:\Program Files\Firefox\firefox.exe",
            "a colon is no separator there"
        );
        assert_eq!(a, ["u"]);
        let (p, a) = opener_command(
            Some(r#""C:\Program Files\Mozilla\firefox" -new-tab %s"#.into()),
            "u",
            "windows",
            false,
        );
        assert_eq!(
            (p.as_str(), a),
            (
                r"C:\Program Files\Mozilla\firefox",
                vec!["-new-tab".to_owned(), "u".to_owned()]
            )
        );
        assert_eq!(opener_command(None, "u", "macos", false).0, "open");
        assert_eq!(opener_command(None, "u", "windows", false).0, "rundll32");
        assert_eq!(opener_command(None, "u", "linux", false).0, "xdg-open");
        assert_eq!(
            opener_command(None, "u", "linux", true),
            ("wslview".to_owned(), vec!["u".to_owned()]),
            "WSL hands the URL to the Windows browser"
        );
        assert_eq!(
            opener_command(Some("lynx".into()), "u", "linux", true).0,
            "lynx",
            "BROWSER still wins"
        );
    }
}
