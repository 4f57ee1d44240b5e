//! `gw-admin export --terraform -f FLEET.toml`: the fleet file's desired state as resources
//! of the Databricks Terraform provider (`databricks/databricks`), for teams that keep
//! Terraform as their engine.
//!
//! - one `provider "databricks"` per workspace (alias from its name) and one for the account;
//! - an external-model endpoint → `databricks_model_serving` with its `config` and
//!   `ai_gateway` blocks; a pay-per-token endpoint is not a resource (Databricks runs it), and
//!   its id comes from the `databricks_serving_endpoints` data source;
//! - grants → `databricks_permissions` with `serving_endpoint_id` (authoritative in Terraform:
//!   it replaces the endpoint's ACL, where `gw-admin grant` merges);
//! - federation policies → `databricks_account_federation_policy` /
//!   `databricks_service_principal_federation_policy` (`oidc_policy` is an object attribute).
//!
//! The output is built as a tree ([`Item`]) first, so tests can check it against the
//! provider's schema, then rendered as `terraform fmt`-style HCL.

use crate::commands::configure_gateway::apply as apply_gateway;
use crate::commands::setup_endpoint::{Model, TASK, desired_config};
use crate::commands::setup_federation::default_policy_id;
use crate::databricks::ai_gateway::AiGatewayConfig;
use crate::fleet::Fleet;

/// An HCL value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Num(i64),
    Bool(bool),
    List(Vec<Value>),
    /// An expression written as is (a reference such as `databricks.prod`).
    Expr(String),
    /// An object (`{ a = 1 }`), for object-typed attributes.
    Object(Vec<(String, Value)>),
}

/// An attribute or a block.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Attr(String, Value),
    Block {
        kind: String,
        labels: Vec<String>,
        body: Vec<Item>,
    },
    Comment(String),
}

fn attr(k: &str, v: Value) -> Item {
    Item::Attr(k.to_owned(), v)
}
fn s(v: &str) -> Value {
    Value::Str(v.to_owned())
}
fn block(kind: &str, labels: &[&str], body: Vec<Item>) -> Item {
    Item::Block {
        kind: kind.to_owned(),
        labels: labels.iter().map(|l| (*l).to_owned()).collect(),
        body,
    }
}

/// A Terraform identifier from a name: letters, digits, `_` (and `-`), not starting with a
/// digit.
pub fn ident(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    while out.contains("__") {
        out = out.replace("__", "_");
    }
    let out = out.trim_matches('_').to_owned();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        format!("w_{out}")
    } else {
        out
    }
}

fn gateway_blocks(g: &AiGatewayConfig) -> Vec<Item> {
    let mut out = Vec::new();
    if let Some(u) = &g.usage_tracking_config {
        out.push(block(
            "usage_tracking_config",
            &[],
            vec![attr("enabled", Value::Bool(u.enabled == Some(true)))],
        ));
    }
    for l in g.rate_limits.iter().flatten() {
        let mut b = Vec::new();
        if let Some(c) = l.calls {
            b.push(attr("calls", Value::Num(c)));
        }
        if let Some(t) = l.tokens {
            b.push(attr("tokens", Value::Num(t)));
        }
        if let Some(k) = &l.key {
            b.push(attr("key", s(k)));
        }
        if let Some(p) = &l.principal {
            b.push(attr("principal", s(p)));
        }
        b.push(attr("renewal_period", s(&l.renewal_period)));
        out.push(block("rate_limits", &[], b));
    }
    if let Some(gr) = &g.guardrails {
        let mut sides = Vec::new();
        for (name, side) in [("input", &gr.input), ("output", &gr.output)] {
            let Some(p) = side else { continue };
            let mut b = Vec::new();
            if p.safety == Some(true) {
                b.push(attr("safety", Value::Bool(true)));
            }
            if let Some(behavior) = p.pii.as_ref().and_then(|x| x.behavior.clone()) {
                b.push(block("pii", &[], vec![attr("behavior", s(&behavior))]));
            }
            if !b.is_empty() {
                sides.push(block(name, &[], b));
            }
        }
        if !sides.is_empty() {
            out.push(block("guardrails", &[], sides));
        }
    }
    if let Some(t) = &g.inference_table_config {
        let mut b = vec![attr("enabled", Value::Bool(t.enabled == Some(true)))];
        for (k, v) in [
            ("catalog_name", &t.catalog_name),
            ("schema_name", &t.schema_name),
            ("table_name_prefix", &t.table_name_prefix),
        ] {
            if let Some(v) = v {
                b.push(attr(k, s(v)));
            }
        }
        out.push(block("inference_table_config", &[], b));
    }
    out
}

