//! `gw token`: a valid Databricks token on stdout, and nothing else.

use crate::cli::TokenArgs;
use crate::error::exit;
use crate::idp::browser::SystemBrowser;
use crate::session::{self, Context, Login, Request};
use crate::time::{now_unix, rfc3339};

pub fn run(ctx: &Context<'_>, args: &TokenArgs) -> anyhow::Result<u8> {
    if args.check {
        let fresh = session::cached(ctx, args.min_ttl, now_unix())?;
        return Ok(if fresh.is_some() { 0 } else { exit::FAILURE });
    }
    let login = if args.no_login {
        Login::Never
    } else {
        Login::Interactive {
            method: super::login_method(false),
            opener: &SystemBrowser,
        }
    };
    let t = session::obtain(
        ctx,
        &Request {
            min_ttl: args.min_ttl,
            login,
            force_login: false,
        },
    )?;
    if args.json {
        let body = serde_json::json!({
            "token": t.access_token.expose(),
            "token_type": t.token_type,
            "expires_in": t.expires_at.saturating_sub(now_unix()),
            "expires_at": rfc3339(t.expires_at),
        });
        super::emit(&format!("{body}\n"))?;
    } else {
        super::emit(&format!("{}\n", t.access_token.expose()))?;
    }
    Ok(0)
}
