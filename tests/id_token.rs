//! ID tokens that must pass and must be refused (OIDC Core §3.1.3.7), signed for real.

mod support;

use gw::idp::id_token::{Expected, IdTokenError, KeySet, verify};
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
