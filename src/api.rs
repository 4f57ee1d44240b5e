//! gw's library API: what gw-admin — or any program acting as a gw user — builds on.
//!
//! One copy of each piece of domain knowledge lives behind it: a profile's session (cached,
//! refreshed, signed in — exactly as `gw token`), gw's PKCE engine for an OAuth client
//! without discovery, the Databricks CLI's public client and the account console's endpoints,
//! the Entra issuer rule, the environment variables gw reads, and its errors. Everything else
//! in this crate is gw's own business.

use std::time::Duration;

pub use crate::config::{
    Config, ENTRA_AUTHORITY, Profile, checked_url, databricks_cli, entra_issuer,
};
pub use crate::env_vars;
pub use crate::error::{Report, UserError, exit, report};
pub use crate::http::{Http, HttpError, Response};
pub use crate::paths::Paths;
pub use crate::secret::Secret;
pub use crate::time::now_unix;
pub use crate::token_store::StoreChoice;

use crate::config::{IdpKind, IdpSettings, Proof};
use crate::exchange::DatabricksToken;
use crate::idp::browser::SystemBrowser;
use crate::idp::discovery::ProviderMetadata;
use crate::session::{self, Context, Request};
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
    let opened = token_store::open(store, paths).map_err(|e| {
        UserError::failure(
            e.to_string(),
            format!(
                "set `{}=file`, or unlock the keyring",
                env_vars::GW_TOKEN_STORE
            ),
        )
    })?;
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

/// Store `token` (valid until `expires_at`, Unix seconds) as `profile`'s session, as a sign-in
/// would — for tests and provisioning that must not write gw's record format by hand.
pub fn seed_session(
    profile: &Profile,
    paths: &Paths,
    store: StoreChoice,
    token: &Secret,
    expires_at: u64,
) -> anyhow::Result<()> {
    let opened = token_store::open(store, paths)?;
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

/// An OAuth public client whose endpoints are known (no discovery document), signed in to with
/// gw's PKCE engine: the loopback listener, the one-shot browser link, `state` and PKCE.
#[derive(Debug, Clone)]
pub struct OAuthClient {
    pub client_id: String,
    pub scopes: Vec<String>,
    /// The authorization server's issuer (for RFC 9207 `iss` when it sends one).
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
}

/// What a sign-in or a refresh brought.
#[derive(Debug)]
pub struct Tokens {
    pub access_token: Secret,
    pub refresh_token: Option<Secret>,
    /// Seconds, capped at a day.
    pub lifetime: u64,
}

/// The account console of a Databricks account: the Databricks CLI's public client, with the
/// endpoints `<account host>/oidc/accounts/<id>/v1/authorize` and `…/v1/token` (it publishes
/// no discovery document).
pub fn databricks_account_client(account_host: &str, account_id: &str) -> OAuthClient {
    let base = match url::Url::parse(account_host) {
        Ok(mut u) if !u.cannot_be_a_base() => {
            u.path_segments_mut()
                .expect("a base URL")
                .pop_if_empty()
                .extend(["oidc", "accounts", account_id]);
            u.to_string()
        }
        _ => format!(
            "{}/oidc/accounts/{account_id}",
            account_host.trim_end_matches('/')
        ),
    };
    OAuthClient {
        client_id: databricks_cli::CLIENT_ID.to_owned(),
        scopes: databricks_cli::scopes(),
        issuer: base.clone(),
        authorization_endpoint: format!("{base}/v1/authorize"),
        token_endpoint: format!("{base}/v1/token"),
    }
}

impl OAuthClient {
    fn descriptor(&self) -> (IdpSettings, ProviderMetadata) {
        let idp = IdpSettings {
            kind: IdpKind::Databricks,
            proof: Proof::WorkspaceToken,
            issuer: self.issuer.clone(),
            discovery_url: String::new(),
            client_id: self.client_id.clone(),
            scopes: self.scopes.clone(),
            redirect: databricks_cli::redirect(),
        };
        let meta = ProviderMetadata {
            issuer: self.issuer.clone(),
            authorization_endpoint: self.authorization_endpoint.clone(),
            token_endpoint: self.token_endpoint.clone(),
            jwks_uri: None,
            device_authorization_endpoint: None,
            authorization_response_iss_parameter_supported: false,
        };
        (idp, meta)
    }
}

/// Sign in at `client` in the browser (`$BROWSER`, else the platform opener), within the
/// sign-in timeout (`GW_LOGIN_TIMEOUT`). The error reads as gw's would.
pub async fn sign_in(http: &Http, client: &OAuthClient) -> anyhow::Result<Tokens> {
    let (idp, meta) = client.descriptor();
    let done = crate::idp::browser_login::login(
        http,
        &idp,
        &meta,
        &SystemBrowser,
        session::login_timeout(),
    )
    .await
    .map_err(|e| UserError::failure(format!("the sign-in failed: {e}"), "try again"))?;
    tokens(done.answer.body)
}

/// Refresh at `client` with `refresh_token` (a rotated refresh token comes back in the answer).
pub async fn refresh(
    http: &Http,
    client: &OAuthClient,
    refresh_token: &Secret,
) -> anyhow::Result<Tokens> {
    let scope = client.scopes.join(" ");
    let answer = crate::token_endpoint::post::<crate::token_endpoint::TokenResponse>(
        http,
        &client.token_endpoint,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose()),
            ("client_id", &client.client_id),
            ("scope", &scope),
        ],
    )
    .await
    .map_err(|e| UserError::failure(format!("the refresh failed: {e}"), "sign in again"))?;
    tokens(answer.body)
}

fn tokens(body: crate::token_endpoint::TokenResponse) -> anyhow::Result<Tokens> {
    let access_token = body
        .access_token
        .filter(|t| !t.expose().trim().is_empty())
        .ok_or_else(|| UserError::failure("no access token came back", "try again"))?;
    Ok(Tokens {
        access_token,
        refresh_token: body.refresh_token,
        lifetime: crate::exchange::lifetime(body.expires_in),
    })
}
