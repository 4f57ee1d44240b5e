//! `gw-admin configure-gateway`: usage tracking, rate limits, guardrails and the inference
//! table of an endpoint's AI Gateway, by read-modify-write (the PUT replaces everything).

use std::str::FromStr;

use gw::api::UserError;
use serde_json::json;

use super::Outcome;
use super::setup_endpoint::{Goal, WaitPolicy, wait_for};
use crate::databricks::ai_gateway::{
    AiGatewayConfig, GuardrailParameters, Guardrails, InferenceTableConfig, PiiBehavior, RateLimit,
    UsageTrackingConfig,
};
use crate::databricks::{ApiError, DatabricksClient};

/// Who a rate limit counts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum LimitKey {
    /// All traffic to the endpoint together.
    Endpoint,
    /// Each user separately.
    User,
    /// The members of one group together.
    Group(String),
    /// One service principal (by its application id).
    ServicePrincipal(String),
}

impl LimitKey {
    /// The API's `key` and `principal`.
    fn as_api(&self) -> (&'static str, Option<String>) {
        match self {
            LimitKey::Endpoint => ("endpoint", None),
            LimitKey::User => ("user", None),
            LimitKey::Group(g) => ("user_group", Some(g.clone())),
            LimitKey::ServicePrincipal(sp) => ("service_principal", Some(sp.clone())),
        }
    }
}

/// What a rate limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitUnit {
    /// Requests (`calls`).
    Calls,
    /// Input plus output tokens (`tokens`).
    Tokens,
}

/// `N/minute[:calls|:tokens][:user|:endpoint|:group=G|:service_principal=SP]`, or `none` to
/// remove every limit. Without a unit a limit counts calls; without a key it covers the whole
/// endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RateLimitArg {
    None,
    Limit {
        amount: i64,
        unit: LimitUnit,
        key: LimitKey,
    },
}

/// The grammar, for messages.
pub const RATE_LIMIT_SYNTAX: &str =
    "N/minute[:calls|:tokens][:user|:endpoint|:group=G|:service_principal=SP]";

impl FromStr for RateLimitArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s.eq_ignore_ascii_case("none") {
            return Ok(RateLimitArg::None);
        }
        let usage = || format!("`{s}` is not {RATE_LIMIT_SYNTAX} (or `none`)");
        let (rate, mut rest) = match s.split_once(':') {
            Some((r, k)) => (r, Some(k)),
            None => (s, None),
        };
        let (amount, period) = rate.split_once('/').ok_or_else(usage)?;
        if period != "minute" {
            return Err(format!(
                "`{s}`: Databricks rate limits renew every `minute` only"
            ));
        }
        let amount: i64 = amount
            .trim()
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("`{s}`: N must be a whole number above 0"))?;
        let mut unit = LimitUnit::Calls;
        if let Some(r) = rest {
            let (first, tail) = match r.split_once(':') {
                Some((a, b)) => (a, Some(b)),
                None => (r, None),
            };
            match first {
                "calls" => rest = tail,
                "tokens" => {
                    unit = LimitUnit::Tokens;
                    rest = tail;
                }
                _ => {}
            }
        }
        let principal = |p: &str| (!p.trim().is_empty()).then(|| p.to_owned());
        let key = match rest {
            None | Some("endpoint") => LimitKey::Endpoint,
            Some("user") => LimitKey::User,
            Some(k) => {
                if let Some(g) = k.strip_prefix("group=") {
                    LimitKey::Group(principal(g).ok_or_else(usage)?)
                } else if let Some(sp) = k.strip_prefix("service_principal=") {
                    LimitKey::ServicePrincipal(principal(sp).ok_or_else(usage)?)
                } else {
                    return Err(usage());
                }
            }
        };
        Ok(RateLimitArg::Limit { amount, unit, key })
    }
}