/// The tree of everything the fleet file describes.
pub fn terraform_model(fleet: &Fleet) -> Vec<Item> {
    let mut items = vec![block(
        "terraform",
        &[],
        vec![block(
            "required_providers",
            &[],
            vec![attr(
                "databricks",
                Value::Object(vec![("source".into(), s("databricks/databricks"))]),
            )],
        )],
    )];
    if let (Some(a), Some(host)) = (&fleet.account, fleet.account_host()) {
        items.push(block(
            "provider",
            &["databricks"],
            vec![
                attr("alias", s("account")),
                attr("host", s(&host)),
                attr("account_id", s(&a.id)),
            ],
        ));
        for p in &a.policies {
            let id = p.policy_id.clone().unwrap_or_else(|| {
                default_policy_id(&p.issuer, &p.audiences, p.subject.as_deref())
            });
            let mut oidc = vec![
                ("issuer".to_owned(), s(&p.issuer)),
                (
                    "audiences".to_owned(),
                    Value::List(p.audiences.iter().map(|x| s(x)).collect()),
                ),
                ("subject_claim".to_owned(), s(&p.subject_claim)),
            ];
            let mut body = vec![attr("provider", Value::Expr("databricks.account".into()))];
            let kind = match (p.owner.service_principal, &p.subject) {
                (Some(sp), Some(subject)) => {
                    oidc.push(("subject".into(), s(subject)));
                    body.push(attr("service_principal_id", Value::Num(sp as i64)));
                    "databricks_service_principal_federation_policy"
                }
                _ => "databricks_account_federation_policy",
            };
            body.push(attr("policy_id", s(&id)));
            body.push(attr(
                "description",
                s(&format!(
                    "gw: sign-in with ID tokens from {} (created by gw-admin)",
                    p.issuer
                )),
            ));
            body.push(attr("oidc_policy", Value::Object(oidc)));
            items.push(block("resource", &[kind, &ident(&id)], body));
        }
    }
    for w in &fleet.workspaces {
        let alias = ident(&w.name);
        items.push(block(
            "provider",
            &["databricks"],
            vec![attr("alias", s(&alias)), attr("host", s(&w.host))],
        ));
        let provider = Value::Expr(format!("databricks.{alias}"));
        let mut listed = false;
        for e in &w.endpoints {
            let res = format!("{alias}_{}", ident(&e.name));
            let endpoint_id = match &e.model {
                Model::External {
                    model,
                    provider: prov,
                    api_key,
                } => {
                    let cfg = desired_config(model, *prov, api_key);
                    let entity = &cfg.served_entities[0];
                    let mut body = vec![
                        attr("provider", provider.clone()),
                        attr("name", s(&e.name)),
                        block(
                            "config",
                            &[],
                            vec![block(
                                "served_entities",
                                &[],
                                vec![
                                    attr("name", s(&entity.name)),
                                    block(
                                        "external_model",
                                        &[],
                                        vec![
                                            attr("name", s(model)),
                                            attr("provider", s(prov.as_str())),
                                            attr("task", s(TASK)),
                                            block(
                                                "anthropic_config",
                                                &[],
                                                vec![attr(
                                                    "anthropic_api_key",
                                                    s(&api_key.reference()),
                                                )],
                                            ),
                                        ],
                                    ),
                                ],
                            )],
                        ),
                    ];
                    if let Some(ch) = &e.gateway {
                        let g = gateway_blocks(&apply_gateway(&AiGatewayConfig::default(), ch));
                        if !g.is_empty() {
                            body.push(block("ai_gateway", &[], g));
                        }
                    }
                    items.push(block("resource", &["databricks_model_serving", &res], body));
                    format!("databricks_model_serving.{res}.serving_endpoint_id")
                }
                Model::Foundation(m) => {
                    items.push(Item::Comment(format!(
                        "`{}` is the pay-per-token endpoint of {m}: Databricks runs it, so it is no resource here; its AI Gateway settings stay with `gw-admin apply`.",
                        e.name
                    )));
                    if !listed {
                        items.push(block(
                            "data",
                            &["databricks_serving_endpoints", &alias],
                            vec![attr("provider", provider.clone())],
                        ));
                        listed = true;
                    }
                    format!(
                        "one([for e in data.databricks_serving_endpoints.{alias}.endpoints : e.id if e.name == \"{}\"])",
                        e.name
                    )
                }
            };
            if !e.grants.is_empty() {
                let mut body = vec![
                    attr("provider", provider.clone()),
                    attr("serving_endpoint_id", Value::Expr(endpoint_id)),
                ];
                for (g, level) in &e.grants {
                    body.push(block(
                        "access_control",
                        &[],
                        vec![
                            attr("group_name", s(g)),
                            attr("permission_level", s(level.as_api())),
                        ],
                    ));
                }
                items.push(Item::Comment(
                    "databricks_permissions is authoritative: it replaces the endpoint's ACL (gw-admin grant merges).".into(),
                ));
                items.push(block("resource", &["databricks_permissions", &res], body));
            }
        }
    }
    items
}

