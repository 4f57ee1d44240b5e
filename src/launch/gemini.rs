//! `gemini`: Gemini CLI on the gateway's Gemini API.

use super::{Credential, Input, ModelKey, Refresh, Target, Wiring};
use crate::env_vars as ev;
use crate::error::UserError;

pub static TARGET: Target = Target {
    name: "gemini",
    about: "Gemini CLI: the gateway's Gemini API through gw's local endpoint",
    program: Some("gemini"),
    install: "install Gemini CLI: `npm install -g @google/gemini-cli`",
    model: Some(ModelKey {
        key: "gemini_model",
        read: |p| p.gemini_model.as_deref(),
    }),
    refresh: Refresh::Endpoint,
    wire,
};

fn wire(input: &Input<'_>) -> Result<Wiring, UserError> {
    let mut w = Wiring {
        args: input.args.to_vec(),
        ..Wiring::default()
    };
    w.env.set(
        ev::GOOGLE_GEMINI_BASE_URL,
        format!("{}/ai-gateway/gemini", input.base()),
    );
    match input.credential {
        Credential::Token(t) => {
            w.env.secret(ev::GEMINI_API_KEY, &t.access_token);
            w.notes.push(super::generic::expiry_note(t, "Gemini CLI"));
        }
        Credential::Endpoint(e) => w.env.secret(ev::GEMINI_API_KEY, &e.key),
    }
    w.env.set(ev::GEMINI_API_KEY_AUTH_MECHANISM, "bearer");
    w.env.set(ev::GEMINI_DEFAULT_AUTH_TYPE, "gemini-api-key");
    if let Some(m) = input.model {
        w.env.set(ev::GEMINI_MODEL, m);
    }
    for name in [ev::GOOGLE_API_KEY, ev::GOOGLE_GENAI_USE_VERTEXAI] {
        w.env
            .remove_noting(&mut w.notes, name, "Gemini CLI", input.user);
    }
    Ok(w)
}
