//! ID token validation (OIDC Core §3.1.3.7; refreshed tokens §12.2), by `openidconnect`'s
//! verifier configured to gw's stricter rules:
//! - `alg` is RS256 or ES256 (never `none`, never HS*), with a key of the matching type and
//!   use (openidconnect's key selection: `kid`, `kty`, `alg` and `use` must fit);
//! - `iss` equals the configured issuer exactly; `aud` contains the client id, and when it
//!   holds other audiences `azp` must be the client id (checked here: openidconnect leaves
//!   `azp` alone);
//! - `exp`, `iat` (and `nbf` when present, checked here) are numbers, within [`LEEWAY`] of a
//!   `now` the caller passes in (already corrected for clock skew);
//! - `nonce` equals the one sent with the authorization request, when one was sent.
//!
//! The JWKS is filtered before openidconnect sees it ([`KeySet::from_json`]): only keys that
//! can verify RS256/ES256 signatures and are meant to (`use`, `key_ops`) are kept.

use chrono::{DateTime, TimeZone, Utc};
use openidconnect::core::{
    CoreGenderClaim, CoreJsonWebKey, CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
};
use openidconnect::{
    AdditionalClaims, ClaimsVerificationError, ClientId, IdToken, IdTokenVerifier, IssuerUrl,
    Nonce, SignatureVerificationError,
};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::secret::constant_time_eq;

/// Allowed clock difference, in seconds, for `exp`, `iat` and `nbf`.
pub const LEEWAY: u64 = 60;

/// The keys of a JWKS that gw could use; the others are ignored.
#[derive(Debug, Clone)]
pub struct KeySet {
    keys: Vec<CoreJsonWebKey>,
}

impl KeySet {
    /// Parse a JWKS document, keeping the keys that can verify RS256 or ES256 signatures
    /// (RSA, or EC on P-256, with their parameters present and base64url) and are meant to
    /// (`use` absent or `sig`, `key_ops` absent or holding `verify`; RFC 7517 §4.2–4.3).
    pub fn from_json(doc: &serde_json::Value) -> KeySet {
        let keys = doc
            .get("keys")
            .and_then(|k| k.as_array())
            .map(|arr| {
                arr.iter()
                    .filter(|k| for_signatures(k) && usable(k))
                    .filter_map(|k| serde_json::from_value::<CoreJsonWebKey>(k.clone()).ok())
                    .collect()
            })
            .unwrap_or_default();
        KeySet { keys }
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Whether a JWK may verify signatures: `use` absent or `sig`, `key_ops` absent or holding
/// `verify`. Pure.
pub fn for_signatures(jwk: &serde_json::Value) -> bool {
    let use_ok = jwk.get("use").is_none_or(|u| u == "sig");
    let ops_ok = jwk.get("key_ops").is_none_or(|ops| {
        ops.as_array()
            .is_some_and(|a| a.iter().any(|o| o == "verify"))
    });
    use_ok && ops_ok
}

/// Whether a JWK is an RS256 or ES256 public key with its parameters in place. Pure.
fn usable(jwk: &serde_json::Value) -> bool {
    use base64::Engine;
    let b64 = |name: &str| {
        jwk.get(name)
            .and_then(|v| v.as_str())
            .and_then(|s| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(s)
                    .ok()
            })
            .is_some_and(|b| !b.is_empty())
    };
    let alg = jwk.get("alg").and_then(|a| a.as_str());
    match jwk.get("kty").and_then(|k| k.as_str()) {
        Some("RSA") => alg.is_none_or(|a| a == "RS256") && b64("n") && b64("e"),
        Some("EC") => {
            alg.is_none_or(|a| a == "ES256")
                && jwk.get("crv").is_some_and(|c| c == "P-256")
                && b64("x")
                && b64("y")
        }
        _ => false,
    }
}

/// What the token must match.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    /// The nonce sent with the authorization request; `None` for refreshed tokens.
    pub nonce: Option<&'a str>,
}

/// The claims gw uses.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(test, derive(Deserialize))]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: Vec<String>,
    pub exp: u64,
    pub iat: u64,
    pub nbf: Option<u64>,
    pub nonce: Option<String>,
    pub azp: Option<String>,
    pub auth_time: Option<u64>,
    pub preferred_username: Option<String>,
    pub email: Option<String>,
    pub upn: Option<String>,
}

