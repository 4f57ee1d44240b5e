//! `configure-gateway` against httpmock: read-modify-write with the exact PUT body; a second
//! identical run sends no PUT; moving an inference table takes two PUTs.

mod support;

use gw_admin::commands::configure_gateway::{self, GatewayChanges};
use httpmock::prelude::*;
use serde_json::{Value, json};
use support::*;

const NAME: &str = "claude-code";
const PATH: &str = "/api/2.0/serving-endpoints/claude-code";

fn with_gateway(ai_gateway: Value) -> Value {
    let mut e = endpoint(
        NAME,
        json!([anthropic_entity("claude-sonnet-4-5", "gw/anthropic")]),
        "READY",
        "NOT_UPDATING",
    );
    e["ai_gateway"] = ai_gateway;
    e
}

fn changes(args: &[&str]) -> GatewayChanges {
    // The same parsing the CLI does.
    use clap::Parser;
    let cli = gw_admin::cli::Cli::try_parse_from(
        ["gw-admin", "configure-gateway", "--name", NAME]
            .iter()
            .chain(args),
    )
    .unwrap();
    let gw_admin::cli::Command::ConfigureGateway(a) = cli.command else {
        unreachable!()
    };
    GatewayChanges {
        usage_tracking: a.usage_tracking,
        rate_limits: (!a.rate_limits.is_empty()).then_some(a.rate_limits),
        pii: a.pii,
        safety: a.safety,
        inference_table: a.inference_table,
    }
}

#[tokio::test]
async fn the_put_carries_the_whole_config_with_only_the_given_flags_changed() {
    let server = MockServer::start_async().await;
    let get = server
        .mock_async(|when, then| {
            when.method(GET).path(PATH);
            then.status(200).json_body(with_gateway(json!({
                "usage_tracking_config": {"enabled": true},
                "rate_limits": [{"calls": 5, "key": "endpoint", "renewal_period": "minute"}],
                "guardrails": {"input": {"invalid_keywords": ["password"]}},
                "fallback_config": {"enabled": false}
            })));
        })
        .await;
    let put = server
        .mock_async(|when, then| {
            when.method(PUT)
                .path(format!("{PATH}/ai-gateway"))
                .header("authorization", format!("Bearer {TOKEN}"))
                .json_body(json!({
                    "usage_tracking_config": {"enabled": true},
                    "rate_limits": [
                        {"calls": 100, "key": "endpoint", "renewal_period": "minute"},
                        {"calls": 20, "key": "user", "renewal_period": "minute"},
                        {"calls": 50, "key": "user_group", "principal": "data-eng", "renewal_period": "minute"}
                    ],
                    "guardrails": {
                        "input": {"safety": true, "pii": {"behavior": "BLOCK"}, "invalid_keywords": ["password"]},
                        "output": {"safety": true, "pii": {"behavior": "BLOCK"}}
                    },
                    "inference_table_config": {"enabled": true, "catalog_name": "main",
                        "schema_name": "gw", "table_name_prefix": "claude"},
                    "fallback_config": {"enabled": false}
                }));
            then.status(200).json_body(json!({}));
        })
        .await;

    let out = configure_gateway::run(
        &workspace(&server),
        NAME,
        &changes(&[
            "--rate-limit",
            "100/minute",
            "--rate-limit",
            "20/minute:user",
            "--rate-limit",
            "50/minute:group=data-eng",
            "--pii",
            "block",
            "--safety",
            "--inference-table",
            "main.gw.claude",
        ]),
    )
    .await
    .unwrap();

    get.assert_calls_async(1).await;
    put.assert_calls_async(1).await;
    assert!(out.changed);
    assert_eq!(
        out.json["sections"],
        json!(["rate limits", "guardrails", "inference table"])
    );
}

