//! What the admin sees when something fails: one `error:` line, one `hint:` line, an exit code.
//!
//! A [`UserError`] in the chain decides (as in gw: 2 for usage and config, 1 otherwise); else
//! an [`ApiError`] gives its per-status hint and exit 1; else exit 1 with a generic hint.

use gw::api::{Report, UserError, exit};

use crate::databricks::ApiError;

/// Decide what to print for an error chain.
pub fn report(err: &anyhow::Error) -> Report {
    if err.chain().any(|e| e.is::<UserError>()) {
        return gw::api::report(err);
    }
    let line = format!("{err:#}").replace('\n', " ");
    let hint = match err.chain().find_map(|e| e.downcast_ref::<ApiError>()) {
        Some(api) => api.hint(),
        None => "add `--dry-run` to see the requests gw-admin would send".to_owned(),
    };
    Report {
        line,
        hint: Some(hint),
        code: exit::FAILURE,
    }
}
