//! Command-line interface: clap types only, no logic. Each `///` is the help text.

use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand};

use crate::commands::configure_gateway::{InferenceTableArg, Pii, RateLimitArg};
use crate::commands::grant::PermissionLevel;
use crate::commands::setup_endpoint::{Provider, SecretRef};

/// Set up a Databricks workspace and account for gw.
///
/// The admin sequence, each step idempotent (a second identical run changes nothing and says
/// so):
///
///   1. setup-endpoint      the serving endpoint Claude Code talks to (workspace admin)
///   2. configure-gateway   its AI Gateway: usage tracking, rate limits, guardrails, logging
///   3. grant               let the developers' group query it
///   4. setup-federation    make the account trust your IdP's ID tokens (account admin)
///   5. show                check what exists
///
/// Workspace calls use `DATABRICKS_TOKEN` when set, else the gw sign-in of the profile.
/// Account calls use `DATABRICKS_ACCOUNT_TOKEN` when set, else a browser sign-in at the
/// account console. Add `--dry-run` to see every request first.
#[derive(Debug, Parser)]
#[command(
    name = "gw-admin",
    version,
    propagate_version = true,
    max_term_width = 100,
    verbatim_doc_comment
)]
pub struct Cli {
    /// gw profile whose workspace and sign-in to use [default: as gw picks it]
    #[arg(long, global = true, env = "GW_PROFILE", value_name = "NAME")]
    pub profile: Option<String>,

    /// gw config file [default: $GW_CONFIG, else the user config dir's gw/config.toml]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Workspace URL [default: the profile's `databricks_host`]
    #[arg(long, global = true, value_name = "URL")]
    pub host: Option<String>,

    /// Account console URL, for federation policies [default: `https://accounts` + the
    /// workspace's DNS zone, as the Databricks SDKs build it: accounts.azuredatabricks.net,
    /// accounts.databricks.azure.us, accounts.databricks.azure.cn, accounts.gcp.databricks.com,
    /// accounts.cloud.databricks.us, else accounts.cloud.databricks.com]
    #[arg(long, global = true, value_name = "URL")]
    pub account_host: Option<String>,

    /// Print every request (method, URL, JSON body) and send nothing; needs no token
    #[arg(long, global = true)]
    pub dry_run: bool,

    /// Print the result as one JSON object on stdout
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the serving endpoint for Claude, or check that a pay-per-token one exists
    ///
    /// External model: creates the endpoint with POST /api/2.0/serving-endpoints, or, when it
    /// exists with another model or key, updates it with PUT .../{name}/config; then waits
    /// until it is READY. The provider key is never passed: the endpoint refers to a
    /// Databricks secret ({{secrets/SCOPE/KEY}}) that you create first, e.g.
    /// `databricks secrets create-scope gw && databricks secrets put-secret gw anthropic`.
    ///
    /// Foundation model: pay-per-token endpoints (databricks-claude-*) already exist in
    /// workspaces where Foundation Model APIs are available; this checks that it does and
    /// writes nothing.
    #[command(group(ArgGroup::new("model").required(true).args(["foundation_model", "external_model"])))]
    SetupEndpoint(SetupEndpointArgs),

    /// Set the endpoint's AI Gateway: usage tracking, rate limits, guardrails, inference table
    ///
    /// Reads the current AI Gateway configuration, applies the flags given, and PUTs the whole
    /// configuration back only if it changed: settings whose flag is not given keep their
    /// current value.
    ConfigureGateway(ConfigureGatewayArgs),

    /// Let a group use the endpoint (CAN_QUERY unless --level says otherwise)
    ///
    /// Merges one entry into the endpoint's permissions (PATCH, by the endpoint's id); every
    /// other entry stays. A group that already holds the level, or a stronger one, is left
    /// alone.
    Grant(GrantArgs),

