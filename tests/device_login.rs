//! RFC 8628 polling rules against httpmock, with the sleeps recorded instead of slept.

use std::cell::RefCell;
use std::time::Duration;

use gw::config::{IdpKind, IdpSettings, Ports, Redirect};
use gw::http::Http;
use gw::idp::device_login::{DeviceLoginError, login};
use gw::idp::discovery::ProviderMetadata;
use httpmock::prelude::*;
use serde_json::json;

fn settings() -> IdpSettings {
    IdpSettings {
        kind: IdpKind::Oidc,
        proof: gw::config::Proof::IdToken,
        issuer: "http://idp".into(),
        discovery_url: "http://idp/.well-known/openid-configuration".into(),
        client_id: "cli".into(),
        scopes: vec!["openid".into(), "offline_access".into()],
        redirect: Redirect {
            template: "http://127.0.0.1:{port}/callback".into(),
            ports: Ports::Ephemeral,
        },
    }
}

fn meta(server: &MockServer) -> ProviderMetadata {
    ProviderMetadata {
        issuer: "http://idp".into(),
        authorization_endpoint: server.url("/auth"),
        token_endpoint: server.url("/token"),
        jwks_uri: Some(server.url("/jwks")),
        device_authorization_endpoint: Some(server.url("/device")),
        authorization_response_iss_parameter_supported: false,
    }
}

async fn start(server: &MockServer, interval: Option<u64>) {
    let mut body = json!({"device_code":"DC","user_code":"ABCD-EFGH","verification_uri":"https://idp/device","expires_in":60});
    if let Some(i) = interval {
        body["interval"] = i.into();
    }
    server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/device")
                .form_urlencoded_tuple("client_id", "cli")
                .form_urlencoded_tuple("scope", "openid offline_access");
            then.status(200).json_body(body);
        })
        .await;
}

/// Run the device login against a server whose polls answer `answers` in order.
async fn run(
    answers: Vec<serde_json::Value>,
    interval: Option<u64>,
) -> (Result<(), DeviceLoginError>, Vec<Duration>) {
    let server = MockServer::start_async().await;
    start(&server, interval).await;
    // httpmock cannot sequence one path; serve the answers from a tiny stateful proxy instead.
    let answers = std::sync::Arc::new(std::sync::Mutex::new(answers.into_iter()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let a = answers.clone();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        loop {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 8192];
            let _ = s.read(&mut buf).await;
            let next = a
                .lock()
                .unwrap()
                .next()
                .unwrap_or(json!({"error":"unexpected_poll"}));
            // `{"__html": N}`: an HTML page with status N (a proxy in trouble).
            let (status, ctype, body) = match next.get("__html").and_then(|v| v.as_u64()) {
                Some(code) => (
                    code,
                    "text/html",
                    "<html><h1>Bad Gateway</h1></html>".to_owned(),
                ),
                None if next.get("error").is_some() => (400, "application/json", next.to_string()),
                None => (200, "application/json", next.to_string()),
            };
            let resp = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = s.write_all(resp.as_bytes()).await;
        }
    });
    let mut m = meta(&server);
    m.token_endpoint = format!("http://{addr}/token");
    // Fake time: the clock moves only by what the flow sleeps.
    let slept = RefCell::new(Vec::new());
    let elapsed = || slept.borrow().iter().sum::<Duration>();
    let result = login(
        &Http::new(None).unwrap(),
        &settings(),
        &m,
        |d| {
            slept.borrow_mut().push(d);
            std::future::ready(())
        },
        &elapsed,
    )
    .await
    .map(|_| ());
    (result, slept.into_inner())
}

fn err(code: &str) -> serde_json::Value {
    json!({"error": code})
}

fn tokens() -> serde_json::Value {
    json!({"access_token":"a","id_token":"i","refresh_token":"r","expires_in":3600})
}

#[tokio::test]
async fn pending_then_success_polls_at_the_interval_and_defaults_to_5s() {
    let (r, slept) = run(
        vec![
            err("authorization_pending"),
            err("authorization_pending"),
            tokens(),
        ],
        Some(2),
    )
    .await;
    r.unwrap();
    assert_eq!(slept, vec![Duration::from_secs(2); 3]);
    let (r, slept) = run(vec![tokens()], None).await;
    r.unwrap();
    assert_eq!(
        slept,
        vec![Duration::from_secs(5)],
        "no interval sent: 5 s (RFC 8628 §3.2)"
    );
}

#[tokio::test]
async fn slow_down_adds_five_seconds_for_every_later_poll() {
    let (r, slept) = run(
        vec![
            err("slow_down"),
            err("authorization_pending"),
            err("slow_down"),
            tokens(),
        ],
        Some(1),
    )
    .await;
    r.unwrap();
    let secs: Vec<u64> = slept.iter().map(Duration::as_secs).collect();
    assert_eq!(secs, vec![1, 6, 6, 11]);
}

#[tokio::test]
async fn expired_denied_and_entra_codes_stop_with_their_own_error() {
    let (r, _) = run(
        vec![err("authorization_pending"), err("expired_token")],
        Some(1),
    )
    .await;
    assert!(matches!(r, Err(DeviceLoginError::Expired)));
    let (r, _) = run(vec![err("access_denied")], Some(1)).await;
    assert!(matches!(r, Err(DeviceLoginError::Denied)));
    let (r, _) = run(vec![err("authorization_declined")], Some(1)).await;
    assert!(matches!(r, Err(DeviceLoginError::Denied)), "Entra");
    let (r, _) = run(vec![err("bad_verification_code")], Some(1)).await;
    assert!(matches!(r, Err(DeviceLoginError::BadCode)), "Entra");
    let (r, _) = run(vec![err("invalid_client")], Some(1)).await;
    assert!(matches!(r, Err(DeviceLoginError::Token(_))));
}

#[tokio::test]
async fn the_wait_is_bounded_by_the_codes_lifetime() {
    let pending: Vec<_> = (0..100).map(|_| err("authorization_pending")).collect();
    let (r, slept) = run(pending, Some(25)).await;
    assert!(matches!(r, Err(DeviceLoginError::Expired)));
    let total: Duration = slept.iter().sum();
    assert_eq!(
        total,
        Duration::from_secs(60),
        "never waits past expires_in"
    );
}

#[tokio::test]
async fn a_proxys_html_502_is_backed_off_and_polling_goes_on() {
    let (r, slept) = run(
        vec![
            json!({"__html": 502}),
            err("authorization_pending"),
            tokens(),
        ],
        Some(2),
    )
    .await;
    r.unwrap();
    let secs: Vec<u64> = slept.iter().map(Duration::as_secs).collect();
    assert_eq!(secs, vec![2, 4, 4], "doubled after the 502, then kept");
}

#[tokio::test]
async fn an_interval_of_zero_is_never_a_hot_loop() {
    let (r, slept) = run(vec![err("authorization_pending"), tokens()], Some(0)).await;
    r.unwrap();
    assert_eq!(slept, vec![Duration::from_secs(1); 2]);
}
