//! `gw-admin plan -f FLEET.toml` and `gw-admin apply -f FLEET.toml`: many workspaces and the
//! account, as one reviewed diff, then carried out.
//!
//! - `plan` reads every workspace (and the account) and lists, per workspace and resource,
//!   what would change; it sends no write.
//! - `apply` plans each workspace again right before writing it (so it never acts on what it
//!   read minutes ago), then makes the changes through the same idempotent steps as the single
//!   commands: `setup-endpoint`, `configure-gateway`, `grant`, `setup-federation`. Each
//!   resource is one atomic API write (an inference table move is undone if its second half
//!   fails), a failing workspace stops only itself, and every workspace's outcome is reported.
//! - `apply --plan PLAN.json` (the output of `plan --json`) also checks that what it is about
//!   to change was reviewed: changes already made since are skipped silently, but a workspace
//!   whose fresh plan holds a change the reviewed one did not is not touched, and the new
//!   changes are listed.

use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::configure_gateway::{self, apply as apply_gateway, changed_sections, normalized};
use super::grant::{self, PermissionLevel, direct_level};
use super::setup_endpoint::{self, Model, Plan as EndpointPlan, SetupEndpoint, WaitPolicy};
use super::setup_federation::{self, Federation, Plan as PolicyPlan, default_policy_id};
use crate::databricks::DatabricksClient;
use crate::databricks::ai_gateway::AiGatewayConfig;
use crate::fleet::{AccountSpec, EndpointSpec, WorkspaceSpec};

/// What happens to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Unchanged,
}

impl Action {
    fn sign(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update => "~",
            Action::Unchanged => "=",
        }
    }
}

/// One resource's planned change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub resource: String,
    pub action: Action,
    #[serde(default)]
    pub details: Vec<String>,
}

/// A target (a workspace or the account) and its plan, or why it could not be read or
/// written.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TargetReport {
    pub name: String,
    pub host: String,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    pub changes: Vec<Change>,
    /// `apply`: what was written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub done: Vec<String>,
}

impl TargetReport {
    fn failed(name: &str, host: &str, err: &anyhow::Error, changes: Vec<Change>) -> Self {
        let r = crate::error::report(err);
        TargetReport {
            name: name.to_owned(),
            host: host.to_owned(),
            ok: false,
            error: Some(r.line),
            hint: r.hint,
            changes,
            done: Vec::new(),
        }
    }

    fn pending(&self) -> impl Iterator<Item = &Change> {
        self.changes
            .iter()
            .filter(|c| c.action != Action::Unchanged)
    }
}

/// The whole report of `plan` or `apply`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub command: String,
    pub file: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<TargetReport>,
    pub workspaces: Vec<TargetReport>,
}

impl Report {
    /// Whether every target was read (and, for `apply`, written) without a failure.
    pub fn ok(&self) -> bool {
        self.account.iter().chain(&self.workspaces).all(|t| t.ok)
    }

    pub fn json(&self) -> Value {
        let mut v = serde_json::to_value(self).unwrap_or(Value::Null);
        let count = |a: Action| {
            self.account
                .iter()
                .chain(&self.workspaces)
                .flat_map(|t| &t.changes)
                .filter(|c| c.action == a)
                .count()
        };
        v["summary"] = json!({
            "create": count(Action::Create),
            "update": count(Action::Update),
            "unchanged": count(Action::Unchanged),
            "failed": self.account.iter().chain(&self.workspaces).filter(|t| !t.ok).count(),
        });
        v
    }

