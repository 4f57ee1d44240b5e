//! The account console session, cached like gw's own (SPEC "gw-admin", Auth).
//!
//! An account admin's OAuth sign-in at `<account host>/oidc/accounts/<id>/v1/…` (public
//! client `databricks-cli`) is kept in gw's token store (`GW_TOKEN_STORE`: the OS keyring,
//! else the private file store) under a key derived from the account host and account id,
//! and refreshed silently with its refresh token:
//!
//! 1. `DATABRICKS_ACCOUNT_TOKEN` set → it; nothing is read or kept.
//! 2. The cached access token has at least [`MinTtl::Default`] left → it (no lock, no
//!    network).
//! 3. Take the key's lock (another gw-admin may be signing in) and read again.
//! 4. A cached refresh token → the refresh grant; the rotated refresh token and the new
//!    access token are saved. A refused refresh token (`invalid_grant`) is dropped, and the
//!    run signs in again.
//! 5. Else the browser sign-in (PKCE); its tokens are saved.
//!
//! Nothing here is ever printed; the record holds no identity, only the two tokens.

use std::time::Duration;

use anyhow::Context as _;
use clap::ValueEnum as _;
use gw::cli::StoreChoice;
use gw::error::UserError;
use gw::exchange::{self, DatabricksToken};
use gw::http::Http;
use gw::idp::browser::OpenUrl;
use gw::idp::browser_login;
use gw::idp::token_endpoint::{self, Answer, TokenError, TokenResponse};
use gw::paths::Paths;
use gw::secret::Secret;
use gw::session;
use gw::time::{Freshness, MinTtl, freshness, now_unix};
use gw::token_store::{self, KeyLock, StoredTokens, TokenStore};
use sha2::{Digest, Sha256};

use crate::auth::{DATABRICKS_ACCOUNT_TOKEN, GW_TOKEN_STORE, account_oauth, env_token};

/// The cache key of an account console session: `account-` and a hash over the account
/// host, the account id, the client and its scopes (so another console, account or client
/// never reuses it). Pure.
pub fn cache_key(account_host: &str, account_id: &str) -> String {
    let (idp, _) = account_oauth(account_host, account_id);
    let mut h = Sha256::new();
    for part in [
        account_host.trim_end_matches('/'),
        account_id,
        &idp.client_id,
        &idp.scopes.join(" "),
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let hex: String = h
        .finalize()
        .iter()
        .take(10)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("account-{hex}")
}

/// The record's `profile` field: what `gw status`-like tools would show.
fn record_name(account_id: &str) -> String {
    format!("account {account_id}")
}

/// An account admin's token for `account_host`/`account_id` (the decision list above).
pub async fn account_token(
    http: &Http,
    paths: &Paths,
    account_host: &str,
    account_id: &str,
    opener: &dyn OpenUrl,
) -> anyhow::Result<Secret> {
    if let Some(t) = env_token(DATABRICKS_ACCOUNT_TOKEN) {
        return Ok(t);
    }
    let choice = std::env::var(GW_TOKEN_STORE)
        .ok()
        .and_then(|v| StoreChoice::from_str(&v, true).ok())
        .unwrap_or(StoreChoice::Auto);
    let opened = token_store::open(choice, paths).map_err(|e| {
        UserError::failure(
            e.to_string(),
            format!("set `{GW_TOKEN_STORE}=file`, or set `{DATABRICKS_ACCOUNT_TOKEN}`"),
        )
    })?;
    let cache = Cache {
        store: opened.store.as_ref(),
        key: cache_key(account_host, account_id),
        lock_dir: paths.state_dir.join("tokens"),
    };
    if let Some(t) = cache.fresh(now_unix())? {
        return Ok(t);
    }
    let patience = session::login_timeout() + Duration::from_secs(30);
    let lock = KeyLock::acquire(&cache.lock_dir, &cache.key, patience, || {
        eprintln!("Waiting for another gw-admin that is signing in at `{account_host}`…");
    })
    .context("cannot lock the account session cache")?;
    if let Some(t) = cache.fresh(now_unix())? {
        return Ok(t);
    }
    let mut rec = cache
        .load()?
        .unwrap_or_else(|| StoredTokens::new(&record_name(account_id)));
    let (idp, meta) = account_oauth(account_host, account_id);
    if let Some(refresh) = rec.refresh_token.clone() {
        let scope = idp.scopes.join(" ");
        let answer = token_endpoint::post::<TokenResponse>(
            http,
            &meta.token_endpoint,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh.expose()),
                ("client_id", &idp.client_id),
                ("scope", &scope),
            ],
        )
        .await;
        match answer {
            Ok(a) => return cache.keep(&mut rec, a, &lock),
            Err(TokenError::Rejected { error, .. }) if error == "invalid_grant" => {
                rec.refresh_token = None;
                rec.databricks = None;
                cache.save(&mut rec, &lock)?;
                eprintln!(
                    "The saved account console sign-in can no longer be used; signing in again."
                );
            }
            Err(e) => {
                return Err(UserError::failure(
                    format!("cannot refresh the account console sign-in: {e}"),
                    format!(
                        "check `--account-host`, your network and proxy (`HTTPS_PROXY`), or set `{DATABRICKS_ACCOUNT_TOKEN}`"
                    ),
                )
                .into());
            }
        }
    }
    eprintln!("Signing in at the account console `{account_host}` as an account admin.");
    let done = browser_login::login(http, &idp, &meta, opener, session::login_timeout())
        .await
        .map_err(|e| {
            UserError::failure(
                format!("the account console sign-in failed: {e}"),
                format!(
                    "check `--account-host` and `--account-id`, or set `{DATABRICKS_ACCOUNT_TOKEN}` to an account admin's token"
                ),
            )
        })?;
    cache.keep(&mut rec, done.answer, &lock)
}

