//! gw-admin: the workspace and account set-up gw needs (SPEC "gw-admin"): the serving
//! endpoint, its AI Gateway, who may query it, and the federation policy that trusts the
//! company IdP. A library so that the tests can drive each command in-process.

pub mod auth;
pub mod cli;
pub mod commands;
pub mod databricks;
pub mod error;
pub mod fleet;
pub mod hosts;
pub mod output;
