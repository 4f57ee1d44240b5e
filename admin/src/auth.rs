//! Who gw-admin acts as (SPEC "gw-admin", Auth).
//!
//! - Workspace APIs: `DATABRICKS_TOKEN` when set, else the gw session of the profile (cached,
//!   refreshed, or a browser sign-in, exactly as `gw token` would).
//! - Account APIs: `DATABRICKS_ACCOUNT_TOKEN` when set, else a Databricks OAuth sign-in at the
//!   account console: gw's PKCE engine with another descriptor (public client
//!   `databricks-cli`, scopes `all-apis offline_access`, redirect `http://localhost:8020`,
//!   trying 8021–8040 when busy), kept in gw's token store and refreshed silently. The
//!   account console publishes no discovery document; its
//!   endpoints are `<account host>/oidc/accounts/<id>/v1/authorize` and `…/v1/token`.
//!
//! Tokens are [`Secret`]s from here on; none is ever printed, and none comes from argv.

use gw::api::{self, Http, Secret, UserError};

use crate::hosts::GwSetup;

/// A workspace token; outranks the gw session.
pub const DATABRICKS_TOKEN: &str = "DATABRICKS_TOKEN";
/// An account admin's token; outranks the account sign-in.
pub const DATABRICKS_ACCOUNT_TOKEN: &str = "DATABRICKS_ACCOUNT_TOKEN";

/// A non-empty environment variable.
pub fn env_token(name: &str) -> Option<Secret> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .map(|v| Secret::new(v.trim()))
}

/// The workspace token.
///
/// 1. `DATABRICKS_TOKEN` → it.
/// 2. Else the profile's gw session, which must be for `host`: a token for another workspace
///    would only earn a 401 later.
///
/// Runs gw's own runtime when it signs in, so call it outside any async runtime.
pub fn workspace_token(
    host: &str,
    setup: &GwSetup,
    profile: Option<&str>,
) -> anyhow::Result<Secret> {
    if let Some(t) = env_token(DATABRICKS_TOKEN) {
        return Ok(t);
    }
    let profile = setup.profile(profile).map_err(|e| {
        UserError::config(
            format!("no workspace token: `{DATABRICKS_TOKEN}` is not set and {}", e.message),
            format!("set `{DATABRICKS_TOKEN}` to a workspace admin's token, or set up gw (`gw config init`, `gw login`)"),
        )
    })?;
    if profile.databricks_host != host {
        return Err(UserError::config(
            format!(
                "profile `{}` signs in to `{}`, not `{host}`",
                profile.name, profile.databricks_host
            ),
            format!("set `{DATABRICKS_TOKEN}` for `{host}`, or choose that workspace's profile with `--profile`"),
        )
        .into());
    }
    let config = setup.config.as_ref().expect("a profile implies a config");
    api::session_token(config, profile, &setup.paths, api::store_from_env())
}

/// The account token.
///
/// 1. `DATABRICKS_ACCOUNT_TOKEN` → it; nothing is read or kept.
/// 2. Else the account console session, kept in gw's token store (keyed by the console, the
///    account and the client) and refreshed silently: a browser sign-in only when there is no
///    saved one or its refresh token is refused.
pub async fn account_token(
    http: &Http,
    paths: &api::Paths,
    account_host: &str,
    account_id: &str,
) -> anyhow::Result<Secret> {
    if let Some(t) = env_token(DATABRICKS_ACCOUNT_TOKEN) {
        return Ok(t);
    }
    let client = api::databricks_account_client(account_host, account_id);
    let label = format!("the account console `{account_host}` (account {account_id})");
    api::client_token(http, &client, paths, api::store_from_env(), &label)
        .await
        .map_err(|e| {
            UserError::failure(
                format!("no account token: {e:#}"),
                format!(
                    "check `--account-host` and `--account-id`, or set `{DATABRICKS_ACCOUNT_TOKEN}` to an account admin's token"
                ),
            )
            .into()
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_account_client_is_the_databricks_cli_client_without_discovery() {
        let c =
            gw::api::databricks_account_client("https://accounts.cloud.databricks.com", "abc-1");
        assert_eq!(
            c.authorization_endpoint,
            "https://accounts.cloud.databricks.com/oidc/accounts/abc-1/v1/authorize"
        );
        assert_eq!(
            c.token_endpoint,
            "https://accounts.cloud.databricks.com/oidc/accounts/abc-1/v1/token"
        );
        assert_eq!(c.client_id, "databricks-cli");
        assert_eq!(c.scopes, ["all-apis", "offline_access"]);
        let odd = gw::api::databricks_account_client("https://a.example", "x/../y");
        assert!(
            odd.token_endpoint
                .ends_with("/oidc/accounts/x%2F..%2Fy/v1/token"),
            "one path segment: {}",
            odd.token_endpoint
        );
    }
}
