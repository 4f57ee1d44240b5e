//! What can go wrong in a session, as data; [`SessionError::user_error`] is the one place it
//! becomes the line, hint and exit code a user sees.

use crate::advice::{Endpoint, advise};
use crate::config::{Config, Profile};
use crate::error::UserError;
use crate::idp::browser_login::BrowserLoginError;
use crate::idp::device_login::DeviceLoginError;
use crate::idp::discovery::DiscoveryError;
use crate::idp::id_token::IdTokenError;
use crate::token_endpoint::TokenError;
use crate::token_store::StoreError;

use super::decide::Why;

/// Why no token could be had.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("a sign-in is needed: {0}")]
    LoginRequired(Why),
    #[error("cannot lock the token cache: {0}")]
    Lock(#[source] std::io::Error),
    #[error("cannot read the token store: {0}")]
    Load(#[source] StoreError),
    #[error("cannot save tokens: {0}")]
    Save(#[source] StoreError),
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
    #[error("{0}")]
    Client(#[source] crate::http::HttpError),
    #[error("cannot load the identity provider's metadata: {0}")]
    Discovery(#[source] DiscoveryError),
    #[error("cannot load the identity provider's keys: {0}")]
    Keys(#[source] DiscoveryError),
    #[error("the ID token was refused: {0}")]
    IdToken(#[source] IdTokenError),
    #[error("the identity provider returned no ID token")]
    NoIdToken,
    #[error("the workspace returned no access token")]
    NoAccessToken,
    /// A refusal from the IdP or the workspace, read by [`advise`].
    #[error("{err}")]
    Refused { at: Endpoint, err: TokenError },
    #[error("sign-in failed: {0}")]
    Browser(#[source] BrowserLoginError),
    #[error("sign-in failed: {0}")]
    Device(#[source] DeviceLoginError),
}

impl SessionError {
    /// The error as the user reads it: one line, a hint, an exit code.
    pub fn user_error(self, config: &Config, profile: &Profile) -> UserError {
        let file = config.path.display();
        let name = &profile.name;
        match self {
            SessionError::LoginRequired(why) => UserError::login_required(
                format!("profile `{name}` needs an interactive sign-in: {why}"),
                "run `gw login` (or `gw login --device` on a machine without a browser)",
            ),
            SessionError::Lock(e) => UserError::failure(
                format!("cannot lock the token cache of profile `{name}`: {e}"),
                "check the permissions of gw's state directory (`gw config path --state-dir`)",
            ),
            SessionError::Load(StoreError::NeedsPerson { reason })
            | SessionError::Save(StoreError::NeedsPerson { reason }) => UserError::login_required(
                format!("profile `{name}`: {reason}"),
                crate::platform::keychain::HINT_GIVE_UP,
            ),
            e @ SessionError::Load(_) => UserError::failure(
                e.to_string(),
                "check the token store, or run `gw logout` and sign in again",
            ),
            e @ SessionError::Save(_) => UserError::failure(
                e.to_string(),
                "check free disk space and permissions of the token store (`gw status`)",
            ),
            e @ SessionError::Runtime(_) => {
                UserError::failure(e.to_string(), "this is a bug; please report it")
            }
            SessionError::Client(e) => {
                UserError::config(e.to_string(), format!("fix `ca_file` in `{file}`"))
            }
            SessionError::Discovery(e) => {
                let hint = match e {
                    DiscoveryError::IssuerMismatch { .. } => {
                        format!("set `idp.issuer` in `{file}` to the provider's exact issuer")
                    }
                    _ => "check the issuer in the config, your network and proxy (`HTTPS_PROXY`), then run `gw doctor`".to_owned(),
                };
                UserError::failure(
                    format!("cannot load the identity provider's metadata: {e}"),
                    hint,
                )
            }
            e @ SessionError::Keys(_) => {
                UserError::failure(e.to_string(), "check your network, then run `gw doctor`")
            }
            e @ SessionError::IdToken(_) => UserError::failure(
                e.to_string(),
                format!("check `idp.issuer` and `idp.client_id` in `{file}`, then run `gw login`"),
            ),
            e @ SessionError::NoIdToken => {
                UserError::failure(e.to_string(), "make sure `idp.scopes` includes `openid`")
            }
            e @ SessionError::NoAccessToken => UserError::failure(
                e.to_string(),
                "run `gw login` again; if it persists, ask your Databricks admin",
            ),
            SessionError::Refused { at, err } => advise(at, &err, profile).into_error(),
            SessionError::Browser(BrowserLoginError::Token(t)) => {
                advise(Endpoint::SignIn, &t, profile).into_error()
            }
            e @ SessionError::Browser(_) => UserError::failure(
                e.to_string(),
                "run `gw login` to try again (`gw login --device` if no browser can reach this machine)",
            ),
            SessionError::Device(DeviceLoginError::Token(t)) => {
                advise(Endpoint::SignIn, &t, profile).into_error()
            }
            e @ SessionError::Device(DeviceLoginError::Unsupported) => UserError::failure(
                e.to_string(),
                "sign in with the browser instead: `gw login`",
            ),
            e @ SessionError::Device(_) => {
                UserError::failure(e.to_string(), "run `gw login --device` to try again")
            }
        }
    }
}
