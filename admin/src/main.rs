//! `gw-admin`: parse arguments, resolve them into a task (usage errors first, before any
//! config, token or network), find hosts and tokens, run the task, print, exit.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;

use gw::api::Http;
use gw::api::UserError;
use gw_admin::auth;
use gw_admin::cli::{Cli, Command};
use gw_admin::commands::configure_gateway::{self, GatewayChanges};
use gw_admin::commands::grant::{self, PermissionLevel};
use gw_admin::commands::setup_endpoint::{self, Model, SetupEndpoint, WaitPolicy};
use gw_admin::commands::setup_federation::{self, Federation};
use gw_admin::commands::{Outcome, show, usage};
use gw_admin::databricks::federation_policy::PolicyOwner;
use gw_admin::databricks::{Api, DatabricksClient};
use gw_admin::hosts::{self, GwSetup};
use gw_admin::output::Output;

/// Milliseconds between readiness polls (tests make it short).
const GW_ADMIN_POLL_MS: &str = "GW_ADMIN_POLL_MS";
/// Seconds to wait for an endpoint to become ready.
const GW_ADMIN_WAIT_SECS: &str = "GW_ADMIN_WAIT_SECS";

mod fleet_main;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            let r = gw_admin::error::report(&err);
            eprintln!("error: {}", r.line);
            if let Some(hint) = r.hint {
                eprintln!("hint: {hint}");
            }
            ExitCode::from(r.code)
        }
    }
}

/// A command with its arguments checked and resolved into domain values.
enum Task {
    SetupEndpoint(SetupEndpoint),
    ConfigureGateway {
        name: String,
        changes: GatewayChanges,
    },
    Grant {
        name: String,
        group: String,
        level: PermissionLevel,
    },
    SetupFederation(Federation),
    Show {
        name: Option<String>,
        account_id: Option<String>,
    },
    Usage {
        by: gw::api::usage::By,
        since: gw::api::usage::Since,
        warehouse_id: Option<String>,
    },
}

impl Task {
    fn needs_workspace(&self) -> bool {
        !matches!(self, Task::SetupFederation(_))
    }

    fn account_id(&self) -> Option<&str> {
        match self {
            Task::SetupFederation(f) => Some(&f.owner.account_id),
            Task::Show { account_id, .. } => account_id.as_deref(),
            _ => None,
        }
    }
}

