//! Account federation policies: which IdP's tokens Databricks accepts in the token exchange.
//!
//! `/api/2.0/accounts/{account_id}/federationPolicies` (account-wide) and
//! `/api/2.0/accounts/{account_id}/servicePrincipals/{sp_id}/federationPolicies` (one service
//! principal, by its numeric id), on the account console host with an account admin's token.
//! The create body is the bare policy, `policy_id` goes in the query string
//! (databricks-sdk-go `service/oauth2/impl.go`); a list answers
//! `{"policies": [...], "next_page_token": "..."}`.

use serde::{Deserialize, Serialize};

use super::{ApiError, DatabricksClient, Reply, seg, to_json};

/// Whose policies: the whole account's, or one service principal's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyOwner {
    pub account_id: String,
    /// The service principal's numeric id in the account (not its application id).
    pub service_principal: Option<u64>,
}

impl PolicyOwner {
    /// The collection path.
    pub fn path(&self) -> String {
        match self.service_principal {
            None => format!(
                "/api/2.0/accounts/{}/federationPolicies",
                seg(&self.account_id)
            ),
            Some(sp) => format!(
                "/api/2.0/accounts/{}/servicePrincipals/{sp}/federationPolicies",
                seg(&self.account_id)
            ),
        }
    }

    /// `account `x`` or `service principal 42 of account `x``.
    pub fn describe(&self) -> String {
        match self.service_principal {
            None => format!("account `{}`", self.account_id),
            Some(sp) => format!("service principal {sp} of account `{}`", self.account_id),
        }
    }
}

/// A policy as read.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FederationPolicy {
    /// `accounts/<acct>/federationPolicies/<policy_id>` (output only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc_policy: Option<OidcFederationPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_principal_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_time: Option<String>,
}

impl FederationPolicy {
    /// The policy id: `policy_id`, else the last segment of `name`.
    pub fn id(&self) -> Option<String> {
        self.policy_id.clone().or_else(|| {
            self.name
                .as_deref()
                .and_then(|n| n.rsplit('/').next())
                .map(str::to_owned)
        })
    }
}

/// The OIDC part of a policy.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OidcFederationPolicy {
    /// Must equal the tokens' `iss` exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// A token matches if any of its `aud` is listed (default: the account id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audiences: Option<Vec<String>>,
    /// The claim holding the Databricks username (default `sub`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_claim: Option<String>,
    /// Service-principal policies only: the exact subject the token must carry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_json: Option<String>,
}

/// The create/update body: the bare policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FederationPolicyInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub oidc_policy: OidcFederationPolicy,
}

/// One page of a list.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ListFederationPoliciesResponse {
    #[serde(default)]
    pub policies: Vec<FederationPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

/// A policy id as it goes into a path: Databricks' ids may hold `/` (lowercase letters,
/// digits, `-` and `/`), which the SDKs put in the path as is (`…/federationPolicies/a/b`),
/// so each `/`-separated part is encoded on its own and the slashes stay. Pure.
pub fn policy_path(policy_id: &str) -> String {
    policy_id.split('/').map(seg).collect::<Vec<_>>().join("/")
}

/// Databricks' rule for policy ids: 2 to 63 lowercase letters, digits, `-` and `/`; and,
/// so that the path names this policy and no other resource, no empty part (`a//b`, a
/// leading or trailing `/`). `Err` says what is wrong. Pure.
pub fn policy_id_problem(id: &str) -> Option<&'static str> {
    if !(2..=63).contains(&id.len()) {
        return Some("must be 2 to 63 characters");
    }
    if !id
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '/')
    {
        return Some("may hold only lowercase letters, digits, `-` and `/`");
    }
    if id.split('/').any(str::is_empty) {
        return Some("may not start or end with `/` or hold `//`");
    }
    None
}

/// Pages fetched at most, so a server that always sends a token cannot loop forever.
const MAX_PAGES: usize = 100;

impl DatabricksClient {
    /// Every policy of `owner`, following `next_page_token`.
    pub async fn list_federation_policies(
        &self,
        owner: &PolicyOwner,
    ) -> Result<Reply<Vec<FederationPolicy>>, ApiError> {
        let what = format!("the federation policies of {}", owner.describe());
        let mut all = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut query = vec![("page_size", "100")];
            if let Some(t) = token.as_deref() {
                query.push(("page_token", t));
            }
            let page: ListFederationPoliciesResponse =
                match self.call("GET", &owner.path(), &query, None, &what).await? {
                    Reply::Got(p) => p,
                    Reply::DryRun => return Ok(Reply::DryRun),
                };
            all.extend(page.policies);
            match page.next_page_token.filter(|t| !t.is_empty()) {
                Some(t) => token = Some(t),
                None => return Ok(Reply::Got(all)),
            }
        }
        Ok(Reply::Got(all))
    }

    /// `POST <owner>/federationPolicies?policy_id=<id>`.
    pub async fn create_federation_policy(
        &self,
        owner: &PolicyOwner,
        policy_id: &str,
        policy: &FederationPolicyInput,
    ) -> Result<Reply<FederationPolicy>, ApiError> {
        self.call(
            "POST",
            &owner.path(),
            &[("policy_id", policy_id)],
            Some(&to_json(policy)),
            &format!("federation policy `{policy_id}` of {}", owner.describe()),
        )
        .await
    }

    /// `PATCH <owner>/federationPolicies/<id>?update_mask=<fields>`.
    pub async fn update_federation_policy(
        &self,
        owner: &PolicyOwner,
        policy_id: &str,
        update_mask: &str,
        policy: &FederationPolicyInput,
    ) -> Result<Reply<FederationPolicy>, ApiError> {
        self.call(
            "PATCH",
            &format!("{}/{}", owner.path(), policy_path(policy_id)),
            &[("update_mask", update_mask)],
            Some(&to_json(policy)),
            &format!("federation policy `{policy_id}` of {}", owner.describe()),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_use_camel_case_and_the_numeric_sp_id() {
        let acct = PolicyOwner {
            account_id: "a-1".into(),
            service_principal: None,
        };
        assert_eq!(acct.path(), "/api/2.0/accounts/a-1/federationPolicies");
        let sp = PolicyOwner {
            service_principal: Some(42),
            ..acct
        };
        assert_eq!(
            sp.path(),
            "/api/2.0/accounts/a-1/servicePrincipals/42/federationPolicies"
        );
    }

    #[test]
    fn a_slash_in_a_policy_id_stays_a_slash_in_the_path() {
        assert_eq!(policy_path("team/gw-1"), "team/gw-1");
        assert_eq!(policy_path("gw-1"), "gw-1");
        assert_eq!(policy_id_problem("team/gw-1"), None);
        for bad in ["/a", "a/", "a//b", "A1", "a", "a.b", "a%2fb"] {
            assert!(policy_id_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn the_id_comes_from_policy_id_or_the_name() {
        let p = FederationPolicy {
            name: Some("accounts/a/federationPolicies/gw-1".into()),
            ..Default::default()
        };
        assert_eq!(p.id().as_deref(), Some("gw-1"));
    }
}
