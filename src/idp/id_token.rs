//! ID token validation (OIDC Core §3.1.3.7; refreshed tokens §12.2).
//!
//! `jsonwebtoken` checks the signature against one key from the issuer's JWKS; every claim
//! is checked here, on a typed struct, against a `now` the caller passes in (already corrected
//! for clock skew):
//! - `alg` is RS256 or ES256 and matches the key's type (never `none`, never HS*);
//! - `iss` equals the configured issuer exactly; `aud` contains the client id, and when it
//!   holds other audiences `azp` must be the client id;
//! - `exp`, `iat` (and `nbf` when present) are numbers, checked with [`LEEWAY`];
//! - `nonce` equals the one sent with the authorization request, when one was sent.

use crate::secret::constant_time_eq;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Deserializer};
use thiserror::Error;

/// Allowed clock difference, in seconds, for `exp`, `iat` and `nbf`.
pub const LEEWAY: u64 = 60;

/// The keys of a JWKS that gw could parse; the others are ignored.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: Vec<Jwk>,
}

impl KeySet {
    /// Parse a JWKS document, skipping keys that do not parse (unknown `kty`, bad fields) and
    /// keys not meant for verifying signatures (`use` other than `sig`, `key_ops` without
    /// `verify`; RFC 7517 §4.2–4.3).
    pub fn from_json(doc: &serde_json::Value) -> KeySet {
        let keys = doc
            .get("keys")
            .and_then(|k| k.as_array())
            .map(|arr| {
                arr.iter()
                    .filter(|k| for_signatures(k))
                    .filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
                    .filter(|k| DecodingKey::from_jwk(k).is_ok())
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

/// What the token must match.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    /// The nonce sent with the authorization request; `None` for refreshed tokens.
    pub nonce: Option<&'a str>,
}

/// The claims gw uses. Wrong types (a string `exp`, an array `iss`) fail to parse.
#[derive(Debug, Clone, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    #[serde(deserialize_with = "one_or_many")]
    pub aud: Vec<String>,
    #[serde(deserialize_with = "numeric_date")]
    pub exp: u64,
    #[serde(deserialize_with = "numeric_date")]
    pub iat: u64,
    #[serde(default, deserialize_with = "opt_numeric_date")]
    pub nbf: Option<u64>,
    pub nonce: Option<String>,
    pub azp: Option<String>,
    #[serde(default, deserialize_with = "opt_numeric_date")]
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

/// Verify `token` and return its claims.
pub fn verify(
    token: &str,
    keys: &KeySet,
    expected: &Expected<'_>,
    now: u64,
) -> Result<Claims, IdTokenError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| IdTokenError::Malformed)?;
    if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
        return Err(IdTokenError::Algorithm(format!("{:?}", header.alg)));
    }
    let key = select_key(keys, header.alg, header.kid.as_deref())?;
    let decoding = DecodingKey::from_jwk(key).map_err(|_| IdTokenError::BadSignature)?;
    let mut validation = Validation::new(header.alg);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let data =
        jsonwebtoken::decode::<serde_json::Value>(token, &decoding, &validation).map_err(|e| {
            match e.kind() {
                jsonwebtoken::errors::ErrorKind::InvalidSignature
                | jsonwebtoken::errors::ErrorKind::InvalidAlgorithm
                | jsonwebtoken::errors::ErrorKind::InvalidKeyFormat
                | jsonwebtoken::errors::ErrorKind::InvalidEcdsaKey
                | jsonwebtoken::errors::ErrorKind::InvalidRsaKey(_) => IdTokenError::BadSignature,
                _ => IdTokenError::Malformed,
            }
        })?;
    let claims: Claims =
        serde_json::from_value(data.claims).map_err(|e| IdTokenError::Claims(e.to_string()))?;
    check_claims(&claims, expected, now)?;
    Ok(claims)
}

/// The claim checks, separate from the signature so they can be tested on plain structs.
pub fn check_claims(
    claims: &Claims,
    expected: &Expected<'_>,
    now: u64,
) -> Result<(), IdTokenError> {
    if claims.iss != expected.issuer {
        return Err(IdTokenError::Issuer {
            expected: expected.issuer.to_owned(),
            got: claims.iss.clone(),
        });
    }
    let aud_ok = claims.aud.iter().any(|a| a == expected.client_id);
    let azp_ok = match &claims.azp {
        Some(azp) => azp == expected.client_id,
        None => claims.aud.len() == 1,
    };
    if !aud_ok || !azp_ok {
        return Err(IdTokenError::Audience(expected.client_id.to_owned()));
    }
    if claims.exp + LEEWAY <= now {
        return Err(IdTokenError::Expired(now - claims.exp));
    }
    if claims.iat > now + LEEWAY || claims.nbf.is_some_and(|nbf| nbf > now + LEEWAY) {
        return Err(IdTokenError::NotYetValid);
    }
    if let Some(sent) = expected.nonce {
        let got = claims.nonce.as_deref().unwrap_or("");
        if !constant_time_eq(sent.as_bytes(), got.as_bytes()) {
            return Err(IdTokenError::Nonce);
        }
    }
    Ok(())
}

