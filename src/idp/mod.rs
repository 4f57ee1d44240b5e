//! Signing in at the identity provider: discovery, keys, the browser and device flows,
//! refresh, and ID token validation. The token endpoint's requests and answers, which the
//! Databricks exchange shares, are [`crate::token_endpoint`].

pub mod browser;
pub mod browser_login;
pub mod device_login;
pub mod discovery;
pub mod id_token;
pub mod loopback;
pub mod method;
pub mod pkce;
