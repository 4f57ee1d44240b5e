//! Databricks error bodies: each status gives its own message and hint; 429 and 503 are
//! retried (and then reported), no other status is.

mod support;

use std::time::Duration;

use gw::api::Report;
use gw_admin::commands::configure_gateway::{self, GatewayChanges, Pii};
use gw_admin::commands::grant::{self, PermissionLevel};
use gw_admin::commands::setup_endpoint::{self, Model, Provider, SetupEndpoint, WaitPolicy};
use gw_admin::commands::setup_federation::{self, Federation};
use gw_admin::databricks::federation_policy::PolicyOwner;
use gw_admin::databricks::{ApiError, Reply};
use httpmock::prelude::*;
use serde_json::json;
use support::*;

const NAME: &str = "claude-code";
const PATH: &str = "/api/2.0/serving-endpoints/claude-code";

fn report(err: anyhow::Error) -> Report {
    let r = gw_admin::error::report(&err);
    assert!(!r.line.contains(TOKEN), "{}", r.line);
    assert!(!r.hint.as_deref().unwrap_or("").contains(TOKEN));
    r
}

fn external() -> SetupEndpoint {
    SetupEndpoint {
        name: NAME.into(),
        model: Model::External {
            model: "claude-sonnet-4-5".into(),
            provider: Provider::Anthropic,
            api_key: "gw/anthropic".parse().unwrap(),
        },
    }
}

fn quick() -> WaitPolicy {
    WaitPolicy {
        interval: Duration::from_millis(10),
        timeout: Duration::from_secs(2),
    }
}

#[tokio::test]
async fn a_409_says_it_already_exists() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(PATH);
            then.status(404).json_body(no_such_endpoint(NAME));
        })
        .await;
    let post = server
        .mock_async(|when, then| {
            when.method(POST).path("/api/2.0/serving-endpoints");
            then.status(409).json_body(json!({
                "error_code": "RESOURCE_ALREADY_EXISTS",
                "message": "Endpoint with name 'claude-code' already exists."
            }));
        })
        .await;
    let err = setup_endpoint::run(&workspace(&server), &external(), &quick())
        .await
        .unwrap_err();
    post.assert_calls_async(1).await;
    let r = report(err);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.line,
        format!(
            "`POST {}/api/2.0/serving-endpoints` failed with HTTP 409 RESOURCE_ALREADY_EXISTS: \
             Endpoint with name 'claude-code' already exists.",
            server.base_url()
        )
    );
    assert!(
        r.hint
            .unwrap()
            .starts_with("serving endpoint `claude-code` already exists or is being changed")
    );
}

#[tokio::test]
async fn a_400_points_at_the_flags_and_is_not_retried() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(PATH);
            then.status(200)
                .json_body(endpoint(NAME, json!([]), "READY", "NOT_UPDATING"));
        })
        .await;
    let put = server
        .mock_async(|when, then| {
            when.method(PUT).path(format!("{PATH}/ai-gateway"));
            then.status(400).json_body(json!({
                "error_code": "INVALID_PARAMETER_VALUE",
                "message": "PII detection is not supported for this endpoint type.\nTrace: 1"
            }));
        })
        .await;
    let changes = GatewayChanges {
        pii: Some(Pii::Block),
        ..Default::default()
    };
    let err = configure_gateway::run(&workspace(&server), NAME, &changes)
        .await
        .unwrap_err();
    put.assert_calls_async(1).await;
    let r = report(err);
    assert!(
        r.line.ends_with(
            "failed with HTTP 400 INVALID_PARAMETER_VALUE: PII detection is not supported for this endpoint type."
        ),
        "{}",
        r.line
    );
    assert!(r.hint.unwrap().contains("check the flags"));
}

