//! Provider metadata (OIDC Discovery 1.0 / RFC 8414) and JWKS, kept on disk.
//!
//! Each document is cached for 24 h, or less when the server's `Cache-Control: max-age` says
//! so, so that a silent refresh costs only the two token round trips. The metadata's `issuer`
//! must equal the configured issuer exactly (mix-up defence), and every endpoint must be
//! https (http only on loopback).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::{IdpKind, IdpSettings, checked_endpoint};
use crate::http::Http;
use crate::idp::id_token::KeySet;
use crate::paths::write_private;

/// How long a fetched document is trusted at most.
pub const MAX_AGE: u64 = 24 * 3600;

/// The provider endpoints gw uses.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ProviderMetadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: Option<String>,
    pub device_authorization_endpoint: Option<String>,
    /// RFC 9207: the provider puts `iss` in authorization responses.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
}

/// Why the provider's documents could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    #[error(transparent)]
    Http(#[from] crate::http::HttpError),
    #[error("`{url}` answered {detail}")]
    Status { url: String, detail: String },
    #[error("`{url}` is not a valid {what} document: {reason}")]
    Invalid {
        url: String,
        what: &'static str,
        reason: String,
    },
    #[error("the provider at `{url}` says its issuer is `{got}`, but the config says `{expected}`")]
    IssuerMismatch {
        url: String,
        expected: String,
        got: String,
    },
}

#[derive(Debug, Serialize, Deserialize)]
struct CachedDoc {
    url: String,
    fetched_at: u64,
    max_age: u64,
    doc: serde_json::Value,
}

/// The on-disk cache of discovery documents and key sets.
#[derive(Debug, Clone)]
pub struct DocCache {
    dir: PathBuf,
}

/// A document and when it was fetched.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub doc: serde_json::Value,
    pub fetched_at: u64,
    /// Whether this call went to the network.
    pub from_network: bool,
}

impl DocCache {
    pub fn new(cache_dir: &Path) -> Self {
        DocCache {
            dir: cache_dir.join("idp"),
        }
    }

    fn path(&self, url: &str) -> PathBuf {
        let digest = Sha256::digest(url.as_bytes());
        let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
        self.dir.join(format!("{hex}.json"))
    }

    fn read(&self, url: &str, now: u64) -> Option<CachedDoc> {
        let bytes = crate::paths::read_state(
            &self.path(url),
            2 * crate::http::MAX_BODY as u64,
            "cached document",
        )?;
        let cached: CachedDoc = serde_json::from_slice(&bytes).ok()?;
        let fresh = cached.url == url
            && cached.fetched_at <= now
            && now - cached.fetched_at < cached.max_age.min(MAX_AGE);
        fresh.then_some(cached)
    }

    /// Forget a document (e.g. a JWKS that lacks a rotated key).
    pub fn forget(&self, url: &str) {
        let _ = std::fs::remove_file(self.path(url));
    }

    /// The document at `url`: from disk while fresh, else fetched and stored.
    pub async fn get(
        &self,
        http: &Http,
        url: &str,
        what: &'static str,
        now: u64,
    ) -> Result<Fetched, DiscoveryError> {
        if let Some(c) = self.read(url, now) {
            return Ok(Fetched {
                doc: c.doc,
                fetched_at: c.fetched_at,
                from_network: false,
            });
        }
        let resp = http.get(url).await?;
        if !resp.is_success() {
            let detail = if resp.is_json() {
                format!("HTTP {}", resp.status)
            } else {
                resp.describe()
            };
            return Err(DiscoveryError::Status {
                url: url.to_owned(),
                detail,
            });
        }
        let doc: serde_json::Value =
            serde_json::from_slice(&resp.body).map_err(|e| DiscoveryError::Invalid {
                url: url.to_owned(),
                what,
                reason: e.to_string(),
            })?;
        let max_age = resp.max_age.unwrap_or(MAX_AGE).min(MAX_AGE);
        if max_age > 0 {
            let cached = CachedDoc {
                url: url.to_owned(),
                fetched_at: now,
                max_age,
                doc: doc.clone(),
            };
            if let Ok(bytes) = serde_json::to_vec(&cached) {
                // A cache that cannot be written only costs a round trip next time.
                let _ = write_private(&self.path(url), &bytes);
            }
        }
        Ok(Fetched {
            doc,
            fetched_at: now,
            from_network: true,
        })
    }
}

/// Fetch (or read cached) provider metadata and check it against the config.
pub async fn metadata(
    http: &Http,
    cache: &DocCache,
    idp: &IdpSettings,
    now: u64,
) -> Result<ProviderMetadata, DiscoveryError> {
    let url = &idp.discovery_url;
    let fetched = cache.get(http, url, "discovery", now).await?;
    let parsed = parse_metadata(&fetched.doc, idp, url);
    if parsed.is_err() && !fetched.from_network {
        cache.forget(url);
    }
    parsed
}

