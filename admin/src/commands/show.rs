//! `gw-admin show`: what exists now. Reads only.

use serde_json::json;

use super::Outcome;
use crate::databricks::DatabricksClient;
use crate::databricks::ai_gateway::AiGatewayConfig;
use crate::databricks::federation_policy::{FederationPolicy, PolicyOwner};
use crate::databricks::permissions::ObjectPermissions;
use crate::databricks::serving_endpoints::{ServedEntityOutput, ServingEndpointDetailed};

/// Run `show`.
///
/// - `--name N`: the endpoint (state, what it serves, AI Gateway), and its permissions.
///   Without it: every serving endpoint, one line each.
/// - `--account-id ID` (and an account client): the account-wide federation policies.
pub async fn run(
    ws: &DatabricksClient,
    acct: Option<(&DatabricksClient, &str)>,
    name: Option<&str>,
) -> anyhow::Result<Outcome> {
    let mut lines = Vec::new();
    let mut doc = serde_json::Map::new();
    doc.insert("command".into(), json!("show"));
    match name {
        Some(name) => match ws.get_endpoint(name).await?.sent() {
            Some(Some(e)) => {
                let acl = match &e.id {
                    Some(id) => ws.get_endpoint_permissions(id, name).await?.sent(),
                    None => None,
                };
                lines.extend(describe_endpoint(&e, acl.as_ref()));
                doc.insert("endpoint".into(), json!(e));
                doc.insert("permissions".into(), json!(acl));
            }
            Some(None) => {
                lines.push(format!("There is no serving endpoint `{name}`."));
                doc.insert("endpoint".into(), json!(null));
            }
            None => {}
        },
        None => {
            if let Some(list) = ws.list_endpoints().await?.sent() {
                if list.endpoints.is_empty() {
                    lines.push("No serving endpoints.".into());
                } else {
                    lines.push("Serving endpoints:".into());
                }
                for e in &list.endpoints {
                    lines.push(format!(
                        "  {}  {}  {}",
                        e.name,
                        e.state
                            .as_ref()
                            .and_then(|s| s.ready.as_deref())
                            .unwrap_or("?"),
                        served(e)
                    ));
                }
                doc.insert("endpoints".into(), json!(list.endpoints));
            }
        }
    }
    if let Some((acct, account_id)) = acct {
        let owner = PolicyOwner {
            account_id: account_id.to_owned(),
            service_principal: None,
        };
        if let Some(policies) = acct.list_federation_policies(&owner).await?.sent() {
            lines.extend(describe_policies(&owner, &policies));
            doc.insert("federation_policies".into(), json!(policies));
        }
    }
    let route = governed_route(ws.base());
    lines.push(route.line.clone());
    doc.insert(
        "governs".into(),
        json!({"route": route.governed, "not_governed": route.not_governed}),
    );
    if ws.is_dry_run() {
        lines.push("Dry run: nothing was read.".into());
    }
    Ok(Outcome {
        changed: false,
        lines,
        json: serde_json::Value::Object(doc),
    })
}

/// Which model route the settings gw-admin writes apply to.
pub struct GovernedRoute {
    /// `<host>/serving-endpoints/`: the serving endpoints' AI Gateway and ACLs.
    pub governed: String,
    /// `<host>/ai-gateway/`: Unity AI Gateway, governed by its own controls.
    pub not_governed: String,
    pub line: String,
}

/// gw-admin writes the serving-endpoint AI Gateway (`PUT …/serving-endpoints/{name}/ai-gateway`)
/// and the endpoint's ACL: they govern requests to `<host>/serving-endpoints/…` (gw's
/// `gateway = "serving-endpoints"`). Requests to `<host>/ai-gateway/…` (`gateway =
/// "ai-gateway"`, and Codex, Gemini and OpenCode) go through Unity AI Gateway, whose rate
/// limits, guardrails, usage tracking and permissions are its own and which gw-admin does not
/// write. Pure.
pub fn governed_route(host: &str) -> GovernedRoute {
    let host = host.trim_end_matches('/');
    let governed = format!("{host}/serving-endpoints/");
    let not_governed = format!("{host}/ai-gateway/");
    GovernedRoute {
        line: format!(
            "Route: these AI Gateway settings and permissions govern `{governed}…` (gw's `gateway = \"serving-endpoints\"`); \
             `{not_governed}…` (`gateway = \"ai-gateway\"`, Codex, Gemini, OpenCode) is governed by Unity AI Gateway's own controls, which gw-admin does not write."
        ),
        governed,
        not_governed,
    }
}

