//! ID tokens that must pass and must be refused (OIDC Core §3.1.3.7), signed for real.

mod support;

use gw::idp::id_token::{Expected, IdTokenError, KeySet, LEEWAY, verify};
use support::tokens::*;

const ISS: &str = "https://idp.example";
const EXP: Expected<'static> = Expected {
    issuer: ISS,
    client_id: "cli",
    nonce: Some("n"),
};

fn check(token: &str) -> Result<gw::idp::id_token::Claims, IdTokenError> {
    verify(token, &KeySet::from_json(&jwks()), &EXP, now())
}

#[test]
fn rs256_and_es256_tokens_from_the_issuer_pass() {
    let c = check(&rs256(&claims(ISS, "cli"))).unwrap();
    assert_eq!(c.display_name(), "alice@example.com");
    check(&es256(&claims(ISS, "cli"))).unwrap();
}

#[test]
fn forged_and_confused_signatures_are_refused() {
    let c = claims(ISS, "cli");
    assert_eq!(
        check(&rs256_wrong_key(&c)).unwrap_err(),
        IdTokenError::BadSignature
    );
    assert!(matches!(
        check(&unsigned(&c)),
        Err(IdTokenError::Algorithm(_)) | Err(IdTokenError::Malformed)
    ));
    assert!(
        matches!(check(&hs256_with_public_key(&c)), Err(IdTokenError::Algorithm(a)) if a == "HS256")
    );
    let mut t = rs256(&c);
    t.push('A');
    assert!(check(&t).is_err(), "a tampered signature");
    let parts: Vec<&str> = t.split('.').collect();
    let swapped = format!(
        "{}.{}.{}",
        parts[0],
        es256(&c).split('.').nth(1).unwrap(),
        parts[2]
    );
    assert_eq!(
        check(&swapped).unwrap_err(),
        IdTokenError::BadSignature,
        "payload swapped under a valid signature"
    );
}

#[test]
fn claim_mismatches_are_refused() {
    assert!(matches!(
        check(&rs256(&claims("https://evil.example", "cli"))),
        Err(IdTokenError::Issuer { .. })
    ));
    assert!(matches!(
        check(&rs256(&claims(ISS, "other"))),
        Err(IdTokenError::Audience(_))
    ));
    let mut c = claims(ISS, "cli");
    c["exp"] = (now() - 3600).into();
    c["iat"] = (now() - 7200).into();
    assert!(matches!(check(&rs256(&c)), Err(IdTokenError::Expired(_))));
    let mut c = claims(ISS, "cli");
    c["nonce"] = "other".into();
    assert_eq!(check(&rs256(&c)).unwrap_err(), IdTokenError::Nonce);
    let mut c = claims(ISS, "cli");
    c["exp"] = "9999999999".into();
    assert!(
        matches!(check(&rs256(&c)), Err(IdTokenError::Claims(_))),
        "a string exp is refused, not ignored"
    );
}

#[test]
fn an_unknown_kid_is_reported_so_the_caller_can_refetch_the_jwks() {
    let t = sign(
        jsonwebtoken::Algorithm::RS256,
        "rotated-2",
        "test_rsa.pem",
        &claims(ISS, "cli"),
    );
    assert_eq!(
        check(&t).unwrap_err(),
        IdTokenError::UnknownKey("rotated-2".into())
    );
}

fn check_at(token: &str, expected: &Expected<'_>, now: u64) -> Result<(), IdTokenError> {
    verify(token, &KeySet::from_json(&jwks()), expected, now).map(|_| ())
}

/// Claims at a fixed clock: issued at 1_000_000, expiring an hour later.
fn at(extra: serde_json::Value) -> serde_json::Value {
    let mut c = serde_json::json!({"iss": ISS, "sub": "alice", "aud": "cli", "exp": 1_003_600,
        "iat": 1_000_000, "nonce": "n"});
    c.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    c
}

