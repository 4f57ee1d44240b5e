//! "Give me a Databricks token that lives at least this long": the orchestration.
//!
//! Decision list ([`obtain`]):
//! 1. The cached Databricks token has at least `min_ttl` left → return it. No lock, no
//!    network (the warm path).
//! 2. Take the key's lock, then re-read the store: another process may have refreshed.
//! 3. An IdP refresh token is cached → refresh grant (with `openid`), save a rotated refresh
//!    token at once, validate the new ID token (§12.2: same `iss`, `sub`), exchange, save.
//!    A dead refresh token (`invalid_grant`) or a refresh without an ID token falls through,
//!    after dropping the dead token from the store.
//! 4. Login allowed → interactive login, validate the ID token (with nonce), save the IdP
//!    session, exchange, save. Not allowed → exit 3.
//!
//! A freshly obtained token is returned even when it lives shorter than `min_ttl`, and
//! `min_ttl` is capped at half a token's lifetime ([`MinTtl`]) so short-lived tokens
//! are not refreshed on every call.

use std::time::Duration;

use anyhow::Context as _;

use crate::advice::{Endpoint, advise};
use crate::config::{Config, IdpKind, Profile};
use crate::error::UserError;
use crate::exchange::{self, DatabricksToken};
use crate::http::Http;
use crate::idp::browser::OpenUrl;
use crate::idp::discovery::{self, DocCache, ProviderMetadata};
use crate::idp::id_token::{self, Expected, IdTokenError};
use crate::idp::method::{self, Method};
use crate::idp::token_endpoint::{self, Answer, TokenError, TokenResponse};
use crate::idp::{browser_login, device_login};
use crate::paths::Paths;
use crate::secret::Secret;
use crate::time::{Freshness, MinTtl, freshness, now_unix, rfc3339, unix};
use crate::token_store::{Identity, KeyLock, StoredTokens, TokenStore};
use crate::{debug, env_vars, info};

const DEFAULT_LOGIN_TIMEOUT: u64 = 300;

/// Everything a session needs, resolved once by `main`.
pub struct Context<'a> {
    pub config: &'a Config,
    pub profile: &'a Profile,
    pub paths: &'a Paths,
    pub store: &'a dyn TokenStore,
}

/// How to sign in when a sign-in is needed.
pub enum Login<'a> {
    /// Not allowed (`--no-login`): exit 3 instead.
    Never,
    /// Browser (Authorization Code + PKCE, the URL opened by `opener`) or device code;
    /// `method: None` decides when a sign-in is really needed ([`method::pick`]), so a warm
    /// call never says anything about sign-in methods.
    Interactive {
        method: Option<Method>,
        opener: &'a dyn OpenUrl,
    },
}

/// What the caller needs.
pub struct Request<'a> {
    pub min_ttl: MinTtl,
    pub login: Login<'a>,
    /// `gw login`: sign in even if cached tokens are fine.
    pub force_login: bool,
}

impl Context<'_> {
    pub fn key(&self) -> String {
        self.profile.cache_key()
    }

    fn lock_dir(&self) -> std::path::PathBuf {
        self.paths.state_dir.join("tokens")
    }

    fn load(&self) -> anyhow::Result<Option<StoredTokens>> {
        self.store.load(&self.key()).map_err(|e| {
            anyhow::Error::new(UserError::failure(
                e.to_string(),
                "check the token store, or run `gw logout` and sign in again",
            ))
        })
    }

    fn save(&self, rec: &mut StoredTokens, lock: &KeyLock) -> anyhow::Result<()> {
        rec.updated_at = now_unix();
        self.store.save(&self.key(), rec, lock).map_err(|e| {
            anyhow::Error::new(UserError::failure(
                format!("cannot save tokens: {e}"),
                "check free disk space and permissions of the token store (`gw status`)",
            ))
        })
    }
}

/// Step 1 only: the cached token if it has `min_ttl` left. Never locks, never networks.
pub fn cached(
    ctx: &Context<'_>,
    min_ttl: MinTtl,
    now: u64,
) -> anyhow::Result<Option<DatabricksToken>> {
    let rec = ctx.load()?;
    Ok(rec.and_then(|r| fresh_token(&r, min_ttl, now)))
}

fn fresh_token(rec: &StoredTokens, min_ttl: MinTtl, now: u64) -> Option<DatabricksToken> {
    let t = rec.databricks.as_ref()?;
    let f = freshness(t.expires_at, now, min_ttl.required(t.lifetime));
    debug!("cached Databricks token: {f}");
    (f == Freshness::Fresh).then(|| t.clone())
}