/// The API's list for the limits given: one entry per key (and principal), carrying `calls`,
/// `tokens` or both, in the order the keys were first named.
pub fn limits_to_api(limits: &[RateLimitArg]) -> Vec<RateLimit> {
    let mut out: Vec<(LimitKey, RateLimit)> = Vec::new();
    for l in limits {
        let RateLimitArg::Limit { amount, unit, key } = l else {
            continue;
        };
        let idx = match out.iter().position(|(k, _)| k == key) {
            Some(i) => i,
            None => {
                let (k, principal) = key.as_api();
                out.push((
                    key.clone(),
                    RateLimit {
                        calls: None,
                        tokens: None,
                        key: Some(k.to_owned()),
                        principal,
                        renewal_period: "minute".to_owned(),
                    },
                ));
                out.len() - 1
            }
        };
        let entry = &mut out[idx].1;
        match unit {
            LimitUnit::Calls => entry.calls = Some(*amount),
            LimitUnit::Tokens => entry.tokens = Some(*amount),
        }
    }
    out.into_iter().map(|(_, l)| l).collect()
}

/// Two limits of the same unit for the same key: which one would apply is anyone's guess.
pub fn duplicate_limit(limits: &[RateLimitArg]) -> Option<String> {
    let mut seen: Vec<(&LimitKey, LimitUnit)> = Vec::new();
    for l in limits {
        if let RateLimitArg::Limit { unit, key, .. } = l {
            if seen.contains(&(key, *unit)) {
                let (k, p) = key.as_api();
                let what = match unit {
                    LimitUnit::Calls => "calls",
                    LimitUnit::Tokens => "tokens",
                };
                return Some(format!(
                    "two `{what}` limits for key `{k}`{}",
                    p.map(|p| format!(" `{p}`")).unwrap_or_default()
                ));
            }
            seen.push((key, *unit));
        }
    }
    None
}

/// What the PII guardrail does with personal data, on input and output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Pii {
    /// No PII filtering.
    None,
    /// Reject requests and responses that contain PII.
    Block,
    /// Replace PII with a placeholder.
    Mask,
}

impl Pii {
    pub fn as_api(self) -> &'static str {
        match self {
            Pii::None => "NONE",
            Pii::Block => "BLOCK",
            Pii::Mask => "MASK",
        }
    }
}

/// `CATALOG.SCHEMA[.PREFIX]`, or `none` to turn the inference table off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InferenceTableArg {
    Off,
    Table {
        catalog: String,
        schema: String,
        prefix: Option<String>,
    },
}

impl FromStr for InferenceTableArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s.eq_ignore_ascii_case("none") || s.eq_ignore_ascii_case("off") {
            return Ok(InferenceTableArg::Off);
        }
        let parts: Vec<&str> = s.split('.').collect();
        if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.trim().is_empty()) {
            return Err(format!("`{s}` is not CATALOG.SCHEMA[.PREFIX] (or `none`)"));
        }
        Ok(InferenceTableArg::Table {
            catalog: parts[0].to_owned(),
            schema: parts[1].to_owned(),
            prefix: parts.get(2).map(|p| (*p).to_owned()),
        })
    }
}

/// The settings given on the command line; `None` keeps the current value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GatewayChanges {
    pub usage_tracking: Option<bool>,
    /// The whole new list (empty: remove every limit).
    pub rate_limits: Option<Vec<RateLimitArg>>,
    pub pii: Option<Pii>,
    pub safety: Option<bool>,
    pub inference_table: Option<InferenceTableArg>,
}

impl GatewayChanges {
    pub fn is_empty(&self) -> bool {
        *self == GatewayChanges::default()
    }

    /// Check the combination (before anything touches the network).
    pub fn validate(&self) -> Result<(), UserError> {
        if self.is_empty() {
            return Err(UserError::config(
                "nothing to configure",
                "give at least one of --usage-tracking, --rate-limit, --pii, --safety, \
                 --inference-table (see `gw-admin configure-gateway --help`)",
            ));
        }
        if let Some(limits) = &self.rate_limits
            && limits.len() > 1
            && limits.contains(&RateLimitArg::None)
        {
            return Err(UserError::config(
                "`--rate-limit none` cannot be combined with other rate limits",
                "give either `--rate-limit none` or the limits to keep",
            ));
        }
        if let Some(dup) = self.rate_limits.as_deref().and_then(duplicate_limit) {
            return Err(UserError::config(
                format!("`--rate-limit`: {dup}"),
                "give one calls limit and one tokens limit per key at most",
            ));
        }
        Ok(())
    }
}

