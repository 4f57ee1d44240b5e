//! One module per `gw` command. Each returns the exit code; stdout is written only through
//! [`emit`], so nothing else in gw can write to the stream a caller reads a token from.

pub mod doctor;
pub mod exec;
pub mod login;
pub mod logout;
pub mod status;
pub mod token;

use std::io::Write;

use anyhow::Context as _;

use crate::idp::method::{self, Method};

/// The only writer to stdout.
pub fn emit(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .context("cannot write to stdout")
}

/// Browser or device code for this machine; says why when it picks the device flow itself.
pub fn login_method(device_flag: bool) -> Method {
    let (method, reason) = method::choose(device_flag, &method::Signals::from_env());
    if let Some(why) = reason {
        eprintln!("Using the device code sign-in: {why} (set BROWSER to use a browser).");
    }
    method
}
