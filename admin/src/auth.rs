//! Who gw-admin acts as (SPEC "gw-admin", Auth).
//!
//! - Workspace APIs: `DATABRICKS_TOKEN` when set, else the gw session of the profile (cached,
//!   refreshed, or a browser sign-in, exactly as `gw token` would).
//! - Account APIs: `DATABRICKS_ACCOUNT_TOKEN` when set, else a Databricks OAuth sign-in at the
//!   account console: gw's PKCE engine with another descriptor (public client
//!   `databricks-cli`, scopes `all-apis offline_access`, redirect `http://localhost:8020`,
//!   trying 8021–8040 when busy), cached and refreshed by [`crate::account_session`]. The
//!   account console publishes no discovery document; its endpoints are
//!   `<account host>/oidc/accounts/<id>/v1/authorize` and `…/v1/token`.
//!
//! Tokens are [`Secret`]s from here on; none is ever printed, and none comes from argv.

use clap::ValueEnum as _;
use gw::cli::StoreChoice;
use gw::config::{IdpKind, IdpSettings, Ports, Redirect};
use gw::error::UserError;
use gw::idp::discovery::ProviderMetadata;
use gw::secret::Secret;
use gw::session::{self, Context, Request};
use gw::token_store;

use crate::databricks::seg;
use crate::hosts::GwSetup;

/// A workspace token; outranks the gw session.
pub const DATABRICKS_TOKEN: &str = "DATABRICKS_TOKEN";
/// An account admin's token; outranks the account sign-in.
pub const DATABRICKS_ACCOUNT_TOKEN: &str = "DATABRICKS_ACCOUNT_TOKEN";
/// Where the gw session's tokens are kept (as in gw).
pub const GW_TOKEN_STORE: &str = "GW_TOKEN_STORE";

/// The Databricks CLI's public OAuth client, registered for `http://localhost:8020`–`8040`.
pub const DATABRICKS_CLI_CLIENT: &str = "databricks-cli";

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
    let choice = std::env::var(GW_TOKEN_STORE)
        .ok()
        .and_then(|v| StoreChoice::from_str(&v, true).ok())
        .unwrap_or(StoreChoice::Auto);
    let opened = token_store::open(choice, &setup.paths).map_err(|e| {
        UserError::failure(
            e.to_string(),
            format!("set `{GW_TOKEN_STORE}=file`, or set `{DATABRICKS_TOKEN}`"),
        )
    })?;
    let ctx = Context {
        config,
        profile,
        paths: &setup.paths,
        store: opened.store.as_ref(),
    };
    let token = session::obtain(
        &ctx,
        &Request {
            min_ttl: gw::time::MinTtl::Default,
            login: gw::commands::login_policy(false, false),
            force_login: false,
        },
    )?;
    Ok(token.access_token)
}

/// The account console's OAuth endpoints, as the descriptor gw's PKCE engine takes.
pub fn account_oauth(account_host: &str, account_id: &str) -> (IdpSettings, ProviderMetadata) {
    let base = format!("{account_host}/oidc/accounts/{}", seg(account_id));
    let idp = IdpSettings {
        kind: IdpKind::Databricks,
        issuer: base.clone(),
        discovery_url: String::new(),
        client_id: DATABRICKS_CLI_CLIENT.to_owned(),
        scopes: vec!["all-apis".to_owned(), "offline_access".to_owned()],
        redirect: Redirect {
            template: "http://localhost:{port}".to_owned(),
            ports: Ports::List((8020..=8040).collect()),
        },
    };
    let meta = ProviderMetadata {
        issuer: base.clone(),
        authorization_endpoint: format!("{base}/v1/authorize"),
        token_endpoint: format!("{base}/v1/token"),
        jwks_uri: None,
        device_authorization_endpoint: None,
        authorization_response_iss_parameter_supported: false,
    };
    (idp, meta)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_account_descriptor_uses_the_databricks_cli_client_without_discovery() {
        let (idp, meta) = account_oauth("https://accounts.cloud.databricks.com", "abc-1");
        assert_eq!(
            meta.authorization_endpoint,
            "https://accounts.cloud.databricks.com/oidc/accounts/abc-1/v1/authorize"
        );
        assert_eq!(
            meta.token_endpoint,
            "https://accounts.cloud.databricks.com/oidc/accounts/abc-1/v1/token"
        );
        assert_eq!(idp.client_id, "databricks-cli");
        assert_eq!(idp.scopes, ["all-apis", "offline_access"]);
        assert_eq!(idp.redirect.uri(8020), "http://localhost:8020");
        assert_eq!(idp.redirect.ports, Ports::List((8020..=8040).collect()));
    }
}