#[tokio::test]
async fn a_403_says_who_may_do_it_on_the_workspace_and_the_account() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(PATH);
            then.status(200)
                .json_body(endpoint(NAME, json!([]), "READY", "NOT_UPDATING"));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET).path_includes("/api/2.0/permissions/");
            then.status(403).json_body(json!({
                "error_code": "PERMISSION_DENIED",
                "message": "User does not have MANAGE permission on the endpoint."
            }));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET).path_includes("/federationPolicies");
            then.status(403).json_body(json!({
                "error_code": "PERMISSION_DENIED",
                "message": "Only account admins can manage federation policies."
            }));
        })
        .await;

    let ws_err = grant::run(&workspace(&server), NAME, "devs", PermissionLevel::CanQuery)
        .await
        .unwrap_err();
    let ws = report(ws_err);
    assert!(
        ws.line
            .contains("HTTP 403 PERMISSION_DENIED: User does not have MANAGE")
    );
    assert!(ws.hint.unwrap().contains("workspace admin"));

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
    let acct_err = setup_federation::run(&account(&server), &fed)
        .await
        .unwrap_err();
    let acct = report(acct_err);
    assert!(
        acct.line
            .contains("HTTP 403 PERMISSION_DENIED: Only account admins")
    );
    assert!(acct.hint.unwrap().contains("account admin's token"));
}

#[tokio::test]
async fn a_401_says_to_sign_in_again() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(PATH);
            then.status(401).json_body(json!({
                "error_code": "401",
                "message": "Credential was not sent or was of an unsupported type for this API."
            }));
        })
        .await;
    let err = setup_endpoint::run(&workspace(&server), &external(), &quick())
        .await
        .unwrap_err();
    let r = report(err);
    assert!(r.line.contains("HTTP 401"));
    assert!(r.hint.unwrap().contains("gw login"));
}

#[tokio::test]
async fn a_429_is_retried_then_reported_with_the_retry_count() {
    let server = MockServer::start_async().await;
    let limited = server
        .mock_async(|when, then| {
            when.method(GET).path(PATH);
            then.status(429)
                .header("retry-after", "0")
                .json_body(json!({
                    "error_code": "REQUEST_LIMIT_EXCEEDED",
                    "message": "Too many requests."
                }));
        })
        .await;
    let err = setup_endpoint::run(&workspace(&server), &external(), &quick())
        .await
        .unwrap_err();
    // The first attempt and two retries (the test policy), then the message.
    limited.assert_calls_async(3).await;
    let r = report(err);
    assert!(
        r.line
            .contains("HTTP 429 REQUEST_LIMIT_EXCEEDED: Too many requests.")
    );
    assert!(r.hint.unwrap().contains("gave up after 2 retries"));
}

#[tokio::test]
async fn a_429_or_503_that_clears_is_invisible() {
    let server = MockServer::start_async().await;
    let limited = server
        .mock_async(|when, then| {
            when.path(PATH).is_true(first(1, "GET"));
            then.status(429)
                .header("retry-after", "0")
                .json_body(json!({
                "error_code": "REQUEST_LIMIT_EXCEEDED", "message": "slow down"}));
        })
        .await;
    let unavailable = server
        .mock_async(|when, then| {
            when.path(PATH).is_true(first(1, "GET"));
            then.status(503).body("<html>upstream busy</html>");
        })
        .await;
    let ok = server
        .mock_async(|when, then| {
            when.method(GET).path(PATH);
            then.status(200)
                .json_body(endpoint(NAME, json!([]), "READY", "NOT_UPDATING"));
        })
        .await;
    let got = workspace(&server).get_endpoint(NAME).await.unwrap();
    limited.assert_calls_async(1).await;
    unavailable.assert_calls_async(1).await;
    ok.assert_calls_async(1).await;
    assert!(matches!(got, Reply::Got(Some(e)) if e.name == NAME));
}

#[tokio::test]
async fn a_503_after_every_retry_says_try_later_and_a_bare_404_is_not_absence() {
    let server = MockServer::start_async().await;
    let busy = server
        .mock_async(|when, then| {
            when.method(GET).path(PATH);
            then.status(503).json_body(json!({
                "error_code": "TEMPORARILY_UNAVAILABLE", "message": "The service is busy."}));
        })
        .await;
    let err = workspace(&server).get_endpoint(NAME).await.unwrap_err();
    busy.assert_calls_async(3).await;
    assert_eq!(err.status(), Some(503));
    assert!(err.hint().contains("temporarily unavailable"));

    // A 404 without a Databricks body is a wrong host or path, not "no such endpoint".
    let err = workspace(&server).get_endpoint("other").await.unwrap_err();
    assert!(matches!(
        err,
        ApiError::Status {
            status: 404,
            error_code: None,
            ..
        }
    ));
}
