//! `gw`: parse arguments, load the config (validated before anything else), open the store,
//! run the command, and exit with SPEC's codes. Only here does anything reach stdout.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{CommandFactory, Parser};

use gw::cli::{Cli, Command, ConfigCommand, ExecArgs, TokenArgs};
use gw::config::Config;
use gw::error::{UserError, exit, report};
use gw::idp::browser::{NoBrowser, OpenUrl, SystemBrowser};
use gw::idp::method::{self, Method};
use gw::paths::Paths;
use gw::session::{self, Context, Login, Request};
use gw::time::{now_unix, rfc3339};
use gw::token_store::{self, KeyLock};
use gw::{diag, launch};

fn main() -> ExitCode {
    let cli = Cli::parse();
    diag::set_level(cli.verbose);
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            let r = report(&err);
            eprintln!("error: {}", r.line);
            if let Some(hint) = r.hint {
                eprintln!("hint: {hint}");
            }
            ExitCode::from(r.code)
        }
    }
}

/// The only writer to stdout.
fn emit(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .context("cannot write to stdout")
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    // Commands that need no config.
    match &cli.command {
        Command::Completions { shell } => {
            let mut buf = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "gw", &mut buf);
            emit(&String::from_utf8_lossy(&buf))?;
            return Ok(0);
        }
        Command::Config(ConfigCommand::Path) => {
            let paths = Paths::resolve(cli.config.as_deref())?;
            emit(&format!("{}\n", paths.config.display()))?;
            return Ok(0);
        }
        _ => {}
    }
    // The config is validated before any store or network is touched.
    let paths = Paths::resolve(cli.config.as_deref())?;
    let config = Config::load(&paths.config)?;
    let profile = config.profile(cli.profile.as_deref())?;
    let opened = token_store::open(cli.store, &paths).map_err(|e| {
        UserError::failure(
            e.to_string(),
            "use `--store file` (or `GW_TOKEN_STORE=file`)",
        )
    })?;
    let ctx = Context {
        config: &config,
        profile,
        paths: &paths,
        store: opened.store.as_ref(),
    };
    match cli.command {
        Command::Login(args) => {
            let opener: &dyn OpenUrl = if args.no_browser {
                &NoBrowser
            } else {
                &SystemBrowser
            };
            let method = if args.no_browser {
                Method::Browser
            } else {
                login_method(args.device)
            };
            session::obtain(
                &ctx,
                &Request {
                    min_ttl: 0,
                    login: Login::Interactive { method, opener },
                    force_login: true,
                },
            )?;
            Ok(0)
        }
        Command::Token(args) => token(&ctx, &args),
        Command::Exec(args) => exec(&ctx, cli.store.as_str(), args),
        Command::Status(args) => status(&ctx, &opened.detail, args.json),
        Command::Logout => logout(&ctx),
        Command::Completions { .. } | Command::Config(_) => unreachable!("handled above"),
    }
}

/// Browser or device code for this machine; says why when it picks the device flow itself.
fn login_method(device_flag: bool) -> Method {
    let (method, reason) = method::choose(device_flag, &method::Signals::from_env());
    if let Some(why) = reason {
        eprintln!("Using the device code sign-in: {why} (set BROWSER to use a browser).");
    }
    method
}

fn token(ctx: &Context<'_>, args: &TokenArgs) -> anyhow::Result<u8> {
    if args.check {
        let fresh = session::cached(ctx, args.min_ttl, now_unix())?;
        return Ok(if fresh.is_some() { 0 } else { exit::FAILURE });
    }
    let login = if args.no_login {
        Login::Never
    } else {
        Login::Interactive {
            method: login_method(false),
            opener: &SystemBrowser,
        }
    };
    let t = session::obtain(
        ctx,
        &Request {
            min_ttl: args.min_ttl,
            login,
            force_login: false,
        },
    )?;
    if args.json {
        let body = serde_json::json!({
            "token": t.access_token.expose(),
            "token_type": t.token_type,
            "expires_in": t.expires_at.saturating_sub(now_unix()),
            "expires_at": rfc3339(t.expires_at),
        });
        emit(&format!("{body}\n"))?;
    } else {
        emit(&format!("{}\n", t.access_token.expose()))?;
    }
    Ok(0)
}

