//! gw: sign in at the company IdP, exchange the ID token for a Databricks token (RFC 8693),
//! keep it fresh, and hand it to coding agents.
//!
//! Two faces: [`api`], what other programs (gw-admin) build on, and [`main`], the `gw`
//! program. The command-line layer and the launchers are the crate's own; the remaining
//! modules are public only so this repository's integration tests and fuzz targets can reach
//! what they test — they are not an API.

pub mod api;
pub(crate) mod cli;
pub(crate) mod commands;
pub(crate) mod launch;

pub use commands::main;

#[doc(hidden)]
pub mod advice;
#[doc(hidden)]
pub mod config;
#[doc(hidden)]
pub mod diag;
#[doc(hidden)]
pub mod endpoint;
#[doc(hidden)]
pub mod env_vars;
#[doc(hidden)]
pub mod error;
#[doc(hidden)]
pub mod exchange;
#[doc(hidden)]
pub mod http;
#[doc(hidden)]
pub mod idp;
#[doc(hidden)]
pub mod paths;
#[doc(hidden)]
pub mod platform;
#[doc(hidden)]
pub mod sanitize;
#[doc(hidden)]
pub mod secret;
#[doc(hidden)]
pub mod session;
#[doc(hidden)]
pub mod time;
#[doc(hidden)]
pub mod token_endpoint;
#[doc(hidden)]
pub mod token_store;
pub mod usage;