    /// Make the account trust your IdP's ID tokens, so `gw login` can exchange them (account admin)
    ///
    /// Creates a federation policy on the account console: Databricks then accepts ID tokens
    /// whose `iss` is the issuer and whose `aud` is one of the audiences, and signs them in as
    /// the Databricks user whose username is the value of the subject claim. Existing policies
    /// are listed first: one with the same issuer and audiences means nothing to do (if it reads
    /// another subject claim, that claim is updated in place).
    ///
    /// Entra ID: `--azure-tenant <tenant id> --audience <app (client) id>`. The subject claim
    /// must hold the Databricks username, which for users provisioned from Entra (SCIM) is
    /// their user principal name, usually also their email. Entra's `sub` never matches (it is
    /// different for every app), so with --azure-tenant the default is `preferred_username`
    /// (the UPN; gw asks for the `profile` scope). Use `--subject-claim email` when Databricks
    /// usernames are email addresses that differ from the UPNs, and the tenant emits `email`
    /// (the `email` scope, or the optional claim for members). Check one user: the claim's value
    /// must equal their userName in Databricks.
    ///
    /// Service principal (workload identity federation): `--service-principal <numeric id>
    /// --subject <the token's sub>`; only tokens with exactly that subject sign in, as that
    /// service principal.
    #[command(group(ArgGroup::new("idp").required(true).args(["issuer", "azure_tenant"])))]
    SetupFederation(SetupFederationArgs),

    /// Show what exists now: endpoints, AI Gateway, permissions, federation policies
    Show(ShowArgs),

    /// What a fleet file would change, per workspace and resource (reads only)
    ///
    /// Reads every workspace the file names (and the account) and prints, per workspace and
    /// resource, what `apply` would create (+) or change (~); `--json` for review tools (save it
    /// and pass it to `apply --plan`). Sends no write. Exit 1 when a workspace could not be read.
    Plan(PlanArgs),

    /// Carry out a fleet file: every workspace, idempotent, each reported on its own
    ///
    /// Plans each workspace again right before writing it, then creates or updates its
    /// endpoints, AI Gateway settings and grants (and the account's federation policies). One
    /// failing workspace does not stop the others. With `--plan PLAN.json` (from `plan --json`),
    /// a workspace whose fresh plan holds a change the reviewed plan did not is left alone and
    /// the new changes are listed.
    Apply(ApplyArgs),

    /// The fleet file's desired state as Databricks Terraform provider resources (HCL on stdout)
    Export(ExportArgs),

    /// Usage from the system tables: requests and tokens per user, group or endpoint
    ///
    /// Runs a query on a SQL warehouse (the SQL Statement Execution API) over
    /// system.serving.endpoint_usage joined with system.serving.served_entities. The caller needs
    /// SELECT on those tables (account admins have it) and CAN_USE on the warehouse.
    Usage(UsageArgs),
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The fleet file
    #[arg(short = 'f', long = "file", value_name = "FLEET.toml")]
    pub file: PathBuf,

    /// Workspaces read at the same time
    #[arg(long, default_value_t = 4, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=32))]
    pub parallel: u16,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The fleet file
    #[arg(short = 'f', long = "file", value_name = "FLEET.toml")]
    pub file: PathBuf,

    /// The reviewed plan (`gw-admin plan -f FLEET.toml --json > PLAN.json`): only its changes
    /// are made
    #[arg(long = "plan", value_name = "PLAN.json")]
    pub plan: Option<PathBuf>,

    /// Workspaces written at the same time
    #[arg(long, default_value_t = 4, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=32))]
    pub parallel: u16,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The fleet file
    #[arg(short = 'f', long = "file", value_name = "FLEET.toml")]
    pub file: PathBuf,

    /// Terraform (HCL for the databricks/databricks provider); the only format so far
    #[arg(long, required = true)]
    pub terraform: bool,
}

#[derive(Debug, Args)]
pub struct UsageArgs {
    /// Rows per user, per group (members' usage added up; a user in two groups counts in both),
    /// or per serving endpoint
    #[arg(long, value_enum, default_value_t = gw::api::usage::By::User, value_name = "BY")]
    pub by: gw::api::usage::By,