    /// The readable diff: per target, one line per resource that changes (`+` create, `~`
    /// update, with its details indented), failures with their error and hint, and a summary.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let apply = self.command == "apply";
        for (kind, t) in self
            .account
            .iter()
            .map(|t| ("account", t))
            .chain(self.workspaces.iter().map(|t| ("workspace", t)))
        {
            let unchanged = t
                .changes
                .iter()
                .filter(|c| c.action == Action::Unchanged)
                .count();
            let status = match (t.ok, t.pending().count()) {
                (false, _) => "FAILED".to_owned(),
                (true, 0) => "up to date".to_owned(),
                (true, n) if apply => format!("{n} changed"),
                (true, n) => format!("{n} to change"),
            };
            out.push_str(&format!(
                "{kind} {} ({}): {status}{}\n",
                t.name,
                t.host,
                if unchanged > 0 {
                    format!(", {unchanged} unchanged")
                } else {
                    String::new()
                }
            ));
            for c in t.pending() {
                out.push_str(&format!("  {} {}\n", c.action.sign(), c.resource));
                for d in &c.details {
                    out.push_str(&format!("      {d}\n"));
                }
            }
            for d in &t.done {
                out.push_str(&format!("  done: {d}\n"));
            }
            if let Some(e) = &t.error {
                out.push_str(&format!("  error: {e}\n"));
            }
            if let Some(h) = &t.hint {
                out.push_str(&format!("  hint: {h}\n"));
            }
        }
        let v = self.json();
        let s = &v["summary"];
        out.push_str(&format!(
            "{}: {} to create, {} to change, {} unchanged{}.\n",
            if apply { "Applied" } else { "Plan" },
            s["create"],
            s["update"],
            s["unchanged"],
            match s["failed"].as_u64() {
                Some(0) | None => String::new(),
                Some(1) => "; 1 target failed".to_owned(),
                Some(n) => format!("; {n} targets failed"),
            }
        ));
        if apply {
            out = out
                .replace(" to create,", " created,")
                .replace(" to change,", " changed,");
        }
        out
    }
}

/// A gateway section as compact JSON (`none` when absent), for a diff line.
fn section_json(c: &AiGatewayConfig, section: &str) -> String {
    let n = normalized(c);
    let v = match section {
        "usage tracking" => json!(n.usage_tracking_config),
        "rate limits" => json!(n.rate_limits),
        "guardrails" => json!(n.guardrails),
        "inference table" => json!(n.inference_table_config),
        _ => json!(n.other),
    };
    if v.is_null() {
        "none".to_owned()
    } else {
        v.to_string()
    }
}

/// Read one workspace and decide what each of its resources needs. Sends only GETs.
pub async fn plan_workspace(
    ws: &DatabricksClient,
    spec: &WorkspaceSpec,
) -> anyhow::Result<Vec<Change>> {
    let mut changes = Vec::new();
    for e in &spec.endpoints {
        plan_endpoint(ws, e, &mut changes).await?;
    }
    Ok(changes)
}

async fn plan_endpoint(
    ws: &DatabricksClient,
    e: &EndpointSpec,
    changes: &mut Vec<Change>,
) -> anyhow::Result<()> {
    let current = ws.get_endpoint(&e.name).await?.sent().flatten();
    let resource = format!("serving endpoint {}", e.name);
    match &e.model {
        Model::Foundation(m) => {
            if current.is_none() {
                return Err(gw::api::UserError::failure(
                    format!("there is no pay-per-token endpoint `{}` in this workspace", e.name),
                    format!("check the name (`gw-admin --host {} show` lists them), or give the endpoint `external_model` instead", ws.base()),
                )
                .into());
            }
            changes.push(Change {
                resource,
                action: Action::Unchanged,
                details: vec![format!("pay-per-token `{m}` exists")],
            });
        }
        Model::External {
            model,
            provider,
            api_key,
        } => {
            let desired = setup_endpoint::desired_config(model, *provider, api_key);
            let plan = setup_endpoint::plan(current.as_ref(), &desired).map_err(|m| {
                gw::api::UserError::failure(
                    m,
                    "give the external-model endpoint another name in the fleet file",
                )
            })?;
            let served = format!(
                "{} `{model}`, key {}",
                provider.as_str(),
                api_key.reference()
            );
            changes.push(match plan {
                EndpointPlan::Create => Change {
                    resource,
                    action: Action::Create,
                    details: vec![served],
                },
                EndpointPlan::Update(d) => Change {
                    resource,
                    action: Action::Update,
                    details: d,
                },
                EndpointPlan::UpToDate => Change {
                    resource,
                    action: Action::Unchanged,
                    details: vec![served],
                },
            });
        }
    }
    if let Some(ch) = &e.gateway {
        let cur = current
            .as_ref()
            .and_then(|c| c.ai_gateway.clone())
            .unwrap_or_default();
        let want = apply_gateway(&cur, ch);
        let sections = changed_sections(&cur, &want);
        changes.push(Change {
            resource: format!("ai gateway of {}", e.name),
            action: if sections.is_empty() {
                Action::Unchanged
            } else {
                Action::Update
            },
            details: sections
                .iter()
                .map(|s| {
                    format!(
                        "{s}: {} → {}",
                        section_json(&cur, s),
                        section_json(&want, s)
                    )
                })
                .collect(),
        });
    }
    let acl = match current.as_ref().and_then(|c| c.id.clone()) {
        Some(id) if !e.grants.is_empty() => ws.get_endpoint_permissions(&id, &e.name).await?.sent(),
        _ => None,
    };
    for (group, level) in &e.grants {
        let held = acl.as_ref().and_then(|a| direct_level(a, group));
        let resource = format!("grant {} on {} to group {group}", level.as_api(), e.name);
        changes.push(match held {
            Some(h) if h >= *level => Change {
                resource,
                action: Action::Unchanged,
                details: vec![format!("holds {}", h.as_api())],
            },
            Some(h) => Change {
                resource,
                action: Action::Create,
                details: vec![format!("holds {} now", h.as_api())],
            },
            None => Change {
                resource,
                action: Action::Create,
                details: Vec::new(),
            },
        });
    }
    Ok(())
}

