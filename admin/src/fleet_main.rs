//! `plan`, `apply` and `export`: load the fleet file (exit 2 before any request), find each
//! workspace's token, run, print the report; exit 1 when a target failed.

use anyhow::Context as _;

use gw::api::{Http, Secret, UserError};
use gw_admin::auth::{self, DATABRICKS_TOKEN, env_token};
use gw_admin::cli::{Cli, Command};
use gw_admin::commands::export;
use gw_admin::commands::fleet::{self as fleet_cmd, Report, Target};
use gw_admin::databricks::{Api, DatabricksClient};
use gw_admin::fleet::{self, WorkspaceAuth, WorkspaceSpec};
use gw_admin::hosts::{self, GwSetup};
use gw_admin::output::Output;

enum Kind {
    Plan,
    Apply { reviewed: Option<Box<Report>> },
    Export,
}

pub fn run(cli: Cli) -> anyhow::Result<u8> {
    let (file, parallel, kind) = match &cli.command {
        Command::Plan(a) => (a.file.clone(), a.parallel, Kind::Plan),
        Command::Apply(a) => {
            let reviewed = match &a.plan {
                None => None,
                Some(p) => Some(Box::new(read_plan(p)?)),
            };
            (a.file.clone(), a.parallel, Kind::Apply { reviewed })
        }
        Command::Export(a) => (a.file.clone(), 1, Kind::Export),
        _ => unreachable!("only fleet commands come here"),
    };
    let spec = fleet::load(&file)?;
    let stdout = Output::stdout();
    if let Kind::Export = kind {
        stdout.write(&export::terraform(&spec));
        return Ok(0);
    }
    if cli.dry_run && matches!(kind, Kind::Apply { .. }) {
        return Err(UserError::config(
            "`apply --dry-run` would only repeat the plan",
            format!(
                "run `gw-admin plan -f {}` to see what apply would do",
                file.display()
            ),
        )
        .into());
    }
    let setup = GwSetup::load(cli.config.as_deref())?;
    let http = Http::new(setup.ca_file().as_deref())
        .map_err(|e| UserError::config(e.to_string(), "fix `ca_file` in the gw config"))?;
    // Tokens first, outside the runtime (a gw session may sign in with its own runtime).
    let workspaces: Vec<Target<'_>> = spec
        .workspaces
        .iter()
        .map(|w| Target {
            name: w.name.clone(),
            host: w.host.clone(),
            client: token_for(w, &setup)
                .map(|t| DatabricksClient::new(http.clone(), &w.host, t, Api::Workspace)),
            workspace: Some(w),
        })
        .collect();
    let account_host = match (&cli.account_host, spec.account_host()) {
        (Some(h), _) => Some(hosts::checked_base("--account-host", h)?),
        (None, h) => h,
    };
    let wait = super::wait_policy();
    let file_shown = file.display().to_string();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let report = runtime.block_on(async {
        let account = match (&spec.account, &account_host) {
            (Some(a), Some(host)) => {
                let client = auth::account_token(&http, &setup.paths, host, &a.id)
                    .await
                    .map(|t| DatabricksClient::new(http.clone(), host, t, Api::Account));
                Some((
                    Target {
                        name: a.id.clone(),
                        host: host.clone(),
                        client,
                        workspace: None,
                    },
                    a,
                ))
            }
            _ => None,
        };
        match &kind {
            Kind::Apply { reviewed } => {
                fleet_cmd::apply(
                    &file_shown,
                    account,
                    workspaces,
                    parallel.into(),
                    &wait,
                    reviewed.as_deref(),
                )
                .await
            }
            _ => fleet_cmd::plan(&file_shown, account, workspaces, parallel.into()).await,
        }
    });
    if cli.json {
        let text = serde_json::to_string_pretty(&report.json()).context("cannot encode JSON")?;
        stdout.line(&text);
    } else {
        stdout.write(&report.text());
    }
    if report.ok() {
        return Ok(0);
    }
    let failed: Vec<&str> = report
        .account
        .iter()
        .chain(&report.workspaces)
        .filter(|t| !t.ok)
        .map(|t| t.name.as_str())
        .collect();
    eprintln!(
        "error: {} of {} targets failed: {}",
        failed.len(),
        report.workspaces.len() + usize::from(report.account.is_some()),
        failed.join(", ")
    );
    eprintln!(
        "hint: each failure's error and hint are in the report above; fix them and run it again (it is idempotent)"
    );
    Ok(1)
}

/// A saved `plan --json`.
fn read_plan(path: &std::path::Path) -> Result<Report, UserError> {
    let bad = |why: String| {
        UserError::config(
            format!("cannot use the plan `{}`: {why}", path.display()),
            "save one with `gw-admin plan -f FLEET.toml --json > plan.json`",
        )
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let report: Report = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    if report.command != "plan" {
        return Err(bad("it is not the output of `gw-admin plan --json`".into()));
    }
    Ok(report)
}

/// A workspace's token: its `token_env`, else its gw profile's session (never
/// `DATABRICKS_TOKEN`, which would send one workspace's token to all of them).
fn token_for(w: &WorkspaceSpec, setup: &GwSetup) -> anyhow::Result<Secret> {
    let profile = match &w.auth {
        WorkspaceAuth::Env(name) => {
            return env_token(name).ok_or_else(|| {
                UserError::failure(
                    format!("`{name}` is not set (the token of workspace `{}`)", w.name),
                    format!("set `{name}` to a workspace admin's token for `{}`", w.host),
                )
                .into()
            });
        }
        WorkspaceAuth::Profile(p) => p.clone(),
        WorkspaceAuth::Auto => setup
            .config
            .as_ref()
            .and_then(|c| {
                c.profiles
                    .values()
                    .find(|p| p.databricks_host == w.host)
                    .map(|p| p.name.clone())
            })
            .ok_or_else(|| {
                UserError::failure(
                    format!("no token for workspace `{}` ({})", w.name, w.host),
                    "give its `[workspaces.…]` table `token_env = \"VAR\"` (and set VAR) or `profile = \"<gw profile>\"`",
                )
            })?,
    };
    if env_token(DATABRICKS_TOKEN).is_some() {
        return Err(UserError::failure(
            format!(
                "`{DATABRICKS_TOKEN}` is set, and workspace `{}` signs in with gw profile `{profile}`",
                w.name
            ),
            format!(
                "unset `{DATABRICKS_TOKEN}` (a fleet never sends one token to every workspace), or give the workspace `token_env`"
            ),
        )
        .into());
    }
    auth::workspace_token(&w.host, setup, Some(&profile))
}
