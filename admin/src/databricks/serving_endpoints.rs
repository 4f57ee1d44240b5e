//! Serving endpoints: `/api/2.0/serving-endpoints` (create, get, list, update config).
//!
//! Shapes follow databricks-sdk-go `service/serving/model.go` (`CreateServingEndpoint`,
//! `ServingEndpointDetailed`, `EndpointCoreConfigInput`, `ExternalModel`). Unknown fields are
//! ignored on read; fields the API omits are `None` and are not sent.

use serde::{Deserialize, Serialize};

use super::ai_gateway::AiGatewayConfig;
use super::{ApiError, DatabricksClient, Reply, seg, to_json};

/// `POST /api/2.0/serving-endpoints`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateServingEndpoint {
    pub name: String,
    pub config: EndpointCoreConfigInput,
}

/// The served entities of an endpoint (`PUT .../config` body, `config` on create).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointCoreConfigInput {
    pub served_entities: Vec<ServedEntityInput>,
}

/// One served entity we create: an external model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServedEntityInput {
    pub name: String,
    pub external_model: ExternalModel,
}

/// A model served by an outside provider, whose key Databricks keeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExternalModel {
    /// The provider's model id, e.g. `claude-sonnet-4-5`.
    pub name: String,
    /// `anthropic`, `openai`, …
    pub provider: String,
    /// `llm/v1/chat` for Claude.
    pub task: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anthropic_config: Option<AnthropicConfig>,
}

/// The Anthropic key, as a secret reference only (`{{secrets/<scope>/<key>}}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnthropicConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anthropic_api_key: Option<String>,
}

/// `GET /api/2.0/serving-endpoints/{name}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServingEndpointDetailed {
    pub name: String,
    /// Used by the Permissions API (not the name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<EndpointState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<EndpointCoreConfigOutput>,
    /// The config being rolled out while `state.config_update` is `IN_PROGRESS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_config: Option<EndpointCoreConfigOutput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ai_gateway: Option<AiGatewayConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator: Option<String>,
}

/// `state` of an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EndpointState {
    /// `READY` | `NOT_READY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready: Option<String>,
    /// `NOT_UPDATING` | `IN_PROGRESS` | `UPDATE_FAILED` | `UPDATE_CANCELED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_update: Option<String>,
}

impl EndpointState {
    /// Ready to serve, with no update rolling out.
    pub fn is_settled(&self) -> bool {
        self.ready.as_deref() == Some("READY")
            && self.config_update.as_deref() != Some("IN_PROGRESS")
    }

    /// `ready, config_update` for messages.
    pub fn describe(&self) -> String {
        format!(
            "{}, config update {}",
            self.ready.as_deref().unwrap_or("UNKNOWN"),
            self.config_update.as_deref().unwrap_or("UNKNOWN")
        )
    }
}

/// `config` / `pending_config` as read.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EndpointCoreConfigOutput {
    #[serde(default)]
    pub served_entities: Vec<ServedEntityOutput>,
}

/// A served entity as read: an external model, a foundation model, or a UC model.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ServedEntityOutput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_model: Option<ExternalModel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub foundation_model: Option<FoundationModel>,
    /// A Unity Catalog model (custom or provisioned-throughput endpoints).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_name: Option<String>,
}

/// A Databricks-hosted (pay-per-token) model.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FoundationModel {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

/// `GET /api/2.0/serving-endpoints`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ListEndpointsResponse {
    #[serde(default)]
    pub endpoints: Vec<ServingEndpointDetailed>,
}

fn endpoint_path(name: &str) -> String {
    format!("/api/2.0/serving-endpoints/{}", seg(name))
}

fn what(name: &str) -> String {
    format!("serving endpoint `{name}`")
}

impl DatabricksClient {
    /// The endpoint, or `None` when there is none by that name.
    pub async fn get_endpoint(
        &self,
        name: &str,
    ) -> Result<Reply<Option<ServingEndpointDetailed>>, ApiError> {
        self.get_optional(&endpoint_path(name), &[], &what(name))
            .await
    }

    pub async fn list_endpoints(&self) -> Result<Reply<ListEndpointsResponse>, ApiError> {
        self.call(
            "GET",
            "/api/2.0/serving-endpoints",
            &[],
            None,
            "the serving endpoint list",
        )
        .await
    }

    pub async fn create_endpoint(
        &self,
        req: &CreateServingEndpoint,
    ) -> Result<Reply<ServingEndpointDetailed>, ApiError> {
        self.call(
            "POST",
            "/api/2.0/serving-endpoints",
            &[],
            Some(&to_json(req)),
            &what(&req.name),
        )
        .await
    }

    pub async fn update_endpoint_config(
        &self,
        name: &str,
        config: &EndpointCoreConfigInput,
    ) -> Result<Reply<ServingEndpointDetailed>, ApiError> {
        self.call(
            "PUT",
            &format!("{}/config", endpoint_path(name)),
            &[],
            Some(&to_json(config)),
            &what(name),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_foundation_model_endpoint_reads_without_external_fields() {
        let e: ServingEndpointDetailed = serde_json::from_value(serde_json::json!({
            "name": "databricks-claude-sonnet-4-5",
            "id": "abc",
            "endpoint_type": "FOUNDATION_MODEL_API",
            "state": {"ready": "READY", "config_update": "NOT_UPDATING"},
            "config": {"served_entities": [{"name": "databricks-claude-sonnet-4-5",
                "foundation_model": {"name": "databricks-claude-sonnet-4-5", "docs": "x"}}]},
            "unknown_field": 1
        }))
        .unwrap();
        assert!(e.state.unwrap().is_settled());
        let fm = e.config.unwrap().served_entities[0]
            .foundation_model
            .clone();
        assert_eq!(
            fm.unwrap().name.as_deref(),
            Some("databricks-claude-sonnet-4-5")
        );
    }

    #[test]
    fn create_body_has_only_what_the_api_takes() {
        let body = to_json(&CreateServingEndpoint {
            name: "e".into(),
            config: EndpointCoreConfigInput {
                served_entities: vec![ServedEntityInput {
                    name: "m".into(),
                    external_model: ExternalModel {
                        name: "m".into(),
                        provider: "anthropic".into(),
                        task: "llm/v1/chat".into(),
                        anthropic_config: Some(AnthropicConfig {
                            anthropic_api_key: Some("{{secrets/s/k}}".into()),
                        }),
                    },
                }],
            },
        });
        assert_eq!(
            body,
            serde_json::json!({"name": "e", "config": {"served_entities": [{"name": "m",
                "external_model": {"name": "m", "provider": "anthropic", "task": "llm/v1/chat",
                "anthropic_config": {"anthropic_api_key": "{{secrets/s/k}}"}}}]}})
        );
    }
}
