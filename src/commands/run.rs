//! `gw` as a program: parse arguments, load the config (validated before anything else),
//! open the store, run the command, and exit with SPEC's codes. (`src/main.rs` only calls
//! [`main`].)

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use super::emit;
use crate::cli::{Cli, Command, ConfigCommand, StoreChoice};
use crate::commands;
use crate::config::Config;
use crate::diag;
use crate::error::{UserError, report};
use crate::paths::Paths;
use crate::session::Context;
use crate::token_store;

pub fn main() -> ExitCode {
    quiet_panics();
    let cli = Cli::parse_from(commands::claude::as_invoked(std::env::args_os().collect()));
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

/// A panic prints where it happened, never its message: a message could hold a token.
fn quiet_panics() {
    std::panic::set_hook(Box::new(|info| {
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "error: gw hit an internal error{at} (its details are withheld: they could hold a secret)"
        );
        eprintln!(
            "hint: this is a bug; please report it with the command you ran and the output of `gw -vv doctor`"
        );
    }));
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
        Command::Config(ConfigCommand::Path(args)) => {
            let paths = Paths::resolve(cli.config.as_deref())?;
            let path = match (args.state_dir, args.cache_dir) {
                (true, _) => &paths.state_dir,
                (_, true) => &paths.cache_dir,
                _ => &paths.config,
            };
            emit(&format!("{}\n", path.display()))?;
            return Ok(0);
        }
        Command::Config(ConfigCommand::Init(args)) => {
            let paths = Paths::resolve(cli.config.as_deref())?;
            return commands::config_init::run(&paths, cli.profile.as_deref(), args);
        }
        _ => {}
    }
    // The config is validated before any store or network is touched.
    let paths = Paths::resolve(cli.config.as_deref())?;
    let config = Config::load(&paths.config)?;
    let profile = match &cli.command {
        // `logout --all` needs no profile to be selectable.
        Command::Logout(a) if a.all => config.profiles.values().next().ok_or_else(|| {
            UserError::config(
                format!("`{}` has no profile", config.path.display()),
                "nothing to sign out of",
            )
        })?,
        _ => config.profile(cli.profile.as_deref())?,
    };
    let unattended =
        matches!(&cli.command, Command::Token(t) if t.consumer.is_some() || t.no_login);
    let patience = crate::session::keyring_patience(unattended);
    let opened = match token_store::open(cli.store, &paths, patience) {
        Ok(o) => o,
        // `gw doctor` reports an unusable keyring as a failed check instead.
        Err(_) if matches!(cli.command, Command::Doctor(_)) => {
            token_store::open(StoreChoice::File, &paths, patience)?
        }
        Err(e) => {
            return Err(UserError::failure(
                e.to_string(),
                "unlock the keyring or start a Secret Service (e.g. gnome-keyring), or use `--store file`",
            )
            .into());
        }
    };
    let ctx = Context {
        config: &config,
        profile,
        paths: &paths,
        store: opened.store.as_ref(),
    };
    match cli.command {
        Command::Login(args) => commands::login::run(&ctx, &args),
        Command::Token(args) => commands::token::run(&ctx, &args),
        Command::Exec(args) => commands::exec::run(&ctx, cli.store, args.target, args.command),
        Command::Claude { args } => commands::claude::run(&ctx, cli.store, args),
        Command::Env(args) => commands::env::run(&ctx, cli.store, &args),
        Command::Serve(args) => commands::serve::run(&ctx, cli.store, &args),
        Command::Status(args) => commands::status::run(&ctx, &opened.detail, args.json),
        Command::Usage(args) => commands::usage::run(&ctx, &args),
        Command::Logout(args) if args.all => commands::logout::run_all(&ctx),
        Command::Logout(_) => commands::logout::run(&ctx),
        Command::Doctor(args) => commands::doctor::run(&ctx, cli.store, args.json, args.offline),
        Command::Completions { .. } | Command::Config(_) => unreachable!("handled above"),
    }
}