/// The resource name of a policy.
fn policy_resource(f: &Federation, id: &str) -> String {
    format!("federation policy {id} of {}", f.owner.describe())
}

/// Read the account's policies and decide what each desired one needs.
pub async fn plan_account(
    acct: &DatabricksClient,
    spec: &AccountSpec,
) -> anyhow::Result<Vec<Change>> {
    let mut changes = Vec::new();
    for f in &spec.policies {
        let existing = acct
            .list_federation_policies(&f.owner)
            .await?
            .sent()
            .unwrap_or_default();
        let trust = format!(
            "issuer `{}`, audiences [{}], subject claim `{}`{}",
            f.issuer,
            f.audiences.join(", "),
            f.subject_claim,
            f.subject
                .as_ref()
                .map(|s| format!(", subject `{s}`"))
                .unwrap_or_default()
        );
        changes.push(match setup_federation::plan(&existing, f) {
            PolicyPlan::UpToDate { policy_id } => Change {
                resource: policy_resource(f, &policy_id),
                action: Action::Unchanged,
                details: vec![trust],
            },
            PolicyPlan::UpdateSubjectClaim { policy_id, from } => Change {
                resource: policy_resource(f, &policy_id),
                action: Action::Update,
                details: vec![format!("subject claim `{from}` → `{}`", f.subject_claim)],
            },
            PolicyPlan::Create { .. } => {
                let id = f.policy_id.clone().unwrap_or_else(|| {
                    default_policy_id(&f.issuer, &f.audiences, f.subject.as_deref())
                });
                Change {
                    resource: policy_resource(f, &id),
                    action: Action::Create,
                    details: vec![trust],
                }
            }
        });
    }
    Ok(changes)
}

/// A target's name, host and client (or why there is no client: no token).
pub struct Target<'a> {
    pub name: String,
    pub host: String,
    pub client: Result<DatabricksClient, anyhow::Error>,
    pub workspace: Option<&'a WorkspaceSpec>,
}

