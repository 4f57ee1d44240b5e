//! A session with an OAuth public client whose endpoints are known (no discovery document,
//! no ID token): the Databricks account console is one. Kept in gw's token store under a key
//! derived from the client, refreshed silently, signed in with PKCE only when it must be.
//!
//! 1. The cached access token has at least [`MinTtl::Default`] left → it (no lock, no network).
//! 2. Take the key's lock (another process may be signing in) and read again.
//! 3. A cached refresh token → the refresh grant; the rotated refresh token and the new access
//!    token are saved. A refused one (`invalid_grant`) is dropped and the caller signs in.
//! 4. Else the browser sign-in; its tokens are saved.
//!
//! The record holds no identity, only the two tokens; nothing here is ever printed.

use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::config::{IdpKind, IdpSettings, Proof, databricks_cli};
use crate::error::UserError;
use crate::exchange::{self, DatabricksToken};
use crate::http::Http;
use crate::idp::browser::OpenUrl;
use crate::idp::browser_login;
use crate::idp::discovery::ProviderMetadata;
use crate::paths::Paths;
use crate::secret::Secret;
use crate::time::{Freshness, MinTtl, freshness, now_unix};
use crate::token_endpoint::{self, TokenError, TokenResponse};
use crate::token_store::{KeyLock, StoredTokens, TokenStore};

/// An OAuth public client whose endpoints are known, signed in to with gw's PKCE engine: the
/// loopback listener, the one-shot browser link, `state` and PKCE.
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
    /// The store key of this client's session: `oauth-` and a hash over its token endpoint
    /// (which names the console and the account), its id and its scopes, so another console,
    /// account or client never reuses it. Pure.
    pub fn cache_key(&self) -> String {
        let mut h = Sha256::new();
        for part in [
            self.token_endpoint.trim_end_matches('/'),
            &self.client_id,
            &self.scopes.join(" "),
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
        format!("oauth-{hex}")
    }

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

/// Sign in at `client` in the browser `opener` shows, within `timeout`.
pub async fn sign_in(
    http: &Http,
    client: &OAuthClient,
    opener: &dyn OpenUrl,
    timeout: Duration,
) -> anyhow::Result<Tokens> {
    let (idp, meta) = client.descriptor();
    let done = browser_login::login(http, &idp, &meta, opener, timeout)
        .await
        .map_err(|e| UserError::failure(format!("the sign-in failed: {e}"), "try again"))?;
    tokens(done.answer.body)
}

/// Why a refresh did not bring tokens.
#[derive(Debug)]
pub enum RefreshError {
    /// The refresh token is refused (`invalid_grant`): sign in again.
    Refused,
    /// Anything else (network, a server error): the refresh token may still be good.
    Failed(anyhow::Error),
}

/// Refresh at `client` with `refresh_token` (a rotated refresh token comes back in the answer).
pub async fn refresh(
    http: &Http,
    client: &OAuthClient,
    refresh_token: &Secret,
) -> Result<Tokens, RefreshError> {
    let scope = client.scopes.join(" ");
    let answer = token_endpoint::post::<TokenResponse>(
        http,
        &client.token_endpoint,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose()),
            ("client_id", &client.client_id),
            ("scope", &scope),
        ],
    )
    .await;
    match answer {
        Ok(a) => tokens(a.body).map_err(RefreshError::Failed),
        Err(TokenError::Rejected { error, .. }) if error == "invalid_grant" => {
            Err(RefreshError::Refused)
        }
        Err(e) => Err(RefreshError::Failed(
            UserError::failure(
                format!("the refresh failed: {e}"),
                "check your network and proxy (`HTTPS_PROXY`), then try again",
            )
            .into(),
        )),
    }
}

fn tokens(body: TokenResponse) -> anyhow::Result<Tokens> {
    let access_token = body
        .access_token
        .filter(|t| !t.expose().trim().is_empty())
        .ok_or_else(|| UserError::failure("no access token came back", "try again"))?;
    Ok(Tokens {
        access_token,
        refresh_token: body.refresh_token,
        lifetime: exchange::lifetime(body.expires_in),
    })
}

/// Where a client session is kept, and how a sign-in is shown.
pub struct Place<'a> {
    pub store: &'a dyn TokenStore,
    pub paths: &'a Paths,
    pub opener: &'a dyn OpenUrl,
    pub login_timeout: Duration,
    /// Shown while another process holds the lock, and before a browser sign-in.
    pub label: &'a str,
}

