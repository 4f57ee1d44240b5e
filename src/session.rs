//! "Give me a Databricks token that lives at least this long": decide, then carry out.
//!
//! [`decide::next_step`] chooses from the stored record, the request and `now` alone (pure):
//! 1. **Serve** the cached token when it has `min_ttl` left (and no sign-in was asked): no
//!    lock, no network — the warm path.
//! 2. **Refresh** with the stored refresh token (refresh grant with `openid`; a rotated
//!    refresh token is saved before anything else can fail; the new ID token is verified and
//!    must repeat the sign-in it refreshes, [`decide::same_sign_in`]; then the exchange).
//! 3. **Sign in** when allowed (browser or device code, the ID token verified with its nonce,
//!    the IdP session saved before the exchange so a retry needs no browser).
//! 4. **Refuse** otherwise (exit 3), saying why.
//!
//! [`obtain`] carries the steps out; everything after step 1 runs under the profile's lock
//! after re-reading the store (another process may have done the work meanwhile). A refresh
//! that proves the saved sign-in dead — the IdP says the grant is gone, or the refreshed ID
//! token is refused or someone else's — drops the refresh token and decides again; a failure
//! to reach the IdP or fetch its keys keeps it. Errors are a [`SessionError`], turned into
//! user text in one place.
//!
//! A freshly obtained token is returned even when it lives shorter than `min_ttl`, and
//! `min_ttl` is capped at half a token's lifetime ([`MinTtl`]) so short-lived tokens are not
//! refreshed on every call.

pub mod client;
pub mod decide;
mod error;

use std::time::Duration;

use crate::advice::{Endpoint, advise};
use crate::config::{Config, Profile, Proof};
use crate::exchange::{self, DatabricksToken};
use crate::http::Http;
use crate::idp::browser::{OpenUrl, SystemBrowser};
use crate::idp::discovery::{self, DiscoveryError, DocCache, ProviderMetadata};
use crate::idp::id_token::{self, Expected, IdTokenError};
use crate::idp::method::{self, Method};

use crate::diag::{debug, info};
use crate::env_vars;
use crate::idp::{browser_login, device_login};
use crate::paths::Paths;
use crate::secret::Secret;
use crate::time::{MinTtl, now_unix, rfc3339, unix};
use crate::token_endpoint::{self, Answer, TokenResponse};
use crate::token_store::{Identity, KeyLock, StoredTokens, TokenStore};

pub use decide::{Need, Step, Why};
pub use error::SessionError;

const DEFAULT_LOGIN_TIMEOUT: u64 = 300;
const MAX_LOGIN_TIMEOUT: u64 = 24 * 3600;

/// Everything a session needs, resolved once by `main`.
pub struct Context<'a> {
    pub config: &'a Config,
    pub profile: &'a Profile,
    pub paths: &'a Paths,
    pub store: &'a dyn TokenStore,
}

/// How to sign in when a sign-in is needed.
pub enum Login<'a> {
    /// Not allowed (`--no-login`, or nobody could answer): exit 3 instead.
    Never,
    /// Browser (Authorization Code + PKCE, the URL opened by `opener`) or device code;
    /// `method: None` decides when a sign-in is really needed ([`method::pick`]), so a warm
    /// call never says anything about sign-in methods.
    Interactive {
        method: Option<Method>,
        opener: &'a dyn OpenUrl,
    },
}

/// The sign-in a command that needs a token may start.
///
/// - `--no-login` → none (exit 3 when one is needed).
/// - Unattended (Claude Code's token helper, or any gw inside a gw child, which
///   `GW_EXEC_PROFILE` marks): nobody can answer a device-code prompt there, so a browser
///   sign-in when a browser can be shown, else none.
/// - Otherwise browser or device code, decided only if a sign-in is needed ([`method::pick`]).
pub fn login_policy(no_login: bool, unattended: bool) -> Login<'static> {
    if no_login {
        return Login::Never;
    }
    let unattended = unattended || std::env::var_os(env_vars::GW_EXEC_PROFILE).is_some();
    if unattended {
        return match method::choose(false, &method::Signals::from_env()).0 {
            Method::Browser => Login::Interactive {
                method: Some(Method::Browser),
                opener: &SystemBrowser,
            },
            Method::Device => Login::Never,
        };
    }
    Login::Interactive {
        method: None,
        opener: &SystemBrowser,
    }
}

