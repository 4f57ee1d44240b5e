//! `gw env`: the environment a target would get, as shell statements or JSON.
//!
//! There is no child to outlive here: the environment holds one token (for targets that use
//! gw's local endpoint, the direct wiring with that token), and gw says until when it is valid.

use crate::cli::EnvArgs;
use crate::launch::{self, Credential, Input, Origin, shell};
use crate::session::{self, Context, Request};
use crate::time::MinTtl;

pub fn run(
    ctx: &Context<'_>,
    store: crate::cli::StoreChoice,
    args: &EnvArgs,
) -> anyhow::Result<u8> {
    let target = args.target;
    let model = launch::model_for(target, ctx.profile)?;
    let token = session::obtain(
        ctx,
        &Request::new(MinTtl::Default, super::login_policy(false, false)),
    )?;
    let surroundings = super::exec::Surroundings::read();
    let gw_exe = super::gw_exe();
    let origin = Origin {
        config_path: &ctx.config.path,
        store: store.as_str(),
        gw_exe: &gw_exe,
    };
    let program = target.program.unwrap_or("env");
    let plan = launch::plan(
        target,
        program.into(),
        &Input {
            profile: ctx.profile,
            model,
            credential: Credential::Token(&token),
            origin: &origin,
            args: &[],
            is_client: false,
            user: &surroundings.user_env(),
            overlay: None,
        },
    )?;
    for note in &plan.notes {
        eprintln!("{note}");
    }
    if target.program.is_some() {
        eprintln!(
            "note: `gw exec --target {}` also passes {} gw's command-line wiring",
            target.name,
            target.program.unwrap_or_default()
        );
    }
    super::emit(&shell::render(&plan.env, args.shell))?;
    Ok(0)
}
