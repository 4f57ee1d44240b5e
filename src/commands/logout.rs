//! `gw logout`: remove the profile's tokens from every store it uses.

use std::time::Duration;

use anyhow::Context as _;

use crate::error::UserError;
use crate::session::Context;
use crate::token_store::KeyLock;

/// `gw logout --all`: every profile of the config, in the same stores.
pub fn run_all(ctx: &Context<'_>) -> anyhow::Result<u8> {
    for profile in ctx.config.profiles.values() {
        run(&Context { profile, ..*ctx })?;
    }
    Ok(0)
}

pub fn run(ctx: &Context<'_>) -> anyhow::Result<u8> {
    let key = ctx.key();
    let lock = KeyLock::acquire(
        &ctx.paths.state_dir.join("tokens"),
        &key,
        Duration::from_secs(10),
        || {},
    )
    .context("cannot lock the token cache")?;
    let removed = ctx.store.delete(&key, &lock).map_err(|e| {
        UserError::failure(e.to_string(), "remove the entry by hand (see `gw status`)")
    })?;
    if removed {
        eprintln!("Signed out of profile `{}`.", ctx.profile.name);
    } else {
        eprintln!("Profile `{}` had no saved tokens.", ctx.profile.name);
    }
    Ok(0)
}
