//! `gw-admin setup-federation`: the account federation policy that makes Databricks accept
//! the company IdP's ID tokens in the token exchange gw performs.

use gw::api::UserError;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::Outcome;
use crate::databricks::DatabricksClient;
use crate::databricks::federation_policy::{
    FederationPolicy, FederationPolicyInput, OidcFederationPolicy, PolicyOwner, policy_id_problem,
};

/// The claim Databricks reads when a policy names none.
pub const DEFAULT_SUBJECT_CLAIM: &str = "sub";
/// For Entra ID: the UPN, which is what Databricks usernames synced from Entra are.
pub const ENTRA_SUBJECT_CLAIM: &str = "preferred_username";

/// The resolved request.
#[derive(Debug, Clone)]
pub struct Federation {
    pub owner: PolicyOwner,
    pub issuer: String,
    pub audiences: Vec<String>,
    pub subject_claim: String,
    /// Service-principal policies only.
    pub subject: Option<String>,
    /// The id for a new policy; `None` derives one ([`default_policy_id`]).
    pub policy_id: Option<String>,
}

impl Federation {
    /// The OIDC policy to have.
    pub fn oidc_policy(&self) -> OidcFederationPolicy {
        OidcFederationPolicy {
            issuer: Some(self.issuer.clone()),
            audiences: Some(self.audiences.clone()),
            subject_claim: Some(self.subject_claim.clone()),
            subject: self.subject.clone(),
            jwks_uri: None,
            jwks_json: None,
        }
    }
}

/// The issuer of Entra ID v2.0 tokens for a tenant; the tenant must be its GUID (the `iss`
/// of a token always carries the GUID, never a domain name).
pub fn azure_issuer(tenant: &str) -> Result<String, UserError> {
    let parts: Vec<&str> = tenant.split('-').collect();
    let guid = parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts
            .iter()
            .all(|p| p.chars().all(|c| c.is_ascii_hexdigit()));
    if !guid {
        return Err(UserError::config(
            format!("`--azure-tenant {tenant}` is not a tenant id (a GUID)"),
            "use the Directory (tenant) ID from the Entra admin center (Overview page); ID tokens carry it, not the domain",
        ));
    }
    Ok(format!(
        "https://login.microsoftonline.com/{}/v2.0",
        tenant.to_ascii_lowercase()
    ))
}

/// `gw-` and 12 hex digits of a hash over issuer, audiences and subject: stable across runs,
/// different for a different trust.
pub fn default_policy_id(issuer: &str, audiences: &[String], subject: Option<&str>) -> String {
    let mut aud = audiences.to_vec();
    aud.sort();
    let mut h = Sha256::new();
    for part in [issuer, &aud.join(","), subject.unwrap_or("")] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let hex: String = h
        .finalize()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("gw-{hex}")
}

/// A policy id given with `--policy-id` ([`policy_id_problem`] says why not).
pub fn check_policy_id(id: &str) -> Result<(), UserError> {
    match policy_id_problem(id) {
        None => Ok(()),
        Some(why) => Err(UserError::config(
            format!("`--policy-id {id}` is not a valid policy id: it {why}"),
            "use 2 to 63 lowercase letters, digits, `-` or `/` (e.g. `gw-entra` or `team/gw`)",
        )),
    }
}

/// A policy id Databricks listed, before it goes into a PATCH path.
pub fn check_listed_id(id: &str) -> Result<(), UserError> {
    match policy_id_problem(id) {
        None => Ok(()),
        Some(why) => Err(UserError::failure(
            format!(
                "Databricks listed a federation policy id `{id}` that gw-admin will not put in a path: it {why}"
            ),
            "update that policy in the account console, or delete it and run the command again",
        )),
    }
}

/// What to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// A policy with the same issuer, audiences (and subject) and subject claim exists.
    UpToDate { policy_id: String },
    /// One with the same issuer and audiences exists but reads another claim: fix that one.
    UpdateSubjectClaim { policy_id: String, from: String },
    /// None matches: create one. `same_issuer` lists other policies of this issuer.
    Create { same_issuer: Vec<String> },
}