#[tokio::test]
async fn a_second_identical_run_sends_no_put() {
    let server = MockServer::start_async().await;
    // What Databricks holds after the first run (it fills in the table prefix).
    server
        .mock_async(|when, then| {
            when.method(GET).path(PATH);
            then.status(200).json_body(with_gateway(json!({
                "usage_tracking_config": {"enabled": true},
                "rate_limits": [
                    {"calls": 20, "key": "user", "renewal_period": "minute"},
                    {"calls": 100, "key": "endpoint", "renewal_period": "minute"}
                ],
                "guardrails": {
                    "input": {"safety": true, "pii": {"behavior": "MASK"}},
                    "output": {"safety": true, "pii": {"behavior": "MASK"}}
                },
                "inference_table_config": {"enabled": true, "catalog_name": "main",
                    "schema_name": "gw", "table_name_prefix": "claude-code"}
            })));
        })
        .await;
    let writes = any_write(&server).await;

    let out = configure_gateway::run(
        &workspace(&server),
        NAME,
        &changes(&[
            "--usage-tracking",
            "--rate-limit",
            "100/minute",
            "--rate-limit",
            "20/minute:user",
            "--pii",
            "mask",
            "--safety",
            "--inference-table",
            "main.gw",
        ]),
    )
    .await
    .unwrap();

    writes.assert_calls_async(0).await;
    assert!(!out.changed);
    assert!(
        out.text().contains("already has these settings"),
        "{}",
        out.text()
    );
}

#[tokio::test]
async fn moving_an_enabled_inference_table_disables_it_first() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(PATH);
            then.status(200).json_body(with_gateway(json!({
                "inference_table_config": {"enabled": true, "catalog_name": "main",
                    "schema_name": "old", "table_name_prefix": "claude"}
            })));
        })
        .await;
    let disable = server
        .mock_async(|when, then| {
            when.method(PUT)
                .path(format!("{PATH}/ai-gateway"))
                .json_body(json!({
                    "inference_table_config": {"enabled": false, "catalog_name": "main",
                        "schema_name": "old", "table_name_prefix": "claude"}
                }));
            then.status(200).json_body(json!({}));
        })
        .await;
    let enable = server
        .mock_async(|when, then| {
            when.method(PUT)
                .path(format!("{PATH}/ai-gateway"))
                .json_body(json!({
                    "inference_table_config": {"enabled": true, "catalog_name": "main",
                        "schema_name": "new"}
                }));
            then.status(200).json_body(json!({}));
        })
        .await;

    configure_gateway::run(
        &workspace(&server),
        NAME,
        &changes(&["--inference-table", "main.new"]),
    )
    .await
    .unwrap();

    disable.assert_calls_async(1).await;
    enable.assert_calls_async(1).await;
}

#[tokio::test]
async fn usage_tracking_can_be_turned_off_and_other_sections_stay() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(PATH);
            then.status(200).json_body(with_gateway(json!({
                "usage_tracking_config": {"enabled": true},
                "guardrails": {"input": {"pii": {"behavior": "BLOCK"}}}
            })));
        })
        .await;
    let put = server
        .mock_async(|when, then| {
            when.method(PUT)
                .path(format!("{PATH}/ai-gateway"))
                .json_body(json!({
                    "usage_tracking_config": {"enabled": false},
                    "guardrails": {"input": {"pii": {"behavior": "BLOCK"}}}
                }));
            then.status(200).json_body(json!({}));
        })
        .await;
    let changes = GatewayChanges {
        usage_tracking: Some(false),
        ..Default::default()
    };
    configure_gateway::run(&workspace(&server), NAME, &changes)
        .await
        .unwrap();
    put.assert_calls_async(1).await;
}

#[tokio::test]
async fn a_missing_endpoint_says_to_create_it_first() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(PATH);
            then.status(404).json_body(no_such_endpoint(NAME));
        })
        .await;
    let writes = any_write(&server).await;
    let err = configure_gateway::run(&workspace(&server), NAME, &changes(&["--usage-tracking"]))
        .await
        .unwrap_err();
    writes.assert_calls_async(0).await;
    let r = gw_admin::error::report(&err);
    assert_eq!(r.line, "there is no serving endpoint `claude-code`");
    assert!(
        r.hint
            .unwrap()
            .contains("gw-admin setup-endpoint --name claude-code")
    );
}

fn quick_wait() -> gw_admin::commands::setup_endpoint::WaitPolicy {
    gw_admin::commands::setup_endpoint::WaitPolicy {
        interval: std::time::Duration::from_millis(5),
        timeout: std::time::Duration::from_secs(5),
    }
}

fn updating(ai_gateway: Value) -> Value {
    let mut e = with_gateway(ai_gateway);
    e["state"] = json!({"ready": "READY", "config_update": "IN_PROGRESS"});
    e
}

