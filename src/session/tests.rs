//! The session's decisions as plain data (no network), then its flows in-process against an
//! httpmock IdP and workspace: rotation, a dead refresh token, another user, a key rotation.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;

use super::decide::{Need, Step, Why, fresh_token, identity_of, next_step, same_sign_in};
use super::*;
use crate::idp::id_token::Claims;
use crate::token_store::{StoreError, StoreKind};

fn token(value: &str, expires_at: u64, lifetime: u64) -> DatabricksToken {
    DatabricksToken {
        access_token: Secret::new(value),
        token_type: "Bearer".into(),
        expires_at,
        lifetime,
    }
}

fn rec(databricks: Option<DatabricksToken>, refresh: Option<&str>) -> StoredTokens {
    let mut r = StoredTokens::new("p");
    r.databricks = databricks;
    r.refresh_token = refresh.map(Secret::new);
    r
}

const NEED: Need = Need {
    min_ttl: MinTtl::Default,
    force_login: false,
    login_allowed: true,
};

// ------------------------------------------------------------------------- decisions --

#[test]
fn a_fresh_cached_token_is_served() {
    let r = rec(Some(token("t", 10_000, 3600)), Some("r"));
    assert_eq!(
        next_step(Some(&r), NEED, None, 5_000),
        Step::Serve(token("t", 10_000, 3600))
    );
}

#[test]
fn a_token_short_of_min_ttl_is_refreshed() {
    let r = rec(Some(token("t", 10_000, 3600)), Some("r"));
    assert_eq!(next_step(Some(&r), NEED, None, 9_800), Step::Refresh);
}

#[test]
fn an_exact_min_ttl_is_honoured_to_the_second() {
    let r = rec(Some(token("t", 1_300, 3600)), Some("r"));
    let exact = Need {
        min_ttl: MinTtl::Exact(300),
        ..NEED
    };
    assert!(matches!(
        next_step(Some(&r), exact, None, 1_000),
        Step::Serve(_)
    ));
    assert_eq!(next_step(Some(&r), exact, None, 1_001), Step::Refresh);
}

#[test]
fn short_lived_tokens_serve_for_half_their_life() {
    let r = rec(Some(token("t", 1_030, 30)), Some("r"));
    assert!(matches!(
        next_step(Some(&r), NEED, None, 1_015),
        Step::Serve(_)
    ));
    assert_eq!(next_step(Some(&r), NEED, None, 1_016), Step::Refresh);
}

#[test]
fn an_expired_token_without_a_refresh_token_needs_a_sign_in() {
    let r = rec(Some(token("t", 1_000, 3600)), None);
    assert_eq!(
        next_step(Some(&r), NEED, None, 2_000),
        Step::SignIn(Why::Expired)
    );
}

#[test]
fn nobody_signed_in_means_a_sign_in() {
    assert_eq!(
        next_step(None, NEED, None, 1),
        Step::SignIn(Why::NobodySignedIn)
    );
    assert_eq!(
        next_step(Some(&StoredTokens::new("p")), NEED, None, 1),
        Step::SignIn(Why::NobodySignedIn)
    );
}

#[test]
fn without_a_way_to_prompt_the_session_refuses_saying_why() {
    let never = Need {
        login_allowed: false,
        ..NEED
    };
    assert_eq!(
        next_step(None, never, None, 1),
        Step::Refuse(Why::NobodySignedIn)
    );
    let r = rec(Some(token("t", 1_000, 3600)), Some("r"));
    assert_eq!(
        next_step(Some(&r), never, None, 5_000),
        Step::Refresh,
        "a silent refresh needs no prompt"
    );
}

#[test]
fn a_forced_sign_in_skips_cache_and_refresh() {
    let forced = Need {
        force_login: true,
        ..NEED
    };
    let r = rec(Some(token("t", 10_000, 3600)), Some("r"));
    assert_eq!(
        next_step(Some(&r), forced, None, 1),
        Step::SignIn(Why::Asked)
    );
}