impl Claims {
    /// The name to show for this identity: `preferred_username`, else `email`, `upn`, `sub`.
    pub fn display_name(&self) -> String {
        self.preferred_username
            .clone()
            .or_else(|| self.email.clone())
            .or_else(|| self.upn.clone())
            .unwrap_or_else(|| self.sub.clone())
    }
}

/// Why an ID token was refused. Never carries the token.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum IdTokenError {
    #[error("the ID token is not a well-formed JWT")]
    Malformed,
    #[error("the ID token is signed with `{0}`; only RS256 and ES256 are accepted")]
    Algorithm(String),
    #[error("no key in the issuer's JWKS matches the ID token (kid `{0}`)")]
    UnknownKey(String),
    #[error("the ID token's signature does not verify against the issuer's keys")]
    BadSignature,
    #[error("the ID token's claims are malformed: {0}")]
    Claims(String),
    #[error("the ID token was issued by `{got}`, not the configured issuer `{expected}`")]
    Issuer { expected: String, got: String },
    #[error("the ID token is not meant for client `{0}` (aud/azp)")]
    Audience(String),
    #[error("the ID token expired {0} s ago")]
    Expired(u64),
    #[error("the ID token is issued in the future or not valid yet (check the clock)")]
    NotYetValid,
    #[error("the ID token's nonce does not match this sign-in")]
    Nonce,
}

/// The claims beyond OIDC's standard ones that gw reads.
#[derive(Debug, Clone, Deserialize, Serialize)]
struct Extra {
    /// Entra ID's user principal name.
    upn: Option<String>,
    /// RFC 7519 §4.1.5; openidconnect does not check it.
    nbf: Option<serde_json::Number>,
}

impl AdditionalClaims for Extra {}

type Token =
    IdToken<Extra, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>;

/// Verify `token` and return its claims.
pub fn verify(
    token: &str,
    keys: &KeySet,
    expected: &Expected<'_>,
    now: u64,
) -> Result<Claims, IdTokenError> {
    let parts = Unverified::read(token)?;
    let parsed: Token = token
        .parse()
        .map_err(|e: serde_json::Error| IdTokenError::Claims(claims_error(&e)))?;
    let issuer = IssuerUrl::new(expected.issuer.to_owned()).map_err(|_| IdTokenError::Issuer {
        expected: expected.issuer.to_owned(),
        got: parts.iss.clone().unwrap_or_default(),
    })?;
    let at = |secs: u64| {
        Utc.timestamp_opt(i64::try_from(secs).unwrap_or(i64::MAX), 0)
            .single()
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    };
    let verifier = IdTokenVerifier::new_public_client(
        ClientId::new(expected.client_id.to_owned()),
        issuer,
        CoreJsonWebKeySet::new(keys.keys.clone()),
    )
    .set_allowed_algs([
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    ])
    // Other audiences are allowed when `azp` names this client (checked below).
    .set_other_audience_verifier_fn(|_| true)
    // Expired when `exp + LEEWAY <= now`: the verifier's clock runs LEEWAY behind.
    .set_time_fn(move || at(now.saturating_sub(LEEWAY)))
    .set_issue_time_verifier_fn(move |iat| {
        if u64::try_from(iat.timestamp()).unwrap_or(0) > now + LEEWAY {
            Err(NOT_YET.to_owned())
        } else {
            Ok(())
        }
    });
    let nonce = |got: Option<&Nonce>| match expected.nonce {
        None => Ok(()),
        Some(sent) => {
            let got = got.map(|n| n.secret().as_str()).unwrap_or("");
            if constant_time_eq(sent.as_bytes(), got.as_bytes()) {
                Ok(())
            } else {
                Err("nonce mismatch".to_owned())
            }
        }
    };
    let c = parsed
        .claims(&verifier, nonce)
        .map_err(|e| refused(e, &parts, expected, now))?;
    let claims = Claims {
        iss: c.issuer().to_string(),
        sub: c.subject().to_string(),
        aud: c.audiences().iter().map(|a| a.to_string()).collect(),
        exp: secs(c.expiration()),
        iat: secs(c.issue_time()),
        nbf: c
            .additional_claims()
            .nbf
            .as_ref()
            .map(|n| n.as_f64().map_or(u64::MAX, |f| f.max(0.0) as u64)),
        nonce: c.nonce().map(|n| n.secret().clone()),
        azp: c.authorized_party().map(|a| a.to_string()),
        auth_time: c.auth_time().map(secs),
        preferred_username: c.preferred_username().map(|u| u.to_string()),
        email: c.email().map(|e| e.to_string()),
        upn: c.additional_claims().upn.clone(),
    };
    beyond_openidconnect(&claims, expected, now)?;
    Ok(claims)
}

