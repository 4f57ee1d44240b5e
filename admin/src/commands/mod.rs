//! The commands. Each is a plain async function with its decision list written on it, and a
//! pure "desired vs current → what to change" function that the unit tests pin down.

pub mod configure_gateway;
pub mod export;
pub mod fleet;
pub mod grant;
pub mod setup_endpoint;
pub mod setup_federation;
pub mod show;
pub mod usage;

use serde_json::Value;

/// What a command did (or, in a dry run, would do).
#[derive(Debug)]
pub struct Outcome {
    /// Whether anything was written (in a dry run: would be).
    pub changed: bool,
    /// The human summary, one line per item.
    pub lines: Vec<String>,
    /// The `--json` document.
    pub json: Value,
}

impl Outcome {
    /// The human summary as text.
    pub fn text(&self) -> String {
        let mut s = self.lines.join("\n");
        s.push('\n');
        s
    }
}

/// The placeholder a dry run prints where an id would come from a GET it did not send.
pub const DRY_RUN_ID: &str = "ENDPOINT_ID";
