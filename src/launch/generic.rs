//! `generic` (the default): any program gets `DATABRICKS_HOST` and `DATABRICKS_TOKEN`. Nothing
//! refreshes the token while the program runs, so gw says when it expires.

use super::{Input, Refresh, Target, Wiring};
use crate::env_vars as ev;
use crate::error::UserError;
use crate::exchange::DatabricksToken;

pub static TARGET: Target = Target {
    name: "generic",
    about: "Any program: DATABRICKS_HOST and DATABRICKS_TOKEN (one token, not refreshed)",
    program: None,
    install: "",
    model: None,
    refresh: Refresh::Once,
    wire,
};

fn wire(input: &Input<'_>) -> Result<Wiring, UserError> {
    let token = one_token(input)?;
    let mut w = Wiring {
        args: input.args.to_vec(),
        ..Wiring::default()
    };
    w.env.secret(ev::DATABRICKS_TOKEN, &token.access_token);
    w.notes.push(expiry_note(token, "this program"));
    Ok(w)
}

/// The token of a target whose child holds one (never the local endpoint).
pub fn one_token<'a>(input: &Input<'a>) -> Result<&'a DatabricksToken, UserError> {
    match input.credential {
        super::Credential::Token(t) => Ok(t),
        super::Credential::Endpoint(_) => Err(UserError::failure(
            "internal error: this target takes a token, not gw's local endpoint",
            "this is a bug; please report it",
        )),
    }
}

/// "The token is valid until …": said when a child gets one token it cannot refresh.
pub fn expiry_note(token: &DatabricksToken, who: &str) -> String {
    format!(
        "note: the Databricks token {who} gets is valid until {} and is not refreshed while it runs",
        crate::time::rfc3339(token.expires_at)
    )
}
