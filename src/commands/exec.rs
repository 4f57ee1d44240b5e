//! `gw exec`: run a command with the profile's credentials, wired for a target.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;

use crate::error::UserError;
use crate::launch::{self, Credential, Input, Origin, Refresh, Target, UserEnv};
use crate::session::{self, Context, Request};
use crate::time::MinTtl;

pub fn run(
    ctx: &Context<'_>,
    store: &str,
    target: &'static Target,
    command: Vec<OsString>,
) -> anyhow::Result<u8> {
    let (program, rest) = command
        .split_first()
        .ok_or_else(|| UserError::config("no command given", "usage: gw exec -- CMD [ARGS...]"))?;
    launch_target(ctx, store, target, program.clone(), rest.to_vec())
}

/// The user's surroundings, read once: what the child would inherit.
pub struct Surroundings {
    vars: BTreeMap<String, String>,
    home: Option<PathBuf>,
    cwd: PathBuf,
}

impl Surroundings {
    pub fn read() -> Surroundings {
        Surroundings {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
            home: directories::BaseDirs::new().map(|b| b.home_dir().to_owned()),
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
        }
    }

    pub fn user_env(&self) -> UserEnv<'_> {
        UserEnv {
            vars: &self.vars,
            home: self.home.as_deref(),
            cwd: &self.cwd,
            read: &crate::paths::read_user_file,
        }
    }
}

/// Find the program, check the wiring, make sure the session is valid, then hand the process
/// over.
pub fn launch_target(
    ctx: &Context<'_>,
    store: &str,
    target: &'static Target,
    program: OsString,
    args: Vec<OsString>,
) -> anyhow::Result<u8> {
    // Fail before any sign-in when the program is not there or the wiring cannot work.
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
    let model = launch::model_for(target, ctx.profile)?;
    let surroundings = Surroundings::read();
    let user = surroundings.user_env();
    let gw_exe = super::gw_exe();
    let origin = Origin {
        config_path: &ctx.config.path,
        store,
        gw_exe: &gw_exe,
    };
    let is_client = launch::is_client(target, &resolved);
    let input = |credential| Input {
        profile: ctx.profile,
        model,
        credential,
        origin: &origin,
        args: &args,
        is_client,
        user: &user,
    };
    let stand_in = placeholder();
    launch::plan(
        target,
        resolved.clone().into(),
        &input(Credential::Token(&stand_in)),
    )?;
    let min_ttl = match target.refresh {
        Refresh::Helper { min_ttl } => MinTtl::Rule(min_ttl),
        Refresh::Once | Refresh::Endpoint => MinTtl::Default,
    };
    let token = session::obtain(
        ctx,
        &Request {
            min_ttl,
            login: super::login_policy(false, false),
            force_login: false,
        },
    )?;
    let resolved_path = resolved.clone();
    let plan = launch::plan(target, resolved.into(), &input(Credential::Token(&token)))?;
    for note in launch::not_client_note(target, &resolved_path)
        .iter()
        .chain(&plan.notes)
    {
        eprintln!("{note}");
    }
    let err = launch::exec(launch::command(&plan));
    Err(UserError::failure(
        format!("cannot run `{}`: {err}", program.to_string_lossy()),
        "check the command and its permissions",
    )
    .into())
}

/// A token that stands in for the real one while the wiring is checked before any sign-in
/// (wiring errors never depend on the token).
fn placeholder() -> crate::exchange::DatabricksToken {
    crate::exchange::DatabricksToken {
        access_token: crate::secret::Secret::new(""),
        token_type: "Bearer".into(),
        expires_at: 0,
        lifetime: crate::exchange::DEFAULT_LIFETIME,
    }
}
