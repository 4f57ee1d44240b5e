//! `gw exec`: run a command with the profile's credentials, replacing gw (Unix).

use std::ffi::OsString;

use crate::cli::Target;
use crate::error::UserError;
use crate::launch;
use crate::session::{self, Context, Request};
use crate::time::MinTtl;

pub fn run(
    ctx: &Context<'_>,
    store: &str,
    target: Target,
    command: Vec<OsString>,
) -> anyhow::Result<u8> {
    let (program, rest) = command
        .split_first()
        .ok_or_else(|| UserError::config("no command given", "usage: gw exec -- CMD [ARGS...]"))?;
    launch_target(ctx, store, target, program.clone(), rest.to_vec())
}

/// Find the program, make sure the session is valid, then hand the process over.
pub fn launch_target(
    ctx: &Context<'_>,
    store: &str,
    target: Target,
    program: OsString,
    args: Vec<OsString>,
) -> anyhow::Result<u8> {
    // Fail before any sign-in when the program is not there.
    let Some(resolved) = super::resolve_program(&program) else {
        return Err(UserError::failure(
            format!(
                "cannot run `{}`: not found on PATH",
                program.to_string_lossy()
            ),
            launch::install_hint(target, &program),
        )
        .into());
    };
    let min_ttl = if target == Target::Claude {
        MinTtl::ClaudeHelper
    } else {
        MinTtl::Default
    };
    let token = session::obtain(
        ctx,
        &Request {
            min_ttl,
            login: super::login_policy(false, false),
            force_login: false,
        },
    )?;
    let gw_exe = super::gw_exe();
    let origin = launch::Origin {
        config_path: &ctx.config.path,
        store,
        gw_exe: &gw_exe,
    };
    let plan = launch::plan(
        target,
        ctx.profile,
        &token,
        &origin,
        resolved.into(),
        args,
        &|k| std::env::var(k).ok(),
    )?;
    for note in &plan.notes {
        eprintln!("{note}");
    }
    let err = launch::exec(launch::command(&plan));
    Err(UserError::failure(
        format!("cannot run `{}`: {err}", program.to_string_lossy()),
        "check the command and its permissions",
    )
    .into())
}
