//! Command-line interface: clap types only, no logic. Each `///` is the help text.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::env_vars;
use crate::launch::Target;
pub use crate::token_store::StoreChoice;

/// Sign in with your company identity and run coding agents against a Databricks gateway.
///
/// gw signs you in at your identity provider (browser, or device code over SSH), exchanges
/// the ID token for a short-lived Databricks token, keeps it in the OS keyring (or a private
/// file) and refreshes it silently. Start with `gw login`, then `gw claude` (alias `claude-db`).
#[derive(Debug, Parser)]
#[command(
    name = "gw",
    version,
    propagate_version = true,
    max_term_width = 100,
    after_help = "Exit codes: 0 success; 1 failure; 2 usage or config error; 3 sign-in needed but \
                  not allowed (--no-login, or no way to prompt); after exec, the command's own.\n\
                  Config: `gw config path` shows the file; config.example.toml documents every key."
)]
pub struct Cli {
    /// Profile to use [default: `default_profile`, else the only profile, else `default`]
    #[arg(long, global = true, env = env_vars::GW_PROFILE, value_name = "NAME")]
    pub profile: Option<String>,

    /// Config file [default: $GW_CONFIG, else the user config dir's gw/config.toml]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Where tokens are kept: the OS keyring with a file fallback, only the keyring, or only a file
    #[arg(long, global = true, env = env_vars::GW_TOKEN_STORE, value_parser = store_choices(), default_value = "auto", value_name = "STORE")]
    pub store: StoreChoice,

    /// Print diagnostics on stderr (-v decisions, -vv details); never prints a secret
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

/// `--store`: each of [`StoreChoice`]'s names, with its help.
fn store_choices() -> impl clap::builder::TypedValueParser<Value = StoreChoice> {
    use clap::builder::TypedValueParser;
    let names = StoreChoice::ALL
        .iter()
        .map(|c| clap::builder::PossibleValue::new(c.as_str()).help(c.about()));
    clap::builder::PossibleValuesParser::new(names)
        .map(|name: String| StoreChoice::from_name(&name).expect("a listed store"))
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sign in now (browser, or device code); prints who signed in and until when
    Login(LoginArgs),
    /// Print a valid Databricks token on stdout (for scripts and credential helpers)
    ///
    /// Returns the cached token when it has at least --min-ttl seconds left, else refreshes
    /// silently, else signs in (unless --no-login). Prints the bare token and a newline.
    Token(TokenArgs),
    /// Run a command wired to the gateway for a target (default: DATABRICKS_HOST and DATABRICKS_TOKEN)
    ///
    /// Every target gets DATABRICKS_HOST, GW_EXEC_PROFILE, GW_CONFIG and GW_TOKEN_STORE. Targets
    /// that refresh through `gw token` (claude, codex) or not at all (generic) replace gw with the
    /// command (Unix). Targets without a refresh hook (gemini, opencode, databricks) talk to gw's
    /// local endpoint on 127.0.0.1, which keeps tokens fresh for as long as the command runs; the
    /// command then runs as gw's child (Ctrl+C reaches it) and its exit code is gw's.
    Exec(ExecArgs),
    /// Start Claude Code wired to the Databricks gateway (the `claude-db` alias)
    ///
    /// Runs `claude` from PATH (or $GW_CLAUDE_BIN) with ANTHROPIC_BASE_URL, the profile's
    /// models and the coding-agent header, and passes `--settings` with a token helper
    /// (`gw token --for claude`) so the session outlives every token. Your own `--settings`
    /// is merged in; ~/.claude/settings.json is not touched. Arguments go to Claude Code.
    Claude {
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "ARGS"
        )]
        args: Vec<OsString>,
    },
    /// Print the environment a target would get (with one token), as shell statements or JSON
    Env(EnvArgs),
    /// Run gw's local endpoint in the foreground, for IDEs and tools gw does not start
    ///
    /// Forwards model traffic to the profile's workspace with fresh tokens and answers the
    /// Databricks SDKs' metadata-service requests, on 127.0.0.1. Prints one JSON line when
    /// ready ({"base_url","key","metadata_service_url","pid"}, and "env" with --target), then
    /// serves until Ctrl+C or SIGTERM. Every request must carry the key (in the URL path of
    /// base_url, or as the client's API key).
    Serve(ServeArgs),
    /// Show the profile, who is signed in, when the token expires and where it is kept
    Status(JsonArgs),
    /// Your own use of the gateway per model (requests, input and output tokens)
    ///
    /// Reads the workspace's system tables (system.serving.endpoint_usage, written when usage
    /// tracking is on) through a SQL warehouse: --warehouse-id or the profile's warehouse_id.
    /// Only your own requests are counted (current_user()); reading the tables needs SELECT on
    /// system.serving.
    Usage(UsageArgs),
    /// Remove this profile's tokens from every store
    Logout(LogoutArgs),
    /// Check the setup: config, token store and keyring, sign-in, Claude Code, IdP, workspace, clock
    Doctor(DoctorArgs),
    /// Config file helpers
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Print shell completions (bash, zsh, fish, powershell, elvish)
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
pub struct UsageArgs {
    /// How far back: 24h, 7d, 30d, …
    #[arg(long, default_value = "7d", value_name = "DURATION")]
    pub since: crate::usage::Since,
    /// The SQL warehouse to run the query on [default: the profile's `warehouse_id`]
    #[arg(long, value_name = "ID")]
    pub warehouse_id: Option<String>,
    /// Print {"by","since","rows":[{"key","requests","input_tokens","output_tokens"}],"total"}
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Sign in with a code on another device (RFC 8628); chosen by itself over SSH or without a display
    #[arg(long)]
    pub device: bool,
    /// Do not open a browser; print the sign-in URL to open yourself
    #[arg(long, conflicts_with = "device")]
    pub no_browser: bool,
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Print {"token","token_type","expires_in","expires_at"} instead of the bare token
    #[arg(long)]
    pub json: bool,
    /// Only check the cache (no network, no sign-in): exit 0 if a token has --min-ttl left, else 1
    #[arg(long)]
    pub check: bool,
    /// Seconds the token must still be valid for [default: 300, or half the token's lifetime if shorter]
    #[arg(long, value_name = "SECS", conflicts_with = "consumer")]
    pub min_ttl: Option<u64>,
    /// The client asking (a target's token helper: `claude`, `codex`): the token outlives the
    /// client's refresh interval, and no device-code prompt is ever shown (exit 3 instead)
    #[arg(long = "for", value_parser = helper_targets(), value_name = "TARGET")]
    pub consumer: Option<&'static Target>,
    /// Never start an interactive sign-in; exit 3 when one is needed
    #[arg(long)]
    pub no_login: bool,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// What the environment is prepared for
    #[arg(long, value_parser = targets(), default_value = "generic", value_name = "TARGET")]
    pub target: &'static Target,
    /// The command and its arguments (after `--`)
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<OsString>,
}

