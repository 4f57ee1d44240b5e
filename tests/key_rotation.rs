//! An ID token signed with a key the cached JWKS lacks: gw fetches the JWKS again, once,
//! and only when the cached keys are old enough (rate limit), against httpmock servers that
//! play an IdP which rotated its signing key.

mod support;

use httpmock::prelude::*;
use jsonwebtoken::Algorithm;
use serde_json::json;
use support::tokens::{claims, fixture, sign};
use support::{Sandbox, Servers};

struct Idp {
    server: MockServer,
}

impl Idp {
    fn start() -> Idp {
        let server = MockServer::start();
        let base = server.base_url();
        server.mock(|when, then| {
            when.method(GET).path("/.well-known/openid-configuration");
            then.status(200).json_body(json!({
                "issuer": base, "authorization_endpoint": format!("{base}/auth"),
                "token_endpoint": format!("{base}/token"), "jwks_uri": format!("{base}/jwks")
            }));
        });
        server.mock(|when, then| {
            when.method(POST).path("/oidc/v1/token");
            then.status(200).json_body(
                json!({"access_token": "dbx-rotated", "token_type": "Bearer", "expires_in": 3600}),
            );
        });
        Idp { server }
    }

    /// The refresh grant answers an ID token signed with `kid`/`pem`.
    fn refresh_signs_with(&self, kid: &str, pem: &str) -> httpmock::Mock<'_> {
        let token = sign(Algorithm::RS256, kid, pem, &{
            let mut c = claims(&self.server.base_url(), "cli");
            c.as_object_mut().unwrap().remove("nonce");
            c
        });
        self.server.mock(|when, then| {
            when.method(POST)
                .path("/token")
                .form_urlencoded_tuple("grant_type", "refresh_token");
            then.status(200).json_body(
                json!({"id_token": token, "refresh_token": "rt-next", "expires_in": 3600}),
            );
        })
    }

    fn jwks(&self, file: &str) -> httpmock::Mock<'_> {
        let doc: serde_json::Value = serde_json::from_slice(&fixture(file)).unwrap();
        self.server.mock(|when, then| {
            when.method(GET).path("/jwks");
            then.status(200).json_body(doc);
        })
    }
}

/// A sandbox whose profile points at the mock, with a signed-in record whose token expired.
fn signed_in(idp: &Idp) -> Sandbox {
    let base = idp.server.base_url();
    let sb = Sandbox::new(&format!(
        "[profiles.p]\ndatabricks_host = \"{base}\"\n[profiles.p.idp]\nkind = \"oidc\"\nissuer = \"{base}\"\nclient_id = \"cli\"\n"
    ));
    let status: serde_json::Value =
        serde_json::from_str(&sb.gw(&["status", "--json"]).ok().stdout).unwrap();
    let detail = status["store_detail"].as_str().unwrap();
    let path = detail.rsplit(": ").next().unwrap();
    std::fs::create_dir_all(std::path::Path::new(path).parent().unwrap()).unwrap();
    let record = json!({
        "version": 1, "profile": "p", "updated_at": 0, "refresh_token": "rt-1",
        "identity": {"name": "alice@example.com", "iss": base, "sub": "alice"},
        "databricks": {"access_token": "old", "token_type": "Bearer", "expires_at": 1, "lifetime": 3600}
    });
    std::fs::write(path, record.to_string()).unwrap();
    sb
}

/// Pretend the cached discovery document and JWKS were fetched two minutes ago.
fn age_key_cache(sb: &Sandbox) {
    for e in std::fs::read_dir(sb.path("home/.cache/gw/idp"))
        .unwrap()
        .flatten()
    {
        let mut doc: serde_json::Value =
            serde_json::from_slice(&std::fs::read(e.path()).unwrap()).unwrap();
        doc["fetched_at"] = (doc["fetched_at"].as_u64().unwrap() - 120).into();
        std::fs::write(e.path(), doc.to_string()).unwrap();
    }
}

fn expire(sb: &Sandbox) {
    let mut rec = sb.record();
    rec["databricks"]["expires_at"] = 1.into();
    std::fs::write(sb.record_path(), rec.to_string()).unwrap();
}

#[test]
fn a_rotated_signing_key_is_fetched_once_when_the_cached_keys_are_old() {
    let idp = Idp::start();
    let sb = signed_in(&idp);
    let mut refresh = idp.refresh_signs_with("rsa-1", "test_rsa.pem");
    let mut jwks = idp.jwks("jwks.json");
    assert_eq!(
        sb.gw(&["token", "--no-login"]).ok().stdout.trim(),
        "dbx-rotated"
    );
    jwks.assert_calls(1);

    // The IdP rotates: new tokens carry kid `rotated-2`, which the cached JWKS lacks.
    refresh.delete();
    jwks.delete();
    let _refresh = idp.refresh_signs_with("rotated-2", "other_rsa.pem");
    let jwks = idp.jwks("jwks_rotated.json");
    age_key_cache(&sb);
    expire(&sb);
    sb.gw(&["token", "--no-login"]).ok();
    jwks.assert_calls(1);
}

#[test]
fn an_unknown_kid_does_not_refetch_keys_that_were_just_fetched() {
    let idp = Idp::start();
    let sb = signed_in(&idp);
    let _refresh = idp.refresh_signs_with("rotated-2", "other_rsa.pem");
    let jwks = idp.jwks("jwks.json");
    let out = sb.gw(&["token", "--no-login"]);
    assert_eq!(
        out.code, 3,
        "the token cannot be verified, so a new sign-in is needed: {}",
        out.stderr
    );
    assert!(out.stderr.contains("rotated-2"), "{}", out.stderr);
    jwks.assert_calls(1);
}

#[test]
fn a_keys_outage_during_a_refresh_keeps_the_saved_sign_in() {
    let servers = Servers::start(&[]);
    let sb = Sandbox::new(&servers.config("", ""));
    sb.gw(&["login"]).ok();
    // The cached JWKS is gone, and the IdP's /jwks fails: the refresh's ID token cannot be
    // checked now. That is a failure, not a dead sign-in.
    for e in std::fs::read_dir(sb.path("home/.cache/gw/idp"))
        .unwrap()
        .flatten()
    {
        let doc: serde_json::Value =
            serde_json::from_slice(&std::fs::read(e.path()).unwrap()).unwrap();
        if doc["url"].as_str().unwrap().ends_with("/jwks") {
            std::fs::remove_file(e.path()).unwrap();
        }
    }
    servers.post(
        &format!("{}/__fail_jwks", servers.issuer),
        r#"{"status": 503}"#,
    );
    sb.expire_token();
    let out = sb.gw(&["token", "--no-login"]);
    assert_eq!(
        out.code, 1,
        "a failure, not 'sign in again': {}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("cannot load the identity provider's keys"),
        "{}",
        out.stderr
    );
    assert!(
        !sb.record()["refresh_token"].is_null(),
        "the refresh token survives the outage"
    );
    servers.post(
        &format!("{}/__fail_jwks", servers.issuer),
        r#"{"status": null}"#,
    );
    let token = sb.gw(&["token", "--no-login"]).ok().stdout;
    assert!(servers.workspace_accepts(token.trim()));
    assert_eq!(
        servers.idp_stats()["authorize"],
        1,
        "no second sign-in was needed"
    );
}