/// Decide what to change.
///
/// 1. A policy matches when its issuer is the same string, its audiences the same set (none
///    listed means Databricks' default, the account id) and, for a service principal, its
///    subject is the same.
/// 2. A match whose subject claim (default `sub`) is the desired one → up to date.
/// 3. A match with another subject claim → update that policy's `subject_claim` in place.
/// 4. No match → create; policies of the same issuer with other audiences are reported, never
///    changed (they may serve another app).
pub fn plan(existing: &[FederationPolicy], want: &Federation) -> Plan {
    let set = |v: &[String]| {
        let mut v = v.to_vec();
        v.sort();
        v.dedup();
        v
    };
    let want_aud = set(&want.audiences);
    let mut same_issuer = Vec::new();
    let mut claim_mismatch = None;
    for p in existing {
        let (Some(o), Some(id)) = (&p.oidc_policy, p.id()) else {
            continue;
        };
        if o.issuer.as_deref() != Some(want.issuer.as_str()) {
            continue;
        }
        let aud = match &o.audiences {
            Some(a) if !a.is_empty() => set(a),
            _ => vec![want.owner.account_id.clone()],
        };
        if aud != want_aud || o.subject != want.subject {
            same_issuer.push(id);
            continue;
        }
        let claim = o
            .subject_claim
            .clone()
            .unwrap_or_else(|| DEFAULT_SUBJECT_CLAIM.to_owned());
        if claim == want.subject_claim {
            return Plan::UpToDate { policy_id: id };
        }
        claim_mismatch.get_or_insert(Plan::UpdateSubjectClaim {
            policy_id: id,
            from: claim,
        });
    }
    claim_mismatch.unwrap_or(Plan::Create { same_issuer })
}

