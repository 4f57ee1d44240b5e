//! Browser or device code: which sign-in can work on this machine.
//!
//! Rules, in order:
//! 1. `--device` → device code.
//! 2. `BROWSER` set → browser (tests and users rely on it; it always wins).
//! 3. An SSH session (`SSH_CONNECTION`, `SSH_CLIENT`, `SSH_TTY`) → device code: a browser on
//!    the user's own machine cannot reach this machine's loopback listener.
//! 4. Linux without `DISPLAY`/`WAYLAND_DISPLAY` → device code, unless WSL can hand the URL to
//!    Windows (`wslview` on PATH).
//! 5. Otherwise → browser.

use crate::env_vars as ev;

/// The sign-in to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Browser,
    Device,
}

/// What the environment says about showing a browser.
#[derive(Debug, Clone, Default)]
pub struct Signals {
    pub browser_env: bool,
    pub ssh: bool,
    pub linux: bool,
    pub display: bool,
    pub wsl: bool,
    pub wsl_opener: bool,
}

impl Signals {
    /// Read the signals from this process's environment.
    pub fn from_env() -> Signals {
        let set = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
        let linux = cfg!(target_os = "linux");
        let wsl = linux && (set(ev::WSL_DISTRO_NAME) || set(ev::WSL_INTEROP));
        Signals {
            browser_env: set(ev::BROWSER),
            ssh: set(ev::SSH_CONNECTION) || set(ev::SSH_CLIENT) || set(ev::SSH_TTY),
            linux,
            display: set(ev::DISPLAY) || set(ev::WAYLAND_DISPLAY),
            wsl,
            wsl_opener: wsl && crate::platform::program::find("wslview").is_some(),
        }
    }
}

/// Decide the method; the reason is said on stderr when gw picks the device flow by itself.
pub fn choose(device_flag: bool, s: &Signals) -> (Method, Option<&'static str>) {
    if device_flag {
        return (Method::Device, None);
    }
    if s.browser_env {
        return (Method::Browser, None);
    }
    if s.ssh {
        return (Method::Device, Some("this is an SSH session"));
    }
    if s.linux && !s.display && !s.wsl_opener {
        return (
            Method::Device,
            Some(if s.wsl {
                "WSL has no way to open a Windows browser (install `wslu` for `wslview`)"
            } else {
                "there is no display"
            }),
        );
    }
    (Method::Browser, None)
}

/// [`choose`] for this machine, saying on stderr why when it picks the device flow itself.
pub fn pick(device_flag: bool) -> Method {
    let (method, reason) = choose(device_flag, &Signals::from_env());
    if let Some(why) = reason {
        eprintln!("Using the device code sign-in: {why} (set BROWSER to use a browser).");
    }
    method
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desktop() -> Signals {
        Signals {
            linux: true,
            display: true,
            ..Default::default()
        }
    }

    #[test]
    fn the_rules_in_order() {
        assert_eq!(choose(false, &desktop()).0, Method::Browser);
        assert_eq!(choose(true, &desktop()).0, Method::Device);
        let ssh = Signals {
            ssh: true,
            ..desktop()
        };
        assert_eq!(
            choose(false, &ssh),
            (Method::Device, Some("this is an SSH session"))
        );
        let headless = Signals {
            display: false,
            ..desktop()
        };
        assert_eq!(
            choose(false, &headless),
            (Method::Device, Some("there is no display"))
        );
        let wsl = Signals {
            wsl: true,
            ..headless.clone()
        };
        assert_eq!(choose(false, &wsl).0, Method::Device);
        let wsl_ok = Signals {
            wsl_opener: true,
            ..wsl
        };
        assert_eq!(choose(false, &wsl_ok).0, Method::Browser);
        let mac_over_ssh = Signals {
            ssh: true,
            ..Default::default()
        };
        assert_eq!(choose(false, &mac_over_ssh).0, Method::Device);
        assert_eq!(
            choose(false, &Signals::default()).0,
            Method::Browser,
            "macOS/Windows desktop"
        );
    }

    #[test]
    fn a_set_browser_always_wins_except_over_an_explicit_device_flag() {
        let s = Signals {
            browser_env: true,
            ssh: true,
            linux: true,
            ..Default::default()
        };
        assert_eq!(choose(false, &s).0, Method::Browser);
        assert_eq!(choose(true, &s).0, Method::Device);
    }
}
