//! `databricks`: the Databricks CLI, the SDKs (Python, Go, Java, JS) and the Terraform provider.
//!
//! They ask gw's local endpoint for tokens through their `metadata-service` auth
//! (`DATABRICKS_AUTH_TYPE=metadata-service`, `DATABRICKS_METADATA_SERVICE_URL`), so a client
//! outlives any one token; `gw env` (no endpoint) gives one token with `DATABRICKS_AUTH_TYPE=pat`.
//! An explicit auth type makes the SDKs ignore every other method, and the inherited variables
//! of those methods (a client secret, an Azure service principal, a `~/.databrickscfg` profile
//! choice left in the shell) are removed as well, with a note: the child's credential is gw's.

use super::{Credential, Input, Refresh, Target, Wiring};
use crate::env_vars as ev;
use crate::error::UserError;

pub static TARGET: Target = Target {
    name: "databricks",
    about: "The Databricks CLI, SDKs and Terraform: metadata-service auth through gw's local endpoint",
    program: None,
    install: "install the Databricks CLI (https://docs.databricks.com/dev-tools/cli/install) or an SDK (`pip install databricks-sdk`)",
    model: None,
    refresh: Refresh::Endpoint,
    wire,
};

/// Inherited variables that would choose or feed another authentication method.
const OTHER_AUTH: &[&str] = &[
    ev::DATABRICKS_TOKEN,
    "DATABRICKS_CONFIG_PROFILE",
    "DATABRICKS_CONFIG_FILE",
    "DATABRICKS_CLIENT_ID",
    "DATABRICKS_CLIENT_SECRET",
    "DATABRICKS_USERNAME",
    "DATABRICKS_PASSWORD",
    "DATABRICKS_GOOGLE_SERVICE_ACCOUNT",
    "GOOGLE_CREDENTIALS",
    "DATABRICKS_OIDC_TOKEN_ENV",
    "DATABRICKS_TOKEN_AUDIENCE",
];

/// Whole families of such variables (Azure service principals and managed identities).
const OTHER_AUTH_PREFIXES: &[&str] = &["DATABRICKS_AZURE_", "ARM_"];

fn wire(input: &Input<'_>) -> Result<Wiring, UserError> {
    let mut w = Wiring {
        args: input.args.to_vec(),
        ..Wiring::default()
    };
    let mut notes = Vec::new();
    let inherited = input.user.vars.keys().filter(|k| {
        OTHER_AUTH_PREFIXES.iter().any(|p| k.starts_with(p)) && !OTHER_AUTH.contains(&k.as_str())
    });
    let names: Vec<String> = OTHER_AUTH
        .iter()
        .map(|s| (*s).to_owned())
        .chain(inherited.cloned())
        .collect();
    match input.credential {
        Credential::Endpoint(e) => {
            w.env.set(ev::DATABRICKS_AUTH_TYPE, "metadata-service");
            w.env
                .secret(ev::DATABRICKS_METADATA_SERVICE_URL, &e.metadata_url);
        }
        Credential::Token(t) => {
            w.env.set(ev::DATABRICKS_AUTH_TYPE, "pat");
            w.env.secret(ev::DATABRICKS_TOKEN, &t.access_token);
            notes.push(super::generic::expiry_note(t, "this program"));
        }
    }
    for name in &names {
        w.env
            .remove_noting(&mut w.notes, name, "the Databricks client", input.user);
    }
    for name in [
        ev::DATABRICKS_AUTH_TYPE,
        ev::DATABRICKS_METADATA_SERVICE_URL,
    ] {
        if input.user.var(name).is_some() {
            w.notes.push(format!(
                "note: replacing the inherited {name}: the Databricks client authenticates through gw"
            ));
        }
    }
    w.notes.extend(notes);
    Ok(w)
}