/// What an endpoint serves, in words.
pub fn served(e: &ServingEndpointDetailed) -> String {
    let entities: Vec<ServedEntityOutput> = e
        .config
        .as_ref()
        .map(|c| c.served_entities.clone())
        .unwrap_or_default();
    if entities.is_empty() {
        return "(no config yet)".into();
    }
    entities
        .iter()
        .map(
            |s| match (&s.external_model, &s.foundation_model, &s.entity_name) {
                (Some(m), _, _) => {
                    let key = m
                        .anthropic_config
                        .as_ref()
                        .and_then(|a| a.anthropic_api_key.as_deref())
                        .map(|k| format!(", key {k}"))
                        .unwrap_or_default();
                    format!("{} {} ({}{key})", m.provider, m.name, m.task)
                }
                (_, Some(f), _) => format!(
                    "pay-per-token {}",
                    f.name
                        .as_deref()
                        .or(f.display_name.as_deref())
                        .unwrap_or("?")
                ),
                (_, _, Some(entity)) => format!("model {entity}"),
                _ => s.name.clone().unwrap_or_else(|| "?".into()),
            },
        )
        .collect::<Vec<_>>()
        .join("; ")
}

/// The endpoint, readable.
pub fn describe_endpoint(
    e: &ServingEndpointDetailed,
    acl: Option<&ObjectPermissions>,
) -> Vec<String> {
    let mut out = vec![format!(
        "Serving endpoint `{}`{}",
        e.name,
        e.id.as_ref()
            .map(|i| format!(" (id {i})"))
            .unwrap_or_default()
    )];
    let state = e.state.clone().unwrap_or_default();
    out.push(format!("  state:       {}", state.describe()));
    out.push(format!("  serves:      {}", served(e)));
    out.push(format!(
        "  ai gateway:  {}",
        describe_gateway(e.ai_gateway.as_ref())
    ));
    if let Some(acl) = acl {
        let entries: Vec<String> = acl
            .access_control_list
            .iter()
            .flat_map(|a| {
                a.all_permissions.iter().map(move |p| {
                    format!(
                        "{} {}{}",
                        a.principal(),
                        p.permission_level,
                        if p.inherited { " (inherited)" } else { "" }
                    )
                })
            })
            .collect();
        out.push(format!(
            "  permissions: {}",
            if entries.is_empty() {
                "none".into()
            } else {
                entries.join("; ")
            }
        ));
    }
    out
}

/// The AI Gateway settings, readable.
pub fn describe_gateway(g: Option<&AiGatewayConfig>) -> String {
    let Some(g) = g else {
        return "not configured".into();
    };
    let mut parts = Vec::new();
    let on = |b: Option<bool>| if b == Some(true) { "on" } else { "off" };
    parts.push(format!(
        "usage tracking {}",
        on(g.usage_tracking_config.as_ref().and_then(|u| u.enabled))
    ));
    let limits: Vec<String> = g
        .rate_limits
        .iter()
        .flatten()
        .map(|l| {
            let amount = match (l.calls, l.tokens) {
                (Some(c), Some(t)) => format!("{c} calls and {t} tokens"),
                (Some(c), None) => format!("{c} calls"),
                (None, Some(t)) => format!("{t} tokens"),
                (None, None) => "?".into(),
            };
            let who = match (l.key.as_deref().unwrap_or("endpoint"), &l.principal) {
                ("user_group", Some(p)) => format!("group {p}"),
                ("user", Some(p)) => format!("user {p}"),
                ("user", None) => "each user".into(),
                (k, Some(p)) => format!("{k} {p}"),
                ("endpoint", None) => "the whole endpoint".into(),
                (k, None) => k.to_owned(),
            };
            format!("{amount}/{} for {who}", l.renewal_period)
        })
        .collect();
    parts.push(if limits.is_empty() {
        "no rate limits".into()
    } else {
        format!("rate limits {}", limits.join(", "))
    });
    if let Some(gr) = &g.guardrails {
        for (side, p) in [("input", &gr.input), ("output", &gr.output)] {
            if let Some(p) = p {
                let pii = p
                    .pii
                    .as_ref()
                    .and_then(|b| b.behavior.as_deref())
                    .unwrap_or("NONE");
                parts.push(format!("{side} safety {} PII {pii}", on(p.safety)));
            }
        }
    }
    match &g.inference_table_config {
        Some(t) if t.enabled == Some(true) => parts.push(format!(
            "inference table {}.{}{}",
            t.catalog_name.as_deref().unwrap_or("?"),
            t.schema_name.as_deref().unwrap_or("?"),
            t.table_name_prefix
                .as_ref()
                .map(|p| format!(".{p}"))
                .unwrap_or_default()
        )),
        _ => parts.push("no inference table".into()),
    }
    parts.join("; ")
}

/// The policies, readable.
pub fn describe_policies(owner: &PolicyOwner, policies: &[FederationPolicy]) -> Vec<String> {
    let mut out = vec![if policies.is_empty() {
        format!("No federation policies in {}.", owner.describe())
    } else {
        format!("Federation policies of {}:", owner.describe())
    }];
    for p in policies {
        let o = p.oidc_policy.clone().unwrap_or_default();
        out.push(format!(
            "  {}: issuer {}, audiences [{}], subject claim {}{}",
            p.id().unwrap_or_else(|| "?".into()),
            o.issuer.as_deref().unwrap_or("?"),
            o.audiences.unwrap_or_default().join(", "),
            o.subject_claim.as_deref().unwrap_or("sub"),
            o.subject
                .as_ref()
                .map(|s| format!(", subject {s}"))
                .unwrap_or_default()
        ));
    }
    out
}