/// Steps 1–4: a token that lives at least `min_ttl` (or a fresh one), signing in if allowed.
pub fn obtain(ctx: &Context<'_>, req: &Request<'_>) -> anyhow::Result<DatabricksToken> {
    if !req.force_login
        && let Some(t) = cached(ctx, req.min_ttl, now_unix())?
    {
        return Ok(t);
    }
    let patience = login_timeout() + Duration::from_secs(30);
    let lock = KeyLock::acquire(&ctx.lock_dir(), &ctx.key(), patience, || {
        eprintln!(
            "Waiting for another gw process that is signing in to profile `{}`…",
            ctx.profile.name
        );
    })
    .with_context(|| {
        format!(
            "cannot lock the token cache of profile `{}`",
            ctx.profile.name
        )
    })?;
    let mut rec = ctx
        .load()?
        .unwrap_or_else(|| StoredTokens::new(&ctx.profile.name));
    if !req.force_login
        && let Some(t) = fresh_token(&rec, req.min_ttl, now_unix())
    {
        info!("another process refreshed the token meanwhile");
        return Ok(t);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let http = Http::new(ctx.config.ca_file.as_deref()).map_err(|e| {
            UserError::config(
                e.to_string(),
                format!("fix `ca_file` in `{}`", ctx.config.path.display()),
            )
        })?;
        let flow = Flow {
            ctx,
            http,
            docs: DocCache::new(&ctx.paths.cache_dir),
            lock: &lock,
        };
        let mut why_login = "nobody is signed in".to_owned();
        if !req.force_login && rec.refresh_token.is_some() {
            match flow.refresh(&mut rec).await? {
                Refreshed::Token(t) => return Ok(t),
                Refreshed::NeedsLogin(why) => {
                    rec.refresh_token = None;
                    ctx.save(&mut rec, &lock)?;
                    if matches!(req.login, Login::Interactive { .. }) {
                        eprintln!(
                            "The saved sign-in can no longer be used ({why}); signing in again."
                        );
                    }
                    why_login = why;
                }
            }
        } else if rec.databricks.is_some() {
            why_login = "the token expired and there is no refresh token".to_owned();
        }
        match &req.login {
            Login::Never => Err(UserError::login_required(
                format!(
                    "profile `{}` needs an interactive sign-in: {why_login}",
                    ctx.profile.name
                ),
                "run `gw login` (or `gw login --device` on a machine without a browser)",
            )
            .into()),
            Login::Interactive { method, opener } => {
                let method = method.unwrap_or_else(|| method::pick(false));
                flow.login(&mut rec, method, *opener).await
            }
        }
    })
}

/// The browser sign-in timeout (`GW_LOGIN_TIMEOUT`, default 300 s, at most a day).
pub fn login_timeout() -> Duration {
    parse_login_timeout(std::env::var(env_vars::GW_LOGIN_TIMEOUT).ok().as_deref())
}

/// `GW_LOGIN_TIMEOUT`'s value as a timeout: whole seconds, 1 s to a day, else the default.
/// Pure.
pub fn parse_login_timeout(value: Option<&str>) -> Duration {
    let secs = value
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|s| *s > 0)
        .unwrap_or(DEFAULT_LOGIN_TIMEOUT)
        .min(MAX_LOGIN_TIMEOUT);
    Duration::from_secs(secs)
}

const MAX_LOGIN_TIMEOUT: u64 = 24 * 3600;

enum Refreshed {
    Token(DatabricksToken),
    NeedsLogin(String),
}

/// Why an ID token could not be verified: its keys could not be had (the sign-in may be
/// fine), or the token itself was refused.
enum Verify {
    Keys(UserError),
    Refused(UserError),
}

impl Verify {
    fn into_user_error(self) -> UserError {
        match self {
            Verify::Keys(e) | Verify::Refused(e) => e,
        }
    }
}

/// One network-using run of the decision list, with the lock held.
struct Flow<'a> {
    ctx: &'a Context<'a>,
    http: Http,
    docs: DocCache,
    lock: &'a KeyLock,
}

