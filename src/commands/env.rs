//! `gw env`: the environment a target would get, as shell statements or JSON.

use crate::cli::{EnvArgs, Target};
use crate::launch::{self, shell};
use crate::session::{self, Context, Request};
use crate::time::MinTtl;

pub fn run(ctx: &Context<'_>, store: &str, args: &EnvArgs) -> anyhow::Result<u8> {
    let token = session::obtain(
        ctx,
        &Request {
            min_ttl: MinTtl::Default,
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
    let (env, notes) = launch::target_env(args.target, ctx.profile, &token, &origin, &|k| {
        std::env::var(k).ok()
    })?;
    for note in notes {
        eprintln!("{note}");
    }
    if args.target == Target::Claude {
        eprintln!("note: `gw claude` also passes Claude Code `--settings` with gw's token helper");
    }
    super::emit(&shell::render(&env, args.shell))?;
    Ok(0)
}