fn parse_metadata(
    doc: &serde_json::Value,
    idp: &IdpSettings,
    url: &str,
) -> Result<ProviderMetadata, DiscoveryError> {
    let invalid = |reason: String| DiscoveryError::Invalid {
        url: url.to_owned(),
        what: "discovery",
        reason,
    };
    let meta: ProviderMetadata =
        serde_json::from_value(doc.clone()).map_err(|e| invalid(e.to_string()))?;
    // The issuer must be the configured one exactly (mix-up defence). For the workspace's own
    // OAuth that is `<host>/oidc`, the issuer its metadata URL is formed from (RFC 8414 §3.3).
    if meta.issuer != idp.issuer {
        return Err(DiscoveryError::IssuerMismatch {
            url: url.to_owned(),
            expected: idp.issuer.clone(),
            got: meta.issuer,
        });
    }
    for endpoint in [
        Some(&meta.authorization_endpoint),
        Some(&meta.token_endpoint),
        meta.jwks_uri.as_ref(),
        meta.device_authorization_endpoint.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        checked_endpoint(endpoint).map_err(invalid)?;
    }
    if idp.kind != IdpKind::Databricks && meta.jwks_uri.is_none() {
        return Err(invalid("it has no `jwks_uri`".into()));
    }
    Ok(meta)
}

/// Seconds a JWKS fetched from the network is trusted before an unknown `kid` may trigger a
/// refetch (so a token with a bogus `kid` cannot make gw hammer the IdP).
pub const KEY_REFETCH_AFTER: u64 = 60;

/// Whether an unknown `kid` justifies fetching the JWKS again: only when the keys in hand came
/// from the disk cache and are older than [`KEY_REFETCH_AFTER`].
pub fn should_refetch_keys(keys: &Fetched, now: u64) -> bool {
    !keys.from_network && now.saturating_sub(keys.fetched_at) >= KEY_REFETCH_AFTER
}

/// The provider's signing keys.
pub async fn keys(
    http: &Http,
    cache: &DocCache,
    meta: &ProviderMetadata,
    now: u64,
) -> Result<(KeySet, Fetched), DiscoveryError> {
    let url = meta.jwks_uri.as_deref().unwrap_or_default();
    let fetched = cache.get(http, url, "JWKS", now).await?;
    let set = KeySet::from_json(&fetched.doc);
    if set.is_empty() {
        cache.forget(url);
        return Err(DiscoveryError::Invalid {
            url: url.to_owned(),
            what: "JWKS",
            reason: "it holds no usable RS256/ES256 key".into(),
        });
    }
    Ok((set, fetched))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fetched(from_network: bool, fetched_at: u64) -> Fetched {
        Fetched {
            doc: serde_json::Value::Null,
            fetched_at,
            from_network,
        }
    }

    #[test]
    fn an_unknown_kid_refetches_only_stale_cached_keys() {
        assert!(should_refetch_keys(&fetched(false, 1000), 1060));
        assert!(
            !should_refetch_keys(&fetched(false, 1000), 1059),
            "rate-limited"
        );
        assert!(
            !should_refetch_keys(&fetched(true, 1000), 5000),
            "just fetched: no second fetch"
        );
    }

    #[test]
    fn the_issuer_must_match_exactly_and_endpoints_must_be_https() {
        let idp = crate::config::Config::parse(
            "[profiles.p]\ndatabricks_host = \"https://h\"\n[profiles.p.idp]\nkind = \"oidc\"\nissuer = \"https://idp\"\nclient_id = \"c\"\n",
            Path::new("c.toml"),
        )
        .unwrap()
        .profiles["p"]
        .idp
        .clone();
        let doc = |iss: &str, token: &str| {
            serde_json::json!({
                "issuer": iss, "authorization_endpoint": "https://idp/auth", "token_endpoint": token, "jwks_uri": "https://idp/jwks"
            })
        };
        parse_metadata(&doc("https://idp", "https://idp/token"), &idp, "u").unwrap();
        assert!(matches!(
            parse_metadata(&doc("https://idp/", "https://idp/token"), &idp, "u"),
            Err(DiscoveryError::IssuerMismatch { .. })
        ));
        assert!(
            matches!(
                parse_metadata(
                    &doc(
                        "https://login.microsoftonline.com/{tenantid}/v2.0",
                        "https://idp/token"
                    ),
                    &idp,
                    "u"
                ),
                Err(DiscoveryError::IssuerMismatch { .. })
            ),
            "Entra's multi-tenant template is never accepted as an issuer"
        );
        assert!(
            parse_metadata(&doc("https://idp", "http://evil.example/token"), &idp, "u").is_err()
        );
        // Azure AD B2C's policy and Entra's `appid` ride in queries: accepted, and kept.
        let b2c = parse_metadata(
            &doc("https://idp", "https://idp/oauth2/v2.0/token?p=B2C_1_signin"),
            &idp,
            "u",
        )
        .unwrap();
        assert_eq!(b2c.token_endpoint, "https://idp/oauth2/v2.0/token?p=B2C_1_signin");
        assert!(
            parse_metadata(&doc("https://idp", "https://idp/token#frag"), &idp, "u").is_err(),
            "a fragment is still refused"
        );
        assert!(
            parse_metadata(&doc("https://idp", "https://u:p@idp/token"), &idp, "u").is_err(),
            "so is user info"
        );
    }
}