#[test]
fn a_dead_refresh_says_why_and_never_loops() {
    // The executor has dropped the dead refresh token; the reason comes along.
    let r = rec(Some(token("t", 1, 3600)), None);
    assert_eq!(
        next_step(Some(&r), NEED, Some("revoked"), 5),
        Step::SignIn(Why::Dead("revoked".into()))
    );
    // Even if a refresh token were still there, a dead sign-in is not refreshed again.
    let r = rec(Some(token("t", 1, 3600)), Some("r"));
    assert_eq!(
        next_step(Some(&r), NEED, Some("revoked"), 5),
        Step::SignIn(Why::Dead("revoked".into()))
    );
}

#[test]
fn a_helper_rule_decides_how_long_a_token_must_live() {
    // A rule like the refresh helper's: a third of the lifetime (the session knows no target).
    fn a_third(lifetime: u64) -> u64 {
        lifetime / 3
    }
    let helper = Need {
        min_ttl: MinTtl::Rule(a_third),
        ..NEED
    };
    // 3600 s tokens: the helper needs 1200 s left.
    let r = rec(Some(token("t", 2_200, 3600)), Some("r"));
    assert!(matches!(
        next_step(Some(&r), helper, None, 1_000),
        Step::Serve(_)
    ));
    assert_eq!(next_step(Some(&r), helper, None, 1_001), Step::Refresh);
}

#[test]
fn only_a_token_with_min_ttl_left_is_served_from_cache() {
    let r = |at| rec(Some(token("t", at, 3600)), None);
    assert!(fresh_token(&r(1300), MinTtl::Exact(300), 1000).is_some());
    assert!(fresh_token(&r(1299), MinTtl::Exact(300), 1000).is_none());
    assert!(fresh_token(&StoredTokens::new("p"), MinTtl::Exact(0), 1000).is_none());
}

#[test]
fn why_reads_as_a_sentence() {
    assert_eq!(Why::NobodySignedIn.to_string(), "nobody is signed in");
    assert_eq!(
        Why::Dead("x".into()).to_string(),
        "the saved sign-in can no longer be used (x)"
    );
}

fn claims(json: serde_json::Value) -> Claims {
    serde_json::from_value(json).unwrap()
}

fn sign_in_claims() -> serde_json::Value {
    serde_json::json!({"iss":"https://i","sub":"u","aud":["c","x"],"azp":"c","exp":2,"iat":1,"auth_time":100})
}

#[test]
fn a_refreshed_id_token_must_repeat_the_sign_in_it_refreshes() {
    let first = claims(sign_in_claims());
    let prev = identity_of(&first);
    same_sign_in(&prev, &first).unwrap();
    let mut again = first.clone();
    again.aud = vec!["x".into(), "c".into()];
    same_sign_in(&prev, &again).unwrap();
    for (field, value) in [
        ("sub", serde_json::json!("mallory")),
        ("iss", serde_json::json!("https://other")),
        ("aud", serde_json::json!(["c"])),
        ("azp", serde_json::json!("other")),
        ("auth_time", serde_json::json!(200)),
    ] {
        let mut j = sign_in_claims();
        j[field] = value;
        assert!(same_sign_in(&prev, &claims(j)).is_err(), "{field}");
    }
    let old_record = Identity {
        name: "u".into(),
        iss: "https://i".into(),
        sub: "u".into(),
        aud: vec![],
        azp: None,
        auth_time: None,
    };
    same_sign_in(&old_record, &first).unwrap();
}

#[test]
fn the_login_timeout_is_bounded() {
    assert_eq!(parse_login_timeout(None), Duration::from_secs(300));
    assert_eq!(parse_login_timeout(Some("20")), Duration::from_secs(20));
    assert_eq!(parse_login_timeout(Some("0")), Duration::from_secs(300));
    assert_eq!(parse_login_timeout(Some("x")), Duration::from_secs(300));
    assert_eq!(
        parse_login_timeout(Some("18446744073709551615")),
        Duration::from_secs(86400),
        "a huge value is a day, and adding the lock's margin cannot overflow"
    );
}

// ------------------------------------------------------------- flows, in process --

/// A token store in memory.
#[derive(Default)]
struct MemoryStore(RefCell<HashMap<String, StoredTokens>>);

impl TokenStore for MemoryStore {
    fn kind(&self) -> StoreKind {
        StoreKind::File
    }
    fn location(&self, key: &str) -> String {
        format!("memory:{key}")
    }
    fn load(&self, key: &str) -> Result<Option<StoredTokens>, StoreError> {
        Ok(self.0.borrow().get(key).cloned())
    }
    fn save(&self, key: &str, tokens: &StoredTokens, _: &KeyLock) -> Result<(), StoreError> {
        self.0.borrow_mut().insert(key.to_owned(), tokens.clone());
        Ok(())
    }
    fn delete(&self, key: &str, _: &KeyLock) -> Result<bool, StoreError> {
        Ok(self.0.borrow_mut().remove(key).is_some())
    }
}

