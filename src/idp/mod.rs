//! Signing in at the identity provider: discovery, keys, the browser and device flows,
//! refresh, and ID token validation.

pub mod browser;
pub mod browser_login;
pub mod device_login;
pub mod discovery;
pub mod id_token;
pub mod loopback;
pub mod method;
pub mod pkce;
pub mod token_endpoint;
