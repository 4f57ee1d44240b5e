//! Test support: clients pointed at an httpmock server, fixtures in Databricks' shapes, and
//! one-way flags that let a mock answer differently after a write (httpmock answers by
//! matching, so "before" and "after" are two mocks keyed on a flag the write sets).

#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use gw::api::Http;
use gw::api::Secret;
use gw_admin::databricks::{Api, DatabricksClient, RetryPolicy};
use gw_admin::output::Output;
use httpmock::{HttpMockRequest, Mock, MockServer};
use serde_json::{Value, json};

pub const TOKEN: &str = "test-token-5b1f0c";

/// Retries without waiting.
pub fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        retries: 2,
        first_delay: Duration::ZERO,
        max_delay: Duration::ZERO,
        max_total: Duration::from_secs(5),
    }
}

pub fn workspace(server: &MockServer) -> DatabricksClient {
    DatabricksClient::new(
        Http::new(None).unwrap(),
        &server.base_url(),
        Secret::new(TOKEN),
        Api::Workspace,
    )
    .with_retry(fast_retries())
}

pub fn account(server: &MockServer) -> DatabricksClient {
    DatabricksClient::new(
        Http::new(None).unwrap(),
        &server.base_url(),
        Secret::new(TOKEN),
        Api::Account,
    )
    .with_retry(fast_retries())
}

/// A dry-run client printing into `out`.
pub fn dry_run(server: &MockServer, api: Api, out: &Output) -> DatabricksClient {
    DatabricksClient::dry_run(
        Http::new(None).unwrap(),
        &server.base_url(),
        api,
        out.clone(),
    )
}

/// A flag that goes from false to true once.
#[derive(Clone, Default)]
pub struct Flag(Arc<AtomicBool>);

impl Flag {
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// A matcher that sets the flag when a request of `method` reaches it (and always matches).
    pub fn set_on(
        &self,
        method: &'static str,
    ) -> impl Fn(&HttpMockRequest) -> bool + Send + Sync + 'static {
        let f = self.0.clone();
        move |req: &HttpMockRequest| {
            if req.method().as_str() == method {
                f.store(true, Ordering::SeqCst);
            }
            true
        }
    }

    /// A matcher that matches while the flag is `want`.
    pub fn is(&self, want: bool) -> impl Fn(&HttpMockRequest) -> bool + Send + Sync + 'static {
        let f = self.0.clone();
        move |_: &HttpMockRequest| f.load(Ordering::SeqCst) == want
    }
}

/// A matcher true for the first `n` requests of `method` that reach it.
pub fn first(
    n: usize,
    method: &'static str,
) -> impl Fn(&HttpMockRequest) -> bool + Send + Sync + 'static {
    let seen = Arc::new(AtomicUsize::new(0));
    move |req: &HttpMockRequest| {
        req.method().as_str() == method && seen.fetch_add(1, Ordering::SeqCst) < n
    }
}

/// A mock for any request that is not a GET; assert it got none.
pub async fn any_write(server: &MockServer) -> Mock<'_> {
    server
        .mock_async(|when, then| {
            when.is_true(|req: &HttpMockRequest| req.method().as_str() != "GET");
            then.status(500)
                .json_body(json!({"error_code": "TEST", "message": "unexpected write"}));
        })
        .await
}

/// A mock for any request at all; assert it got none.
pub async fn any_request(server: &MockServer) -> Mock<'_> {
    server
        .mock_async(|when, then| {
            when.is_true(|_: &HttpMockRequest| true);
            then.status(500)
                .json_body(json!({"error_code": "TEST", "message": "unexpected request"}));
        })
        .await
}

/// Databricks' 404 body for a missing endpoint.
pub fn no_such_endpoint(name: &str) -> Value {
    json!({"error_code": "RESOURCE_DOES_NOT_EXIST",
        "message": format!("Endpoint with name '{name}' does not exist.")})
}

/// The served entity of an Anthropic external model, as created and as read back.
pub fn anthropic_entity(model: &str, secret: &str) -> Value {
    json!({
        "name": model.replace(['.', ':'], "-"),
        "external_model": {
            "name": model,
            "provider": "anthropic",
            "task": "llm/v1/chat",
            "anthropic_config": {"anthropic_api_key": format!("{{{{secrets/{secret}}}}}")}
        }
    })
}

/// An endpoint as `GET /api/2.0/serving-endpoints/{name}` returns it.
pub fn endpoint(name: &str, entities: Value, ready: &str, update: &str) -> Value {
    json!({
        "name": name,
        "id": format!("{name}-id-0123456789abcdef"),
        "creator": "admin@example.com",
        "task": "llm/v1/chat",
        "endpoint_type": "EXTERNAL_MODEL",
        "state": {"ready": ready, "config_update": update},
        "config": {"served_entities": entities, "traffic_config": {"routes": []}},
        "ai_gateway": {}
    })
}