/// An IdP and a workspace on one httpmock server, a profile for them, and a store.
struct World {
    server: httpmock::MockServer,
    dir: tempfile::TempDir,
    config: Config,
    store: MemoryStore,
}

const CLIENT: &str = "gw-test";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
    .unwrap()
}

impl World {
    fn new() -> World {
        let server = httpmock::MockServer::start();
        let base = server.base_url();
        let text = format!(
            "[profiles.p]\ndatabricks_host = \"{base}\"\n[profiles.p.idp]\nkind = \"oidc\"\nissuer = \"{base}\"\nclient_id = \"{CLIENT}\"\n"
        );
        let config = Config::parse(&text, Path::new("c.toml")).unwrap();
        server.mock(|when, then| {
            when.method(httpmock::Method::GET)
                .path("/.well-known/openid-configuration");
            then.status(200).json_body(serde_json::json!({
                "issuer": base,
                "authorization_endpoint": format!("{base}/authorize"),
                "token_endpoint": format!("{base}/token"),
                "jwks_uri": format!("{base}/jwks"),
            }));
        });
        World {
            server,
            dir: tempfile::tempdir().unwrap(),
            config,
            store: MemoryStore::default(),
        }
    }

    fn paths(&self) -> Paths {
        Paths {
            config: self.dir.path().join("c.toml"),
            state_dir: self.dir.path().join("state"),
            cache_dir: self.dir.path().join("cache"),
        }
    }

    fn profile(&self) -> &Profile {
        &self.config.profiles["p"]
    }

    fn key(&self) -> String {
        self.profile().cache_key()
    }

    /// Store a signed-in record: an expired token, refresh token `r1`, identity `alice`.
    fn signed_in(&self) {
        let mut r = rec(Some(token("old", 1, 3600)), Some("r1"));
        r.identity = Some(Identity {
            name: "alice".into(),
            iss: self.server.base_url(),
            sub: "alice".into(),
            aud: vec![CLIENT.into()],
            azp: None,
            auth_time: None,
        });
        self.store.0.borrow_mut().insert(self.key(), r);
    }

    fn record(&self) -> StoredTokens {
        self.store.0.borrow()[&self.key()].clone()
    }

    fn jwks(&self, file: &str) {
        let doc: serde_json::Value = serde_json::from_slice(&fixture(file)).unwrap();
        self.server.mock(|when, then| {
            when.method(httpmock::Method::GET).path("/jwks");
            then.status(200).json_body(doc);
        });
    }

    /// An ID token for `sub`, signed with `pem` under `kid`.
    fn id_token(&self, sub: &str, kid: &str, pem: &str) -> String {
        let now = now_unix();
        let claims = serde_json::json!({"iss": self.server.base_url(), "sub": sub, "aud": CLIENT,
            "exp": now + 3600, "iat": now});
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = Some(kid.into());
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(&fixture(pem)).unwrap();
        jsonwebtoken::encode(&header, &claims, &key).unwrap()
    }

    fn refresh_answers(&self, body: serde_json::Value, status: u16) -> httpmock::Mock<'_> {
        self.server.mock(|when, then| {
            when.method(httpmock::Method::POST)
                .path("/token")
                .form_urlencoded_tuple("grant_type", "refresh_token");
            then.status(status).json_body(body);
        })
    }

    fn exchange_answers(&self, access_token: &str) -> httpmock::Mock<'_> {
        self.server.mock(|when, then| {
            when.method(httpmock::Method::POST).path("/oidc/v1/token");
            then.status(200).json_body(serde_json::json!({
                "access_token": access_token, "token_type": "Bearer", "expires_in": 3600
            }));
        })
    }

    fn obtain(&self) -> anyhow::Result<DatabricksToken> {
        let paths = self.paths();
        let ctx = Context {
            config: &self.config,
            profile: self.profile(),
            paths: &paths,
            store: &self.store,
        };
        obtain(&ctx, &Request::new(MinTtl::Default, Login::Never))
    }
}

