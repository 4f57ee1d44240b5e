//! `setup-endpoint` against httpmock: exact method, path and body of every call; the
//! already-exists paths; the wait for readiness.

mod support;

use std::time::Duration;

use gw_admin::commands::setup_endpoint::{self, Model, Provider, SetupEndpoint, WaitPolicy};
use httpmock::prelude::*;
use serde_json::json;
use support::*;

const NAME: &str = "claude-code";
const PATH: &str = "/api/2.0/serving-endpoints/claude-code";

fn external(model: &str, secret: &str) -> SetupEndpoint {
    SetupEndpoint {
        name: NAME.into(),
        model: Model::External {
            model: model.into(),
            provider: Provider::Anthropic,
            api_key: secret.parse().unwrap(),
        },
    }
}

fn quick() -> WaitPolicy {
    WaitPolicy {
        interval: Duration::from_millis(10),
        timeout: Duration::from_secs(5),
    }
}

#[tokio::test]
async fn a_missing_endpoint_is_created_with_a_secret_reference_and_awaited() {
    let server = MockServer::start_async().await;
    let created = Flag::default();
    let missing = server
        .mock_async(|when, then| {
            when.method(GET)
                .path(PATH)
                .header("authorization", format!("Bearer {TOKEN}"))
                .is_true(created.is(false));
            then.status(404).json_body(no_such_endpoint(NAME));
        })
        .await;
    let create = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/2.0/serving-endpoints")
                .header("authorization", format!("Bearer {TOKEN}"))
                .header("content-type", "application/json")
                .json_body(json!({
                    "name": NAME,
                    "config": {"served_entities": [{
                        "name": "claude-sonnet-4-5",
                        "external_model": {
                            "name": "claude-sonnet-4-5",
                            "provider": "anthropic",
                            "task": "llm/v1/chat",
                            "anthropic_config": {"anthropic_api_key": "{{secrets/gw/anthropic}}"}
                        }
                    }]}
                }))
                .is_true(created.set_on("POST"));
            then.status(200).json_body(endpoint(
                NAME,
                json!([anthropic_entity("claude-sonnet-4-5", "gw/anthropic")]),
                "NOT_READY",
                "IN_PROGRESS",
            ));
        })
        .await;
    let ready = server
        .mock_async(|when, then| {
            when.method(GET).path(PATH).is_true(created.is(true));
            then.status(200).json_body(endpoint(
                NAME,
                json!([anthropic_entity("claude-sonnet-4-5", "gw/anthropic")]),
                "READY",
                "NOT_UPDATING",
            ));
        })
        .await;

    let out = setup_endpoint::run(
        &workspace(&server),
        &external("claude-sonnet-4-5", "gw/anthropic"),
        &quick(),
    )
    .await
    .unwrap();

    missing.assert_calls_async(1).await;
    create.assert_calls_async(1).await;
    ready.assert_calls_async(1).await;
    assert!(out.changed);
    assert_eq!(out.json["action"], "created");
    assert!(
        out.text()
            .contains("Created serving endpoint `claude-code`"),
        "{}",
        out.text()
    );
    assert!(out.text().contains("READY"));
}

#[tokio::test]
async fn an_identical_endpoint_is_left_alone() {
    let server = MockServer::start_async().await;
    let get = server
        .mock_async(|when, then| {
            when.method(GET).path(PATH);
            then.status(200).json_body(endpoint(
                NAME,
                json!([anthropic_entity("claude-sonnet-4-5", "gw/anthropic")]),
                "READY",
                "NOT_UPDATING",
            ));
        })
        .await;
    let writes = any_write(&server).await;

    let out = setup_endpoint::run(
        &workspace(&server),
        &external("claude-sonnet-4-5", "gw/anthropic"),
        &quick(),
    )
    .await
    .unwrap();

    get.assert_calls_async(1).await;
    writes.assert_calls_async(0).await;
    assert!(!out.changed);
    assert!(out.text().contains("is up to date"), "{}", out.text());
    assert!(out.text().contains("nothing to change"));
}

#[tokio::test]
async fn another_model_updates_only_the_config() {
    let server = MockServer::start_async().await;
    let updated = Flag::default();
    let before = server
        .mock_async(|when, then| {
            when.method(GET).path(PATH).is_true(updated.is(false));
            then.status(200).json_body(endpoint(
                NAME,
                json!([anthropic_entity("claude-sonnet-4", "gw/anthropic")]),
                "READY",
                "NOT_UPDATING",
            ));
        })
        .await;
    let put = server
        .mock_async(|when, then| {
            when.method(PUT)
                .path(format!("{PATH}/config"))
                .json_body(json!({"served_entities": [{
                    "name": "claude-sonnet-4-5",
                    "external_model": {
                        "name": "claude-sonnet-4-5",
                        "provider": "anthropic",
                        "task": "llm/v1/chat",
                        "anthropic_config": {"anthropic_api_key": "{{secrets/gw/anthropic}}"}
                    }
                }]}))
                .is_true(updated.set_on("PUT"));
            then.status(200).json_body(endpoint(
                NAME,
                json!([anthropic_entity("claude-sonnet-4", "gw/anthropic")]),
                "READY",
                "IN_PROGRESS",
            ));
        })
        .await;
    let after = server
        .mock_async(|when, then| {
            when.method(GET).path(PATH).is_true(updated.is(true));
            then.status(200).json_body(endpoint(
                NAME,
                json!([anthropic_entity("claude-sonnet-4-5", "gw/anthropic")]),
                "READY",
                "NOT_UPDATING",
            ));
        })
        .await;
    let create = server
        .mock_async(|when, then| {
            when.method(POST);
            then.status(500);
        })
        .await;

    let out = setup_endpoint::run(
        &workspace(&server),
        &external("claude-sonnet-4-5", "gw/anthropic"),
        &quick(),
    )
    .await
    .unwrap();

    before.assert_calls_async(1).await;
    put.assert_calls_async(1).await;
    after.assert_calls_async(1).await;
    create.assert_calls_async(0).await;
    assert_eq!(out.json["action"], "updated");
    assert!(
        out.text()
            .contains("model `claude-sonnet-4` → `claude-sonnet-4-5`"),
        "{}",
        out.text()
    );
}

