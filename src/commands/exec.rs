//! `gw exec`: run a command with the profile's credentials, replacing gw (Unix).

use crate::cli::ExecArgs;
use crate::error::UserError;
use crate::idp::browser::SystemBrowser;
use crate::launch;
use crate::session::{self, Context, Login, Request};

pub fn run(ctx: &Context<'_>, store: &str, args: ExecArgs) -> anyhow::Result<u8> {
    let (program, rest) = args
        .command
        .split_first()
        .ok_or_else(|| UserError::config("no command given", "usage: gw exec -- CMD [ARGS...]"))?;
    let token = session::obtain(
        ctx,
        &Request {
            min_ttl: None,
            login: Login::Interactive {
                method: super::login_method(false),
                opener: &SystemBrowser,
            },
            force_login: false,
        },
    )?;
    let origin = launch::Origin {
        config_path: &ctx.config.path,
        store,
    };
    let env = launch::child_env(args.target, ctx.profile, &token, &origin);
    let err = launch::exec(launch::command(program, rest, &env));
    let name = program.to_string_lossy();
    Err(if err.kind() == std::io::ErrorKind::NotFound {
        UserError::failure(
            format!("cannot run `{name}`: not found"),
            format!("install `{name}` or check that it is on PATH"),
        )
    } else {
        UserError::failure(
            format!("cannot run `{name}`: {err}"),
            "check the command and its permissions",
        )
    }
    .into())
}