fn exec(ctx: &Context<'_>, store: &str, args: ExecArgs) -> anyhow::Result<u8> {
    let token = session::obtain(
        ctx,
        &Request {
            min_ttl: session::DEFAULT_MIN_TTL,
            login: Login::Interactive {
                method: login_method(false),
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
    let (program, rest) = args
        .command
        .split_first()
        .ok_or_else(|| UserError::config("no command given", "usage: gw exec -- CMD [ARGS...]"))?;
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

fn status(ctx: &Context<'_>, store_detail: &str, json: bool) -> anyhow::Result<u8> {
    let key = ctx.key();
    let rec = ctx
        .store
        .load(&key)
        .map_err(|e| UserError::failure(e.to_string(), "run `gw doctor`"))?;
    let now = now_unix();
    let identity = rec
        .as_ref()
        .and_then(|r| r.identity.as_ref())
        .map(|i| i.name.clone());
    let expires_at = rec
        .as_ref()
        .and_then(|r| r.databricks.as_ref())
        .map(|t| t.expires_at);
    let has_refresh = rec.as_ref().is_some_and(|r| r.refresh_token.is_some());
    let store = rec.as_ref().map(|_| ctx.store.kind().as_str());
    let location = ctx.store.location(&key);
    let detail = format!("{store_detail}: {location}");
    if json {
        let body = serde_json::json!({
            "profile": ctx.profile.name,
            "identity": identity,
            "expires_at": expires_at.map(rfc3339),
            "expires_in": expires_at.map(|e| e.saturating_sub(now)),
            "valid": expires_at.is_some_and(|e| e > now),
            "refresh_token": has_refresh,
            "store": store,
            "store_detail": detail,
            "databricks_host": ctx.profile.databricks_host,
            "issuer": ctx.profile.idp.issuer,
        });
        emit(&format!("{body}\n"))?;
        return Ok(0);
    }
    let mut out = format!(
        "profile:   {}\nworkspace: {}\n",
        ctx.profile.name, ctx.profile.databricks_host
    );
    match (&identity, expires_at) {
        (None, None) => out.push_str("signed in: no (run `gw login`)\n"),
        _ => {
            out.push_str(&format!(
                "identity:  {}\n",
                identity.as_deref().unwrap_or("unknown")
            ));
            if let Some(e) = expires_at {
                let when = if e > now {
                    format!("in {} min", (e - now) / 60)
                } else {
                    "expired".into()
                };
                out.push_str(&format!("expires:   {} ({when})\n", rfc3339(e)));
            }
            out.push_str(&format!(
                "refresh:   {}\n",
                if has_refresh {
                    "yes (silent refresh)"
                } else {
                    "no (next expiry needs `gw login`)"
                }
            ));
        }
    }
    out.push_str(&format!("store:     {detail}\n"));
    emit(&out)?;
    Ok(0)
}

fn logout(ctx: &Context<'_>) -> anyhow::Result<u8> {
    let key = ctx.key();
    let lock = KeyLock::acquire(
        &ctx.paths.state_dir.join("tokens"),
        &key,
        std::time::Duration::from_secs(10),
        || {},
    )
    .context("cannot lock the token cache")?;
    let removed = ctx.store.delete(&key, &lock).map_err(|e| {
        UserError::failure(e.to_string(), "remove the file by hand (see `gw status`)")
    })?;
    if removed {
        eprintln!("Signed out of profile `{}`.", ctx.profile.name);
    } else {
        eprintln!("Profile `{}` had no saved tokens.", ctx.profile.name);
    }
    Ok(0)
}