/// An access token of `client`'s session (the decision list at the top of this file).
pub async fn token(http: &Http, client: &OAuthClient, at: &Place<'_>) -> anyhow::Result<Secret> {
    let key = client.cache_key();
    let load = || {
        at.store.load(&key).map_err(|e| {
            anyhow::Error::from(UserError::failure(
                format!("cannot read the saved sign-in at {}: {e}", at.label),
                format!("set `{}=file`", crate::env_vars::GW_TOKEN_STORE),
            ))
        })
    };
    if let Some(t) = load()?.and_then(|r| fresh(&r, now_unix())) {
        return Ok(t);
    }
    let patience = at.login_timeout + Duration::from_secs(30);
    let lock = KeyLock::acquire(&at.paths.state_dir.join("tokens"), &key, patience, || {
        eprintln!(
            "Waiting for another process that is signing in at {}…",
            at.label
        );
    })?;
    let mut rec = load()?.unwrap_or_else(|| StoredTokens::new(at.label));
    if let Some(t) = fresh(&rec, now_unix()) {
        return Ok(t);
    }
    if let Some(r) = rec.refresh_token.clone() {
        match refresh(http, client, &r).await {
            Ok(t) => return keep(at.store, &key, &mut rec, t, &lock),
            Err(RefreshError::Refused) => {
                rec.refresh_token = None;
                rec.databricks = None;
                save(at.store, &key, &mut rec, &lock)?;
                eprintln!("The saved sign-in at {} can no longer be used.", at.label);
            }
            Err(RefreshError::Failed(e)) => return Err(e),
        }
    }
    eprintln!("Signing in at {}.", at.label);
    let t = sign_in(http, client, at.opener, at.login_timeout).await?;
    keep(at.store, &key, &mut rec, t, &lock)
}

/// The cached access token when it has [`MinTtl::Default`] left. Pure.
fn fresh(rec: &StoredTokens, now: u64) -> Option<Secret> {
    let t = rec.databricks.as_ref()?;
    (freshness(t.expires_at, now, MinTtl::Default.required(t.lifetime)) == Freshness::Fresh)
        .then(|| t.access_token.clone())
}

fn save(
    store: &dyn TokenStore,
    key: &str,
    rec: &mut StoredTokens,
    lock: &KeyLock,
) -> anyhow::Result<()> {
    rec.updated_at = now_unix();
    store.save(key, rec, lock).map_err(|e| {
        UserError::failure(
            format!("cannot save the sign-in: {e}"),
            "check free disk space and the token store's permissions",
        )
        .into()
    })
}

/// Save new tokens (a rotated refresh token replaces the old one) and return the access token.
fn keep(
    store: &dyn TokenStore,
    key: &str,
    rec: &mut StoredTokens,
    t: Tokens,
    lock: &KeyLock,
) -> anyhow::Result<Secret> {
    if let Some(r) = t.refresh_token {
        rec.refresh_token = Some(r);
    }
    rec.databricks = Some(DatabricksToken {
        access_token: t.access_token.clone(),
        token_type: "Bearer".into(),
        expires_at: now_unix().saturating_add(t.lifetime),
        lifetime: t.lifetime,
    });
    save(store, key, rec, lock)?;
    Ok(t.access_token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_differs_per_console_account_and_client() {
        let a = databricks_account_client("https://accounts.cloud.databricks.com", "a1");
        let k = a.cache_key();
        assert!(k.starts_with("oauth-"));
        assert_eq!(
            k,
            databricks_account_client("https://accounts.cloud.databricks.com/", "a1").cache_key()
        );
        assert_ne!(
            k,
            databricks_account_client("https://accounts.cloud.databricks.com", "a2").cache_key()
        );
        assert_ne!(
            k,
            databricks_account_client("https://accounts.azuredatabricks.net", "a1").cache_key()
        );
        let other = OAuthClient {
            client_id: "another".into(),
            ..a.clone()
        };
        assert_ne!(k, other.cache_key());
    }

    #[test]
    fn only_a_token_with_time_left_is_served() {
        let mut rec = StoredTokens::new("x");
        assert!(fresh(&rec, 1000).is_none());
        rec.databricks = Some(DatabricksToken {
            access_token: Secret::new("t"),
            token_type: "Bearer".into(),
            expires_at: 1000 + 3600,
            lifetime: 3600,
        });
        assert!(fresh(&rec, 1000).is_some());
        assert!(fresh(&rec, 1000 + 3600 - 1).is_none());
    }
}