#[test]
fn each_claim_rule_refuses_a_signed_token() {
    let t = |extra| rs256(&at(extra));
    let now = 1_000_100;
    check_at(&t(serde_json::json!({})), &EXP, now).unwrap();
    assert!(matches!(
        check_at(&t(serde_json::json!({"iss": format!("{ISS}/")})), &EXP, now),
        Err(IdTokenError::Issuer { .. })
    ));
    let two = serde_json::json!({"aud": ["cli", "other"]});
    assert!(
        matches!(check_at(&t(two), &EXP, now), Err(IdTokenError::Audience(_))),
        "another audience needs azp"
    );
    let azp = serde_json::json!({"aud": ["cli", "other"], "azp": "cli"});
    check_at(&t(azp), &EXP, now).unwrap();
    let wrong_azp = serde_json::json!({"azp": "other"});
    assert!(matches!(
        check_at(&t(wrong_azp), &EXP, now),
        Err(IdTokenError::Audience(_))
    ));
    let no_nonce = rs256(&{
        let mut c = at(serde_json::json!({}));
        c.as_object_mut().unwrap().remove("nonce");
        c
    });
    assert_eq!(check_at(&no_nonce, &EXP, now), Err(IdTokenError::Nonce));
    check_at(&no_nonce, &Expected { nonce: None, ..EXP }, now).unwrap();
}

#[test]
fn times_are_checked_with_a_minute_of_leeway_either_way() {
    let t = rs256(&at(serde_json::json!({})));
    let exp = 1_003_600;
    check_at(&t, &EXP, exp + LEEWAY - 1).unwrap();
    assert_eq!(
        check_at(&t, &EXP, exp + LEEWAY),
        Err(IdTokenError::Expired(LEEWAY))
    );
    let iat = 1_000_000;
    check_at(&t, &EXP, iat - LEEWAY).unwrap();
    assert_eq!(
        check_at(&t, &EXP, iat - LEEWAY - 1),
        Err(IdTokenError::NotYetValid)
    );
    let nbf = rs256(&at(serde_json::json!({"nbf": 1_000_500})));
    check_at(&nbf, &EXP, 1_000_500 - LEEWAY).unwrap();
    assert_eq!(
        check_at(&nbf, &EXP, 1_000_500 - LEEWAY - 1),
        Err(IdTokenError::NotYetValid)
    );
}

#[test]
fn wrong_typed_claims_are_refused_not_ignored() {
    for (k, v) in [
        ("exp", serde_json::json!("1003600")),
        ("iat", serde_json::json!(true)),
        ("nbf", serde_json::json!("1")),
        ("exp", serde_json::json!(null)),
        ("iss", serde_json::json!([ISS])),
    ] {
        let t = rs256(&at(serde_json::json!({ k: v.clone() })));
        assert!(
            matches!(check_at(&t, &EXP, 1_000_100), Err(IdTokenError::Claims(_))),
            "{k} = {v}"
        );
    }
    let mut c = at(serde_json::json!({}));
    c.as_object_mut().unwrap().remove("iat");
    assert!(
        matches!(
            check_at(&rs256(&c), &EXP, 1_000_100),
            Err(IdTokenError::Claims(_))
        ),
        "iat is required"
    );
}

#[test]
fn an_access_token_and_a_key_of_another_type_are_not_an_id_token() {
    use jsonwebtoken::{EncodingKey, Header, encode};
    let mut header = Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some("rsa-1".into());
    header.typ = Some("at+jwt".into());
    let key = EncodingKey::from_rsa_pem(&fixture("test_rsa.pem")).unwrap();
    let at_jwt = encode(&header, &at(serde_json::json!({})), &key).unwrap();
    assert_eq!(
        check_at(&at_jwt, &EXP, 1_000_100),
        Err(IdTokenError::Malformed),
        "RFC 9068 access tokens are refused (typ)"
    );
    // RS256 under the EC key's kid: no key of that kid fits the algorithm.
    let confused = sign(
        jsonwebtoken::Algorithm::RS256,
        "ec-1",
        "test_rsa.pem",
        &at(serde_json::json!({})),
    );
    assert_eq!(
        check_at(&confused, &EXP, 1_000_100),
        Err(IdTokenError::UnknownKey("ec-1".into()))
    );
}