/// The configuration to PUT: the current one with the given settings applied.
///
/// - `--usage-tracking[=BOOL]` sets `usage_tracking_config.enabled`.
/// - `--rate-limit` replaces the whole list (`none` empties it).
/// - `--pii` and `--safety` set both the input and the output guardrail.
/// - `--inference-table C.S[.P]` enables the table; when the same catalog and schema are
///   already enabled and no prefix is given, the current prefix (Databricks picks one) stays.
///   `none` disables the current table.
/// - Everything not given, and every section gw-admin does not manage, stays as read.
pub fn apply(current: &AiGatewayConfig, ch: &GatewayChanges) -> AiGatewayConfig {
    let mut cfg = current.clone();
    if let Some(on) = ch.usage_tracking {
        cfg.usage_tracking_config = Some(UsageTrackingConfig { enabled: Some(on) });
    }
    if let Some(limits) = &ch.rate_limits {
        cfg.rate_limits = Some(limits_to_api(limits));
    }
    if ch.pii.is_some() || ch.safety.is_some() {
        let g = cfg.guardrails.get_or_insert_with(Guardrails::default);
        for side in [&mut g.input, &mut g.output] {
            let p = side.get_or_insert_with(GuardrailParameters::default);
            if let Some(pii) = ch.pii {
                p.pii = Some(PiiBehavior {
                    behavior: Some(pii.as_api().to_owned()),
                });
            }
            if let Some(safety) = ch.safety {
                p.safety = Some(safety);
            }
        }
    }
    match &ch.inference_table {
        None => {}
        Some(InferenceTableArg::Off) => {
            if let Some(t) = &mut cfg.inference_table_config {
                t.enabled = Some(false);
            }
        }
        Some(InferenceTableArg::Table {
            catalog,
            schema,
            prefix,
        }) => {
            let keep = current.inference_table_config.as_ref().is_some_and(|t| {
                t.enabled == Some(true)
                    && t.catalog_name.as_deref() == Some(catalog.as_str())
                    && t.schema_name.as_deref() == Some(schema.as_str())
                    && (prefix.is_none() || t.table_name_prefix == *prefix)
            });
            if !keep {
                cfg.inference_table_config = Some(InferenceTableConfig {
                    enabled: Some(true),
                    catalog_name: Some(catalog.clone()),
                    schema_name: Some(schema.clone()),
                    table_name_prefix: prefix.clone(),
                });
            }
        }
    }
    cfg
}

/// A configuration with every "off" spelled one way, so that what Databricks echoes back
/// compares equal to what was sent: disabled usage tracking, empty rate limits, `safety:
/// false`, PII `NONE` and a disabled inference table all count as absent; a rate limit
/// without `key` is keyed by `endpoint` (the API default); limits compare as a set.
pub fn normalized(c: &AiGatewayConfig) -> AiGatewayConfig {
    let mut n = c.clone();
    if n.usage_tracking_config
        .as_ref()
        .is_none_or(|u| u.enabled != Some(true))
    {
        n.usage_tracking_config = None;
    }
    n.rate_limits = n.rate_limits.take().and_then(|mut limits| {
        for l in &mut limits {
            l.key.get_or_insert_with(|| "endpoint".to_owned());
        }
        limits.sort_by(|a, b| {
            (&a.key, &a.principal, a.calls, a.tokens).cmp(&(
                &b.key,
                &b.principal,
                b.calls,
                b.tokens,
            ))
        });
        (!limits.is_empty()).then_some(limits)
    });
    n.guardrails = n.guardrails.take().and_then(|mut g| {
        for side in [&mut g.input, &mut g.output] {
            *side = side.take().and_then(|mut p| {
                if p.safety == Some(false) {
                    p.safety = None;
                }
                if p.pii
                    .as_ref()
                    .is_none_or(|b| b.behavior.as_deref().is_none_or(|v| v == "NONE"))
                {
                    p.pii = None;
                }
                (p != GuardrailParameters::default()).then_some(p)
            });
        }
        (g != Guardrails::default()).then_some(g)
    });
    if n.inference_table_config
        .as_ref()
        .is_none_or(|t| t.enabled != Some(true))
    {
        n.inference_table_config = None;
    }
    n
}