impl Flow<'_> {
    fn profile(&self) -> &Profile {
        self.ctx.profile
    }

    async fn metadata(&self) -> anyhow::Result<ProviderMetadata> {
        discovery::metadata(&self.http, &self.docs, &self.profile().idp, now_unix())
            .await
            .map_err(|e| {
                let hint = match e {
                    discovery::DiscoveryError::IssuerMismatch { .. } => format!(
                        "set `idp.issuer` in `{}` to the provider's exact issuer",
                        self.ctx.config.path.display()
                    ),
                    _ => "check the issuer in the config, your network and proxy (`HTTPS_PROXY`), then run `gw doctor`".to_owned(),
                };
                UserError::failure(format!("cannot load the identity provider's metadata: {e}"), hint).into()
            })
    }

    /// Step 3.
    async fn refresh(&self, rec: &mut StoredTokens) -> anyhow::Result<Refreshed> {
        let meta = self.metadata().await?;
        let idp = &self.profile().idp;
        let Some(refresh_token) = rec.refresh_token.clone() else {
            return Ok(Refreshed::NeedsLogin("no refresh token".into()));
        };
        let scope = idp.scopes.join(" ");
        info!("refreshing the sign-in at {}", meta.token_endpoint);
        let answer = token_endpoint::post::<TokenResponse>(
            &self.http,
            &meta.token_endpoint,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token.expose()),
                ("client_id", &idp.client_id),
                ("scope", &scope),
            ],
        )
        .await;
        let answer = match answer {
            Ok(a) => a,
            Err(e) => {
                let advice = advise(Endpoint::Refresh, &e, self.profile());
                if advice.needs_login {
                    return Ok(Refreshed::NeedsLogin(advice.message));
                }
                return Err(advice.into_error().into());
            }
        };
        // A rotated refresh token is saved before anything else can fail.
        if let Some(new) = &answer.body.refresh_token {
            rec.refresh_token = Some(new.clone());
            self.ctx.save(rec, self.lock)?;
            debug!("saved the rotated refresh token");
        }
        if idp.kind == IdpKind::Databricks {
            let token = self.u2m_token(&answer)?;
            rec.databricks = Some(token.clone());
            self.ctx.save(rec, self.lock)?;
            return Ok(Refreshed::Token(token));
        }
        let Some(id_token) = answer.body.id_token.clone() else {
            return Ok(Refreshed::NeedsLogin(
                "the identity provider returned no ID token on refresh".into(),
            ));
        };
        // Only the ID token's own verdict ends the saved sign-in; failing to fetch the keys
        // (a network blip, a 5xx) is a failure that keeps the refresh token for next time.
        let claims = match self
            .verify(&meta, &id_token, None, server_now(&answer))
            .await
        {
            Ok(c) => c,
            Err(Verify::Refused(e)) => {
                return Ok(Refreshed::NeedsLogin(format!(
                    "the refreshed ID token was refused: {e}"
                )));
            }
            Err(Verify::Keys(e)) => return Err(e.into()),
        };
        if let Some(prev) = &rec.identity
            && let Err(why) = same_sign_in(prev, &claims)
        {
            return Ok(Refreshed::NeedsLogin(why.into()));
        }
        rec.identity = Some(identity_of(&claims));
        let token = self.exchange(&id_token).await?;
        rec.databricks = Some(token.clone());
        self.ctx.save(rec, self.lock)?;
        info!("refreshed; token valid until {}", rfc3339(token.expires_at));
        Ok(Refreshed::Token(token))
    }

    /// Step 4.
    async fn login(
        &self,
        rec: &mut StoredTokens,
        method: Method,
        opener: &dyn OpenUrl,
    ) -> anyhow::Result<DatabricksToken> {
        let meta = self.metadata().await?;
        let idp = &self.profile().idp;
        match method {
            Method::Browser => {
                let done = browser_login::login(&self.http, idp, &meta, opener, login_timeout())
                    .await
                    .map_err(|e| match e {
                        browser_login::BrowserLoginError::Token(t) => {
                            advise(Endpoint::SignIn, &t, self.profile()).into_error()
                        }
                        other => UserError::failure(
                            format!("sign-in failed: {other}"),
                            "run `gw login` to try again (`gw login --device` if no browser can reach this machine)",
                        ),
                    })?;
                self.finish_login(rec, &meta, done.answer, done.nonce).await
            }
            Method::Device => {
                let started = std::time::Instant::now();
                let answer =
                    device_login::login(&self.http, idp, &meta, tokio::time::sleep, &|| {
                        started.elapsed()
                    })
                    .await
                    .map_err(|e| match e {
                        device_login::DeviceLoginError::Token(t) => {
                            advise(Endpoint::SignIn, &t, self.profile()).into_error()
                        }
                        device_login::DeviceLoginError::Unsupported => UserError::failure(
                            format!("sign-in failed: {e}"),
                            "sign in with the browser instead: `gw login`",
                        ),
                        other => UserError::failure(
                            format!("sign-in failed: {other}"),
                            "run `gw login --device` to try again",
                        ),
                    })?;
                self.finish_login(rec, &meta, answer, None).await
            }
        }
    }

    async fn finish_login(
        &self,
        rec: &mut StoredTokens,
        meta: &ProviderMetadata,
        answer: Answer<TokenResponse>,
        nonce: Option<Secret>,
    ) -> anyhow::Result<DatabricksToken> {
        let idp = &self.profile().idp;
        *rec = StoredTokens::new(&self.profile().name);
        rec.refresh_token = answer.body.refresh_token.clone();
        if idp.kind == IdpKind::Databricks {
            let token = self.u2m_token(&answer)?;
            rec.identity = Some(identity_of_databricks_token(&token, &meta.issuer));
            rec.databricks = Some(token.clone());
            self.ctx.save(rec, self.lock)?;
            announce(rec, &token);
            return Ok(token);
        }
        let id_token = answer.body.id_token.clone().ok_or_else(|| {
            UserError::failure(
                "the identity provider returned no ID token",
                "make sure `idp.scopes` includes `openid`",
            )
        })?;
        let claims = self
            .verify(
                meta,
                &id_token,
                nonce.as_ref().map(Secret::expose),
                server_now(&answer),
            )
            .await
            .map_err(Verify::into_user_error)?;
        rec.identity = Some(identity_of(&claims));
        // Keep the IdP session even if the exchange fails, so a retry needs no browser.
        self.ctx.save(rec, self.lock)?;
        let token = self.exchange(&id_token).await?;
        rec.databricks = Some(token.clone());
        self.ctx.save(rec, self.lock)?;
        announce(rec, &token);
        internal_test_panic(&token);
        Ok(token)
    }

    /// Verify an ID token, refetching the JWKS once (rate-limited) when its key is unknown.
    async fn verify(
        &self,
        meta: &ProviderMetadata,
        id_token: &Secret,
        nonce: Option<&str>,
        now: u64,
    ) -> Result<id_token::Claims, Verify> {
        let idp = &self.profile().idp;
        let expected = Expected {
            issuer: &idp.issuer,
            client_id: &idp.client_id,
            nonce,
        };
        let keys_err = |e: discovery::DiscoveryError| {
            Verify::Keys(UserError::failure(
                format!("cannot load the identity provider's keys: {e}"),
                "check your network, then run `gw doctor`",
            ))
        };
        let (keys, fetched) = discovery::keys(&self.http, &self.docs, meta, now_unix())
            .await
            .map_err(keys_err)?;
        let result = id_token::verify(id_token.expose(), &keys, &expected, now);
        let result = match result {
            Err(IdTokenError::UnknownKey(_))
                if discovery::should_refetch_keys(&fetched, now_unix()) =>
            {
                info!("ID token key not in the cached JWKS; fetching it again (key rotation)");
                let url = meta.jwks_uri.clone().unwrap_or_default();
                self.docs.forget(&url);
                let (keys, _) = discovery::keys(&self.http, &self.docs, meta, now_unix())
                    .await
                    .map_err(keys_err)?;
                id_token::verify(id_token.expose(), &keys, &expected, now)
            }
            other => other,
        };
        result.map_err(|e| {
            Verify::Refused(UserError::failure(
                format!("the ID token was refused: {e}"),
                format!(
                    "check `idp.issuer` and `idp.client_id` in `{}`, then run `gw login`",
                    self.ctx.config.path.display()
                ),
            ))
        })
    }

    async fn exchange(&self, id_token: &Secret) -> anyhow::Result<DatabricksToken> {
        let p = self.profile();
        info!(
            "exchanging the ID token at {}",
            exchange::endpoint(&p.databricks_host)
        );
        let answer = exchange::exchange(
            &self.http,
            &p.databricks_host,
            id_token,
            p.service_principal_client_id.as_deref(),
            now_unix(),
        )
        .await
        .map_err(|e| exchange_error(e, p))?;
        Ok(answer.body)
    }

    /// For `kind = "databricks"` the token endpoint's access token is the Databricks token.
    fn u2m_token(&self, answer: &Answer<TokenResponse>) -> anyhow::Result<DatabricksToken> {
        let access = answer.body.access_token.clone().ok_or_else(|| {
            UserError::failure(
                "the workspace returned no access token",
                "run `gw login` again",
            )
        })?;
        if access.expose().trim().is_empty() {
            return Err(UserError::failure(
                "the workspace returned an empty access token",
                "run `gw login` again; if it persists, ask your Databricks admin",
            )
            .into());
        }
        let lifetime = exchange::lifetime(answer.body.expires_in);
        Ok(DatabricksToken {
            access_token: access,
            token_type: answer
                .body
                .token_type
                .clone()
                .unwrap_or_else(|| "Bearer".into()),
            expires_at: now_unix().saturating_add(lifetime),
            lifetime,
        })
    }
}

