//! `gw token`: a valid Databricks token on stdout, and nothing else.

use crate::cli::TokenArgs;
use crate::error::exit;
use crate::launch::Refresh;
use crate::session::{self, Context, Request};
use crate::time::{MinTtl, now_unix, rfc3339};

pub fn run(ctx: &Context<'_>, args: &TokenArgs) -> anyhow::Result<u8> {
    let min_ttl = match (args.consumer.map(|t| t.refresh), args.min_ttl) {
        (Some(Refresh::Helper { min_ttl }), _) => MinTtl::Rule(min_ttl),
        (_, Some(s)) => MinTtl::Exact(s),
        _ => MinTtl::Default,
    };
    if args.check {
        let fresh = session::cached(ctx, min_ttl, now_unix())?;
        return Ok(if fresh.is_some() { 0 } else { exit::FAILURE });
    }
    let login = super::login_policy(args.no_login, args.consumer.is_some());
    let t = session::obtain(ctx, &Request::new(min_ttl, login))?;
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