    /// How far back, e.g. 24h, 7d, 30d
    #[arg(long, default_value = "7d", value_name = "DURATION")]
    pub since: gw::api::usage::Since,

    /// The SQL warehouse to run the query on [default: the profile's `warehouse_id`]
    #[arg(long, value_name = "ID")]
    pub warehouse_id: Option<String>,
}

#[derive(Debug, Args)]
pub struct SetupEndpointArgs {
    /// Endpoint name: letters, digits, `-` and `_` (it becomes the model name in gw's
    /// config) [default with --foundation-model: that model's endpoint]
    #[arg(long, value_name = "N", required_unless_present = "foundation_model")]
    pub name: Option<String>,

    /// A pay-per-token endpoint Databricks runs, e.g. databricks-claude-sonnet-4-5: checked, never written
    #[arg(long, value_name = "M", conflicts_with_all = ["external_model", "api_key_secret"])]
    pub foundation_model: Option<String>,

    /// The provider's model id, e.g. claude-sonnet-4-5 (needs --api-key-secret)
    #[arg(long, value_name = "M", requires = "api_key_secret")]
    pub external_model: Option<String>,

    /// Who serves the external model
    #[arg(long, value_enum, default_value_t = Provider::Anthropic, value_name = "PROVIDER")]
    pub provider: Provider,

    /// The Databricks secret holding the provider's API key, as SCOPE/KEY; the endpoint gets
    /// the reference {{secrets/SCOPE/KEY}}, never the key
    #[arg(long, value_name = "SCOPE/KEY", requires = "external_model")]
    pub api_key_secret: Option<SecretRef>,
}

#[derive(Debug, Args)]
pub struct ConfigureGatewayArgs {
    /// The serving endpoint
    #[arg(long, value_name = "N")]
    pub name: String,

    /// Record who used how many tokens in system.serving.endpoint_usage (`--usage-tracking=false` turns it off)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub usage_tracking: Option<bool>,

    /// A rate limit: N calls (or `:tokens`, N tokens) per minute for the whole endpoint;
    /// `:user` for each user, `:group=G` for a group's members together,
    /// `:service_principal=SP` for one service principal (its application id). E.g.
    /// `1000/minute`, `60/minute:user`, `100000/minute:tokens:user`. Repeat for several; the
    /// list given replaces the current one; `none` removes every limit
    #[arg(
        long = "rate-limit",
        value_name = "N/minute[:calls|:tokens][:user|:endpoint|:group=G|:service_principal=SP]"
    )]
    pub rate_limits: Vec<RateLimitArg>,

    /// PII guardrail on requests and responses
    #[arg(long, value_enum, value_name = "MODE")]
    pub pii: Option<Pii>,

    /// Safety guardrail (harmful content) on requests and responses (`--safety=false` turns it off)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub safety: Option<bool>,

    /// Log requests and responses to Unity Catalog tables in CATALOG.SCHEMA (named PREFIX_payload);
    /// `none` turns logging off
    #[arg(long, value_name = "CATALOG.SCHEMA[.PREFIX]")]
    pub inference_table: Option<InferenceTableArg>,
}

#[derive(Debug, Args)]
pub struct GrantArgs {
    /// The serving endpoint
    #[arg(long, value_name = "N")]
    pub name: String,

    /// The workspace group, e.g. the one your developers are in
    #[arg(long, value_name = "G")]
    pub group: String,

    /// The level to grant
    #[arg(long, value_enum, default_value_t = PermissionLevel::CanQuery, value_name = "LEVEL")]
    pub level: PermissionLevel,
}

#[derive(Debug, Args)]
pub struct SetupFederationArgs {
    /// The Databricks account id (account console → the user menu)
    #[arg(long, value_name = "ID")]
    pub account_id: String,

    /// The IdP's issuer, exactly as its ID tokens carry it in `iss`
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,

    /// Entra ID tenant (directory) id; the issuer becomes https://login.microsoftonline.com/T/v2.0
    #[arg(long, value_name = "T")]
    pub azure_tenant: Option<String>,