/// What a keyring that does not answer in time means for this run: a person may answer a
/// Keychain dialog when gw's stderr is a terminal and the run is not unattended (a client's
/// token helper, `--no-login`, or any gw inside a gw child).
pub fn keyring_patience(unattended: bool) -> crate::token_store::Slow {
    use std::io::IsTerminal as _;
    let unattended = unattended || std::env::var_os(env_vars::GW_EXEC_PROFILE).is_some();
    crate::platform::keychain::when_slow(
        crate::platform::Os::current(),
        !unattended && std::io::stderr().is_terminal(),
    )
}

/// What the caller needs, and the clock and timeout the session runs with.
pub struct Request<'a> {
    pub min_ttl: MinTtl,
    pub login: Login<'a>,
    /// `gw login`: sign in even if cached tokens are fine.
    pub force_login: bool,
    /// How long a browser sign-in may take.
    pub login_timeout: Duration,
    /// Unix seconds now.
    pub now: fn() -> u64,
}

impl<'a> Request<'a> {
    /// A request on the system clock, with `GW_LOGIN_TIMEOUT`.
    pub fn new(min_ttl: MinTtl, login: Login<'a>) -> Request<'a> {
        Request {
            min_ttl,
            login,
            force_login: false,
            login_timeout: login_timeout(),
            now: now_unix,
        }
    }

    /// Sign in even when cached tokens would do (`gw login`).
    pub fn forced(mut self) -> Request<'a> {
        self.force_login = true;
        self
    }

    fn need(&self) -> Need {
        Need {
            min_ttl: self.min_ttl,
            force_login: self.force_login,
            login_allowed: matches!(self.login, Login::Interactive { .. }),
        }
    }
}

impl Context<'_> {
    pub fn key(&self) -> String {
        self.profile.cache_key()
    }

    fn lock_dir(&self) -> std::path::PathBuf {
        self.paths.state_dir.join("tokens")
    }

    fn load(&self) -> Result<Option<StoredTokens>, SessionError> {
        self.store.load(&self.key()).map_err(SessionError::Load)
    }

    fn save(&self, rec: &mut StoredTokens, lock: &KeyLock, now: u64) -> Result<(), SessionError> {
        rec.updated_at = now;
        self.store
            .save(&self.key(), rec, lock)
            .map_err(SessionError::Save)
    }

    fn user_error(&self, e: SessionError) -> anyhow::Error {
        e.user_error(self.config, self.profile).into()
    }
}

/// The cached token if it has `min_ttl` left at `now`. Never locks, never networks.
pub fn cached(
    ctx: &Context<'_>,
    min_ttl: MinTtl,
    now: u64,
) -> anyhow::Result<Option<DatabricksToken>> {
    let rec = ctx.load().map_err(|e| ctx.user_error(e))?;
    Ok(rec.and_then(|r| decide::fresh_token(&r, min_ttl, now)))
}

/// A token that lives at least `min_ttl` (or a fresh one), refreshing or signing in as
/// [`decide::next_step`] says.
pub fn obtain(ctx: &Context<'_>, req: &Request<'_>) -> anyhow::Result<DatabricksToken> {
    run(ctx, req).map_err(|e| ctx.user_error(e))
}

