//! `gw exec`: run a command with the profile's credentials, wired for a target.
//!
//! Fails before any sign-in when the program is missing or the wiring cannot work (the
//! target's wiring is pure, so it is checked with a stand-in credential first). Then:
//! targets that refresh through `gw token` (or not at all) replace gw with the child
//! (execve); targets that use gw's local endpoint get it started first, the child runs
//! supervised, and the endpoint stops with it.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;

use crate::cli::StoreChoice;
use crate::error::UserError;
use crate::exchange::DatabricksToken;
use crate::launch::{self, Credential, Input, LocalEndpoint, Origin, Refresh, Target, UserEnv};
use crate::secret::Secret;
use crate::session::{self, Context, Request};
use crate::time::MinTtl;

pub fn run(
    ctx: &Context<'_>,
    store: StoreChoice,
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
            list: &crate::paths::list_dir,
        }
    }
}

/// Find the program, check the wiring, make sure the session is valid, then hand the process
/// over (or supervise it).
pub fn launch_target(
    ctx: &Context<'_>,
    store: StoreChoice,
    target: &'static Target,
    program: OsString,
    args: Vec<OsString>,
) -> anyhow::Result<u8> {
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
        store: store.as_str(),
        gw_exe: &gw_exe,
    };
    let overlay_dir = ctx.paths.state_dir.join("clients").join(target.name);
    let is_client = launch::is_client(target, &resolved);
    let input = |credential| Input {
        profile: ctx.profile,
        model,
        credential,
        origin: &origin,
        args: &args,
        is_client,
        user: &user,
        overlay: Some(&overlay_dir),
    };
    let (stand_in_token, stand_in_endpoint) = stand_ins();
    launch::plan(
        target,
        resolved.clone().into(),
        &input(match target.refresh {
            Refresh::Endpoint => Credential::Endpoint(&stand_in_endpoint),
            _ => Credential::Token(&stand_in_token),
        }),
    )?;
    let min_ttl = match target.refresh {
        Refresh::Helper { min_ttl } => MinTtl::Rule(min_ttl),
        Refresh::Once | Refresh::Endpoint => MinTtl::Default,
    };
    let token = session::obtain(
        ctx,
        &Request::new(min_ttl, super::login_policy(false, false)),
    )?;
    let fail_to_start = |err: std::io::Error| -> anyhow::Error {
        UserError::failure(
            format!("cannot run `{}`: {err}", program.to_string_lossy()),
            "check the command and its permissions",
        )
        .into()
    };
    let say = |plan: &launch::Plan| {
        for note in launch::not_client_note(target, &resolved)
            .iter()
            .chain(&plan.notes)
        {
            eprintln!("{note}");
        }
    };
    match target.refresh {
        Refresh::Once | Refresh::Helper { .. } => {
            let plan = launch::plan(
                target,
                resolved.clone().into(),
                &input(Credential::Token(&token)),
            )?;
            say(&plan);
            apply_overlay(&overlay_dir, &plan)?;
            let ended = launch::process::exec(launch::command(&plan)?).map_err(fail_to_start)?;
            Ok(launch::process::end_like(ended))
        }
        Refresh::Endpoint => {
            let running = super::serve::start_endpoint(ctx, store, 0, token)?;
            let local = running.local();
            let plan = launch::plan(
                target,
                resolved.clone().into(),
                &input(Credential::Endpoint(&local)),
            )?;
            say(&plan);
            apply_overlay(&overlay_dir, &plan)?;
            let ended = launch::process::supervise(launch::command(&plan)?).map_err(fail_to_start);
            running.stop();
            Ok(launch::process::end_like(ended?))
        }
    }
}

fn apply_overlay(dir: &std::path::Path, plan: &launch::Plan) -> anyhow::Result<()> {
    if plan.overlay.is_empty() {
        return Ok(());
    }
    launch::overlay::apply(dir, &plan.overlay).map_err(|e| {
        UserError::failure(
            format!("cannot prepare `{}`: {e}", dir.display()),
            "check free disk space and the permissions of gw's state directory (`gw config path --state-dir`)",
        )
        .into()
    })
}

/// A token and an endpoint that stand in for the real ones while the wiring is checked before
/// any sign-in (wiring errors never depend on them).
fn stand_ins() -> (DatabricksToken, LocalEndpoint) {
    (
        DatabricksToken {
            access_token: Secret::new(""),
            token_type: "Bearer".into(),
            expires_at: 0,
            lifetime: crate::exchange::DEFAULT_LIFETIME,
        },
        LocalEndpoint {
            base_url: Secret::new("http://127.0.0.1:0/k/stand-in"),
            key: Secret::new("stand-in"),
            metadata_url: Secret::new("http://127.0.0.1:0/k/stand-in/metadata"),
        },
    )
}
