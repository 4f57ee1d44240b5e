//! `gw status`: who is signed in, until when, and which store holds the tokens.
//!
//! `--json` fields (stable): `profile`, `identity` (or null), `expires_at` (RFC 3339 or null),
//! `expires_in` (seconds or null), `valid` (bool), `refresh_token` (bool: silent refresh
//! possible), `store` (`"keyring"` | `"file"` | null when nothing is stored), `store_detail`
//! (which store and why, and where), `databricks_host`, `issuer`.

use serde_json::json;

use crate::error::UserError;
use crate::session::Context;
use crate::time::{now_unix, rfc3339};

pub fn run(ctx: &Context<'_>, store_detail: &str, as_json: bool) -> anyhow::Result<u8> {
    let key = ctx.key();
    let rec = ctx
        .store
        .load(&key)
        .map_err(|e| UserError::failure(e.to_string(), "run `gw doctor`"))?;
    let now = now_unix();
    let identity = rec
        .as_ref()
        .and_then(|r| r.identity.as_ref())
        .map(|i| i.name.clone());
    let expires_at = rec
        .as_ref()
        .and_then(|r| r.databricks.as_ref())
        .map(|t| t.expires_at);
    let has_refresh = rec.as_ref().is_some_and(|r| r.refresh_token.is_some());
    let holder = rec.as_ref().and_then(|_| ctx.store.holder(&key));
    let location = holder
        .as_ref()
        .map_or_else(|| ctx.store.location(&key), |(_, l)| l.clone());
    let detail = format!("{store_detail}: {location}");
    if as_json {
        let body = json!({
            "profile": ctx.profile.name,
            "identity": identity,
            "expires_at": expires_at.map(rfc3339),
            "expires_in": expires_at.map(|e| e.saturating_sub(now)),
            "valid": expires_at.is_some_and(|e| e > now),
            "refresh_token": has_refresh,
            "store": holder.map(|(k, _)| k.as_str()),
            "store_detail": detail,
            "databricks_host": ctx.profile.databricks_host,
            "issuer": ctx.profile.idp.issuer,
        });
        super::emit(&format!("{body}\n"))?;
        return Ok(0);
    }
    let mut out = format!(
        "profile:   {}\nworkspace: {}\n",
        ctx.profile.name, ctx.profile.databricks_host
    );
    if rec.is_none() {
        out.push_str("signed in: no (run `gw login`)\n");
    } else {
        out.push_str(&format!(
            "identity:  {}\n",
            crate::sanitize::shown(identity.as_deref().unwrap_or("unknown"))
        ));
        if let Some(e) = expires_at {
            let when = if e > now {
                format!("in {} min", (e - now) / 60)
            } else {
                "expired".into()
            };
            out.push_str(&format!("expires:   {} ({when})\n", rfc3339(e)));
        }
        out.push_str(&format!(
            "refresh:   {}\n",
            if has_refresh {
                "yes (silent refresh)"
            } else {
                "no (the next expiry needs `gw login`)"
            }
        ));
    }
    out.push_str(&format!("store:     {detail}\n"));
    super::emit(&out)?;
    Ok(0)
}
