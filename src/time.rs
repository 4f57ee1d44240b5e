//! Wall-clock helpers: Unix seconds, RFC 3339, and the pure freshness decision.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch.
pub fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Now, in Unix seconds.
pub fn now_unix() -> u64 {
    unix(SystemTime::now())
}

/// The last second RFC 3339 can write (9999-12-31T23:59:59Z).
const MAX_RFC3339: u64 = 253_402_300_799;

/// RFC 3339 in UTC, whole seconds (`2026-11-22T15:36:10Z`); absurd times (from a server that
/// lied) are shown as the last representable second, never a panic.
pub fn rfc3339(unix_secs: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(unix_secs.min(MAX_RFC3339)))
        .to_string()
}

/// How a cached token stands against the time it must still be valid for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Valid for at least the required time.
    Fresh,
    /// Still valid, but for less than the required time.
    ExpiringSoon { secs_left: u64 },
    /// Past its expiry.
    Expired,
}

/// Decide whether a token expiring at `expires_at` still serves a caller that needs `min_ttl`.
pub fn freshness(expires_at: u64, now: u64, min_ttl: u64) -> Freshness {
    if expires_at <= now {
        Freshness::Expired
    } else if expires_at - now < min_ttl {
        Freshness::ExpiringSoon {
            secs_left: expires_at - now,
        }
    } else {
        Freshness::Fresh
    }
}

/// Default life a token handed out must still have, in seconds.
pub const DEFAULT_MIN_TTL: u64 = 300;

/// The life a cached token must still have to be handed out.
#[derive(Debug, Clone, Copy)]
pub enum MinTtl {
    /// [`DEFAULT_MIN_TTL`], but at most half the token's own lifetime, so that short-lived
    /// tokens (5-minute policies, 30-second test tokens) are reused for half their life
    /// instead of being refreshed on every call.
    Default,
    /// Exactly this many seconds (`--min-ttl`).
    Exact(u64),
    /// A rule of the program asking (a client's token helper), from the token's lifetime.
    Rule(fn(u64) -> u64),
}

impl MinTtl {
    /// The seconds a token of this `lifetime` must still have.
    pub fn required(self, lifetime: u64) -> u64 {
        match self {
            MinTtl::Default => DEFAULT_MIN_TTL.min(lifetime / 2),
            MinTtl::Exact(s) => s,
            MinTtl::Rule(rule) => rule(lifetime),
        }
    }
}

impl std::fmt::Display for Freshness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Freshness::Fresh => f.write_str("fresh"),
            Freshness::ExpiringSoon { secs_left } => write!(f, "expires in {secs_left}s"),
            Freshness::Expired => f.write_str("expired"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freshness_at_the_boundaries() {
        assert_eq!(freshness(1000, 1000, 300), Freshness::Expired);
        assert_eq!(freshness(999, 1000, 0), Freshness::Expired);
        assert_eq!(
            freshness(1299, 1000, 300),
            Freshness::ExpiringSoon { secs_left: 299 }
        );
        assert_eq!(freshness(1300, 1000, 300), Freshness::Fresh);
        assert_eq!(freshness(1001, 1000, 0), Freshness::Fresh);
    }

    #[test]
    fn min_ttl_scales_with_short_lifetimes() {
        assert_eq!(MinTtl::Default.required(3600), 300);
        assert_eq!(MinTtl::Default.required(300), 150);
        assert_eq!(MinTtl::Default.required(30), 15);
        assert_eq!(
            MinTtl::Exact(7200).required(3600),
            7200,
            "an explicit value is exact"
        );
        assert_eq!(MinTtl::Exact(0).required(3600), 0);
        assert_eq!(MinTtl::Rule(|l| l / 3).required(3600), 1200);
    }

    #[test]
    fn rfc3339_is_utc_seconds() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_000_000), "2026-11-18T11:06:40Z");
        assert_eq!(rfc3339(u64::MAX), "9999-12-31T23:59:59Z", "never a panic");
    }
}
