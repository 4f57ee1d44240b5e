//! `setup-federation` against httpmock: every page is listed first; the create is the bare
//! policy with `policy_id` in the query; service-principal policies go under the numeric id.

mod support;

use gw_admin::commands::setup_federation::{self, Federation, default_policy_id};
use gw_admin::databricks::federation_policy::PolicyOwner;
use httpmock::prelude::*;
use serde_json::{Value, json};
use support::*;

const ACCOUNT: &str = "0a1b2c3d-acct";
const ISSUER: &str = "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/v2.0";
const LIST: &str = "/api/2.0/accounts/0a1b2c3d-acct/federationPolicies";

fn want(sp: Option<(u64, &str)>) -> Federation {
    Federation {
        owner: PolicyOwner {
            account_id: ACCOUNT.into(),
            service_principal: sp.map(|(id, _)| id),
        },
        issuer: ISSUER.into(),
        audiences: vec!["gw-app-client-id".into()],
        subject_claim: if sp.is_some() {
            "sub".into()
        } else {
            "preferred_username".into()
        },
        subject: sp.map(|(_, s)| s.to_owned()),
        policy_id: None,
    }
}

fn policy(id: &str, issuer: &str, audiences: &[&str], claim: &str) -> Value {
    json!({
        "name": format!("accounts/{ACCOUNT}/federationPolicies/{id}"),
        "policy_id": id,
        "uid": format!("uid-{id}"),
        "description": "x",
        "oidc_policy": {"issuer": issuer, "audiences": audiences, "subject_claim": claim},
        "create_time": "2026-01-01T00:00:00Z"
    })
}

/// Two pages: the first with a `next_page_token`, the second with `page`.
async fn two_pages(server: &MockServer, path: &str, page2: Value) {
    server
        .mock_async(|when, then| {
            when.method(GET)
                .path(path)
                .query_param("page_size", "100")
                .query_param_missing("page_token");
            then.status(200).json_body(json!({
                "policies": [policy("okta", "https://corp.okta.com", &["0oa1"], "email")],
                "next_page_token": "page-2"
            }));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET)
                .path(path)
                .query_param("page_size", "100")
                .query_param("page_token", "page-2");
            then.status(200).json_body(json!({ "policies": page2 }));
        })
        .await;
}

#[tokio::test]
async fn an_account_policy_is_created_bare_with_policy_id_in_the_query() {
    let server = MockServer::start_async().await;
    two_pages(&server, LIST, json!([])).await;
    let id = default_policy_id(ISSUER, &["gw-app-client-id".into()], None);
    let create = server
        .mock_async(|when, then| {
            when.method(POST)
                .path(LIST)
                .query_param("policy_id", id.as_str())
                .header("authorization", format!("Bearer {TOKEN}"))
                .json_body(json!({
                    "description": format!("gw: sign-in with ID tokens from {ISSUER} (created by gw-admin)"),
                    "oidc_policy": {
                        "issuer": ISSUER,
                        "audiences": ["gw-app-client-id"],
                        "subject_claim": "preferred_username"
                    }
                }));
            then.status(200).json_body(policy(&id, ISSUER, &["gw-app-client-id"], "preferred_username"));
        })
        .await;

    let out = setup_federation::run(&account(&server), &want(None))
        .await
        .unwrap();

    create.assert_calls_async(1).await;
    assert!(out.changed);
    assert_eq!(out.json["policy_id"], id.as_str());
    assert!(id.starts_with("gw-") && id.len() == 15, "{id}");
}

#[tokio::test]
async fn the_same_issuer_and_audiences_on_a_later_page_is_nothing_to_do() {
    let server = MockServer::start_async().await;
    two_pages(
        &server,
        LIST,
        json!([policy(
            "entra",
            ISSUER,
            &["gw-app-client-id"],
            "preferred_username"
        )]),
    )
    .await;
    let writes = any_write(&server).await;

    let out = setup_federation::run(&account(&server), &want(None))
        .await
        .unwrap();

    writes.assert_calls_async(0).await;
    assert!(!out.changed);
    assert!(
        out.text().contains("Federation policy `entra`"),
        "{}",
        out.text()
    );
    assert!(out.text().contains("nothing to change"));
}