/// The body to PUT, as the API's own clients send it: empty lists and false guardrail flags
/// are left out rather than spelled (no `rate_limits: []`, no `safety: false`, no empty
/// guardrail sides; the SDKs skip empty lists, and databricks-sdk-go skips false), since the
/// PUT replaces the whole configuration and what is not sent is off. `usage_tracking_config`
/// and `inference_table_config` keep an explicit `enabled: false` (the SDKs send a set
/// `enabled`, and moving a table needs the disabled step).
pub fn wire(c: &AiGatewayConfig) -> AiGatewayConfig {
    let mut w = c.clone();
    if w.rate_limits.as_ref().is_some_and(Vec::is_empty) {
        w.rate_limits = None;
    }
    w.guardrails = w.guardrails.take().and_then(|mut g| {
        for side in [&mut g.input, &mut g.output] {
            *side = side.take().and_then(|mut p| {
                if p.safety == Some(false) {
                    p.safety = None;
                }
                (p != GuardrailParameters::default()).then_some(p)
            });
        }
        (g != Guardrails::default()).then_some(g)
    });
    w
}

/// The sections that differ, in words.
pub fn changed_sections(current: &AiGatewayConfig, desired: &AiGatewayConfig) -> Vec<&'static str> {
    let (c, d) = (normalized(current), normalized(desired));
    let mut out = Vec::new();
    if c.usage_tracking_config != d.usage_tracking_config {
        out.push("usage tracking");
    }
    if c.rate_limits != d.rate_limits {
        out.push("rate limits");
    }
    if c.guardrails != d.guardrails {
        out.push("guardrails");
    }
    if c.inference_table_config != d.inference_table_config {
        out.push("inference table");
    }
    if c.other != d.other {
        out.push("other settings");
    }
    out
}

/// Databricks refuses to move an enabled inference table to another catalog, schema or
/// prefix in one step: it has to be disabled first.
pub fn needs_table_disabled_first(current: &AiGatewayConfig, desired: &AiGatewayConfig) -> bool {
    match (
        &current.inference_table_config,
        &desired.inference_table_config,
    ) {
        (Some(c), Some(d)) => {
            c.enabled == Some(true)
                && d.enabled == Some(true)
                && (c.catalog_name != d.catalog_name
                    || c.schema_name != d.schema_name
                    || (d.table_name_prefix.is_some()
                        && c.table_name_prefix != d.table_name_prefix))
        }
        _ => false,
    }
}

/// Run `configure-gateway` with the default wait for an update in progress.
pub async fn run(
    ws: &DatabricksClient,
    name: &str,
    changes: &GatewayChanges,
) -> anyhow::Result<Outcome> {
    run_with(ws, name, changes, &WaitPolicy::default()).await
}

