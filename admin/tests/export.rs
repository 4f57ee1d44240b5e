//! `export --terraform`: every resource, block and attribute checked against the provider's
//! published schema (tests/fixtures/databricks_provider_schema.json), and the HCL checked by
//! `terraform fmt` when Terraform is installed (the provider itself cannot be fetched here, so
//! `terraform validate` cannot run).

use std::path::Path;

use gw_admin::commands::export::{self, Item, Value};
use serde_json::Value as Json;

const FLEET: &str = r#"
[account]
id = "acct-1"
[[account.federation_policies]]
azure_tenant = "11111111-2222-3333-4444-555555555555"
audiences = ["gw-app"]
[[account.federation_policies]]
issuer = "https://token.actions.githubusercontent.com"
audiences = ["databricks"]
service_principal = 42
subject = "repo:corp/app:ref:refs/heads/main"

[templates.standard.endpoints.claude-code]
external_model = "claude-sonnet-4-5"
api_key_secret = "gw/anthropic"
gateway = { usage_tracking = true, rate_limits = ["1000/minute", "60/minute:user", "100000/minute:tokens:user", "20/minute:service_principal=sp-1"], pii = "mask", safety = true, inference_table = "main.gw" }
grants = { developers = "CAN_QUERY", admins = "CAN_MANAGE" }

[workspaces.prod-eu]
host = "https://adb-1.2.azuredatabricks.net"
template = "standard"
[workspaces.prod-eu.endpoints.databricks-claude-sonnet-4-5]
foundation_model = "databricks-claude-sonnet-4-5"
grants = { developers = "CAN_QUERY" }
"#;

fn check(items: &[Item], schema: &Json, at: &str) {
    for item in items {
        match item {
            Item::Attr(k, v) => {
                let attrs = schema["attributes"].as_array().cloned().unwrap_or_default();
                assert!(
                    attrs.iter().any(|a| a == k),
                    "{at}: `{k}` is not an attribute"
                );
                if let Value::Object(kv) = v {
                    let fields = schema["objects"][k]
                        .as_array()
                        .unwrap_or_else(|| panic!("{at}.{k} is no object"));
                    for (f, _) in kv {
                        assert!(fields.iter().any(|x| x == f), "{at}.{k}: no field `{f}`");
                    }
                }
            }
            Item::Block { kind, body, .. } => {
                let nested = &schema["blocks"][kind];
                assert!(nested.is_object(), "{at}: `{kind}` is not a block");
                check(body, nested, &format!("{at}.{kind}"));
            }
            Item::Comment(_) => {}
        }
    }
    for r in schema["required"].as_array().into_iter().flatten() {
        assert!(
            items
                .iter()
                .any(|i| matches!(i, Item::Attr(k, _) if k == r)),
            "{at}: required `{r}` missing"
        );
    }
}

#[test]
fn every_exported_resource_matches_the_providers_schema() {
    let fleet = gw_admin::fleet::parse(FLEET, Path::new("fleet.toml")).unwrap();
    let schema: Json =
        serde_json::from_str(include_str!("fixtures/databricks_provider_schema.json")).unwrap();
    let model = export::terraform_model(&fleet);
    let mut kinds = Vec::new();
    for item in &model {
        if let Item::Block { kind, labels, body } = item
            && kind == "resource"
        {
            let rs = &schema[&labels[0]];
            assert!(rs.is_object(), "unknown resource type {}", labels[0]);
            check(body, rs, &labels[0]);
            kinds.push(labels[0].clone());
        }
    }
    kinds.sort();
    kinds.dedup();
    assert_eq!(
        kinds,
        [
            "databricks_account_federation_policy",
            "databricks_model_serving",
            "databricks_permissions",
            "databricks_service_principal_federation_policy"
        ]
    );
    let hcl = export::render(&model);
    assert!(
        hcl.contains("resource \"databricks_model_serving\" \"prod_eu_claude_code\""),
        "{hcl}"
    );
    assert!(
        hcl.contains(
            "serving_endpoint_id = databricks_model_serving.prod_eu_claude_code.serving_endpoint_id"
        ),
        "{hcl}"
    );
    assert!(hcl.contains("tokens         = 100000"), "{hcl}");
    assert!(
        hcl.contains("anthropic_api_key = \"{{secrets/gw/anthropic}}\""),
        "{hcl}"
    );
    assert!(
        hcl.contains("data \"databricks_serving_endpoints\" \"prod_eu\""),
        "{hcl}"
    );
    assert!(
        hcl.contains("host       = \"https://accounts.azuredatabricks.net\""),
        "{hcl}"
    );

    // Terraform's own parser, when it is installed: the HCL is valid and canonically formatted.
    if let Ok(mut child) = std::process::Command::new("terraform")
        .args(["fmt", "-check", "-diff", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(hcl.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "terraform fmt -check:\n{}{}\n{hcl}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
