//! gw: sign in at the company IdP, exchange the ID token for a Databricks token (RFC 8693),
//! keep it fresh, and hand it to coding agents.

pub mod advice;
pub mod cli;
pub mod commands;
pub mod config;
pub mod diag;
pub mod endpoint;
pub mod env_vars;
pub mod error;
pub mod exchange;
pub mod http;
pub mod idp;
pub mod launch;
pub mod paths;
pub mod sanitize;
pub mod secret;
pub mod session;
pub mod time;
pub mod token_store;
pub mod usage;