/// Check what clap cannot; every failure here is exit 2.
fn resolve(command: Command) -> Result<Task, UserError> {
    Ok(match command {
        Command::SetupEndpoint(a) => {
            let model = match (a.foundation_model, a.external_model, a.api_key_secret) {
                (Some(m), _, _) => Model::Foundation(m),
                (None, Some(model), Some(api_key)) => Model::External {
                    model,
                    provider: a.provider,
                    api_key,
                },
                _ => {
                    return Err(UserError::config(
                        "give `--foundation-model M`, or `--external-model M --api-key-secret SCOPE/KEY`",
                        "see `gw-admin setup-endpoint --help`",
                    ));
                }
            };
            let name = match (&a.name, &model) {
                (Some(n), _) => n.clone(),
                (None, Model::Foundation(m)) => m.clone(),
                (None, Model::External { .. }) => {
                    return Err(UserError::config(
                        "an external-model endpoint needs `--name`",
                        "add `--name <endpoint name>`",
                    ));
                }
            };
            check_endpoint_name(&name)?;
            Task::SetupEndpoint(SetupEndpoint { name, model })
        }
        Command::ConfigureGateway(a) => {
            check_endpoint_name(&a.name)?;
            let changes = GatewayChanges {
                usage_tracking: a.usage_tracking,
                rate_limits: (!a.rate_limits.is_empty()).then_some(a.rate_limits),
                pii: a.pii,
                safety: a.safety,
                inference_table: a.inference_table,
            };
            changes.validate()?;
            Task::ConfigureGateway {
                name: a.name,
                changes,
            }
        }
        Command::Grant(a) => {
            check_endpoint_name(&a.name)?;
            if a.group.trim().is_empty() {
                return Err(UserError::config(
                    "`--group` is empty",
                    "name a workspace group",
                ));
            }
            Task::Grant {
                name: a.name,
                group: a.group,
                level: a.level,
            }
        }
        Command::SetupFederation(a) => {
            let azure = a.azure_tenant.is_some();
            let issuer = match (a.issuer, a.azure_tenant) {
                (_, Some(t)) => setup_federation::azure_issuer(&t)?,
                (Some(i), None) => gw::api::checked_url(&i).map_err(|e| {
                    UserError::config(
                        format!("`--issuer`: {e}"),
                        "give the issuer exactly as the IdP's ID tokens carry it in `iss`",
                    )
                })?,
                (None, None) => {
                    return Err(UserError::config(
                        "give `--issuer URL` or `--azure-tenant T`",
                        "see `gw-admin setup-federation --help`",
                    ));
                }
            };
            check_account_id(&a.account_id)?;
            let mut audiences: Vec<String> = Vec::new();
            for aud in a.audiences.iter().map(|s| s.trim()) {
                if aud.is_empty() {
                    return Err(UserError::config(
                        "`--audience` is empty",
                        "give the client id of the IdP app gw signs in with",
                    ));
                }
                if !audiences.iter().any(|x| x == aud) {
                    audiences.push(aud.to_owned());
                }
            }
            let subject_claim = match (&a.subject_claim, azure, a.service_principal) {
                (Some(c), _, _) => c.trim().to_owned(),
                (None, true, None) => setup_federation::ENTRA_SUBJECT_CLAIM.to_owned(),
                _ => setup_federation::DEFAULT_SUBJECT_CLAIM.to_owned(),
            };
            if subject_claim.is_empty() || subject_claim.contains(char::is_whitespace) {
                return Err(UserError::config(
                    format!("`--subject-claim {subject_claim}` is not a claim name"),
                    "e.g. `preferred_username`, `email` or `sub`",
                ));
            }
            if let Some(id) = &a.policy_id {
                setup_federation::check_policy_id(id)?;
            }
            if a.subject_claim.is_none() && !azure && a.service_principal.is_none() {
                eprintln!(
                    "note: the subject claim is `sub`; Databricks signs the token in as the user whose \
                     username is its value, so pass `--subject-claim email` (or the claim that holds \
                     usernames) if `sub` is an opaque id at your IdP"
                );
            }
            Task::SetupFederation(Federation {
                owner: PolicyOwner {
                    account_id: a.account_id,
                    service_principal: a.service_principal,
                },
                issuer,
                audiences,
                subject_claim,
                subject: a.subject,
                policy_id: a.policy_id,
            })
        }
        Command::Usage(a) => {
            if let Some(w) = &a.warehouse_id {
                check_ident(
                    w,
                    format!("`--warehouse-id {w}` is not a SQL warehouse id"),
                    "copy it from SQL Warehouses → the warehouse → Overview",
                )?;
            }
            Task::Usage {
                by: a.by,
                since: a.since,
                warehouse_id: a.warehouse_id,
            }
        }
        Command::Plan(_) | Command::Apply(_) | Command::Export(_) => {
            unreachable!("fleet commands are run by run_fleet")
        }
        Command::Show(a) => {
            if let Some(n) = &a.name {
                check_endpoint_name(n)?;
            }
            if let Some(id) = &a.account_id {
                check_account_id(id)?;
            }
            Task::Show {
                name: a.name,
                account_id: a.account_id,
            }
        }
    })
}

/// Serving endpoint names: letters, digits, `-` and `_` (Databricks' rule).
fn check_endpoint_name(name: &str) -> Result<(), UserError> {
    check_ident(
        name,
        format!("`{name}` is not a serving endpoint name"),
        "use letters, digits, `-` and `_` only",
    )
}

fn check_account_id(id: &str) -> Result<(), UserError> {
    check_ident(
        id,
        format!("`--account-id {id}` is not an account id"),
        "copy it from the account console (the user menu shows it)",
    )
}

/// Letters, digits, `-` and `_` only (these values go into URL paths).
fn check_ident(value: &str, message: String, hint: &str) -> Result<(), UserError> {
    let ok = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(UserError::config(message, hint))
    }
}