/// The IdP's clock, from the response that carried the token (local clock if absent).
fn server_now<T>(answer: &Answer<T>) -> u64 {
    answer.server_date.map(unix).unwrap_or_else(now_unix)
}

fn identity_of(c: &id_token::Claims) -> Identity {
    Identity {
        // Shown on terminals (`gw login`, `gw status`): escaped once, here.
        name: crate::sanitize::one_line(&c.display_name(), 200),
        iss: c.iss.clone(),
        sub: c.sub.clone(),
        aud: c.aud.clone(),
        azp: c.azp.clone(),
        auth_time: c.auth_time,
    }
}

/// Whether a refreshed ID token is still the signed-in user's sign-in (OIDC Core §12.2: the
/// same `iss`, `sub`, `aud`, `azp`, and `auth_time` when both carry one). Pure.
pub fn same_sign_in(prev: &Identity, now: &id_token::Claims) -> Result<(), &'static str> {
    if prev.iss != now.iss || prev.sub != now.sub {
        return Err("the refreshed ID token is for another user");
    }
    let sorted = |v: &[String]| {
        let mut v = v.to_vec();
        v.sort();
        v
    };
    if !prev.aud.is_empty() && sorted(&prev.aud) != sorted(&now.aud) {
        return Err("the refreshed ID token is for another audience");
    }
    if prev.azp.is_some() && now.azp.is_some() && prev.azp != now.azp {
        return Err("the refreshed ID token names another authorized party");
    }
    if let (Some(a), Some(b)) = (prev.auth_time, now.auth_time)
        && a != b
    {
        return Err("the refreshed ID token reports another authentication");
    }
    Ok(())
}

