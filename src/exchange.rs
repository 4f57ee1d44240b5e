//! The RFC 8693 token exchange at Databricks (`<host>/oidc/v1/token`, SPEC "The flow").
//!
//! A form POST: `grant_type=urn:ietf:params:oauth:grant-type:token-exchange`,
//! `subject_token=<id token>`, `subject_token_type=urn:ietf:params:oauth:token-type:jwt`,
//! `scope=all-apis`, and `client_id` only for service-principal federation. The answer has
//! `access_token`, `token_type`, `expires_in`, `scope`; RFC 8693's `issued_token_type` is not
//! required (Databricks omits it).

use serde::{Deserialize, Serialize};

use crate::http::Http;
use crate::secret::Secret;
use crate::token_endpoint::{self, Answer, TokenError, lenient_u64};

pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
pub const SUBJECT_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";
pub const SCOPE: &str = "all-apis";
/// Lifetime assumed when the workspace sends no `expires_in` (Databricks tokens live an hour).
pub const DEFAULT_LIFETIME: u64 = 3600;
/// The longest lifetime believed: a server claiming more (or a huge number) gets this.
pub const MAX_LIFETIME: u64 = 24 * 3600;

/// A token's lifetime from a server's `expires_in`: the default when absent, at most
/// [`MAX_LIFETIME`]. Pure.
pub fn lifetime(expires_in: Option<u64>) -> u64 {
    expires_in.unwrap_or(DEFAULT_LIFETIME).min(MAX_LIFETIME)
}

/// A Databricks access token as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DatabricksToken {
    pub access_token: Secret,
    pub token_type: String,
    /// Unix seconds, on the local clock.
    pub expires_at: u64,
    /// The lifetime it was issued with, in seconds.
    pub lifetime: u64,
}

#[derive(Deserialize)]
struct ExchangeResponse {
    access_token: Secret,
    token_type: Option<String>,
    #[serde(default, deserialize_with = "lenient_u64")]
    expires_in: Option<u64>,
}

/// The token endpoint of a workspace.
pub fn endpoint(databricks_host: &str) -> String {
    format!("{}/oidc/v1/token", databricks_host.trim_end_matches('/'))
}

/// Exchange an IdP ID token for a Databricks token.
///
/// # Security
/// `id_token` goes only into the request body; errors never contain it.
pub async fn exchange(
    http: &Http,
    databricks_host: &str,
    id_token: &Secret,
    service_principal_client_id: Option<&str>,
    now: u64,
) -> Result<Answer<DatabricksToken>, TokenError> {
    let mut form = vec![
        ("grant_type", GRANT_TYPE),
        ("subject_token", id_token.expose()),
        ("subject_token_type", SUBJECT_TOKEN_TYPE),
        ("scope", SCOPE),
    ];
    if let Some(id) = service_principal_client_id {
        form.push(("client_id", id));
    }
    let url = endpoint(databricks_host);
    let answer = token_endpoint::post::<ExchangeResponse>(http, &url, &form).await?;
    if answer.body.access_token.expose().trim().is_empty() {
        return Err(TokenError::Unexpected {
            url,
            status: 200,
            detail: "HTTP 200 with an empty access_token".into(),
        });
    }
    let lifetime = lifetime(answer.body.expires_in);
    Ok(Answer {
        body: DatabricksToken {
            access_token: answer.body.access_token,
            token_type: answer.body.token_type.unwrap_or_else(|| "Bearer".into()),
            expires_at: now.saturating_add(lifetime),
            lifetime,
        },
        server_date: answer.server_date,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_servers_lifetime_is_believed_only_within_a_day() {
        assert_eq!(lifetime(None), 3600);
        assert_eq!(lifetime(Some(60)), 60);
        assert_eq!(lifetime(Some(u64::MAX)), MAX_LIFETIME);
    }
}