/// The marker of an `iat` in the future (openidconnect reports it as "expired").
const NOT_YET: &str = "iat is in the future";

fn secs(t: DateTime<Utc>) -> u64 {
    u64::try_from(t.timestamp()).unwrap_or(0)
}

/// The rules openidconnect leaves to its caller: `azp` (OIDC Core §3.1.3.7 steps 4–5) and
/// `nbf`. Pure.
pub fn beyond_openidconnect(
    claims: &Claims,
    expected: &Expected<'_>,
    now: u64,
) -> Result<(), IdTokenError> {
    let azp_ok = match &claims.azp {
        Some(azp) => azp == expected.client_id,
        None => claims.aud.len() == 1,
    };
    if !azp_ok {
        return Err(IdTokenError::Audience(expected.client_id.to_owned()));
    }
    if claims.nbf.is_some_and(|nbf| nbf > now + LEEWAY) {
        return Err(IdTokenError::NotYetValid);
    }
    Ok(())
}

/// What an error message may name from the token before it is verified: its `alg` and `kid`
/// (header) and its `iss` and `exp` (payload).
struct Unverified {
    alg: String,
    kid: Option<String>,
    iss: Option<String>,
    exp: Option<u64>,
}

impl Unverified {
    fn read(token: &str) -> Result<Unverified, IdTokenError> {
        use base64::Engine;
        let json = |part: &str| -> Option<serde_json::Value> {
            let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(part)
                .ok()?;
            serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .filter(|v| v.is_object())
        };
        let mut it = token.split('.');
        let (Some(h), Some(p), Some(_), None) = (it.next(), it.next(), it.next(), it.next()) else {
            return Err(IdTokenError::Malformed);
        };
        let (header, payload) = json(h).zip(json(p)).ok_or(IdTokenError::Malformed)?;
        let alg = header
            .get("alg")
            .and_then(|a| a.as_str())
            .ok_or(IdTokenError::Malformed)?;
        if !matches!(alg, "RS256" | "ES256") {
            return Err(IdTokenError::Algorithm(alg.chars().take(16).collect()));
        }
        Ok(Unverified {
            alg: alg.to_owned(),
            kid: header
                .get("kid")
                .and_then(|k| k.as_str())
                .map(str::to_owned),
            iss: payload
                .get("iss")
                .and_then(|i| i.as_str())
                .map(str::to_owned),
            exp: payload.get("exp").and_then(|e| e.as_u64()),
        })
    }
}

/// A claims parse error, without the token's values (serde names the field and the type).
fn claims_error(e: &serde_json::Error) -> String {
    crate::sanitize::one_line(&e.to_string(), 200)
}