/// Run `configure-gateway`.
///
/// 1. GET the endpoint; none → error (create it with setup-endpoint first). A dry run has no
///    current configuration and shows a PUT with only the given settings.
/// 2. A config update in progress → wait for it to finish (progress on stderr, at most
///    `wait.timeout`), then read the endpoint again: Databricks answers 409 to a gateway PUT
///    while an update rolls out.
/// 3. [`apply`] the flags to its `ai_gateway`; [`normalized`] equal → nothing to write.
/// 4. An enabled inference table that moves → PUT once with it disabled, then again.
/// 5. PUT the whole configuration in its [`wire`] form. A 409 (an update started meanwhile)
///    → wait, read again and retry once from step 3.
pub async fn run_with(
    ws: &DatabricksClient,
    name: &str,
    changes: &GatewayChanges,
    wait: &WaitPolicy,
) -> anyhow::Result<Outcome> {
    changes.validate()?;
    let dry = ws.is_dry_run();
    let mut attempt = 0;
    loop {
        let current = read_settled(ws, name, wait).await?.unwrap_or_default();
        let desired = apply(&current, changes);
        let sections = changed_sections(&current, &desired);
        if sections.is_empty() {
            return Ok(Outcome {
                changed: false,
                lines: vec![format!(
                    "The AI Gateway of `{name}` already has these settings; nothing to change."
                )],
                json: json!({"command": "configure-gateway", "endpoint": name, "changed": false,
                    "dry_run": dry, "sections": sections, "ai_gateway": desired}),
            });
        }
        match put(ws, name, &current, &desired).await {
            Err(e) if attempt == 0 && is_conflict(&e) => {
                eprintln!(
                    "Serving endpoint `{name}` started an update meanwhile (HTTP 409); waiting for it, then reading it again…"
                );
                attempt += 1;
                continue;
            }
            Err(e) => return Err(e),
            Ok(()) => {}
        }
        let line = if dry {
            format!(
                "Dry run: would set the AI Gateway of `{name}` ({}); a real run reads the current \
                 configuration first and keeps every setting not given.",
                sections.join(", ")
            )
        } else {
            format!(
                "Updated the AI Gateway of `{name}`: {}.",
                sections.join(", ")
            )
        };
        return Ok(Outcome {
            changed: true,
            lines: vec![line],
            json: json!({"command": "configure-gateway", "endpoint": name, "changed": true,
                "dry_run": dry, "sections": sections, "ai_gateway": wire(&desired)}),
        });
    }
}

/// The endpoint's current AI Gateway, read when no config update is rolling out (waiting
/// for one that is). `None` in a dry run; no endpoint is an error.
pub async fn read_settled(
    ws: &DatabricksClient,
    name: &str,
    wait: &WaitPolicy,
) -> anyhow::Result<Option<AiGatewayConfig>> {
    let endpoint = match ws.get_endpoint(name).await?.sent() {
        Some(Some(e)) => e,
        Some(None) => {
            return Err(UserError::failure(
                format!("there is no serving endpoint `{name}`"),
                format!(
                    "create it first with `gw-admin setup-endpoint --name {name} …`, or check the name with `gw-admin show`"
                ),
            )
            .into());
        }
        None => return Ok(None),
    };
    let updating = endpoint
        .state
        .as_ref()
        .is_some_and(|s| s.config_update.as_deref() == Some("IN_PROGRESS"));
    let endpoint = if updating {
        wait_for(ws, name, wait, Goal::NoUpdate).await?
    } else {
        endpoint
    };
    Ok(Some(endpoint.ai_gateway.unwrap_or_default()))
}

/// Whether a failure is Databricks' 409 (an update in progress).
pub fn is_conflict(e: &anyhow::Error) -> bool {
    e.downcast_ref::<ApiError>()
        .is_some_and(|a| a.status() == Some(409))
}

