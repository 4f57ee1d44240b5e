//! `gw claude [ARGS...]` (alias `claude-db`): `gw exec --target claude -- claude ARGS...`, with
//! Claude Code from `$GW_CLAUDE_BIN` or PATH.

use std::ffi::OsString;

use crate::env_vars;
use crate::session::Context;

pub fn run(
    ctx: &Context<'_>,
    store: crate::cli::StoreChoice,
    args: Vec<OsString>,
) -> anyhow::Result<u8> {
    let program = std::env::var_os(env_vars::GW_CLAUDE_BIN)
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "claude".into());
    super::exec::launch_target(ctx, store, &crate::launch::claude::TARGET, program, args)
}