/// openidconnect's refusal, in gw's words.
fn refused(
    e: ClaimsVerificationError,
    parts: &Unverified,
    expected: &Expected<'_>,
    now: u64,
) -> IdTokenError {
    use SignatureVerificationError as S;
    match e {
        ClaimsVerificationError::SignatureVerification(s) => match s {
            S::NoMatchingKey | S::AmbiguousKeyId(_) => {
                IdTokenError::UnknownKey(parts.kid.clone().unwrap_or_else(|| "none".into()))
            }
            S::DisallowedAlg(_) | S::UnsupportedAlg(_) => {
                IdTokenError::Algorithm(parts.alg.clone())
            }
            _ => IdTokenError::BadSignature,
        },
        ClaimsVerificationError::InvalidIssuer(_) => IdTokenError::Issuer {
            expected: expected.issuer.to_owned(),
            got: parts.iss.clone().unwrap_or_default(),
        },
        ClaimsVerificationError::InvalidAudience(_) => {
            IdTokenError::Audience(expected.client_id.to_owned())
        }
        ClaimsVerificationError::Expired(why) if why == NOT_YET => IdTokenError::NotYetValid,
        ClaimsVerificationError::Expired(_) => {
            IdTokenError::Expired(now.saturating_sub(parts.exp.unwrap_or(now)))
        }
        ClaimsVerificationError::InvalidNonce(_) => IdTokenError::Nonce,
        ClaimsVerificationError::Unsupported(_) => IdTokenError::Malformed,
        other => IdTokenError::Claims(crate::sanitize::one_line(&other.to_string(), 200)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openidconnect::JsonWebKey as _;

    const EXP: Expected<'static> = Expected {
        issuer: "https://idp",
        client_id: "cli",
        nonce: Some("n"),
    };

    fn claims(json: serde_json::Value) -> Claims {
        let mut base =
            serde_json::json!({"iss":"https://idp","sub":"u","aud":["cli"],"exp":2000,"iat":1000});
        base.as_object_mut()
            .unwrap()
            .extend(json.as_object().unwrap().clone());
        serde_json::from_value(base).unwrap()
    }

    #[test]
    fn another_audience_needs_azp_naming_this_client() {
        let two = claims(serde_json::json!({"aud": ["cli", "other"]}));
        assert_eq!(
            beyond_openidconnect(&two, &EXP, 1500),
            Err(IdTokenError::Audience("cli".into()))
        );
        let with_azp = claims(serde_json::json!({"aud": ["cli", "other"], "azp": "cli"}));
        beyond_openidconnect(&with_azp, &EXP, 1500).unwrap();
        let wrong_azp = claims(serde_json::json!({"azp": "other"}));
        assert!(beyond_openidconnect(&wrong_azp, &EXP, 1500).is_err());
        beyond_openidconnect(&claims(serde_json::json!({})), &EXP, 1500).unwrap();
    }

    #[test]
    fn nbf_is_checked_with_the_leeway() {
        let c = claims(serde_json::json!({"nbf": 1000}));
        beyond_openidconnect(&c, &EXP, 1000 - LEEWAY).unwrap();
        assert_eq!(
            beyond_openidconnect(&c, &EXP, 1000 - LEEWAY - 1),
            Err(IdTokenError::NotYetValid)
        );
    }

    #[test]
    fn unusable_keys_are_skipped_and_the_rest_kept() {
        let n = "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw";
        let doc = serde_json::json!({"keys":[
            {"kty":"RSA","kid":"bad","n":"!!!","e":"AQAB"},
            {"kty":"weird","kid":"w"},
            {"kty":"EC","kid":"p384","crv":"P-384","x":"AQAB","y":"AQAB"},
            {"kty":"RSA","kid":"ps","alg":"PS256","n":n,"e":"AQAB"},
            {"kty":"RSA","kid":"enc","use":"enc","n":n,"e":"AQAB"},
            {"kty":"RSA","kid":"ok","n":n,"e":"AQAB"}
        ]});
        let ks = KeySet::from_json(&doc);
        assert_eq!(ks.len(), 1);
        assert_eq!(
            ks.keys[0].key_id().map(|k| k.as_str()),
            Some("ok"),
            "{ks:?}"
        );
    }

    #[test]
    fn only_keys_meant_for_signatures_are_used() {
        let k = |extra: serde_json::Value| {
            let mut j = serde_json::json!({"kty": "RSA"});
            j.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            for_signatures(&j)
        };
        assert!(k(serde_json::json!({})));
        assert!(k(serde_json::json!({"use": "sig"})));
        assert!(!k(serde_json::json!({"use": "enc"})));
        assert!(k(serde_json::json!({"key_ops": ["verify"]})));
        assert!(!k(serde_json::json!({"key_ops": ["encrypt"]})));
        assert!(
            !k(serde_json::json!({"key_ops": "verify"})),
            "must be an array"
        );
    }

    #[test]
    fn a_token_that_is_not_three_json_parts_is_malformed() {
        for t in ["", "a.b", "a.b.c.d", "e30.e30", "!!.e30.x"] {
            assert_eq!(
                Unverified::read(t).err(),
                Some(IdTokenError::Malformed),
                "{t}"
            );
        }
    }
}