#[tokio::test]
async fn another_subject_claim_is_patched_in_place_with_an_update_mask() {
    let server = MockServer::start_async().await;
    two_pages(
        &server,
        LIST,
        json!([policy("entra", ISSUER, &["gw-app-client-id"], "email")]),
    )
    .await;
    let patch = server
        .mock_async(|when, then| {
            when.method(PATCH)
                .path(format!("{LIST}/entra"))
                .query_param("update_mask", "oidc_policy.subject_claim")
                .json_body(json!({
                    "description": format!("gw: sign-in with ID tokens from {ISSUER} (created by gw-admin)"),
                    "oidc_policy": {
                        "issuer": ISSUER,
                        "audiences": ["gw-app-client-id"],
                        "subject_claim": "preferred_username"
                    }
                }));
            then.status(200).json_body(policy("entra", ISSUER, &["gw-app-client-id"], "preferred_username"));
        })
        .await;
    let create = server
        .mock_async(|when, then| {
            when.method(POST);
            then.status(500);
        })
        .await;

    let out = setup_federation::run(&account(&server), &want(None))
        .await
        .unwrap();

    patch.assert_calls_async(1).await;
    create.assert_calls_async(0).await;
    assert!(
        out.text()
            .contains("subject claim `email` → `preferred_username`")
    );
}

#[tokio::test]
async fn a_service_principal_policy_goes_under_its_numeric_id_with_a_subject() {
    let server = MockServer::start_async().await;
    let sp_list = "/api/2.0/accounts/0a1b2c3d-acct/servicePrincipals/7283940/federationPolicies";
    server
        .mock_async(|when, then| {
            when.method(GET).path(sp_list);
            then.status(200).json_body(json!({"policies": []}));
        })
        .await;
    let id = default_policy_id(ISSUER, &["gw-app-client-id".into()], Some("ci-runner"));
    let create = server
        .mock_async(|when, then| {
            when.method(POST)
                .path(sp_list)
                .query_param("policy_id", id.as_str())
                .json_body(json!({
                    "description": format!("gw: sign-in with ID tokens from {ISSUER} (created by gw-admin)"),
                    "oidc_policy": {
                        "issuer": ISSUER,
                        "audiences": ["gw-app-client-id"],
                        "subject_claim": "sub",
                        "subject": "ci-runner"
                    }
                }));
            then.status(200).json_body(json!({"policy_id": id, "service_principal_id": 7283940}));
        })
        .await;

    setup_federation::run(&account(&server), &want(Some((7283940, "ci-runner"))))
        .await
        .unwrap();

    create.assert_calls_async(1).await;
}

#[tokio::test]
async fn a_policy_id_with_a_slash_keeps_the_slash_in_the_update_path() {
    let server = MockServer::start_async().await;
    two_pages(
        &server,
        LIST,
        json!([policy("team/entra", ISSUER, &["gw-app-client-id"], "email")]),
    )
    .await;
    let patch = server
        .mock_async(|when, then| {
            when.method(PATCH)
                .path(format!("{LIST}/team/entra"))
                .query_param("update_mask", "oidc_policy.subject_claim");
            then.status(200).json_body(policy(
                "team/entra",
                ISSUER,
                &["gw-app-client-id"],
                "preferred_username",
            ));
        })
        .await;
    setup_federation::run(&account(&server), &want(None))
        .await
        .unwrap();
    patch.assert_calls_async(1).await;
}

#[tokio::test]
async fn a_listed_policy_id_that_is_not_a_valid_id_is_never_put_in_a_path() {
    let server = MockServer::start_async().await;
    two_pages(
        &server,
        LIST,
        json!([policy("team//x", ISSUER, &["gw-app-client-id"], "email")]),
    )
    .await;
    let writes = any_write(&server).await;
    let err = setup_federation::run(&account(&server), &want(None))
        .await
        .unwrap_err();
    writes.assert_calls_async(0).await;
    assert!(
        gw_admin::error::report(&err).line.contains("`team//x`"),
        "{err}"
    );
}