fn quote(v: &str) -> String {
    let mut out = String::from("\"");
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            // `${` and `%{` start template sequences in HCL strings.
            '$' | '%' => {
                out.push(c);
                if c == '$' {
                    out.push('$');
                } else {
                    out.push('%');
                }
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn value(v: &Value, indent: usize) -> String {
    match v {
        Value::Str(x) => quote(x),
        Value::Num(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Expr(e) => e.clone(),
        Value::List(xs) => format!(
            "[{}]",
            xs.iter()
                .map(|x| value(x, indent))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Object(kv) => {
            let pad = "  ".repeat(indent + 1);
            let w = kv.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
            let mut out = String::from("{\n");
            for (k, x) in kv {
                out.push_str(&format!("{pad}{k:<w$} = {}\n", value(x, indent + 1)));
            }
            out.push_str(&"  ".repeat(indent));
            out.push('}');
            out
        }
    }
}

fn render_items(items: &[Item], indent: usize, out: &mut String) {
    let pad = "  ".repeat(indent);
    // `terraform fmt` aligns the `=` of consecutive single-line attributes.
    let mut i = 0;
    while i < items.len() {
        if let Item::Attr(..) = items[i] {
            let mut j = i;
            while j < items.len() && matches!(items[j], Item::Attr(..)) {
                j += 1;
            }
            let mut run_start = i;
            while run_start < j {
                // A multi-line object stands alone; single-line attributes align together.
                let is_object = |x: &Item| matches!(x, Item::Attr(_, Value::Object(_)));
                let mut run_end = run_start + 1;
                if !is_object(&items[run_start]) {
                    while run_end < j && !is_object(&items[run_end]) {
                        run_end += 1;
                    }
                }
                let w = items[run_start..run_end]
                    .iter()
                    .filter_map(|x| match x {
                        Item::Attr(k, _) => Some(k.len()),
                        _ => None,
                    })
                    .max()
                    .unwrap_or(0);
                for x in &items[run_start..run_end] {
                    if let Item::Attr(k, v) = x {
                        out.push_str(&format!("{pad}{k:<w$} = {}\n", value(v, indent)));
                    }
                }
                run_start = run_end;
            }
            i = j;
            continue;
        }
        match &items[i] {
            Item::Comment(c) => out.push_str(&format!("{pad}# {c}\n")),
            Item::Block { kind, labels, body } => {
                if i > 0 && (indent == 0 || matches!(items[i - 1], Item::Attr(..))) {
                    out.push('\n');
                }
                let labels: String = labels.iter().map(|l| format!(" {}", quote(l))).collect();
                out.push_str(&format!("{pad}{kind}{labels} {{\n"));
                render_items(body, indent + 1, out);
                out.push_str(&format!("{pad}}}\n"));
            }
            Item::Attr(..) => unreachable!("handled above"),
        }
        i += 1;
    }
}

/// The HCL text.
pub fn render(items: &[Item]) -> String {
    let mut out = String::from(
        "# Generated by `gw-admin export --terraform` from the fleet file. Tokens come from the\n# provider's usual auth (DATABRICKS_TOKEN, a profile, OAuth), never from this file.\n\n",
    );
    render_items(items, 0, &mut out);
    out
}

/// The fleet file as Terraform.
pub fn terraform(fleet: &Fleet) -> String {
    render(&terraform_model(fleet))
}