#[tokio::test]
async fn an_update_in_progress_is_waited_out_and_the_config_read_again_before_the_put() {
    let server = MockServer::start_async().await;
    // Two reads see the update rolling out (with a gateway someone is changing), then it is
    // done and the gateway reads differently: the PUT must build on that last read.
    let rolling = server
        .mock_async(|when, then| {
            when.method(GET).path(PATH).is_true(first(2, "GET"));
            then.status(200).json_body(updating(json!({
                "rate_limits": [{"calls": 1, "key": "endpoint", "renewal_period": "minute"}]
            })));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(PATH);
            then.status(200).json_body(with_gateway(json!({
                "rate_limits": [{"calls": 7, "key": "endpoint", "renewal_period": "minute"}]
            })));
        })
        .await;
    let put = server
        .mock_async(|when, then| {
            when.method(PUT)
                .path(format!("{PATH}/ai-gateway"))
                .json_body(json!({
                    "usage_tracking_config": {"enabled": true},
                    "rate_limits": [{"calls": 7, "key": "endpoint", "renewal_period": "minute"}]
                }));
            then.status(200).json_body(json!({}));
        })
        .await;
    configure_gateway::run_with(
        &workspace(&server),
        NAME,
        &changes(&["--usage-tracking"]),
        &quick_wait(),
    )
    .await
    .unwrap();
    rolling.assert_calls_async(2).await;
    put.assert_calls_async(1).await;
}

#[tokio::test]
async fn a_409_from_the_put_waits_reads_again_and_retries_once() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(PATH);
            then.status(200).json_body(with_gateway(json!({})));
        })
        .await;
    let conflict = server
        .mock_async(|when, then| {
            when.method(PUT)
                .path(format!("{PATH}/ai-gateway"))
                .is_true(first(1, "PUT"));
            then.status(409)
                .json_body(json!({"error_code": "RESOURCE_CONFLICT",
                "message": "Endpoint claude-code is currently being updated."}));
        })
        .await;
    let put = server
        .mock_async(|when, then| {
            when.method(PUT)
                .path(format!("{PATH}/ai-gateway"))
                .json_body(json!({"rate_limits": [
                    {"tokens": 100000, "key": "user", "renewal_period": "minute"}]}));
            then.status(200).json_body(json!({}));
        })
        .await;
    configure_gateway::run_with(
        &workspace(&server),
        NAME,
        &changes(&["--rate-limit", "100000/minute:tokens:user"]),
        &quick_wait(),
    )
    .await
    .unwrap();
    conflict.assert_calls_async(1).await;
    put.assert_calls_async(1).await;
}

#[tokio::test]
async fn an_update_that_never_ends_is_an_error_after_the_bound() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(PATH);
            then.status(200).json_body(updating(json!({})));
        })
        .await;
    let writes = any_write(&server).await;
    let wait = gw_admin::commands::setup_endpoint::WaitPolicy {
        interval: std::time::Duration::from_millis(5),
        timeout: std::time::Duration::from_millis(60),
    };
    let err = configure_gateway::run_with(
        &workspace(&server),
        NAME,
        &changes(&["--usage-tracking"]),
        &wait,
    )
    .await
    .unwrap_err();
    writes.assert_calls_async(0).await;
    let r = gw_admin::error::report(&err);
    assert!(r.line.contains("still updating"), "{}", r.line);
    assert_eq!(r.code, 1);
}

#[tokio::test]
async fn removing_every_limit_and_the_safety_filter_sends_neither() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(PATH);
            then.status(200).json_body(with_gateway(json!({
                "usage_tracking_config": {"enabled": true},
                "rate_limits": [{"calls": 5, "key": "endpoint", "renewal_period": "minute"}],
                "guardrails": {"input": {"safety": true}, "output": {"safety": true}}
            })));
        })
        .await;
    let put = server
        .mock_async(|when, then| {
            when.method(PUT)
                .path(format!("{PATH}/ai-gateway"))
                .json_body(json!({"usage_tracking_config": {"enabled": true}}));
            then.status(200).json_body(json!({}));
        })
        .await;
    configure_gateway::run(
        &workspace(&server),
        NAME,
        &changes(&["--rate-limit", "none", "--safety=false"]),
    )
    .await
    .unwrap();
    put.assert_calls_async(1).await;
}
