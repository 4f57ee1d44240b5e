//! `gw-admin setup-endpoint`: the serving endpoint Claude Code talks to.
//!
//! An external-model endpoint (Anthropic, the key kept in a Databricks secret) is created, or
//! its config updated when it differs; a pay-per-token foundation-model endpoint already
//! exists, so it is only checked.

use std::str::FromStr;
use std::time::{Duration, Instant};

use gw::api::UserError;
use serde_json::json;

use super::Outcome;
use crate::databricks::DatabricksClient;
use crate::databricks::serving_endpoints::{
    AnthropicConfig, CreateServingEndpoint, EndpointCoreConfigInput, ExternalModel,
    ServedEntityInput, ServedEntityOutput, ServingEndpointDetailed,
};

/// The task of every chat model.
pub const TASK: &str = "llm/v1/chat";

/// A Databricks secret holding the provider's API key, given as `SCOPE/KEY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRef {
    pub scope: String,
    pub key: String,
}

impl SecretRef {
    /// The reference the endpoint config carries: `{{secrets/<scope>/<key>}}`.
    pub fn reference(&self) -> String {
        format!("{{{{secrets/{}/{}}}}}", self.scope, self.key)
    }
}

impl FromStr for SecretRef {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s.starts_with("sk-") {
            return Err(
                "that looks like an API key itself: store it in a secret scope \
                 (`databricks secrets put-secret SCOPE KEY`) and pass SCOPE/KEY"
                    .into(),
            );
        }
        let s = s
            .strip_prefix("{{secrets/")
            .and_then(|r| r.strip_suffix("}}"))
            .unwrap_or(s);
        let ok = |p: &str| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'))
        };
        match s.split_once('/') {
            Some((scope, key)) if ok(scope) && ok(key) => Ok(SecretRef {
                scope: scope.into(),
                key: key.into(),
            }),
            _ => Err(format!(
                "`{s}` is not SCOPE/KEY (letters, digits, `-`, `_`, `.`, `@`)"
            )),
        }
    }
}

/// The external model providers gw-admin sets up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Provider {
    Anthropic,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Anthropic => "anthropic",
        }
    }
}

/// What the endpoint serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Model {
    /// A pay-per-token endpoint Databricks runs (e.g. `databricks-claude-sonnet-4-5`).
    Foundation(String),
    /// A provider's model, reached with the key in `api_key`.
    External {
        model: String,
        provider: Provider,
        api_key: SecretRef,
    },
}

/// The resolved request.
#[derive(Debug, Clone)]
pub struct SetupEndpoint {
    pub name: String,
    pub model: Model,
}

/// How to wait for an endpoint to become ready.
#[derive(Debug, Clone, Copy)]
pub struct WaitPolicy {
    pub interval: Duration,
    pub timeout: Duration,
}

impl Default for WaitPolicy {
    fn default() -> Self {
        WaitPolicy {
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(20 * 60),
        }
    }
}

/// The served entity name Databricks would pick: the model name with `.` and `:` as `-`.
pub fn served_entity_name(model: &str) -> String {
    model.replace(['.', ':'], "-")
}

/// The config an external-model endpoint should have.
pub fn desired_config(model: &str, provider: Provider, key: &SecretRef) -> EndpointCoreConfigInput {
    EndpointCoreConfigInput {
        served_entities: vec![ServedEntityInput {
            name: served_entity_name(model),
            external_model: ExternalModel {
                name: model.to_owned(),
                provider: provider.as_str().to_owned(),
                task: TASK.to_owned(),
                anthropic_config: Some(AnthropicConfig {
                    anthropic_api_key: Some(key.reference()),
                }),
            },
        }],
    }
}

/// What to do with an external-model endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    Create,
    /// PUT the config; each string names one difference.
    Update(Vec<String>),
    UpToDate,
}

impl Plan {
    /// The `action` of `--json`: `created`, `updated` or `none`.
    pub fn action(&self) -> &'static str {
        match self {
            Plan::Create => "created",
            Plan::Update(_) => "updated",
            Plan::UpToDate => "none",
        }
    }

    pub fn changes(&self) -> &[String] {
        match self {
            Plan::Update(c) => c,
            Plan::Create | Plan::UpToDate => &[],
        }
    }
}

