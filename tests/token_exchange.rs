//! The RFC 8693 exchange request and its error mapping, against httpmock.

use gw::exchange::exchange;
use gw::http::Http;
use gw::secret::Secret;
use gw::token_endpoint::TokenError;
use httpmock::prelude::*;
use serde_json::json;

fn http() -> Http {
    Http::new(None).unwrap()
}

#[tokio::test]
async fn the_request_carries_exactly_the_spec_fields() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/oidc/v1/token")
                .header("content-type", "application/x-www-form-urlencoded")
                .header_missing("authorization")
                .form_urlencoded_tuple("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange")
                .form_urlencoded_tuple("subject_token", "the.id.token")
                .form_urlencoded_tuple("subject_token_type", "urn:ietf:params:oauth:token-type:jwt")
                .form_urlencoded_tuple("scope", "all-apis")
                .form_urlencoded_tuple_missing("client_id")
                .form_urlencoded_tuple_count(".*", ".*", 4);
            // No issued_token_type: Databricks omits it.
            then.status(200).json_body(json!({"access_token":"dbx","token_type":"Bearer","expires_in":3599,"scope":"all-apis"}));
        })
        .await;
    let t = exchange(
        &http(),
        &server.base_url(),
        &Secret::new("the.id.token"),
        None,
        1000,
    )
    .await
    .unwrap()
    .body;
    m.assert_async().await;
    assert_eq!(t.access_token.expose(), "dbx");
    assert_eq!(
        (t.expires_at, t.lifetime, t.token_type.as_str()),
        (4599, 3599, "Bearer")
    );
}

#[tokio::test]
async fn client_id_is_sent_only_for_service_principal_federation() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/oidc/v1/token")
                .form_urlencoded_tuple("client_id", "sp-app-id")
                .form_urlencoded_tuple_count(".*", ".*", 5);
            then.status(200)
                .json_body(json!({"access_token":"dbx","expires_in":60}));
        })
        .await;
    exchange(
        &http(),
        &server.base_url(),
        &Secret::new("t"),
        Some("sp-app-id"),
        0,
    )
    .await
    .unwrap();
    m.assert_async().await;
}

#[tokio::test]
async fn an_rfc6749_error_body_reads_as_error_and_description() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/oidc/v1/token");
            then.status(401).json_body(json!({"error":"invalid_grant","error_description":"Token signature verification failed\nTrace: 1"}));
        })
        .await;
    let err = exchange(
        &http(),
        &server.base_url(),
        &Secret::new("secret.subject.token"),
        None,
        0,
    )
    .await
    .unwrap_err();
    match &err {
        TokenError::Rejected {
            status,
            error,
            description,
            ..
        } => {
            assert_eq!((*status, error.as_str()), (401, "invalid_grant"));
            assert_eq!(
                description.as_deref(),
                Some("Token signature verification failed")
            );
        }
        other => panic!("{other:?}"),
    }
    let shown = err.to_string();
    assert!(
        shown.contains("HTTP 401") && shown.contains("invalid_grant: Token signature"),
        "{shown}"
    );
    assert!(!shown.contains("secret.subject.token"));
}

#[tokio::test]
async fn an_html_502_is_described_not_parsed() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/oidc/v1/token");
            then.status(502)
                .header("content-type", "text/html")
                .body("<html><body>Bad Gateway</body></html>");
        })
        .await;
    let err = exchange(&http(), &server.base_url(), &Secret::new("t"), None, 0)
        .await
        .unwrap_err();
    assert!(matches!(err, TokenError::Unexpected { .. }));
    assert_eq!(
        err.to_string(),
        format!(
            "`{}/oidc/v1/token` answered HTTP 502 with a non-JSON body (text/html)",
            server.base_url()
        )
    );
}

#[tokio::test]
async fn a_200_without_an_access_token_is_an_error_not_a_crash() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/oidc/v1/token");
            then.status(200).json_body(json!({"token_type":"Bearer"}));
        })
        .await;
    let err = exchange(&http(), &server.base_url(), &Secret::new("t"), None, 0)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("unexpected JSON body"), "{err}");
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let server = MockServer::start_async().await;
    let elsewhere = MockServer::start_async().await;
    let target = elsewhere
        .mock_async(|when, then| {
            when.any_request();
            then.status(200);
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/oidc/v1/token");
            then.status(307).header("location", elsewhere.url("/steal"));
        })
        .await;
    let err = exchange(&http(), &server.base_url(), &Secret::new("t"), None, 0)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("does not follow redirects"),
        "{err}"
    );
    target.assert_calls_async(0).await;
}

#[tokio::test]
async fn an_empty_access_token_or_a_huge_lifetime_is_refused_or_capped() {
    let server = MockServer::start_async().await;
    let empty = server
        .mock_async(|when, then| {
            when.method(POST).path("/oidc/v1/token");
            then.status(200)
                .json_body(json!({"access_token":"","token_type":"Bearer","expires_in":3600}));
        })
        .await;
    let err = exchange(&http(), &server.base_url(), &Secret::new("t"), None, 0)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("empty access_token"), "{err}");
    empty.delete_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/oidc/v1/token");
            then.status(200).json_body(
                json!({"access_token":"dbx","token_type":"Bearer","expires_in":1.0e300}),
            );
        })
        .await;
    let t = exchange(&http(), &server.base_url(), &Secret::new("t"), None, 1_000)
        .await
        .unwrap()
        .body;
    assert_eq!(t.lifetime, gw::exchange::MAX_LIFETIME, "a day at most");
    assert_eq!(t.expires_at, 1_000 + gw::exchange::MAX_LIFETIME);
}