/// `--target`: every target in [`crate::launch::TARGETS`], with its one-line description.
fn targets() -> impl clap::builder::TypedValueParser<Value = &'static Target> {
    target_parser(|_| true)
}

/// `--for`: the targets that refresh through `gw token`.
fn helper_targets() -> impl clap::builder::TypedValueParser<Value = &'static Target> {
    target_parser(|t| matches!(t.refresh, crate::launch::Refresh::Helper { .. }))
}

fn target_parser(
    keep: fn(&Target) -> bool,
) -> impl clap::builder::TypedValueParser<Value = &'static Target> {
    let names = crate::launch::TARGETS
        .iter()
        .filter(|t| keep(t))
        .map(|t| clap::builder::PossibleValue::new(t.name).help(t.about));
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(names)
        .map(|name: String| crate::launch::target(&name).expect("a listed target"))
}

#[derive(Debug, Args)]
pub struct EnvArgs {
    /// Output format (values quoted for that shell)
    #[arg(long, value_enum, default_value_t = crate::launch::shell::ShellKind::Sh)]
    pub shell: crate::launch::shell::ShellKind,
    /// Which target's environment
    #[arg(long, value_parser = targets(), default_value = "generic", value_name = "TARGET")]
    pub target: &'static Target,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Also print the environment this target's client needs to use the endpoint
    #[arg(long, value_parser = targets(), value_name = "TARGET")]
    pub target: Option<&'static Target>,
    /// Listen on this port [default: a free one]
    #[arg(long, value_name = "N")]
    pub port: Option<u16>,
}

#[derive(Debug, Args)]
pub struct JsonArgs {
    /// Machine-readable output
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// Sign out of every profile in the config, not just the selected one
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct PathArgs {
    /// Print the directory holding the token files and locks instead
    #[arg(long, conflicts_with = "cache_dir")]
    pub state_dir: bool,
    /// Print the directory holding cached discovery documents and keys instead
    #[arg(long)]
    pub cache_dir: bool,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Machine-readable output
    #[arg(long)]
    pub json: bool,
    /// Skip the network checks (IdP, workspace, clock skew)
    #[arg(long)]
    pub offline: bool,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the path of the config file gw uses
    Path(PathArgs),
    /// Write a config file (prompting for what is missing when run in a terminal)
    ///
    /// Entra ID: --host URL --tenant-id T --client-id C. Any OIDC provider: --host URL
    /// --issuer URL --client-id C. The workspace's own sign-in (no federation policy yet):
    /// --host URL alone. The profile is named by --profile (default "default"). Never
    /// overwrites an existing file without --force.
    Init(InitArgs),
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The Databricks workspace URL
    #[arg(long, value_name = "URL")]
    pub host: Option<String>,
    /// Entra ID directory (tenant) ID
    #[arg(long, value_name = "T", conflicts_with = "issuer")]
    pub tenant_id: Option<String>,
    /// Issuer of any other OpenID Connect provider
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,
    /// The public client (app registration) ID at the IdP
    #[arg(long, value_name = "C")]
    pub client_id: Option<String>,
    /// Serving endpoint (model) name Claude Code's requests go to
    #[arg(long, value_name = "M")]
    pub model: Option<String>,
    /// Replace an existing config file
    #[arg(long)]
    pub force: bool,
    /// Never prompt, even in a terminal
    #[arg(long)]
    pub non_interactive: bool,
}