/// Decide what to change.
///
/// 1. No endpoint → create it.
/// 2. It serves something that is not an external model → error: Databricks cannot switch an
///    endpoint to or from external models.
/// 3. Compare with the config being rolled out when there is one (`pending_config`), else the
///    live `config`: the served entity's name, model, provider, task and key reference.
///    A key reference the GET does not show counts as unchanged (it cannot be compared).
/// 4. Equal → up to date; else update, naming each difference.
pub fn plan(
    current: Option<&ServingEndpointDetailed>,
    desired: &EndpointCoreConfigInput,
) -> Result<Plan, String> {
    let Some(current) = current else {
        return Ok(Plan::Create);
    };
    let entities = current_entities(current);
    if let Some(other) = entities.iter().find(|e| e.external_model.is_none()) {
        let what = match (&other.foundation_model, &other.entity_name) {
            (Some(fm), _) => format!(
                "the foundation model `{}`",
                fm.name.as_deref().unwrap_or("?")
            ),
            (_, Some(entity)) => format!("the model `{entity}`"),
            _ => "something other than an external model".to_owned(),
        };
        return Err(format!(
            "serving endpoint `{}` serves {what}, and an endpoint cannot switch to an external model",
            current.name
        ));
    }
    let mut changes = Vec::new();
    match (entities.as_slice(), desired.served_entities.as_slice()) {
        ([cur], [want]) => {
            let (c, w) = (cur.external_model.as_ref(), &want.external_model);
            let c = c.expect("checked above");
            if cur.name.as_deref() != Some(want.name.as_str()) {
                changes.push(format!(
                    "served entity `{}` → `{}`",
                    cur.name.as_deref().unwrap_or("?"),
                    want.name
                ));
            }
            if c.name != w.name {
                changes.push(format!("model `{}` → `{}`", c.name, w.name));
            }
            if c.provider != w.provider {
                changes.push(format!("provider `{}` → `{}`", c.provider, w.provider));
            }
            if c.task != w.task {
                changes.push(format!("task `{}` → `{}`", c.task, w.task));
            }
            let key = |m: &ExternalModel| {
                m.anthropic_config
                    .as_ref()
                    .and_then(|a| a.anthropic_api_key.clone())
            };
            if let (Some(ck), Some(wk)) = (key(c), key(w))
                && ck != wk
            {
                changes.push(format!("API key secret `{ck}` → `{wk}`"));
            }
        }
        (cur, want) => {
            let names = |v: Vec<String>| format!("[{}]", v.join(", "));
            changes.push(format!(
                "served entities {} → {}",
                names(
                    cur.iter()
                        .map(|e| e.name.clone().unwrap_or_default())
                        .collect()
                ),
                names(want.iter().map(|e| e.name.clone()).collect())
            ));
        }
    }
    Ok(if changes.is_empty() {
        Plan::UpToDate
    } else {
        Plan::Update(changes)
    })
}

/// The served entities that count: the pending ones while an update rolls out.
fn current_entities(e: &ServingEndpointDetailed) -> Vec<ServedEntityOutput> {
    let updating = e
        .state
        .as_ref()
        .is_some_and(|s| s.config_update.as_deref() == Some("IN_PROGRESS"));
    match (&e.pending_config, &e.config) {
        (Some(p), _) if updating => p.served_entities.clone(),
        (_, Some(c)) => c.served_entities.clone(),
        _ => Vec::new(),
    }
}