/// The key for `alg`/`kid`: by `kid` when the token names one, else the only key of that type.
fn select_key<'k>(
    keys: &'k KeySet,
    alg: Algorithm,
    kid: Option<&str>,
) -> Result<&'k Jwk, IdTokenError> {
    let fits = |k: &&Jwk| {
        let type_ok = match (&k.algorithm, alg) {
            (AlgorithmParameters::RSA(_), Algorithm::RS256) => true,
            (AlgorithmParameters::EllipticCurve(p), Algorithm::ES256) => {
                p.curve == EllipticCurve::P256
            }
            _ => false,
        };
        let alg_ok = match k.common.key_algorithm {
            None => true,
            Some(KeyAlgorithm::RS256) => alg == Algorithm::RS256,
            Some(KeyAlgorithm::ES256) => alg == Algorithm::ES256,
            Some(_) => false,
        };
        type_ok && alg_ok
    };
    let mut candidates = keys.keys.iter().filter(fits);
    match kid {
        Some(kid) => candidates
            .find(|k| k.common.key_id.as_deref() == Some(kid))
            .ok_or_else(|| IdTokenError::UnknownKey(kid.to_owned())),
        None => {
            let all: Vec<_> = candidates.collect();
            match all.as_slice() {
                [one] => Ok(one),
                _ => Err(IdTokenError::UnknownKey("none".into())),
            }
        }
    }
}

fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

/// A JWT NumericDate: a JSON number (integer or fraction), nothing else.
fn numeric_date<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    let f = n
        .as_f64()
        .filter(|f| f.is_finite() && *f >= 0.0)
        .ok_or_else(|| serde::de::Error::custom("a NumericDate must be a non-negative number"))?;
    Ok(f as u64)
}

fn opt_numeric_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    numeric_date(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(json: serde_json::Value) -> Result<Claims, serde_json::Error> {
        serde_json::from_value(json)
    }

    fn good() -> serde_json::Value {
        serde_json::json!({"iss":"https://idp","sub":"u","aud":"cli","exp":2000,"iat":1000,"nonce":"n"})
    }

    const EXP: Expected<'static> = Expected {
        issuer: "https://idp",
        client_id: "cli",
        nonce: Some("n"),
    };

    #[test]
    fn a_good_token_passes() {
        check_claims(&claims(good()).unwrap(), &EXP, 1500).unwrap();
    }

    #[test]
    fn wrong_typed_time_claims_do_not_parse() {
        for (k, v) in [
            ("exp", serde_json::json!("2000")),
            ("iat", serde_json::json!(true)),
            ("nbf", serde_json::json!("1")),
            ("exp", serde_json::json!(null)),
        ] {
            let mut c = good();
            c[k] = v.clone();
            assert!(claims(c).is_err(), "{k} = {v} must be refused");
        }
        let mut c = good();
        c.as_object_mut().unwrap().remove("iat");
        assert!(claims(c).is_err(), "iat is required");
        let mut c = good();
        c["iss"] = serde_json::json!(["https://idp"]);
        assert!(claims(c).is_err(), "iss must be a string");
    }

    #[test]
    fn each_claim_rule_refuses() {
        let base = claims(good()).unwrap();
        let mut c = base.clone();
        c.iss = "https://idp/".into();
        assert!(matches!(
            check_claims(&c, &EXP, 1500),
            Err(IdTokenError::Issuer { .. })
        ));
        let mut c = base.clone();
        c.aud = vec!["other".into()];
        assert!(matches!(
            check_claims(&c, &EXP, 1500),
            Err(IdTokenError::Audience(_))
        ));
        let mut c = base.clone();
        c.aud = vec!["cli".into(), "other".into()];
        assert!(
            matches!(check_claims(&c, &EXP, 1500), Err(IdTokenError::Audience(_))),
            "extra audience needs azp"
        );
        c.azp = Some("cli".into());
        check_claims(&c, &EXP, 1500).unwrap();
        assert_eq!(
            check_claims(&base, &EXP, 2000 + LEEWAY),
            Err(IdTokenError::Expired(LEEWAY))
        );
        check_claims(&base, &EXP, 2000 + LEEWAY - 1).unwrap();
        assert_eq!(
            check_claims(&base, &EXP, 1000 - LEEWAY - 1),
            Err(IdTokenError::NotYetValid)
        );
        let mut c = base.clone();
        c.nonce = Some("m".into());
        assert_eq!(check_claims(&c, &EXP, 1500), Err(IdTokenError::Nonce));
        c.nonce = None;
        assert_eq!(check_claims(&c, &EXP, 1500), Err(IdTokenError::Nonce));
        check_claims(&c, &Expected { nonce: None, ..EXP }, 1500).unwrap();
    }

    #[test]
    fn unparseable_keys_are_skipped_and_the_rest_kept() {
        let doc = serde_json::json!({"keys":[
            {"kty":"RSA","kid":"bad","n":"!!!","e":"AQAB"},
            {"kty":"weird","kid":"w"},
            {"kty":"RSA","kid":"ok","n":"sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw","e":"AQAB"}
        ]});
        let ks = KeySet::from_json(&doc);
        assert_eq!(ks.len(), 1);
        assert!(select_key(&ks, Algorithm::RS256, Some("ok")).is_ok());
        assert!(matches!(
            select_key(&ks, Algorithm::RS256, Some("bad")),
            Err(IdTokenError::UnknownKey(_))
        ));
        assert!(
            matches!(
                select_key(&ks, Algorithm::ES256, None),
                Err(IdTokenError::UnknownKey(_))
            ),
            "an RSA key never verifies ES256"
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
}