#[tokio::test]
async fn a_failed_update_is_an_error_that_points_at_the_secret() {
    let server = MockServer::start_async().await;
    let updated = Flag::default();
    server
        .mock_async(|when, then| {
            when.method(GET).path(PATH).is_true(updated.is(false));
            then.status(200).json_body(endpoint(
                NAME,
                json!([anthropic_entity("claude-sonnet-4-5", "old/key")]),
                "READY",
                "NOT_UPDATING",
            ));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(PUT)
                .path(format!("{PATH}/config"))
                .is_true(updated.set_on("PUT"));
            then.status(200).json_body(json!({"name": NAME}));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(PATH).is_true(updated.is(true));
            then.status(200).json_body(endpoint(
                NAME,
                json!([anthropic_entity("claude-sonnet-4-5", "old/key")]),
                "READY",
                "UPDATE_FAILED",
            ));
        })
        .await;

    let err = setup_endpoint::run(
        &workspace(&server),
        &external("claude-sonnet-4-5", "gw/anthropic"),
        &quick(),
    )
    .await
    .unwrap_err();
    let r = gw_admin::error::report(&err);
    assert_eq!(r.code, 1);
    assert!(r.line.contains("UPDATE_FAILED"), "{}", r.line);
    assert!(r.hint.unwrap().contains("secret"));
}

#[tokio::test]
async fn an_endpoint_that_never_gets_ready_times_out_with_its_state() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(PATH);
            then.status(200).json_body(endpoint(
                NAME,
                json!([anthropic_entity("claude-sonnet-4-5", "gw/anthropic")]),
                "NOT_READY",
                "IN_PROGRESS",
            ));
        })
        .await;
    let writes = any_write(&server).await;
    let wait = WaitPolicy {
        interval: Duration::from_millis(10),
        timeout: Duration::from_millis(50),
    };
    let err = setup_endpoint::run(
        &workspace(&server),
        &external("claude-sonnet-4-5", "gw/anthropic"),
        &wait,
    )
    .await
    .unwrap_err();
    writes.assert_calls_async(0).await;
    let r = gw_admin::error::report(&err);
    assert!(r.line.contains("still not ready"), "{}", r.line);
    assert!(r.line.contains("NOT_READY, config update IN_PROGRESS"));
    assert!(r.hint.unwrap().contains("gw-admin show --name claude-code"));
}

#[tokio::test]
async fn a_pay_per_token_endpoint_is_checked_and_nothing_is_written() {
    let server = MockServer::start_async().await;
    let get = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/api/2.0/serving-endpoints/databricks-claude-sonnet-4-5");
            then.status(200).json_body(json!({
                "name": "databricks-claude-sonnet-4-5",
                "id": "ppt-1",
                "endpoint_type": "FOUNDATION_MODEL_API",
                "state": {"ready": "READY", "config_update": "NOT_UPDATING"},
                "config": {"served_entities": [{"name": "databricks-claude-sonnet-4-5",
                    "foundation_model": {"name": "databricks-claude-sonnet-4-5"}}]}
            }));
        })
        .await;
    let writes = any_write(&server).await;
    let req = SetupEndpoint {
        name: "databricks-claude-sonnet-4-5".into(),
        model: Model::Foundation("databricks-claude-sonnet-4-5".into()),
    };
    let out = setup_endpoint::run(&workspace(&server), &req, &quick())
        .await
        .unwrap();
    get.assert_calls_async(1).await;
    writes.assert_calls_async(0).await;
    assert!(!out.changed);
    assert!(out.text().contains("exists (READY"), "{}", out.text());
}

#[tokio::test]
async fn a_missing_pay_per_token_endpoint_is_a_clear_error() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/api/2.0/serving-endpoints/databricks-claude-opus-9");
            then.status(404)
                .json_body(no_such_endpoint("databricks-claude-opus-9"));
        })
        .await;
    let writes = any_write(&server).await;
    let req = SetupEndpoint {
        name: "databricks-claude-opus-9".into(),
        model: Model::Foundation("databricks-claude-opus-9".into()),
    };
    let err = setup_endpoint::run(&workspace(&server), &req, &quick())
        .await
        .unwrap_err();
    writes.assert_calls_async(0).await;
    let r = gw_admin::error::report(&err);
    assert_eq!(
        r.line,
        "there is no pay-per-token endpoint `databricks-claude-opus-9` in this workspace"
    );
    assert!(r.hint.unwrap().contains("databricks-claude-sonnet-4-5"));
}