    /// Accepted `aud` values: the client id of the IdP app gw signs in with (repeat, or
    /// separate with commas, for several)
    #[arg(long = "audience", value_name = "A", required = true, num_args = 1.., value_delimiter = ',')]
    pub audiences: Vec<String>,

    /// The ID token claim whose value is the Databricks username [default: `preferred_username`
    /// with --azure-tenant, else `sub`]
    #[arg(long, value_name = "C")]
    pub subject_claim: Option<String>,

    /// Federate one service principal instead of the whole account: its numeric id in the
    /// account (not its application id)
    #[arg(long, value_name = "SP_NUMERIC_ID", requires = "subject")]
    pub service_principal: Option<u64>,

    /// With --service-principal: the exact `sub` of the tokens that sign in as it
    #[arg(long, value_name = "S", requires = "service_principal")]
    pub subject: Option<String>,

    /// Id for a new policy [default: gw- and a hash of issuer, audiences and subject]
    #[arg(long, value_name = "ID")]
    pub policy_id: Option<String>,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// One endpoint in detail, with its permissions [default: list every endpoint]
    #[arg(long, value_name = "N")]
    pub name: Option<String>,

    /// Also list the account's federation policies
    #[arg(long, value_name = "ID")]
    pub account_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_cli_is_consistent() {
        Cli::command().debug_assert();
    }

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("gw-admin").chain(args.iter().copied()))
    }

    #[test]
    fn setup_endpoint_takes_exactly_one_kind_of_model() {
        assert!(
            parse(&[
                "setup-endpoint",
                "--foundation-model",
                "databricks-claude-sonnet-4-5"
            ])
            .is_ok()
        );
        assert!(
            parse(&[
                "setup-endpoint",
                "--name",
                "e",
                "--external-model",
                "claude-sonnet-4-5",
                "--provider",
                "anthropic",
                "--api-key-secret",
                "gw/anthropic"
            ])
            .is_ok()
        );
        assert!(parse(&["setup-endpoint", "--name", "e"]).is_err());
        assert!(parse(&["setup-endpoint", "--name", "e", "--external-model", "m"]).is_err());
        assert!(
            parse(&[
                "setup-endpoint",
                "--foundation-model",
                "m",
                "--external-model",
                "m",
                "--api-key-secret",
                "s/k"
            ])
            .is_err()
        );
        assert!(
            parse(&[
                "setup-endpoint",
                "--external-model",
                "m",
                "--api-key-secret",
                "s/k"
            ])
            .is_err(),
            "an external model needs --name"
        );
    }

    #[test]
    fn gateway_booleans_default_to_true_and_accept_false() {
        let Command::ConfigureGateway(a) = parse(&[
            "configure-gateway",
            "--name",
            "e",
            "--usage-tracking",
            "--safety=false",
        ])
        .unwrap()
        .command
        else {
            panic!()
        };
        assert_eq!((a.usage_tracking, a.safety), (Some(true), Some(false)));
    }

    #[test]
    fn federation_needs_an_issuer_and_sp_needs_a_subject() {
        assert!(parse(&["setup-federation", "--account-id", "a", "--audience", "x"]).is_err());
        assert!(
            parse(&[
                "setup-federation",
                "--account-id",
                "a",
                "--issuer",
                "https://i",
                "--azure-tenant",
                "t",
                "--audience",
                "x"
            ])
            .is_err()
        );
        assert!(
            parse(&[
                "setup-federation",
                "--account-id",
                "a",
                "--issuer",
                "https://i",
                "--audience",
                "x",
                "--service-principal",
                "5"
            ])
            .is_err()
        );
        let Command::SetupFederation(a) = parse(&[
            "setup-federation",
            "--account-id",
            "a",
            "--issuer",
            "https://i",
            "--audience",
            "x,y",
            "--audience",
            "z",
        ])
        .unwrap()
        .command
        else {
            panic!()
        };
        assert_eq!(a.audiences, ["x", "y", "z"]);
    }
}
