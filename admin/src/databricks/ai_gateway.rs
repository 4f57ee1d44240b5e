//! AI Gateway settings of a serving endpoint: `PUT /api/2.0/serving-endpoints/{name}/ai-gateway`.
//!
//! Shapes follow databricks-sdk-go `PutAiGatewayRequest` / `AiGatewayConfig`. The PUT replaces
//! the whole configuration, so it is always read first (`ai_gateway` of the endpoint) and sent
//! back whole. Sections gw-admin does not manage (`fallback_config`, guardrail keyword lists,
//! anything newer) are kept verbatim in the `other` maps, so they survive the round trip.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{ApiError, DatabricksClient, Reply, seg, to_json};

/// The AI Gateway configuration (the PUT body, and `ai_gateway` of a GET).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AiGatewayConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_tracking_config: Option<UsageTrackingConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limits: Option<Vec<RateLimit>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guardrails: Option<Guardrails>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inference_table_config: Option<InferenceTableConfig>,
    /// Sections gw-admin does not manage, sent back as read.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// Usage tracking into `system.serving.endpoint_usage`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct UsageTrackingConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// One rate limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimit {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calls: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<i64>,
    /// `user` | `user_group` | `service_principal` | `endpoint` (the API's default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The user, group or service principal a keyed limit applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// Only `minute` exists; the field is required.
    pub renewal_period: String,
}

/// Input and output guardrails.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Guardrails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<GuardrailParameters>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<GuardrailParameters>,
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// The guardrails of one direction.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct GuardrailParameters {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safety: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pii: Option<PiiBehavior>,
    /// `invalid_keywords`, `valid_topics`, …: kept as read.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// `{"behavior": "NONE" | "BLOCK" | "MASK"}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PiiBehavior {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub behavior: Option<String>,
}

/// The Unity Catalog table that logs requests and responses.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct InferenceTableConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_name_prefix: Option<String>,
}

impl DatabricksClient {
    /// Replace the endpoint's AI Gateway configuration.
    pub async fn put_ai_gateway(
        &self,
        endpoint: &str,
        config: &AiGatewayConfig,
    ) -> Result<Reply<AiGatewayConfig>, ApiError> {
        self.call(
            "PUT",
            &format!("/api/2.0/serving-endpoints/{}/ai-gateway", seg(endpoint)),
            &[],
            Some(&to_json(config)),
            &format!("serving endpoint `{endpoint}`"),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unmanaged_sections_survive_a_round_trip() {
        let read = serde_json::json!({
            "usage_tracking_config": {"enabled": true},
            "fallback_config": {"enabled": false},
            "guardrails": {"input": {"safety": true, "invalid_keywords": ["x"]}},
        });
        let cfg: AiGatewayConfig = serde_json::from_value(read.clone()).unwrap();
        assert_eq!(to_json(&cfg), read);
    }
}