/// One key of one store.
struct Cache<'a> {
    store: &'a dyn TokenStore,
    key: String,
    lock_dir: std::path::PathBuf,
}

impl Cache<'_> {
    fn load(&self) -> anyhow::Result<Option<StoredTokens>> {
        self.store.load(&self.key).map_err(|e| {
            UserError::failure(
                format!("cannot read the account session cache: {e}"),
                format!("set `{GW_TOKEN_STORE}=file`, or set `{DATABRICKS_ACCOUNT_TOKEN}`"),
            )
            .into()
        })
    }

    /// The cached access token, when it has [`MinTtl::Default`] left.
    fn fresh(&self, now: u64) -> anyhow::Result<Option<Secret>> {
        Ok(self.load()?.and_then(|r| r.databricks).and_then(|t| {
            (freshness(t.expires_at, now, MinTtl::Default.required(t.lifetime)) == Freshness::Fresh)
                .then_some(t.access_token)
        }))
    }

    fn save(&self, rec: &mut StoredTokens, lock: &KeyLock) -> anyhow::Result<()> {
        rec.updated_at = now_unix();
        self.store.save(&self.key, rec, lock).map_err(|e| {
            UserError::failure(
                format!("cannot save the account console sign-in: {e}"),
                "check free disk space and the token store's permissions",
            )
            .into()
        })
    }

    /// Save what a token endpoint answered (a rotated refresh token replaces the old one)
    /// and return its access token.
    fn keep(
        &self,
        rec: &mut StoredTokens,
        answer: Answer<TokenResponse>,
        lock: &KeyLock,
    ) -> anyhow::Result<Secret> {
        let body = answer.body;
        let access = body
            .access_token
            .filter(|t| !t.expose().trim().is_empty())
            .ok_or_else(|| {
                UserError::failure(
                    "the account console returned no access token",
                    format!("try again, or set `{DATABRICKS_ACCOUNT_TOKEN}`"),
                )
            })?;
        let lifetime = exchange::lifetime(body.expires_in);
        if let Some(r) = body.refresh_token {
            rec.refresh_token = Some(r);
        }
        rec.databricks = Some(DatabricksToken {
            access_token: access.clone(),
            token_type: body.token_type.unwrap_or_else(|| "Bearer".into()),
            expires_at: now_unix().saturating_add(lifetime),
            lifetime,
        });
        self.save(rec, lock)?;
        Ok(access)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_differs_per_console_and_account_and_ignores_a_trailing_slash() {
        let a = cache_key("https://accounts.cloud.databricks.com", "a1");
        assert!(a.starts_with("account-"));
        assert_eq!(a, cache_key("https://accounts.cloud.databricks.com/", "a1"));
        assert_ne!(a, cache_key("https://accounts.cloud.databricks.com", "a2"));
        assert_ne!(a, cache_key("https://accounts.azuredatabricks.net", "a1"));
    }
}