fn run(ctx: &Context<'_>, req: &Request<'_>) -> Result<DatabricksToken, SessionError> {
    let need = req.need();
    let now = req.now;
    // The warm path: no lock, no network.
    if let Step::Serve(t) = decide::next_step(ctx.load()?.as_ref(), need, None, now()) {
        return Ok(t);
    }
    let patience = req.login_timeout + Duration::from_secs(30);
    let lock = KeyLock::acquire(&ctx.lock_dir(), &ctx.key(), patience, || {
        eprintln!(
            "Waiting for another gw process that is signing in to profile `{}`…",
            ctx.profile.name
        );
    })
    .map_err(SessionError::Lock)?;
    let mut rec = ctx
        .load()?
        .unwrap_or_else(|| StoredTokens::new(&ctx.profile.name));
    if let Step::Serve(t) = decide::next_step(Some(&rec), need, None, now()) {
        info!("another process refreshed the token meanwhile");
        return Ok(t);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(SessionError::Runtime)?;
    runtime.block_on(async {
        let flow = Flow {
            ctx,
            http: Http::new(ctx.config.ca_file.as_deref()).map_err(SessionError::Client)?,
            docs: DocCache::new(&ctx.paths.cache_dir),
            lock: &lock,
            now,
        };
        let mut dead: Option<String> = None;
        loop {
            match decide::next_step(Some(&rec), need, dead.as_deref(), now()) {
                Step::Serve(t) => return Ok(t),
                Step::Refresh => match flow.refresh(&mut rec).await? {
                    Refreshed::Token(t) => return Ok(t),
                    Refreshed::Dead(why) => {
                        rec.refresh_token = None;
                        ctx.save(&mut rec, &lock, now())?;
                        if need.login_allowed {
                            eprintln!(
                                "The saved sign-in can no longer be used ({why}); signing in again."
                            );
                        }
                        dead = Some(why);
                    }
                },
                Step::SignIn(why) => {
                    debug!("signing in: {why}");
                    let Login::Interactive { method, opener } = &req.login else {
                        return Err(SessionError::LoginRequired(why));
                    };
                    let method = method.unwrap_or_else(|| method::pick(false));
                    return flow.sign_in(&mut rec, method, *opener, req).await;
                }
                Step::Refuse(why) => return Err(SessionError::LoginRequired(why)),
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

/// What a refresh came to.
enum Refreshed {
    Token(DatabricksToken),
    /// The saved sign-in is dead, for this reason: sign in again.
    Dead(String),
}

/// Why an ID token could not be verified: its keys could not be had (the sign-in may be
/// fine), or the token itself was refused.
enum Unverified {
    Keys(DiscoveryError),
    Refused(IdTokenError),
}

impl From<Unverified> for SessionError {
    fn from(u: Unverified) -> SessionError {
        match u {
            Unverified::Keys(e) => SessionError::Keys(e),
            Unverified::Refused(e) => SessionError::IdToken(e),
        }
    }
}

/// The steps that talk to the network, with the lock held.
struct Flow<'a> {
    ctx: &'a Context<'a>,
    http: Http,
    docs: DocCache,
    lock: &'a KeyLock,
    now: fn() -> u64,
}

impl Flow<'_> {
    fn profile(&self) -> &Profile {
        self.ctx.profile
    }

    fn save(&self, rec: &mut StoredTokens) -> Result<(), SessionError> {
        self.ctx.save(rec, self.lock, (self.now)())
    }

    async fn metadata(&self) -> Result<ProviderMetadata, SessionError> {
        discovery::metadata(&self.http, &self.docs, &self.profile().idp, (self.now)())
            .await
            .map_err(SessionError::Discovery)
    }

    async fn refresh(&self, rec: &mut StoredTokens) -> Result<Refreshed, SessionError> {
        let meta = self.metadata().await?;
        let idp = &self.profile().idp;
        let Some(refresh_token) = rec.refresh_token.clone() else {
            return Ok(Refreshed::Dead("no refresh token".into()));
        };
        let scope = idp.scopes.join(" ");
        info!("refreshing the sign-in at {}", meta.token_endpoint);
        let answer = match token_endpoint::post::<TokenResponse>(
            &self.http,
            &meta.token_endpoint,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token.expose()),
                ("client_id", &idp.client_id),
                ("scope", &scope),
            ],
        )
        .await
        {
            Ok(a) => a,
            Err(err) => {
                let advice = advise(Endpoint::Refresh, &err, self.profile());
                if advice.needs_login {
                    return Ok(Refreshed::Dead(advice.message));
                }
                return Err(SessionError::Refused {
                    at: Endpoint::Refresh,
                    err,
                });
            }
        };
        // A rotated refresh token is saved before anything else can fail.
        if let Some(new) = &answer.body.refresh_token {
            rec.refresh_token = Some(new.clone());
            self.save(rec)?;
            debug!("saved the rotated refresh token");
        }
        if idp.proof == Proof::WorkspaceToken {
            let token = self.workspace_token(&answer)?;
            rec.databricks = Some(token.clone());
            self.save(rec)?;
            return Ok(Refreshed::Token(token));
        }
        let Some(id_token) = answer.body.id_token.clone() else {
            return Ok(Refreshed::Dead(
                "the identity provider returned no ID token on refresh".into(),
            ));
        };
        // Only the ID token's own verdict ends the saved sign-in; failing to fetch the keys
        // (a network blip, a 5xx) is a failure that keeps the refresh token for next time.
        let claims = match self
            .verify(&meta, &id_token, None, server_now(&answer, self.now))
            .await
        {
            Ok(c) => c,
            Err(Unverified::Refused(e)) => {
                return Ok(Refreshed::Dead(format!(
                    "the refreshed ID token was refused: {e}"
                )));
            }
            Err(keys) => return Err(keys.into()),
        };
        if let Some(prev) = &rec.identity
            && let Err(why) = decide::same_sign_in(prev, &claims)
        {
            return Ok(Refreshed::Dead(why.into()));
        }
        rec.identity = Some(decide::identity_of(&claims));
        let token = self.exchange(&id_token).await?;
        rec.databricks = Some(token.clone());
        self.save(rec)?;
        info!("refreshed; token valid until {}", rfc3339(token.expires_at));
        Ok(Refreshed::Token(token))
    }

    async fn sign_in(
        &self,
        rec: &mut StoredTokens,
        method: Method,
        opener: &dyn OpenUrl,
        req: &Request<'_>,
    ) -> Result<DatabricksToken, SessionError> {
        let meta = self.metadata().await?;
        let idp = &self.profile().idp;
        let (answer, nonce) = match method {
            Method::Browser => {
                let done = browser_login::login(&self.http, idp, &meta, opener, req.login_timeout)
                    .await
                    .map_err(SessionError::Browser)?;
                (done.answer, done.nonce)
            }
            Method::Device => {
                let started = std::time::Instant::now();
                let answer =
                    device_login::login(&self.http, idp, &meta, tokio::time::sleep, &|| {
                        started.elapsed()
                    })
                    .await
                    .map_err(SessionError::Device)?;
                (answer, None)
            }
        };
        *rec = StoredTokens::new(&self.profile().name);
        rec.refresh_token = answer.body.refresh_token.clone();
        if idp.proof == Proof::WorkspaceToken {
            let token = self.workspace_token(&answer)?;
            rec.identity = Some(identity_of_workspace_token(&token, &meta.issuer));
            rec.databricks = Some(token.clone());
            self.save(rec)?;
            announce(rec, &token);
            return Ok(token);
        }
        let id_token = answer
            .body
            .id_token
            .clone()
            .ok_or(SessionError::NoIdToken)?;
        let claims = self
            .verify(
                &meta,
                &id_token,
                nonce.as_ref().map(Secret::expose),
                server_now(&answer, self.now),
            )
            .await?;
        rec.identity = Some(decide::identity_of(&claims));
        // Keep the IdP session even if the exchange fails, so a retry needs no browser.
        self.save(rec)?;
        let token = self.exchange(&id_token).await?;
        rec.databricks = Some(token.clone());
        self.save(rec)?;
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
    ) -> Result<id_token::Claims, Unverified> {
        let idp = &self.profile().idp;
        let expected = Expected {
            issuer: &idp.issuer,
            client_id: &idp.client_id,
            nonce,
        };
        let (keys, fetched) = discovery::keys(&self.http, &self.docs, meta, (self.now)())
            .await
            .map_err(Unverified::Keys)?;
        match id_token::verify(id_token.expose(), &keys, &expected, now) {
            Err(IdTokenError::UnknownKey(_))
                if discovery::should_refetch_keys(&fetched, (self.now)()) =>
            {
                info!("ID token key not in the cached JWKS; fetching it again (key rotation)");
                self.docs
                    .forget(meta.jwks_uri.as_deref().unwrap_or_default());
                let (keys, _) = discovery::keys(&self.http, &self.docs, meta, (self.now)())
                    .await
                    .map_err(Unverified::Keys)?;
                id_token::verify(id_token.expose(), &keys, &expected, now)
            }
            other => other,
        }
        .map_err(Unverified::Refused)
    }

    async fn exchange(&self, id_token: &Secret) -> Result<DatabricksToken, SessionError> {
        let p = self.profile();
        info!(
            "exchanging the ID token at {}",
            exchange::endpoint(&p.databricks_host)
        );
        exchange::exchange(
            &self.http,
            &p.databricks_host,
            id_token,
            p.service_principal_client_id.as_deref(),
            (self.now)(),
        )
        .await
        .map(|a| a.body)
        .map_err(|err| SessionError::Refused {
            at: Endpoint::Exchange,
            err,
        })
    }

    /// For [`Proof::WorkspaceToken`] the token endpoint's access token is the Databricks token.
    fn workspace_token(
        &self,
        answer: &Answer<TokenResponse>,
    ) -> Result<DatabricksToken, SessionError> {
        let access = answer
            .body
            .access_token
            .clone()
            .filter(|a| !a.expose().trim().is_empty())
            .ok_or(SessionError::NoAccessToken)?;
        let lifetime = exchange::lifetime(answer.body.expires_in);
        Ok(DatabricksToken {
            access_token: access,
            token_type: answer
                .body
                .token_type
                .clone()
                .unwrap_or_else(|| "Bearer".into()),
            expires_at: (self.now)().saturating_add(lifetime),
            lifetime,
        })
    }
}

/// The IdP's clock, from the response that carried the token (local clock if absent).
fn server_now<T>(answer: &Answer<T>, now: fn() -> u64) -> u64 {
    answer.server_date.map(unix).unwrap_or_else(now)
}

/// For U2M the access token is a JWT issued by the workspace; its `sub` names the user.
/// Read for display only: the token came straight from the workspace over TLS.
fn identity_of_workspace_token(t: &DatabricksToken, issuer: &str) -> Identity {
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

#[cfg(test)]
mod tests;