/// For U2M the access token is a JWT issued by the workspace; its `sub` names the user.
/// Read for display only: the token came straight from the workspace over TLS.
fn identity_of_databricks_token(t: &DatabricksToken, issuer: &str) -> Identity {
    use base64::Engine;
    let sub = t
        .access_token
        .expose()
        .split('.')
        .nth(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p.trim_end_matches('='))
                .ok()
        })
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v.get("sub").and_then(|s| s.as_str()).map(str::to_owned))
        .unwrap_or_else(|| "unknown".into());
    Identity {
        name: crate::sanitize::one_line(&sub, 200),
        iss: issuer.to_owned(),
        sub,
        aud: vec![],
        azp: None,
        auth_time: None,
    }
}

fn announce(rec: &StoredTokens, token: &DatabricksToken) {
    let who = rec.identity.as_ref().map_or("unknown", |i| i.name.as_str());
    eprintln!(
        "Signed in to profile `{}` as {who}; Databricks token valid until {}.",
        rec.profile,
        rfc3339(token.expires_at)
    );
}

/// `GW_INTERNAL_TEST_PANIC` (tests only): panic with the fresh token in the message, so a
/// test can prove the panic hook never prints it.
fn internal_test_panic(token: &DatabricksToken) {
    if std::env::var_os(env_vars::GW_INTERNAL_TEST_PANIC).is_some() {
        panic!("forced test panic holding {}", token.access_token.expose());
    }
}

fn exchange_error(e: TokenError, p: &Profile) -> anyhow::Error {
    advise(Endpoint::Exchange, &e, p).into_error().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::DatabricksToken;

    fn rec_with(expires_at: u64) -> StoredTokens {
        let mut r = StoredTokens::new("p");
        r.databricks = Some(DatabricksToken {
            access_token: Secret::new("t"),
            token_type: "Bearer".into(),
            expires_at,
            lifetime: 3600,
        });
        r
    }

    fn claims(json: serde_json::Value) -> id_token::Claims {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_refreshed_id_token_must_repeat_the_sign_in_it_refreshes() {
        let first = claims(
            serde_json::json!({"iss":"https://i","sub":"u","aud":["c","x"],"azp":"c","exp":2,"iat":1,"auth_time":100}),
        );
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
            let mut j = serde_json::json!({"iss":"https://i","sub":"u","aud":["c","x"],"azp":"c","exp":2,"iat":1,"auth_time":100});
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

    #[test]
    fn only_a_token_with_min_ttl_left_is_served_from_cache() {
        assert!(fresh_token(&rec_with(1300), MinTtl::Exact(300), 1000).is_some());
        assert!(fresh_token(&rec_with(1299), MinTtl::Exact(300), 1000).is_none());
        assert!(fresh_token(&StoredTokens::new("p"), MinTtl::Exact(0), 1000).is_none());
    }
}