/// Write `desired` over `current`: in two steps when an enabled inference table moves (it
/// must be disabled first); if the second step fails, the first is undone, so the endpoint
/// never stays with its table switched off by a half-done move.
pub async fn put(
    ws: &DatabricksClient,
    name: &str,
    current: &AiGatewayConfig,
    desired: &AiGatewayConfig,
) -> anyhow::Result<()> {
    if needs_table_disabled_first(current, desired) {
        let mut step = desired.clone();
        step.inference_table_config = current.inference_table_config.clone().map(|mut t| {
            t.enabled = Some(false);
            t
        });
        eprintln!("Disabling the current inference table of `{name}` before moving it…");
        ws.put_ai_gateway(name, &wire(&step)).await?;
        if let Err(e) = ws.put_ai_gateway(name, &wire(desired)).await {
            eprintln!(
                "Moving the inference table of `{name}` failed; restoring the previous AI Gateway settings…"
            );
            if let Err(undo) = ws.put_ai_gateway(name, &wire(current)).await {
                eprintln!(
                    "note: restoring failed too ({undo}); check `gw-admin show --name {name}`"
                );
            }
            return Err(e.into());
        }
        return Ok(());
    }
    ws.put_ai_gateway(name, &wire(desired)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::databricks::to_json;

    fn limits(v: &[&str]) -> Option<Vec<RateLimitArg>> {
        Some(v.iter().map(|s| s.parse().unwrap()).collect())
    }

    #[test]
    fn rate_limits_parse_into_the_api_shape() {
        let got: Vec<_> = limits_to_api(
            &limits(&[
                "100/minute",
                "20/minute:user",
                "50/minute:group=data-eng",
                "100000/minute:tokens:user",
                "10/minute:calls:service_principal=0a1b-sp",
                "5000/minute:tokens:group=data-eng:west",
            ])
            .unwrap(),
        )
        .iter()
        .map(to_json)
        .collect();
        assert_eq!(
            got,
            [
                json!({"calls": 100, "key": "endpoint", "renewal_period": "minute"}),
                json!({"calls": 20, "tokens": 100000, "key": "user", "renewal_period": "minute"}),
                json!({"calls": 50, "key": "user_group", "principal": "data-eng", "renewal_period": "minute"}),
                json!({"calls": 10, "key": "service_principal", "principal": "0a1b-sp", "renewal_period": "minute"}),
                json!({"tokens": 5000, "key": "user_group", "principal": "data-eng:west", "renewal_period": "minute"}),
            ]
        );
        for bad in [
            "100",
            "100/hour",
            "0/minute",
            "x/minute",
            "5/minute:group=",
            "5/minute:team",
            "5/minute:tokens:team",
            "5/minute:service_principal=",
            "5/minute:bytes:user",
        ] {
            assert!(bad.parse::<RateLimitArg>().is_err(), "{bad}");
        }
        assert_eq!("none".parse(), Ok(RateLimitArg::None));
    }

    #[test]
    fn two_limits_of_one_unit_for_one_key_are_a_usage_error() {
        let ch = GatewayChanges {
            rate_limits: limits(&["10/minute:user", "20/minute:calls:user"]),
            ..Default::default()
        };
        assert_eq!(ch.validate().unwrap_err().code, 2);
        let ok = GatewayChanges {
            rate_limits: limits(&["10/minute:user", "20/minute:tokens:user"]),
            ..Default::default()
        };
        assert!(ok.validate().is_ok());
    }

    #[test]
    fn the_put_body_leaves_off_values_out_as_the_sdks_do() {
        let current: AiGatewayConfig = serde_json::from_value(json!({
            "usage_tracking_config": {"enabled": true},
            "rate_limits": [{"calls": 10, "key": "user", "renewal_period": "minute"}],
            "guardrails": {"input": {"safety": true, "invalid_keywords": ["x"]},
                           "output": {"safety": true}},
            "inference_table_config": {"enabled": true, "catalog_name": "c", "schema_name": "s"}
        }))
        .unwrap();
        let desired = apply(
            &current,
            &GatewayChanges {
                usage_tracking: Some(false),
                rate_limits: limits(&["none"]),
                safety: Some(false),
                inference_table: Some(InferenceTableArg::Off),
                ..Default::default()
            },
        );
        assert_eq!(
            to_json(&wire(&desired)),
            json!({
                "usage_tracking_config": {"enabled": false},
                "guardrails": {"input": {"invalid_keywords": ["x"]}},
                "inference_table_config": {"enabled": false, "catalog_name": "c", "schema_name": "s"}
            })
        );
    }

    #[test]
    fn inference_tables_parse() {
        assert_eq!(
            "main.gw".parse(),
            Ok(InferenceTableArg::Table {
                catalog: "main".into(),
                schema: "gw".into(),
                prefix: None
            })
        );
        assert!(matches!(
            "main.gw.claude".parse(),
            Ok(InferenceTableArg::Table { prefix: Some(p), .. }) if p == "claude"
        ));
        assert_eq!("none".parse(), Ok(InferenceTableArg::Off));
        for bad in ["main", "a.b.c.d", "a..b"] {
            assert!(bad.parse::<InferenceTableArg>().is_err(), "{bad}");
        }
    }

    #[test]
    fn flags_not_given_keep_their_current_value() {
        let current: AiGatewayConfig = serde_json::from_value(json!({
            "usage_tracking_config": {"enabled": true},
            "rate_limits": [{"calls": 10, "key": "user", "renewal_period": "minute"}],
            "guardrails": {"input": {"safety": true, "invalid_keywords": ["secret"]}},
            "fallback_config": {"enabled": false}
        }))
        .unwrap();
        let ch = GatewayChanges {
            pii: Some(Pii::Block),
            ..Default::default()
        };
        let got = to_json(&apply(&current, &ch));
        assert_eq!(
            got,
            json!({
                "usage_tracking_config": {"enabled": true},
                "rate_limits": [{"calls": 10, "key": "user", "renewal_period": "minute"}],
                "guardrails": {
                    "input": {"safety": true, "pii": {"behavior": "BLOCK"}, "invalid_keywords": ["secret"]},
                    "output": {"pii": {"behavior": "BLOCK"}}
                },
                "fallback_config": {"enabled": false}
            })
        );
    }

    #[test]
    fn what_databricks_echoes_back_compares_equal() {
        let flags = GatewayChanges {
            usage_tracking: Some(true),
            rate_limits: limits(&["100/minute", "20/minute:user"]),
            pii: Some(Pii::None),
            safety: Some(false),
            inference_table: Some("main.gw".parse().unwrap()),
        };
        let sent = apply(&AiGatewayConfig::default(), &flags);
        assert!(!changed_sections(&AiGatewayConfig::default(), &sent).is_empty());
        // The server fills defaults (the table prefix, the endpoint key), drops the "off"
        // guardrails and reorders the limits.
        let echoed: AiGatewayConfig = serde_json::from_value(json!({
            "usage_tracking_config": {"enabled": true},
            "rate_limits": [
                {"calls": 20, "key": "user", "renewal_period": "minute"},
                {"calls": 100, "renewal_period": "minute"}
            ],
            "inference_table_config": {"enabled": true, "catalog_name": "main",
                "schema_name": "gw", "table_name_prefix": "claude"}
        }))
        .unwrap();
        // Running the same command again against the echo changes nothing.
        let again = apply(&echoed, &flags);
        assert_eq!(changed_sections(&echoed, &again), Vec::<&str>::new());
        assert!(!needs_table_disabled_first(&echoed, &again));
    }

    #[test]
    fn turning_things_off_is_a_change_and_none_means_no_limits() {
        let current: AiGatewayConfig = serde_json::from_value(json!({
            "usage_tracking_config": {"enabled": true},
            "rate_limits": [{"calls": 10, "key": "user", "renewal_period": "minute"}],
        }))
        .unwrap();
        let desired = apply(
            &current,
            &GatewayChanges {
                usage_tracking: Some(false),
                rate_limits: limits(&["none"]),
                ..Default::default()
            },
        );
        assert_eq!(
            changed_sections(&current, &desired),
            ["usage tracking", "rate limits"]
        );
        assert_eq!(desired.rate_limits, Some(vec![]));
    }

    #[test]
    fn moving_an_enabled_table_disables_it_first() {
        let current: AiGatewayConfig = serde_json::from_value(json!({
            "inference_table_config": {"enabled": true, "catalog_name": "main",
                "schema_name": "gw", "table_name_prefix": "claude"}
        }))
        .unwrap();
        let moved = apply(
            &current,
            &GatewayChanges {
                inference_table: Some("main.logs".parse().unwrap()),
                ..Default::default()
            },
        );
        assert!(needs_table_disabled_first(&current, &moved));
        let same = apply(
            &current,
            &GatewayChanges {
                inference_table: Some("main.gw.claude".parse().unwrap()),
                ..Default::default()
            },
        );
        assert!(!needs_table_disabled_first(&current, &same));
        assert_eq!(same, current);
    }

    #[test]
    fn no_flags_is_a_usage_error() {
        let err = GatewayChanges::default().validate().unwrap_err();
        assert_eq!(err.code, 2);
        let mixed = GatewayChanges {
            rate_limits: limits(&["none", "5/minute"]),
            ..Default::default()
        };
        assert!(mixed.validate().is_err());
    }
}
