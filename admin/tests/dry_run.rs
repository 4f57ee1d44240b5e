//! `--dry-run`: every request is printed (method, URL, JSON body) and none is sent.

mod support;

use gw_admin::commands::configure_gateway::{self, GatewayChanges};
use gw_admin::commands::grant::{self, PermissionLevel};
use gw_admin::commands::setup_endpoint::{self, Model, Provider, SetupEndpoint, WaitPolicy};
use gw_admin::commands::setup_federation::{self, Federation, default_policy_id};
use gw_admin::commands::show;
use gw_admin::databricks::Api;
use gw_admin::databricks::federation_policy::PolicyOwner;
use gw_admin::output::Output;
use httpmock::prelude::*;
use support::*;

#[tokio::test]
async fn every_command_prints_its_requests_and_sends_none() {
    let server = MockServer::start_async().await;
    let anything = any_request(&server).await;
    let out = Output::capture();
    let ws = dry_run(&server, Api::Workspace, &out);
    let acct = dry_run(&server, Api::Account, &out);
    let base = server.base_url();

    let endpoint = SetupEndpoint {
        name: "claude-code".into(),
        model: Model::External {
            model: "claude-sonnet-4-5".into(),
            provider: Provider::Anthropic,
            api_key: "gw/anthropic".parse().unwrap(),
        },
    };
    let o = setup_endpoint::run(&ws, &endpoint, &WaitPolicy::default())
        .await
        .unwrap();
    assert!(
        o.text().starts_with("Dry run: would create"),
        "{}",
        o.text()
    );
    let changes = GatewayChanges {
        usage_tracking: Some(true),
        rate_limits: Some(vec!["100/minute:user".parse().unwrap()]),
        ..Default::default()
    };
    configure_gateway::run(&ws, "claude-code", &changes)
        .await
        .unwrap();
    grant::run(&ws, "claude-code", "developers", PermissionLevel::CanQuery)
        .await
        .unwrap();
    let fed = Federation {
        owner: PolicyOwner {
            account_id: "acct".into(),
            service_principal: None,
        },
        issuer: "https://idp.example.com".into(),
        audiences: vec!["gw".into()],
        subject_claim: "email".into(),
        subject: None,
        policy_id: None,
    };
    setup_federation::run(&acct, &fed).await.unwrap();
    show::run(&ws, Some((&acct, "acct")), Some("claude-code"))
        .await
        .unwrap();

    anything.assert_calls_async(0).await;
    let printed = out.captured();
    let policy_id = default_policy_id("https://idp.example.com", &["gw".into()], None);
    let expected = format!(
        r#"GET {base}/api/2.0/serving-endpoints/claude-code

POST {base}/api/2.0/serving-endpoints
{{
  "config": {{
    "served_entities": [
      {{
        "external_model": {{
          "anthropic_config": {{
            "anthropic_api_key": "{{{{secrets/gw/anthropic}}}}"
          }},
          "name": "claude-sonnet-4-5",
          "provider": "anthropic",
          "task": "llm/v1/chat"
        }},
        "name": "claude-sonnet-4-5"
      }}
    ]
  }},
  "name": "claude-code"
}}

GET {base}/api/2.0/serving-endpoints/claude-code

PUT {base}/api/2.0/serving-endpoints/claude-code/ai-gateway
{{
  "rate_limits": [
    {{
      "calls": 100,
      "key": "user",
      "renewal_period": "minute"
    }}
  ],
  "usage_tracking_config": {{
    "enabled": true
  }}
}}

GET {base}/api/2.0/serving-endpoints/claude-code

GET {base}/api/2.0/permissions/serving-endpoints/ENDPOINT_ID

PATCH {base}/api/2.0/permissions/serving-endpoints/ENDPOINT_ID
{{
  "access_control_list": [
    {{
      "group_name": "developers",
      "permission_level": "CAN_QUERY"
    }}
  ]
}}

GET {base}/api/2.0/accounts/acct/federationPolicies?page_size=100

POST {base}/api/2.0/accounts/acct/federationPolicies?policy_id={policy_id}
{{
  "description": "gw: sign-in with ID tokens from https://idp.example.com (created by gw-admin)",
  "oidc_policy": {{
    "audiences": [
      "gw"
    ],
    "issuer": "https://idp.example.com",
    "subject_claim": "email"
  }}
}}

GET {base}/api/2.0/serving-endpoints/claude-code

GET {base}/api/2.0/accounts/acct/federationPolicies?page_size=100

"#
    );
    assert_eq!(printed, expected);
    assert!(!printed.contains(TOKEN));
}