fn exit_code(e: &anyhow::Error) -> u8 {
    crate::error::report(e).code
}

#[test]
fn a_refresh_saves_the_rotated_refresh_token_verifies_and_exchanges() {
    let w = World::new();
    w.signed_in();
    w.jwks("jwks.json");
    let id = w.id_token("alice", "rsa-1", "test_rsa.pem");
    let refresh = w.refresh_answers(
        serde_json::json!({"access_token":"idp-at","id_token": id,"refresh_token":"r2","expires_in":3600}),
        200,
    );
    let exchange = w.exchange_answers("dbx-2");
    let t = w.obtain().unwrap();
    assert_eq!(t.access_token.expose(), "dbx-2");
    refresh.assert();
    exchange.assert();
    let r = w.record();
    assert_eq!(
        r.refresh_token.unwrap().expose(),
        "r2",
        "the rotated refresh token is kept"
    );
    assert_eq!(r.databricks.unwrap().access_token.expose(), "dbx-2");
    assert_eq!(r.identity.unwrap().sub, "alice");
}

#[test]
fn a_dead_refresh_token_is_dropped_and_without_a_prompt_the_session_exits_3() {
    let w = World::new();
    w.signed_in();
    w.refresh_answers(
        serde_json::json!({"error":"invalid_grant","error_description":"revoked"}),
        400,
    );
    let err = w.obtain().unwrap_err();
    assert_eq!(exit_code(&err), 3, "{err:#}");
    assert!(format!("{err:#}").contains("no longer valid"), "{err:#}");
    assert!(
        w.record().refresh_token.is_none(),
        "dropped, so it is not tried again"
    );
}

#[test]
fn a_refreshed_id_token_for_another_user_ends_the_saved_sign_in() {
    let w = World::new();
    w.signed_in();
    w.jwks("jwks.json");
    let id = w.id_token("mallory", "rsa-1", "test_rsa.pem");
    w.refresh_answers(
        serde_json::json!({"access_token":"a","id_token": id,"refresh_token":"r2"}),
        200,
    );
    let exchange = w.exchange_answers("dbx-mallory");
    let err = w.obtain().unwrap_err();
    assert_eq!(exit_code(&err), 3);
    assert!(format!("{err:#}").contains("another user"), "{err:#}");
    exchange.assert_calls(0);
    let r = w.record();
    assert!(r.refresh_token.is_none());
    assert_eq!(
        r.identity.unwrap().sub,
        "alice",
        "the stored identity is untouched"
    );
    assert_eq!(r.databricks.unwrap().access_token.expose(), "old");
}

#[test]
fn an_unknown_key_refetches_cached_keys_once_and_verifies() {
    let w = World::new();
    w.signed_in();
    // The disk cache holds the JWKS from before the IdP rotated its keys, fetched 2 min ago.
    let base = w.server.base_url();
    let old: serde_json::Value = serde_json::from_slice(&fixture("jwks.json")).unwrap();
    DocCache::new(&w.paths().cache_dir).seed(&format!("{base}/jwks"), &old, now_unix() - 120);
    w.jwks("jwks_rotated.json");
    let id = w.id_token("alice", "rotated-2", "other_rsa.pem");
    w.refresh_answers(
        serde_json::json!({"access_token":"a","id_token": id,"refresh_token":"r2"}),
        200,
    );
    w.exchange_answers("dbx-rotated");
    let t = w.obtain().unwrap();
    assert_eq!(t.access_token.expose(), "dbx-rotated");
}

#[test]
fn a_keys_outage_keeps_the_saved_sign_in() {
    let w = World::new();
    w.signed_in();
    w.server.mock(|when, then| {
        when.method(httpmock::Method::GET).path("/jwks");
        then.status(503).body("<html>down</html>");
    });
    let id = w.id_token("alice", "rsa-1", "test_rsa.pem");
    w.refresh_answers(
        serde_json::json!({"access_token":"a","id_token": id,"refresh_token":"r2"}),
        200,
    );
    let err = w.obtain().unwrap_err();
    assert_eq!(exit_code(&err), 1, "a failure, not a sign-in: {err:#}");
    assert_eq!(
        w.record().refresh_token.unwrap().expose(),
        "r2",
        "the (rotated) refresh token survives"
    );
}
