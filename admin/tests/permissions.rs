//! `grant` against httpmock: the Permissions API is called with the endpoint's id, the PATCH
//! body is exactly one entry, and a group that has the level gets no PATCH.

mod support;

use gw_admin::commands::grant::{self, PermissionLevel};
use httpmock::prelude::*;
use serde_json::json;
use support::*;

const NAME: &str = "claude-code";
const ID: &str = "claude-code-id-0123456789abcdef";

async fn endpoint_get(server: &MockServer) {
    server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/api/2.0/serving-endpoints/claude-code");
            then.status(200).json_body(endpoint(
                NAME,
                json!([anthropic_entity("claude-sonnet-4-5", "gw/anthropic")]),
                "READY",
                "NOT_UPDATING",
            ));
        })
        .await;
}

fn acl(entries: serde_json::Value) -> serde_json::Value {
    json!({
        "object_id": format!("/serving-endpoints/{ID}"),
        "object_type": "serving-endpoint",
        "access_control_list": entries
    })
}

#[tokio::test]
async fn grant_patches_one_entry_by_endpoint_id_not_name() {
    let server = MockServer::start_async().await;
    endpoint_get(&server).await;
    let read = server
        .mock_async(|when, then| {
            when.method(GET)
                .path(format!("/api/2.0/permissions/serving-endpoints/{ID}"));
            then.status(200).json_body(acl(json!([
                {"user_name": "admin@example.com", "all_permissions": [
                    {"permission_level": "CAN_MANAGE", "inherited": false}]},
                {"group_name": "admins", "all_permissions": [
                    {"permission_level": "CAN_MANAGE", "inherited": true,
                     "inherited_from_object": ["/serving-endpoints/"]}]}
            ])));
        })
        .await;
    let patch = server
        .mock_async(|when, then| {
            when.method(PATCH)
                .path(format!("/api/2.0/permissions/serving-endpoints/{ID}"))
                .header("authorization", format!("Bearer {TOKEN}"))
                .json_body(json!({"access_control_list": [
                    {"group_name": "developers", "permission_level": "CAN_QUERY"}
                ]}));
            then.status(200).json_body(acl(json!([])));
        })
        .await;

    let out = grant::run(
        &workspace(&server),
        NAME,
        "developers",
        PermissionLevel::CanQuery,
    )
    .await
    .unwrap();

    read.assert_calls_async(1).await;
    patch.assert_calls_async(1).await;
    assert!(out.changed);
    assert_eq!(
        out.text(),
        "Granted CAN_QUERY on `claude-code` to group `developers`.\n"
    );
}

#[tokio::test]
async fn a_group_holding_the_level_or_more_gets_no_patch() {
    let server = MockServer::start_async().await;
    endpoint_get(&server).await;
    server
        .mock_async(|when, then| {
            when.method(GET)
                .path(format!("/api/2.0/permissions/serving-endpoints/{ID}"));
            then.status(200).json_body(acl(json!([
                {"group_name": "developers", "all_permissions": [
                    {"permission_level": "CAN_QUERY", "inherited": false}]},
                {"group_name": "leads", "all_permissions": [
                    {"permission_level": "CAN_MANAGE", "inherited": false}]}
            ])));
        })
        .await;
    let writes = any_write(&server).await;
    let ws = workspace(&server);

    let same = grant::run(&ws, NAME, "developers", PermissionLevel::CanQuery)
        .await
        .unwrap();
    let stronger = grant::run(&ws, NAME, "leads", PermissionLevel::CanQuery)
        .await
        .unwrap();

    writes.assert_calls_async(0).await;
    assert!(!same.changed && !stronger.changed);
    assert!(same.text().contains("already has CAN_QUERY"));
    assert!(
        stronger
            .text()
            .contains("already has CAN_MANAGE on `claude-code`, which includes CAN_QUERY")
    );
}

#[tokio::test]
async fn an_inherited_level_still_gets_its_own_grant() {
    let server = MockServer::start_async().await;
    endpoint_get(&server).await;
    server
        .mock_async(|when, then| {
            when.method(GET)
                .path(format!("/api/2.0/permissions/serving-endpoints/{ID}"));
            then.status(200).json_body(acl(json!([
                {"group_name": "developers", "all_permissions": [
                    {"permission_level": "CAN_MANAGE", "inherited": true}]}
            ])));
        })
        .await;
    let patch = server
        .mock_async(|when, then| {
            when.method(PATCH)
                .path(format!("/api/2.0/permissions/serving-endpoints/{ID}"));
            then.status(200).json_body(acl(json!([])));
        })
        .await;
    grant::run(
        &workspace(&server),
        NAME,
        "developers",
        PermissionLevel::CanQuery,
    )
    .await
    .unwrap();
    patch.assert_calls_async(1).await;
}
