//! `gw serve [--target T] [--port N]`: gw's local endpoint in the foreground, for IDEs and tools
//! gw does not start. One JSON line on stdout when ready (`base_url`, `key`,
//! `metadata_service_url`, `pid`, and with `--target`, the `env` that target's client needs),
//! then serves until SIGINT or SIGTERM and closes the port.
//!
//! Also home of the session-backed [`SessionSource`] every endpoint refreshes from.

use std::sync::Arc;

use crate::cli::{ServeArgs, StoreChoice};
use crate::config::Config;
use crate::endpoint::tokens::{Failure, TokenSource};
use crate::endpoint::{self, Running};
use crate::error::{UserError, exit, report};
use crate::exchange::DatabricksToken;
use crate::launch::{self, Credential, Input, Origin};
use crate::paths::Paths;
use crate::session::{self, Context, Request};
use crate::time::MinTtl;

/// Tokens for an endpoint: the profile's session, as `gw token` would get them (the profile's
/// lock, the store re-read, a browser sign-in at most — never a prompt nobody sees).
pub struct SessionSource {
    config: Config,
    profile: String,
    paths: Paths,
    store: StoreChoice,
}

impl TokenSource for SessionSource {
    fn token(&self, force: bool) -> Result<DatabricksToken, Failure> {
        let failed = |e: anyhow::Error| {
            let r = report(&e);
            if r.code == exit::LOGIN_REQUIRED {
                Failure::LoginRequired(r.line)
            } else {
                Failure::Failed(r.line)
            }
        };
        let opened = crate::token_store::open(
            self.store,
            &self.paths,
            crate::session::keyring_patience(true),
        )
        .map_err(|e| Failure::Failed(e.to_string()))?;
        let profile = self
            .config
            .profile(Some(&self.profile))
            .map_err(|e| failed(e.into()))?;
        let ctx = Context {
            config: &self.config,
            profile,
            paths: &self.paths,
            store: opened.store.as_ref(),
        };
        let min_ttl = if force {
            // Whatever is cached was refused: refresh.
            MinTtl::Exact(u64::MAX)
        } else {
            MinTtl::Default
        };
        session::obtain(
            &ctx,
            &Request::new(min_ttl, super::login_policy(false, true)),
        )
        .map_err(failed)
    }
}

/// Start the profile's local endpoint on `port` (0: ephemeral), beginning with `first`.
pub fn start_endpoint(
    ctx: &Context<'_>,
    store: StoreChoice,
    port: u16,
    first: DatabricksToken,
) -> anyhow::Result<Running> {
    let client =
        crate::http::Http::streaming_client(ctx.config.ca_file.as_deref()).map_err(|e| {
            UserError::config(
                e.to_string(),
                format!("fix `ca_file` in `{}`", ctx.config.path.display()),
            )
        })?;
    let source = Arc::new(SessionSource {
        config: ctx.config.clone(),
        profile: ctx.profile.name.clone(),
        paths: ctx.paths.clone(),
        store,
    });
    endpoint::start(&ctx.profile.databricks_host, port, client, first, source).map_err(|e| {
        let hint = match &e {
            endpoint::StartError::Bind { port, .. } if *port != 0 => {
                format!("port {port} is in use: choose another with `--port`, or leave it out for a free one")
            }
            _ => "check that this machine allows listening on 127.0.0.1".to_owned(),
        };
        UserError::failure(e.to_string(), hint).into()
    })
}

pub fn run(ctx: &Context<'_>, store: StoreChoice, args: &ServeArgs) -> anyhow::Result<u8> {
    let target = args.target;
    let model = match target {
        Some(t) => launch::model_for(t, ctx.profile)?,
        None => None,
    };
    let first = session::obtain(
        ctx,
        &Request::new(MinTtl::Default, super::login_policy(false, false)),
    )?;
    let running = start_endpoint(ctx, store, args.port.unwrap_or(0), first)?;
    let local = running.local();
    let mut line = serde_json::json!({
        "base_url": local.base_url.expose(),
        "key": local.key.expose(),
        "metadata_service_url": local.metadata_url.expose(),
        "pid": std::process::id(),
    });
    if let Some(t) = target {
        let surroundings = super::exec::Surroundings::read();
        let gw_exe = super::gw_exe();
        let origin = Origin {
            config_path: &ctx.config.path,
            store: store.as_str(),
            gw_exe: &gw_exe,
        };
        let plan = launch::plan(
            t,
            t.program.unwrap_or("env").into(),
            &Input {
                profile: ctx.profile,
                model,
                credential: Credential::Endpoint(&local),
                origin: &origin,
                args: &[],
                is_client: false,
                user: &surroundings.user_env(),
                overlay: None,
            },
        )?;
        let env: serde_json::Map<String, serde_json::Value> = plan
            .env
            .set
            .iter()
            .map(|(k, v)| (k.clone(), v.expose().into()))
            .collect();
        line["env"] = env.into();
        for note in &plan.notes {
            eprintln!("{note}");
        }
    }
    super::emit(&format!("{line}\n"))?;
    eprintln!(
        "gw: serving profile `{}` on 127.0.0.1:{} until Ctrl+C",
        ctx.profile.name,
        running.port()
    );
    wait_for_stop()?;
    running.stop();
    Ok(0)
}

/// Block until SIGINT or SIGTERM (Ctrl+C on Windows).
fn wait_for_stop() -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let mut term = signal(SignalKind::terminate())?;
            let mut hup = signal(SignalKind::hangup())?;
            tokio::select! {
                r = tokio::signal::ctrl_c() => r,
                _ = term.recv() => Ok(()),
                _ = hup.recv() => Ok(()),
            }
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c().await
        }
    })?;
    Ok(())
}