fn wait_policy() -> WaitPolicy {
    let mut w = WaitPolicy::default();
    let num = |name| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    if let Some(ms) = num(GW_ADMIN_POLL_MS) {
        w.interval = Duration::from_millis(ms);
    }
    if let Some(s) = num(GW_ADMIN_WAIT_SECS) {
        w.timeout = Duration::from_secs(s);
    }
    w
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    if matches!(
        cli.command,
        Command::Plan(_) | Command::Apply(_) | Command::Export(_)
    ) {
        return fleet_main::run(cli);
    }
    let task = resolve(cli.command)?;
    let setup = GwSetup::load(cli.config.as_deref())?;
    let profile = cli.profile.as_deref();
    let dry = cli.dry_run;

    // Where: the workspace when the task needs it, or when the account console is derived
    // from it.
    let derive_account = task.account_id().is_some() && cli.account_host.is_none();
    let ws_host = if task.needs_workspace() || derive_account {
        Some(
            hosts::workspace_host(cli.host.as_deref(), &setup, profile).map_err(|e| {
                if task.needs_workspace() {
                    e
                } else {
                    UserError::config(
                        "cannot tell which account console to use",
                        "pass `--account-host` (https://accounts.azuredatabricks.net, \
                         https://accounts.cloud.databricks.com or https://accounts.gcp.databricks.com), \
                         or `--host` with a workspace of the account",
                    )
                }
            })?,
        )
    } else {
        None
    };
    let account = match (task.account_id(), &cli.account_host) {
        (None, _) => None,
        (Some(id), Some(h)) => Some((hosts::checked_base("--account-host", h)?, id.to_owned())),
        (Some(id), None) => Some((
            hosts::default_account_host(ws_host.as_deref().unwrap_or_default()),
            id.to_owned(),
        )),
    };
    let http = Http::new(setup.ca_file().as_deref())
        .map_err(|e| UserError::config(e.to_string(), "fix `ca_file` in the gw config"))?;

    // As whom: the workspace token first (gw's session runs its own runtime), never in a dry
    // run.
    let ws_token = match &ws_host {
        Some(h) if task.needs_workspace() && !dry => {
            Some(auth::workspace_token(h, &setup, profile)?)
        }
        _ => None,
    };
    let out = if dry && cli.json {
        Output::stderr()
    } else {
        Output::stdout()
    };
    if dry {
        eprintln!("Dry run: printing every request; nothing is sent.");
    }
    let client = |base: &str, token: Option<gw::api::Secret>, api| match token {
        Some(t) => DatabricksClient::new(http.clone(), base, t, api),
        None => DatabricksClient::dry_run(http.clone(), base, api, out.clone()),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let outcome: Outcome = runtime.block_on(async {
        let ws = match &ws_host {
            Some(h) if task.needs_workspace() => Some(client(h, ws_token, Api::Workspace)),
            _ => None,
        };
        let acct = match &account {
            Some((host, id)) => {
                let token = if dry {
                    None
                } else {
                    Some(auth::account_token(&http, &setup.paths, host, id).await?)
                };
                Some(client(host, token, Api::Account))
            }
            None => None,
        };
        let ws = || {
            ws.as_ref()
                .expect("a workspace task has a workspace client")
        };
        match &task {
            Task::SetupEndpoint(req) => setup_endpoint::run(ws(), req, &wait_policy()).await,
            Task::ConfigureGateway { name, changes } => {
                configure_gateway::run_with(ws(), name, changes, &wait_policy()).await
            }
            Task::Grant { name, group, level } => grant::run(ws(), name, group, *level).await,
            Task::SetupFederation(f) => {
                let acct = acct
                    .as_ref()
                    .expect("setup-federation has an account client");
                setup_federation::run(acct, f).await
            }
            Task::Usage {
                by,
                since,
                warehouse_id,
            } => {
                let warehouse = match warehouse_id.clone().or_else(|| {
                    setup
                        .profile(profile)
                        .ok()
                        .and_then(|p| p.warehouse_id.clone())
                }) {
                    Some(w) => w,
                    None => {
                        return Err(UserError::config(
                            "no SQL warehouse to run the usage query on",
                            "pass `--warehouse-id ID`, or set `warehouse_id` in the gw profile",
                        )
                        .into());
                    }
                };
                usage::run(ws(), &warehouse, *by, *since).await
            }
            Task::Show { name, account_id } => {
                let ai_gateway_profile = setup
                    .profile(profile)
                    .ok()
                    .filter(|p| p.gateway == gw::api::Gateway::AiGateway)
                    .map(|p| p.name.clone());
                if let Some(p) = ai_gateway_profile {
                    eprintln!(
                        "note: profile `{p}` sends Claude Code to `<host>/ai-gateway/`, which Unity AI Gateway governs; \
                         the serving-endpoint settings shown here do not apply to that traffic"
                    );
                }
                let acct = acct.as_ref().zip(account_id.as_deref());
                show::run(ws(), acct, name.as_deref()).await
            }
        }
    })?;
    let stdout = Output::stdout();
    if cli.json {
        let text = serde_json::to_string_pretty(&outcome.json).context("cannot encode JSON")?;
        stdout.line(&text);
    } else {
        stdout.write(&outcome.text());
    }
    Ok(0)
}