/// Run `setup-endpoint`.
///
/// 1. GET the endpoint (a dry run assumes there is none).
/// 2. Foundation model: none → error naming what pay-per-token endpoints are called; one that
///    serves another model → error; else report it. Nothing is written.
/// 3. External model: [`plan`]; create with `POST /api/2.0/serving-endpoints` or update with
///    `PUT /api/2.0/serving-endpoints/{name}/config`, or nothing.
/// 4. Wait until the endpoint is `READY` with no update rolling out (never in a dry run),
///    printing progress on stderr; `UPDATE_FAILED`/`UPDATE_CANCELED` and the timeout are errors.
pub async fn run(
    ws: &DatabricksClient,
    req: &SetupEndpoint,
    wait: &WaitPolicy,
) -> anyhow::Result<Outcome> {
    let current = ws.get_endpoint(&req.name).await?.sent().flatten();
    let dry = ws.is_dry_run();
    match &req.model {
        Model::Foundation(model) => check_foundation(req, model, current.as_ref(), dry),
        Model::External {
            model,
            provider,
            api_key,
        } => {
            let desired = desired_config(model, *provider, api_key);
            let plan = plan(current.as_ref(), &desired).map_err(|e| {
                UserError::failure(
                    e,
                    "pick another `--name` for the external-model endpoint (`gw-admin show` lists the taken ones)",
                )
            })?;
            match &plan {
                Plan::Create => {
                    ws.create_endpoint(&CreateServingEndpoint {
                        name: req.name.clone(),
                        config: desired.clone(),
                    })
                    .await?;
                }
                Plan::Update(_) => {
                    ws.update_endpoint_config(&req.name, &desired).await?;
                }
                Plan::UpToDate => {}
            }
            let state = if dry {
                None
            } else {
                let needs_wait = plan != Plan::UpToDate
                    || current
                        .as_ref()
                        .and_then(|c| c.state.as_ref())
                        .is_none_or(|s| !s.is_settled());
                if needs_wait {
                    wait_until_ready(ws, &req.name, wait).await?.state
                } else {
                    current.as_ref().and_then(|c| c.state.clone())
                }
            };
            let served = format!(
                "{} `{model}`, key {}",
                provider.as_str(),
                api_key.reference()
            );
            let state_text = state
                .as_ref()
                .map(|s| s.describe())
                .unwrap_or_else(|| "not checked".into());
            let line = match (&plan, dry) {
                (Plan::Create, false) => {
                    format!(
                        "Created serving endpoint `{}` ({served}): {state_text}.",
                        req.name
                    )
                }
                (Plan::Create, true) => format!(
                    "Dry run: would create serving endpoint `{}` ({served}) if it does not exist.",
                    req.name
                ),
                (Plan::Update(changes), _) => format!(
                    "Updated serving endpoint `{}`: {}; {state_text}.",
                    req.name,
                    changes.join(", ")
                ),
                (Plan::UpToDate, _) => format!(
                    "Serving endpoint `{}` is up to date ({served}, {state_text}); nothing to change.",
                    req.name
                ),
            };
            let changed = plan != Plan::UpToDate;
            Ok(Outcome {
                changed,
                lines: vec![line],
                json: json!({
                    "command": "setup-endpoint",
                    "endpoint": req.name,
                    "action": plan.action(),
                    "changed": changed,
                    "dry_run": dry,
                    "changes": plan.changes(),
                    "config": desired,
                    "state": state,
                }),
            })
        }
    }
}

fn check_foundation(
    req: &SetupEndpoint,
    model: &str,
    current: Option<&ServingEndpointDetailed>,
    dry: bool,
) -> anyhow::Result<Outcome> {
    let name = &req.name;
    if dry {
        return Ok(Outcome {
            changed: false,
            lines: vec![format!(
                "Dry run: would check that pay-per-token endpoint `{name}` exists; nothing is ever written for it."
            )],
            json: json!({"command": "setup-endpoint", "endpoint": name, "action": "check",
                "changed": false, "dry_run": true}),
        });
    }
    let Some(current) = current else {
        return Err(UserError::failure(
            format!("there is no pay-per-token endpoint `{name}` in this workspace"),
            "pay-per-token endpoints are named like `databricks-claude-sonnet-4-5`: list them with \
             `gw-admin show`; if none are listed, Foundation Model APIs are not available in this \
             workspace's region",
        )
        .into());
    };
    let entities = current_entities(current);
    let serves = |e: &ServedEntityOutput| {
        e.foundation_model
            .as_ref()
            .and_then(|f| f.name.as_deref())
            .is_some_and(|n| n == model)
            || e.entity_name.as_deref() == Some(model)
    };
    if name != model && !entities.is_empty() && !entities.iter().any(serves) {
        return Err(UserError::failure(
            format!("serving endpoint `{name}` exists but does not serve `{model}`"),
            format!("check the names with `gw-admin show --name {name}`"),
        )
        .into());
    }
    let state = current.state.clone().unwrap_or_default();
    Ok(Outcome {
        changed: false,
        lines: vec![format!(
            "Pay-per-token endpoint `{name}` exists ({}); nothing to create.",
            state.describe()
        )],
        json: json!({"command": "setup-endpoint", "endpoint": name, "action": "none",
            "changed": false, "dry_run": false, "foundation_model": model, "state": state}),
    })
}

