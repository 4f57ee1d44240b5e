//! The endpoint's tokens: held in memory, refreshed ahead of expiry in the background, so a
//! request costs no token work.
//!
//! One task owns refreshing. It sleeps until the current token has only
//! [`MinTtl::Default`]'s share of its life left (5 min of an hour, half of a short one), then
//! asks the [`TokenSource`] — the profile's session, which takes the profile's lock and
//! re-reads the store, so it shares each refresh with every other gw — on a thread of its
//! own. A request that finds no valid token (or whose token the workspace refused) wakes the
//! task and waits for the next one. A failed refresh keeps the current token while it is
//! valid, is said once on stderr, and is retried with back-off.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};

use crate::exchange::DatabricksToken;
use crate::secret::Secret;
use crate::time::{MinTtl, now_unix};

/// Why the source could not give a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Only a new interactive sign-in helps (`gw login`).
    LoginRequired(String),
    /// Anything else (network, IdP, workspace); may pass.
    Failed(String),
}

impl Failure {
    pub fn message(&self) -> &str {
        match self {
            Failure::LoginRequired(m) | Failure::Failed(m) => m,
        }
    }
}

/// Where the endpoint gets tokens. Runs on a thread of its own; may block (network, lock).
pub trait TokenSource: Send + Sync + 'static {
    /// A valid token; `force` when the current one was refused and a new one is needed even
    /// if the cached one looks fresh.
    fn token(&self, force: bool) -> Result<DatabricksToken, Failure>;
}

/// When to refresh a token, in Unix seconds. Pure.
pub fn refresh_at(token: &DatabricksToken) -> u64 {
    token
        .expires_at
        .saturating_sub(MinTtl::Default.required(token.lifetime))
}

/// How long to wait after `failures` failed refreshes in a row (1 s doubling to 60 s). Pure.
pub fn backoff(failures: u32) -> Duration {
    Duration::from_secs((1u64 << failures.min(6)).min(60))
}

#[derive(Clone)]
struct State {
    token: Option<DatabricksToken>,
    error: Option<Failure>,
    /// Bumped by every refresh attempt, so waiters know one happened.
    generation: u64,
}

/// The shared token state of one endpoint.
pub struct Tokens {
    state: watch::Sender<State>,
    kick: Notify,
}

/// How long a request waits for a refresh before giving up.
const WAIT: Duration = Duration::from_secs(120);

impl Tokens {
    /// Hold `first` (obtained in the foreground, where a sign-in could be shown) and start
    /// refreshing from `source` on the current runtime.
    pub fn start(first: DatabricksToken, source: Arc<dyn TokenSource>) -> Arc<Tokens> {
        let (state, _) = watch::channel(State {
            token: Some(first),
            error: None,
            generation: 0,
        });
        let tokens = Arc::new(Tokens {
            state,
            kick: Notify::new(),
        });
        tokio::spawn(refresher(tokens.clone(), source));
        tokens
    }

    /// A token valid now (waiting for a refresh when there is none).
    pub async fn current(&self) -> Result<DatabricksToken, Failure> {
        self.wait_for(|_| true).await
    }

    /// A token other than `refused` (the workspace answered 401 to it).
    pub async fn after_refusal(&self, refused: &Secret) -> Result<DatabricksToken, Failure> {
        self.wait_for(|t| &t.access_token != refused).await
    }

    async fn wait_for(
        &self,
        acceptable: impl Fn(&DatabricksToken) -> bool,
    ) -> Result<DatabricksToken, Failure> {
        let mut rx = self.state.subscribe();
        let deadline = tokio::time::Instant::now() + WAIT;
        let mut kicked_at = None;
        loop {
            let state = rx.borrow_and_update().clone();
            if let Some(t) = &state.token
                && t.expires_at > now_unix()
                && acceptable(t)
            {
                return Ok(t.clone());
            }
            // The last refresh failed (before we asked, or since): say why at once; the
            // refresher retries on its own back-off.
            if let Some(err) = &state.error
                && kicked_at.is_none_or(|asked| state.generation > asked)
            {
                return Err(err.clone());
            }
            if kicked_at.is_none() {
                kicked_at = Some(state.generation);
                self.kick.notify_one();
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => {}
                _ => {
                    return Err(Failure::Failed("no token could be obtained in time".into()));
                }
            }
        }
    }
}

