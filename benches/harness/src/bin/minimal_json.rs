//! The yardstick for `gw token`'s warm path: the smallest honest program that does the same
//! work — read one JSON file, parse it with serde_json, print one string field and a newline.
//!
//! `minimal_json FILE` prints `databricks.access_token` of FILE (a gw token record), or the
//! first string it finds at the top level of any other JSON object. `scripts/bench` times it
//! side by side with `gw token` (see BENCHMARKS.md).

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: minimal_json FILE (used by scripts/bench, see BENCHMARKS.md)");
        return ExitCode::from(2);
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", path.to_string_lossy());
            return ExitCode::FAILURE;
        }
    };
    let value: serde_json::Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {}: not JSON: {e}", path.to_string_lossy());
            return ExitCode::FAILURE;
        }
    };
    let field = value
        .pointer("/databricks/access_token")
        .and_then(|v| v.as_str())
        .or_else(|| value.as_object()?.values().find_map(|v| v.as_str()))
        .unwrap_or_default();
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{field}").and_then(|()| out.flush()).is_err() {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