/// What to wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goal {
    /// `READY` with no update rolling out; a failed or canceled update is an error.
    Ready,
    /// No update rolling out, however it ended (the AI Gateway can be set then).
    NoUpdate,
}

/// Poll until the endpoint is `READY` with no update rolling out.
pub async fn wait_until_ready(
    ws: &DatabricksClient,
    name: &str,
    policy: &WaitPolicy,
) -> anyhow::Result<ServingEndpointDetailed> {
    wait_for(ws, name, policy, Goal::Ready).await
}

/// Poll the endpoint until `goal` holds, saying on stderr what it waits for (when the state
/// changes, and every 30 s), for at most `policy.timeout`.
pub async fn wait_for(
    ws: &DatabricksClient,
    name: &str,
    policy: &WaitPolicy,
    goal: Goal,
) -> anyhow::Result<ServingEndpointDetailed> {
    let started = Instant::now();
    let mut last_shown: Option<(String, Instant)> = None;
    loop {
        let endpoint = ws
            .get_endpoint(name)
            .await?
            .sent()
            .flatten()
            .ok_or_else(|| {
                UserError::failure(
                    format!("serving endpoint `{name}` disappeared while waiting for it"),
                    "someone deleted it: run the command again to create it",
                )
            })?;
        let state = endpoint.state.clone().unwrap_or_default();
        let updating = state.config_update.as_deref() == Some("IN_PROGRESS");
        if goal == Goal::NoUpdate && !updating {
            if last_shown.is_some() {
                eprintln!("The update of serving endpoint `{name}` is done.");
            }
            return Ok(endpoint);
        }
        if let Some(u @ ("UPDATE_FAILED" | "UPDATE_CANCELED")) = state.config_update.as_deref() {
            return Err(UserError::failure(
                format!("the config update of serving endpoint `{name}` ended in {u}"),
                "see the endpoint's Events in the workspace (Serving → the endpoint); a \
                 missing or unreadable secret is the usual cause: check that the secret \
                 exists and that the endpoint's creator can read its scope, then run \
                 setup-endpoint again",
            )
            .into());
        }
        if state.is_settled() {
            if last_shown.is_some() {
                eprintln!("Serving endpoint `{name}` is ready.");
            }
            return Ok(endpoint);
        }
        let elapsed = started.elapsed();
        if elapsed >= policy.timeout {
            return Err(UserError::failure(
                format!(
                    "serving endpoint `{name}` is still {} after {} s ({})",
                    if goal == Goal::Ready { "not ready" } else { "updating" },
                    policy.timeout.as_secs(),
                    state.describe()
                ),
                format!(
                    "Databricks keeps working on it: check it later with `gw-admin show --name {name}`, \
                     or run setup-endpoint again to keep waiting"
                ),
            )
            .into());
        }
        let text = state.describe();
        let due = last_shown
            .as_ref()
            .is_none_or(|(prev, at)| *prev != text || at.elapsed() >= Duration::from_secs(30));
        if due {
            eprintln!(
                "Waiting for serving endpoint `{name}`: {text} ({} s)…",
                elapsed.as_secs()
            );
            last_shown = Some((text, Instant::now()));
        }
        tokio::time::sleep(policy.interval).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::databricks::serving_endpoints::{
        EndpointCoreConfigOutput, EndpointState, FoundationModel,
    };

    fn key() -> SecretRef {
        "gw/anthropic".parse().unwrap()
    }

    fn endpoint_serving(entities: Vec<ServedEntityOutput>) -> ServingEndpointDetailed {
        ServingEndpointDetailed {
            name: "claude".into(),
            id: Some("id1".into()),
            state: Some(EndpointState {
                ready: Some("READY".into()),
                config_update: Some("NOT_UPDATING".into()),
            }),
            config: Some(EndpointCoreConfigOutput {
                served_entities: entities,
            }),
            pending_config: None,
            ai_gateway: None,
            task: None,
            endpoint_type: None,
            creator: None,
        }
    }

    fn as_read(cfg: &EndpointCoreConfigInput) -> Vec<ServedEntityOutput> {
        cfg.served_entities
            .iter()
            .map(|e| ServedEntityOutput {
                name: Some(e.name.clone()),
                external_model: Some(e.external_model.clone()),
                ..Default::default()
            })
            .collect()
    }

    #[test]
    fn secret_refs_parse_and_render_as_references() {
        let r: SecretRef = "gw-scope/anthropic_key".parse().unwrap();
        assert_eq!(r.reference(), "{{secrets/gw-scope/anthropic_key}}");
        let r2: SecretRef = "{{secrets/gw-scope/anthropic_key}}".parse().unwrap();
        assert_eq!(r, r2);
        for bad in ["nokey", "/k", "s/", "a/b/c", "a b/c"] {
            assert!(bad.parse::<SecretRef>().is_err(), "{bad}");
        }
        let err = "sk-ant-api03-xyz".parse::<SecretRef>().unwrap_err();
        assert!(err.contains("API key"), "{err}");
    }

    #[test]
    fn entity_names_follow_databricks_default() {
        assert_eq!(
            served_entity_name("claude-3.5-sonnet:beta"),
            "claude-3-5-sonnet-beta"
        );
    }

    #[test]
    fn no_endpoint_means_create() {
        let d = desired_config("claude-sonnet-4-5", Provider::Anthropic, &key());
        assert_eq!(plan(None, &d), Ok(Plan::Create));
    }

    #[test]
    fn the_same_config_is_up_to_date() {
        let d = desired_config("claude-sonnet-4-5", Provider::Anthropic, &key());
        let cur = endpoint_serving(as_read(&d));
        assert_eq!(plan(Some(&cur), &d), Ok(Plan::UpToDate));
    }

    #[test]
    fn a_hidden_key_reference_is_not_a_difference() {
        let d = desired_config("claude-sonnet-4-5", Provider::Anthropic, &key());
        let mut read = as_read(&d);
        read[0].external_model.as_mut().unwrap().anthropic_config = None;
        assert_eq!(plan(Some(&endpoint_serving(read)), &d), Ok(Plan::UpToDate));
    }

    #[test]
    fn another_model_or_key_is_an_update_naming_each_difference() {
        let old = desired_config("claude-sonnet-4", Provider::Anthropic, &key());
        let new = desired_config(
            "claude-sonnet-4-5",
            Provider::Anthropic,
            &"gw/other".parse().unwrap(),
        );
        let Ok(Plan::Update(changes)) = plan(Some(&endpoint_serving(as_read(&old))), &new) else {
            panic!("expected an update");
        };
        assert_eq!(
            changes,
            [
                "served entity `claude-sonnet-4` → `claude-sonnet-4-5`",
                "model `claude-sonnet-4` → `claude-sonnet-4-5`",
                "API key secret `{{secrets/gw/anthropic}}` → `{{secrets/gw/other}}`",
            ]
        );
    }

    #[test]
    fn a_rolling_update_is_compared_by_its_pending_config() {
        let old = desired_config("claude-sonnet-4", Provider::Anthropic, &key());
        let new = desired_config("claude-sonnet-4-5", Provider::Anthropic, &key());
        let mut cur = endpoint_serving(as_read(&old));
        cur.pending_config = Some(EndpointCoreConfigOutput {
            served_entities: as_read(&new),
        });
        cur.state.as_mut().unwrap().config_update = Some("IN_PROGRESS".into());
        assert_eq!(plan(Some(&cur), &new), Ok(Plan::UpToDate));
    }

    #[test]
    fn a_foundation_model_endpoint_cannot_become_external() {
        let d = desired_config("claude-sonnet-4-5", Provider::Anthropic, &key());
        let cur = endpoint_serving(vec![ServedEntityOutput {
            name: Some("x".into()),
            foundation_model: Some(FoundationModel {
                name: Some("databricks-claude-sonnet-4-5".into()),
                display_name: None,
            }),
            ..Default::default()
        }]);
        let err = plan(Some(&cur), &d).unwrap_err();
        assert!(err.contains("cannot switch"), "{err}");
    }

    #[test]
    fn a_failed_create_without_config_is_updated() {
        let d = desired_config("claude-sonnet-4-5", Provider::Anthropic, &key());
        let mut cur = endpoint_serving(vec![]);
        cur.config = None;
        assert!(matches!(plan(Some(&cur), &d), Ok(Plan::Update(_))));
    }
}
