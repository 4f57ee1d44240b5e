//! gw's library API: what gw-admin — or any program acting as a gw user — builds on.
//!
//! One copy of each piece of domain knowledge lives behind it: a profile's session (cached,
//! refreshed, signed in — exactly as `gw token`), gw's PKCE engine for an OAuth client
//! without discovery, the Databricks CLI's public client and the account console's endpoints,
//! the Entra issuer rule, the environment variables gw reads, and its errors. Everything else
//! in this crate is gw's own business.

use std::time::Duration;

pub use crate::config::{
    Config, ENTRA_AUTHORITY, Gateway, Profile, checked_url, databricks_cli, entra_issuer,
};
pub use crate::env_vars;
pub use crate::error::{Report, UserError, exit, report};
pub use crate::http::{Http, HttpError, Response};
pub use crate::paths::{Owners, Paths, read_trusted};
pub use crate::secret::Secret;
pub use crate::time::now_unix;
pub use crate::token_store::StoreChoice;
pub use crate::usage;

pub use crate::session::client::{
    OAuthClient, RefreshError, Tokens, databricks_account_client, refresh,
};

use crate::exchange::DatabricksToken;
use crate::idp::browser::SystemBrowser;
use crate::session::{self, Context, Request, client};
use crate::time::MinTtl;
use crate::token_store::{self, KeyLock, StoredTokens};

/// The store `GW_TOKEN_STORE` names, as gw itself would choose (default `auto`).
pub fn store_from_env() -> StoreChoice {
    std::env::var(env_vars::GW_TOKEN_STORE)
        .ok()
        .and_then(|v| StoreChoice::from_name(&v))
        .unwrap_or(StoreChoice::Auto)
}

/// A Databricks token of `profile`'s session: cached, refreshed silently, or signed in (a
/// browser sign-in when a browser can be shown; in an unattended context never a prompt
/// nobody could answer) — exactly what `gw token` would hand out.
pub fn session_token(
    config: &Config,
    profile: &Profile,
    paths: &Paths,
    store: StoreChoice,
) -> anyhow::Result<Secret> {
    let opened = open_store(paths, store)?;
    let ctx = Context {
        config,
        profile,
        paths,
        store: opened.store.as_ref(),
    };
    let token = session::obtain(
        &ctx,
        &Request::new(MinTtl::Default, crate::session::login_policy(false, false)),
    )?;
    Ok(token.access_token)
}

/// The store `store` names, opened as an attended `gw` would open it.
fn open_store(paths: &Paths, store: StoreChoice) -> Result<token_store::Opened, UserError> {
    token_store::open(store, paths, session::keyring_patience(false)).map_err(|e| {
        UserError::failure(
            e.to_string(),
            format!(
                "set `{}=file`, or unlock the keyring",
                env_vars::GW_TOKEN_STORE
            ),
        )
    })
}

/// Store `token` (valid until `expires_at`, Unix seconds) as `profile`'s session, as a sign-in
/// would — for tests and provisioning that must not write gw's record format by hand.
pub fn seed_session(
    profile: &Profile,
    paths: &Paths,
    store: StoreChoice,
    token: &Secret,
    expires_at: u64,
) -> anyhow::Result<()> {
    let opened = token_store::open(store, paths, token_store::Slow::FallBack)?;
    let key = profile.cache_key();
    let lock = KeyLock::acquire(
        &paths.state_dir.join("tokens"),
        &key,
        Duration::from_secs(30),
        || {},
    )?;
    let mut rec = StoredTokens::new(&profile.name);
    let now = now_unix();
    rec.databricks = Some(DatabricksToken {
        access_token: token.clone(),
        token_type: "Bearer".into(),
        expires_at,
        lifetime: expires_at.saturating_sub(now),
    });
    rec.updated_at = now;
    opened.store.save(&key, &rec, &lock)?;
    Ok(())
}

/// An access token of `client`'s session kept in `store` (keyed by the client's endpoints, id
/// and scopes): cached, refreshed silently, or — only when it must be — a browser sign-in
/// (`$BROWSER`, else the platform opener) within `GW_LOGIN_TIMEOUT`. `label` names the place
/// in the messages shown ("the account console `https://…`").
pub async fn client_token(
    http: &Http,
    client: &OAuthClient,
    paths: &Paths,
    store: StoreChoice,
    label: &str,
) -> anyhow::Result<Secret> {
    let opened = open_store(paths, store)?;
    let place = client::Place {
        store: opened.store.as_ref(),
        paths,
        opener: &SystemBrowser,
        login_timeout: session::login_timeout(),
        label,
    };
    client::token(http, client, &place).await
}

/// Sign in at `client` in the browser, once, keeping nothing.
pub async fn sign_in(http: &Http, client: &OAuthClient) -> anyhow::Result<Tokens> {
    client::sign_in(http, client, &SystemBrowser, session::login_timeout()).await
}
