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

/// `$BROWSER`, else `open` (macOS), `xdg-open` (Linux/BSD), `rundll32` (Windows).
pub struct SystemBrowser;

impl OpenUrl for SystemBrowser {
    fn open(&self, url: &str) -> std::io::Result<()> {
        let (program, args) = opener_command(std::env::var(env_vars::BROWSER).ok(), url);
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

/// The command that opens `url`. `BROWSER` may hold several `:`-separated commands (the first
/// is used) and a `%s` placeholder; otherwise the URL is appended as one argument.
pub fn opener_command(browser: Option<String>, url: &str) -> (String, Vec<String>) {
    if let Some(b) = browser.filter(|b| !b.trim().is_empty()) {
        let first = b.split(':').next().unwrap_or(&b).trim().to_owned();
        let mut words = first.split_whitespace().map(str::to_owned);
        let program = words.next().unwrap_or_default();
        let mut args: Vec<String> = words.collect();
        if args.iter().any(|a| a.contains("%s")) {
            args = args.into_iter().map(|a| a.replace("%s", url)).collect();
        } else {
            args.push(url.to_owned());
        }
        return (program, args);
    }
    if cfg!(target_os = "macos") {
        ("open".into(), vec![url.into()])
    } else if cfg!(windows) {
        (
            "rundll32".into(),
            vec!["url.dll,FileProtocolHandler".into(), url.into()],
        )
    } else {
        ("xdg-open".into(), vec![url.into()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browser_env_wins_and_takes_the_url_as_one_argument() {
        let (p, a) = opener_command(Some("/opt/browser.sh".into()), "http://x/?a=1&b=2");
        assert_eq!(p, "/opt/browser.sh");
        assert_eq!(a, ["http://x/?a=1&b=2"]);
        let (p, a) = opener_command(Some("firefox --new-tab %s:chromium".into()), "u");
        assert_eq!(
            (p.as_str(), a),
            ("firefox", vec!["--new-tab".to_owned(), "u".to_owned()])
        );
        let (p, _) = opener_command(Some("  ".into()), "u");
        assert_ne!(p, "");
    }
}