async fn refresher(tokens: Arc<Tokens>, source: Arc<dyn TokenSource>) {
    let mut failures = 0u32;
    let mut said: Option<Failure> = None;
    loop {
        let state = tokens.state.borrow().clone();
        let wait = match (&state.token, failures) {
            (_, n) if n > 0 => backoff(n),
            (Some(t), _) => Duration::from_secs(refresh_at(t).saturating_sub(now_unix())),
            (None, _) => Duration::ZERO,
        };
        let forced = tokio::select! {
            () = tokio::time::sleep(wait) => false,
            () = tokens.kick.notified() => true,
        };
        let source = source.clone();
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let _ = tx.send(source.token(forced));
        });
        let result = rx
            .await
            .unwrap_or_else(|_| Err(Failure::Failed("the token refresh stopped".into())));
        tokens.state.send_modify(|s| {
            s.generation += 1;
            match &result {
                Ok(t) => {
                    s.token = Some(t.clone());
                    s.error = None;
                }
                Err(e) => {
                    s.error = Some(e.clone());
                    if s.token.as_ref().is_some_and(|t| t.expires_at <= now_unix()) {
                        s.token = None;
                    }
                }
            }
        });
        match result {
            Ok(_) => {
                failures = 0;
                said = None;
            }
            Err(e) => {
                failures += 1;
                // Said once per kind of failure, not at every retry.
                if said.as_ref().map(std::mem::discriminant) != Some(std::mem::discriminant(&e)) {
                    eprintln!(
                        "gw: the local endpoint cannot refresh its token: {}",
                        crate::sanitize::one_line(e.message(), 400)
                    );
                    if matches!(e, Failure::LoginRequired(_)) {
                        eprintln!("hint: run `gw login`, then try again in the client");
                    }
                    said = Some(e);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn token(value: &str, expires_at: u64, lifetime: u64) -> DatabricksToken {
        DatabricksToken {
            access_token: Secret::new(value),
            token_type: "Bearer".into(),
            expires_at,
            lifetime,
        }
    }

    #[test]
    fn a_token_is_refreshed_ahead_of_expiry_by_a_share_of_its_life() {
        assert_eq!(refresh_at(&token("t", 10_000, 3600)), 10_000 - 300);
        assert_eq!(refresh_at(&token("t", 10_000, 20)), 10_000 - 10);
        assert_eq!(refresh_at(&token("t", 5, 3600)), 0, "never underflows");
        assert_eq!(backoff(1), Duration::from_secs(2));
        assert_eq!(backoff(40), Duration::from_secs(60));
    }

    struct Counting {
        calls: AtomicU32,
        fail: bool,
    }

    impl TokenSource for Counting {
        fn token(&self, _force: bool) -> Result<DatabricksToken, Failure> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            if self.fail {
                return Err(Failure::LoginRequired("run `gw login`".into()));
            }
            Ok(token(&format!("t{n}"), now_unix() + 3600, 3600))
        }
    }

    #[tokio::test]
    async fn requests_cost_no_token_work_and_a_refusal_gets_a_new_token() {
        let source = Arc::new(Counting {
            calls: AtomicU32::new(0),
            fail: false,
        });
        let tokens = Tokens::start(token("first", now_unix() + 3600, 3600), source.clone());
        for _ in 0..100 {
            assert_eq!(
                tokens.current().await.unwrap().access_token.expose(),
                "first"
            );
        }
        assert_eq!(
            source.calls.load(Ordering::SeqCst),
            0,
            "no token work per request"
        );
        let next = tokens.after_refusal(&Secret::new("first")).await.unwrap();
        assert_eq!(next.access_token.expose(), "t0");
        assert_eq!(source.calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn an_expired_token_and_a_dead_session_give_the_sources_reason() {
        let source = Arc::new(Counting {
            calls: AtomicU32::new(0),
            fail: true,
        });
        let tokens = Tokens::start(token("old", now_unix() - 1, 3600), source);
        assert_eq!(
            tokens.current().await.unwrap_err(),
            Failure::LoginRequired("run `gw login`".into())
        );
    }
}
