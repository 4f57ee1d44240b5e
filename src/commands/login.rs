//! `gw login`: sign in now, even if cached tokens are fine.

use crate::cli::LoginArgs;
use crate::idp::browser::{NoBrowser, OpenUrl, SystemBrowser};
use crate::idp::method::Method;
use crate::session::{self, Context, Login, Request};
use crate::time::MinTtl;

pub fn run(ctx: &Context<'_>, args: &LoginArgs) -> anyhow::Result<u8> {
    let opener: &dyn OpenUrl = if args.no_browser {
        &NoBrowser
    } else {
        &SystemBrowser
    };
    // `gw login` always signs in, so the method is decided (and explained) up front.
    let method = Some(if args.no_browser {
        Method::Browser
    } else {
        crate::idp::method::pick(args.device)
    });
    session::obtain(
        ctx,
        &Request::new(MinTtl::Exact(0), Login::Interactive { method, opener }).forced(),
    )?;
    Ok(0)
}
