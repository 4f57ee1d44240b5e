//! Minting test JWTs with the fixture keys in `tests/fixtures/`.

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

use super::repo;

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(repo().join("tests/fixtures").join(name)).unwrap()
}

pub fn jwks() -> Value {
    serde_json::from_slice(&fixture("jwks.json")).unwrap()
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Standard claims for issuer `iss`, audience `aud`, nonce `n`, valid for an hour.
pub fn claims(iss: &str, aud: &str) -> Value {
    let now = now();
    json!({"iss": iss, "sub": "alice", "aud": aud, "exp": now + 3600, "iat": now, "nonce": "n",
           "preferred_username": "alice@example.com"})
}

pub fn rs256(claims: &Value) -> String {
    sign(Algorithm::RS256, "rsa-1", "test_rsa.pem", claims)
}

pub fn es256(claims: &Value) -> String {
    sign(Algorithm::ES256, "ec-1", "test_ec.pem", claims)
}

/// Signed with a key the JWKS does not hold, under the JWKS key's `kid`.
pub fn rs256_wrong_key(claims: &Value) -> String {
    sign(Algorithm::RS256, "rsa-1", "other_rsa.pem", claims)
}

pub fn sign(alg: Algorithm, kid: &str, pem: &str, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = Some(kid.into());
    let key = match alg {
        Algorithm::ES256 => EncodingKey::from_ec_pem(&fixture(pem)).unwrap(),
        _ => EncodingKey::from_rsa_pem(&fixture(pem)).unwrap(),
    };
    encode(&header, claims, &key).unwrap()
}

/// `alg: none`, no signature.
pub fn unsigned(claims: &Value) -> String {
    use base64::Engine;
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.",
        b64(&json!({"alg":"none","kid":"rsa-1"})),
        b64(claims)
    )
}

/// HS256 keyed with the RSA public key's PEM (the classic algorithm-confusion attack).
pub fn hs256_with_public_key(claims: &Value) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("rsa-1".into());
    encode(
        &header,
        claims,
        &EncodingKey::from_secret(&fixture("test_rsa.pub.pem")),
    )
    .unwrap()
}
