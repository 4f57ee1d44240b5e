//! `opencode`: OpenCode on the gateway's Anthropic API.

use serde_json::json;

use super::{Credential, Input, ModelKey, Refresh, Target, Wiring};
use crate::env_vars as ev;
use crate::error::UserError;

pub static TARGET: Target = Target {
    name: "opencode",
    about: "OpenCode: a gw provider on the gateway's Anthropic API through gw's local endpoint",
    program: Some("opencode"),
    install: "install OpenCode: `npm install -g opencode-ai`",
    model: Some(ModelKey {
        key: "opencode_model",
        read: |p| p.opencode_model.as_deref(),
    }),
    refresh: Refresh::Endpoint,
    wire,
};

/// The provider id gw adds.
pub const PROVIDER: &str = "gw-databricks";

fn wire(input: &Input<'_>) -> Result<Wiring, UserError> {
    let mut w = Wiring {
        args: input.args.to_vec(),
        ..Wiring::default()
    };
    let model = input.model.unwrap_or_default();
    let key = match input.credential {
        Credential::Token(t) => {
            w.notes.push(super::generic::expiry_note(t, "OpenCode"));
            t.access_token.expose().to_owned()
        }
        Credential::Endpoint(e) => e.key.expose().to_owned(),
    };
    let config = json!({
        "provider": {
            PROVIDER: {
                "npm": "@ai-sdk/anthropic",
                "name": "Databricks AI Gateway (gw)",
                "options": {
                    "baseURL": format!("{}/ai-gateway/anthropic/v1", input.base()),
                    "apiKey": key,
                },
                "models": { model: {} },
            }
        },
        "model": format!("{PROVIDER}/{model}"),
    });
    w.env.secret(
        ev::OPENCODE_CONFIG_CONTENT,
        &crate::secret::Secret::new(config.to_string()),
    );
    Ok(w)
}
