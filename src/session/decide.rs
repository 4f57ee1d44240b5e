//! The session's decisions, as pure functions of the stored record, the request and `now`:
//! what to do next ([`next_step`]), whether a cached token serves ([`fresh_token`]), and
//! whether a refreshed ID token is still the signed-in user's sign-in ([`same_sign_in`]).

use crate::exchange::DatabricksToken;
use crate::idp::id_token::Claims;
use crate::time::{Freshness, MinTtl, freshness};
use crate::token_store::{Identity, StoredTokens};

/// What the session does next.
#[derive(Debug, Clone)]
pub enum Step {
    /// Hand out this cached token.
    Serve(DatabricksToken),
    /// Refresh the sign-in with the stored refresh token, then exchange.
    Refresh,
    /// Sign in interactively.
    SignIn(Why),
    /// A sign-in is needed but not allowed here (exit 3).
    Refuse(Why),
}

/// Why a sign-in is needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// `gw login`.
    Asked,
    NobodySignedIn,
    /// The token expired and no refresh token is stored.
    Expired,
    /// The saved sign-in can no longer be used (a dead refresh token, another user, …).
    Dead(String),
}

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Why::Asked => f.write_str("a sign-in was asked for"),
            Why::NobodySignedIn => f.write_str("nobody is signed in"),
            Why::Expired => f.write_str("the token expired and there is no refresh token"),
            Why::Dead(why) => write!(f, "the saved sign-in can no longer be used ({why})"),
        }
    }
}

/// The request as the decisions see it.
#[derive(Debug, Clone, Copy)]
pub struct Need {
    pub min_ttl: MinTtl,
    /// `gw login`: sign in even when cached tokens would do.
    pub force_login: bool,
    /// Whether an interactive sign-in may be started.
    pub login_allowed: bool,
}

impl PartialEq for Step {
    /// Tokens compare by value and expiry (a [`Secret`](crate::secret::Secret) has no `==` of
    /// its own to leak through).
    fn eq(&self, other: &Step) -> bool {
        match (self, other) {
            (Step::Serve(a), Step::Serve(b)) => {
                a.access_token == b.access_token && a.expires_at == b.expires_at
            }
            (Step::Refresh, Step::Refresh) => true,
            (Step::SignIn(a), Step::SignIn(b)) | (Step::Refuse(a), Step::Refuse(b)) => a == b,
            _ => false,
        }
    }
}

/// The next step for `rec` (none stored: `None`) at `now`; `dead` is why a refresh just
/// failed for good (its refresh token is already gone from `rec`). Pure.
///
/// 1. A cached token with `min_ttl` left serves (the warm path), unless a sign-in was asked.
/// 2. Else a stored refresh token is used.
/// 3. Else a sign-in, when allowed; else a refusal — each with why.
pub fn next_step(rec: Option<&StoredTokens>, need: Need, dead: Option<&str>, now: u64) -> Step {
    if !need.force_login
        && let Some(t) = rec.and_then(|r| fresh_token(r, need.min_ttl, now))
    {
        return Step::Serve(t);
    }
    if !need.force_login && dead.is_none() && rec.is_some_and(|r| r.refresh_token.is_some()) {
        return Step::Refresh;
    }
    let why = match (
        need.force_login,
        dead,
        rec.and_then(|r| r.databricks.as_ref()),
    ) {
        (true, _, _) => Why::Asked,
        (_, Some(d), _) => Why::Dead(d.to_owned()),
        (_, None, Some(_)) => Why::Expired,
        (_, None, None) => Why::NobodySignedIn,
    };
    if need.login_allowed {
        Step::SignIn(why)
    } else {
        Step::Refuse(why)
    }
}

/// The cached token, if it has `min_ttl` left at `now`. Pure.
pub fn fresh_token(rec: &StoredTokens, min_ttl: MinTtl, now: u64) -> Option<DatabricksToken> {
    let t = rec.databricks.as_ref()?;
    let f = freshness(t.expires_at, now, min_ttl.required(t.lifetime));
    crate::diag::debug!("cached Databricks token: {f}");
    (f == Freshness::Fresh).then(|| t.clone())
}

/// Whether a refreshed ID token is still the signed-in user's sign-in (OIDC Core §12.2: the
/// same `iss`, `sub`, `aud`, `azp`, and `auth_time` when both carry one). Pure.
pub fn same_sign_in(prev: &Identity, now: &Claims) -> Result<(), &'static str> {
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

/// The identity a validated ID token proves, as stored (the name escaped for terminals).
pub fn identity_of(c: &Claims) -> Identity {
    Identity {
        name: crate::sanitize::one_line(&c.display_name(), 200),
        iss: c.iss.clone(),
        sub: c.sub.clone(),
        aud: c.aud.clone(),
        azp: c.azp.clone(),
        auth_time: c.auth_time,
    }
}