/// Run `setup-federation`.
///
/// 1. List the owner's policies, every page (a dry run sees none).
/// 2. [`plan`]: nothing; `PATCH …/federationPolicies/{id}?update_mask=oidc_policy.subject_claim`;
///    or `POST …/federationPolicies?policy_id=<id>` with the bare policy.
pub async fn run(acct: &DatabricksClient, want: &Federation) -> anyhow::Result<Outcome> {
    let dry = acct.is_dry_run();
    let existing = acct
        .list_federation_policies(&want.owner)
        .await?
        .sent()
        .unwrap_or_default();
    let plan = plan(&existing, want);
    let body = FederationPolicyInput {
        description: Some(format!(
            "gw: sign-in with ID tokens from {} (created by gw-admin)",
            want.issuer
        )),
        oidc_policy: want.oidc_policy(),
    };
    let owner = want.owner.describe();
    let trust = format!(
        "issuer `{}`, audiences {}, subject claim `{}`{}",
        want.issuer,
        want.audiences
            .iter()
            .map(|a| format!("`{a}`"))
            .collect::<Vec<_>>()
            .join(", "),
        want.subject_claim,
        want.subject
            .as_ref()
            .map(|s| format!(", subject `{s}`"))
            .unwrap_or_default()
    );
    let (action, policy_id, line) = match &plan {
        Plan::UpToDate { policy_id } => (
            "none",
            policy_id.clone(),
            format!(
                "Federation policy `{policy_id}` of {owner} already trusts {trust}; nothing to change."
            ),
        ),
        Plan::UpdateSubjectClaim { policy_id, from } => {
            check_listed_id(policy_id)?;
            acct.update_federation_policy(
                &want.owner,
                policy_id,
                "oidc_policy.subject_claim",
                &body,
            )
            .await?;
            (
                "updated",
                policy_id.clone(),
                format!(
                    "Updated federation policy `{policy_id}` of {owner}: subject claim `{from}` → `{}`.",
                    want.subject_claim
                ),
            )
        }
        Plan::Create { same_issuer } => {
            let id = want.policy_id.clone().unwrap_or_else(|| {
                default_policy_id(&want.issuer, &want.audiences, want.subject.as_deref())
            });
            for other in same_issuer {
                eprintln!(
                    "note: federation policy `{other}` also trusts `{}`, with other audiences; \
                     it is left as it is (delete it in the account console if it is stale)",
                    want.issuer
                );
            }
            acct.create_federation_policy(&want.owner, &id, &body)
                .await?;
            let line = if dry {
                format!(
                    "Dry run: would create federation policy `{id}` of {owner} ({trust}) unless one like it exists."
                )
            } else {
                format!("Created federation policy `{id}` of {owner}: {trust}.")
            };
            ("created", id, line)
        }
    };
    Ok(Outcome {
        changed: action != "none",
        lines: vec![line],
        json: json!({"command": "setup-federation", "account_id": want.owner.account_id,
            "service_principal": want.owner.service_principal, "policy_id": policy_id,
            "action": action, "changed": action != "none", "dry_run": dry,
            "oidc_policy": want.oidc_policy()}),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn want() -> Federation {
        Federation {
            owner: PolicyOwner {
                account_id: "acct".into(),
                service_principal: None,
            },
            issuer: "https://login.microsoftonline.com/t/v2.0".into(),
            audiences: vec!["app".into()],
            subject_claim: "preferred_username".into(),
            subject: None,
            policy_id: None,
        }
    }

    fn policy(id: &str, issuer: &str, aud: &[&str], claim: Option<&str>) -> FederationPolicy {
        FederationPolicy {
            policy_id: Some(id.into()),
            oidc_policy: Some(OidcFederationPolicy {
                issuer: Some(issuer.into()),
                audiences: Some(aud.iter().map(|s| (*s).to_owned()).collect()),
                subject_claim: claim.map(str::to_owned),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn the_same_issuer_audiences_and_claim_is_up_to_date() {
        let w = want();
        let existing = [
            policy("other", "https://idp.example.com", &["app"], None),
            policy("p1", &w.issuer, &["app"], Some("preferred_username")),
        ];
        assert_eq!(
            plan(&existing, &w),
            Plan::UpToDate {
                policy_id: "p1".into()
            }
        );
    }

    #[test]
    fn another_claim_on_a_matching_policy_is_updated_in_place() {
        let w = want();
        let existing = [policy("p1", &w.issuer, &["app"], None)];
        assert_eq!(
            plan(&existing, &w),
            Plan::UpdateSubjectClaim {
                policy_id: "p1".into(),
                from: "sub".into()
            }
        );
    }

    #[test]
    fn other_audiences_mean_a_new_policy_and_leave_the_old_one_alone() {
        let w = want();
        let existing = [policy(
            "p1",
            &w.issuer,
            &["old-app"],
            Some("preferred_username"),
        )];
        assert_eq!(
            plan(&existing, &w),
            Plan::Create {
                same_issuer: vec!["p1".into()]
            }
        );
    }

    #[test]
    fn no_audiences_means_the_account_id() {
        let mut w = want();
        w.audiences = vec!["acct".into()];
        let mut p = policy("p1", &w.issuer, &[], Some("preferred_username"));
        p.oidc_policy.as_mut().unwrap().audiences = None;
        assert!(matches!(plan(&[p], &w), Plan::UpToDate { .. }));
    }

    #[test]
    fn service_principal_policies_match_on_subject_too() {
        let mut w = want();
        w.subject = Some("sp-sub".into());
        w.subject_claim = "sub".into();
        let mut p = policy("p1", &w.issuer, &["app"], Some("sub"));
        assert!(matches!(plan(&[p.clone()], &w), Plan::Create { .. }));
        p.oidc_policy.as_mut().unwrap().subject = Some("sp-sub".into());
        assert!(matches!(plan(&[p], &w), Plan::UpToDate { .. }));
    }

    #[test]
    fn azure_tenants_must_be_guids() {
        assert_eq!(
            azure_issuer("0D2A3C4B-1111-2222-3333-444455556666").unwrap(),
            "https://login.microsoftonline.com/0d2a3c4b-1111-2222-3333-444455556666/v2.0"
        );
        assert_eq!(azure_issuer("contoso.onmicrosoft.com").unwrap_err().code, 2);
    }

    #[test]
    fn default_policy_ids_are_stable_valid_and_audience_order_free() {
        let a = default_policy_id("https://i", &["x".into(), "y".into()], None);
        let b = default_policy_id("https://i", &["y".into(), "x".into()], None);
        assert_eq!(a, b);
        assert!(check_policy_id(&a).is_ok());
        assert_ne!(a, default_policy_id("https://i", &["x".into()], None));
        assert!(check_policy_id("Bad_Id").is_err());
    }
}