/// Plan every target, `parallel` workspaces at a time.
pub async fn plan(
    file: &str,
    account: Option<(Target<'_>, &AccountSpec)>,
    workspaces: Vec<Target<'_>>,
    parallel: usize,
) -> Report {
    let account = match account {
        None => None,
        Some((t, spec)) => Some(match &t.client {
            Err(e) => TargetReport::failed(&t.name, &t.host, e, Vec::new()),
            Ok(c) => match plan_account(c, spec).await {
                Ok(changes) => ok_report(&t, changes),
                Err(e) => TargetReport::failed(&t.name, &t.host, &e, Vec::new()),
            },
        }),
    };
    let mut reports: Vec<(usize, TargetReport)> =
        futures_util::stream::iter(workspaces.iter().enumerate())
            .map(|(i, t)| async move {
                let r = match (&t.client, t.workspace) {
                    (Err(e), _) => TargetReport::failed(&t.name, &t.host, e, Vec::new()),
                    (Ok(c), Some(spec)) => match plan_workspace(c, spec).await {
                        Ok(changes) => ok_report(t, changes),
                        Err(e) => TargetReport::failed(&t.name, &t.host, &e, Vec::new()),
                    },
                    (Ok(_), None) => ok_report(t, Vec::new()),
                };
                (i, r)
            })
            .buffer_unordered(parallel.max(1))
            .collect()
            .await;
    reports.sort_by_key(|(i, _)| *i);
    Report {
        command: "plan".into(),
        file: file.to_owned(),
        account,
        workspaces: reports.into_iter().map(|(_, r)| r).collect(),
    }
}

fn ok_report(t: &Target<'_>, changes: Vec<Change>) -> TargetReport {
    TargetReport {
        name: t.name.clone(),
        host: t.host.clone(),
        ok: true,
        error: None,
        hint: None,
        changes,
        done: Vec::new(),
    }
}

/// The changes of `fresh` that the reviewed plan of the same target does not hold.
pub fn unreviewed(fresh: &[Change], reviewed: Option<&TargetReport>) -> Vec<Change> {
    fresh
        .iter()
        .filter(|c| c.action != Action::Unchanged)
        .filter(|c| reviewed.is_none_or(|r| !r.changes.contains(c)))
        .cloned()
        .collect()
}

/// Apply every target: the account first (developers can only sign in once it trusts the
/// IdP), then the workspaces, `parallel` at a time.
pub async fn apply(
    file: &str,
    account: Option<(Target<'_>, &AccountSpec)>,
    workspaces: Vec<Target<'_>>,
    parallel: usize,
    wait: &WaitPolicy,
    reviewed: Option<&Report>,
) -> Report {
    let account = match account {
        None => None,
        Some((t, spec)) => Some(match &t.client {
            Err(e) => TargetReport::failed(&t.name, &t.host, e, Vec::new()),
            Ok(c) => {
                let prior = reviewed.map(|r| r.account.as_ref());
                apply_account(&t, c, spec, prior).await
            }
        }),
    };
    let mut reports: Vec<(usize, TargetReport)> =
        futures_util::stream::iter(workspaces.iter().enumerate())
            .map(|(i, t)| async move {
                let r = match (&t.client, t.workspace) {
                    (Err(e), _) => TargetReport::failed(&t.name, &t.host, e, Vec::new()),
                    (Ok(c), Some(spec)) => {
                        let prior = reviewed.map(|r| {
                            r.workspaces
                                .iter()
                                .find(|w| w.name == t.name && w.host == t.host)
                        });
                        apply_workspace(t, c, spec, wait, prior).await
                    }
                    (Ok(_), None) => ok_report(t, Vec::new()),
                };
                (i, r)
            })
            .buffer_unordered(parallel.max(1))
            .collect()
            .await;
    reports.sort_by_key(|(i, _)| *i);
    Report {
        command: "apply".into(),
        file: file.to_owned(),
        account,
        workspaces: reports.into_iter().map(|(_, r)| r).collect(),
    }
}

/// `reviewed`: `None` without `--plan`; `Some(None)` when the reviewed plan has no entry for
/// this target.
fn stale(
    t: &Target<'_>,
    changes: Vec<Change>,
    reviewed: Option<Option<&TargetReport>>,
) -> Result<Vec<Change>, Box<TargetReport>> {
    let Some(prior) = reviewed else {
        return Ok(changes);
    };
    let new = unreviewed(&changes, prior);
    if new.is_empty() {
        return Ok(changes);
    }
    let list: Vec<String> = new
        .iter()
        .map(|c| format!("{} {}", c.action.sign(), c.resource))
        .collect();
    let mut r = ok_report(t, new);
    r.ok = false;
    r.error = Some(format!(
        "the plan changed since it was reviewed: {} not in it; nothing was written here",
        list.join("; ")
    ));
    r.hint = Some(
        "review the plan again (`gw-admin plan -f FLEET.toml --json > plan.json`), then apply that one".into(),
    );
    Err(Box::new(r))
}

async fn apply_account(
    t: &Target<'_>,
    acct: &DatabricksClient,
    spec: &AccountSpec,
    reviewed: Option<Option<&TargetReport>>,
) -> TargetReport {
    let changes = match plan_account(acct, spec).await {
        Ok(c) => c,
        Err(e) => return TargetReport::failed(&t.name, &t.host, &e, Vec::new()),
    };
    let changes = match stale(t, changes, reviewed) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let mut done = Vec::new();
    for (f, c) in spec.policies.iter().zip(&changes) {
        if c.action == Action::Unchanged {
            continue;
        }
        eprintln!("[{}] applying: {} {}…", t.name, c.action.sign(), c.resource);
        match setup_federation::run(acct, f).await {
            Ok(o) => done.extend(o.lines),
            Err(e) => {
                let mut r = TargetReport::failed(&t.name, &t.host, &e, changes.clone());
                r.done = done;
                return r;
            }
        }
    }
    let mut r = ok_report(t, changes);
    r.done = done;
    r
}

async fn apply_workspace(
    t: &Target<'_>,
    ws: &DatabricksClient,
    spec: &WorkspaceSpec,
    wait: &WaitPolicy,
    reviewed: Option<Option<&TargetReport>>,
) -> TargetReport {
    let changes = match plan_workspace(ws, spec).await {
        Ok(c) => c,
        Err(e) => return TargetReport::failed(&t.name, &t.host, &e, Vec::new()),
    };
    let changes = match stale(t, changes, reviewed) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let mut done = Vec::new();
    let result = apply_changes(t, ws, spec, &changes, wait, &mut done).await;
    let mut r = match result {
        Ok(()) => ok_report(t, changes),
        Err(e) => TargetReport::failed(&t.name, &t.host, &e, changes),
    };
    r.done = done;
    r
}

async fn apply_changes(
    t: &Target<'_>,
    ws: &DatabricksClient,
    spec: &WorkspaceSpec,
    changes: &[Change],
    wait: &WaitPolicy,
    done: &mut Vec<String>,
) -> anyhow::Result<()> {
    let needs = |resource: &str| {
        changes
            .iter()
            .any(|c| c.resource == resource && c.action != Action::Unchanged)
    };
    for e in &spec.endpoints {
        let step = |what: &str| eprintln!("[{}] applying: {what}…", t.name);
        if needs(&format!("serving endpoint {}", e.name)) {
            step(&format!("serving endpoint {}", e.name));
            let o = setup_endpoint::run(
                ws,
                &SetupEndpoint {
                    name: e.name.clone(),
                    model: e.model.clone(),
                },
                wait,
            )
            .await?;
            done.extend(o.lines);
        }
        if let Some(ch) = &e.gateway
            && needs(&format!("ai gateway of {}", e.name))
        {
            step(&format!("ai gateway of {}", e.name));
            let o = configure_gateway::run_with(ws, &e.name, ch, wait).await?;
            done.extend(o.lines);
        }
        for (group, level) in &e.grants {
            let resource = grant_resource(&e.name, group, *level);
            if needs(&resource) {
                step(&resource);
                let o = grant::run(ws, &e.name, group, *level).await?;
                done.extend(o.lines);
            }
        }
    }
    Ok(())
}

fn grant_resource(endpoint: &str, group: &str, level: PermissionLevel) -> String {
    format!("grant {} on {endpoint} to group {group}", level.as_api())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(resource: &str, action: Action, details: &[&str]) -> Change {
        Change {
            resource: resource.into(),
            action,
            details: details.iter().map(|d| (*d).to_owned()).collect(),
        }
    }

    #[test]
    fn only_changes_the_reviewed_plan_lacks_are_unreviewed() {
        let reviewed = TargetReport {
            name: "prod".into(),
            host: "https://h".into(),
            ok: true,
            error: None,
            hint: None,
            changes: vec![
                change("serving endpoint e", Action::Create, &["anthropic"]),
                change("grant CAN_QUERY on e to group d", Action::Create, &[]),
            ],
            done: Vec::new(),
        };
        // Someone created the endpoint meanwhile: what is left was reviewed.
        let fresh = vec![
            change("serving endpoint e", Action::Unchanged, &["anthropic"]),
            change("grant CAN_QUERY on e to group d", Action::Create, &[]),
        ];
        assert!(unreviewed(&fresh, Some(&reviewed)).is_empty());
        // Someone changed the gateway meanwhile: the diff differs, so it is new.
        let fresh = vec![change(
            "ai gateway of e",
            Action::Update,
            &["rate limits: a → b"],
        )];
        assert_eq!(unreviewed(&fresh, Some(&reviewed)), fresh);
        // A target the reviewed plan did not have at all.
        assert_eq!(unreviewed(&fresh, None), fresh);
    }
}
