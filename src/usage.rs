//! Usage from the workspace's system tables, through the SQL Statement Execution API
//! (SPEC: `gw usage`, `gw-admin usage`).
//!
//! - [`run_statement`]: `POST /api/2.0/sql/statements` (`wait_timeout` 30 s, then polling
//!   `GET /api/2.0/sql/statements/{id}`, inline `JSON_ARRAY` results, every chunk), with named
//!   parameters, never with values spliced into the SQL.
//! - [`my_usage_sql`] (the caller's own requests and tokens per model, `current_user()`) and
//!   [`usage_sql`] (per user or per endpoint) over `system.serving.endpoint_usage` joined with
//!   `system.serving.served_entities` (usage tracking of serving endpoints writes them).
//! - [`UsageRow`], [`render_table`] and [`to_json`] for the terminal and for scripts.
//!
//! Failures are [`UsageError`]s whose [`UsageError::into_user_error`] says what to do: a
//! warehouse that does not exist or cannot be used, tables the caller cannot read (only
//! account admins can, unless granted), or a statement that failed.

use std::str::FromStr;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::UserError;
use crate::http::Http;
use crate::secret::Secret;

/// How rows are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum By {
    /// Per user (the requester).
    User,
    /// Per group: the usage of each group's members added up.
    Group,
    /// Per serving endpoint (what gw calls a model).
    Endpoint,
}

/// How far back: `24h`, `7d`, `30d`, … (at least a minute, at most ten years).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Since(pub Duration);

impl FromStr for Since {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let d = humantime::parse_duration(s.trim())
            .map_err(|e| format!("`{s}` is not a duration like 24h, 7d or 30d: {e}"))?;
        if d < Duration::from_secs(60) || d > Duration::from_secs(10 * 366 * 86400) {
            return Err(format!("`{s}`: give a duration from 1m to 10 years"));
        }
        Ok(Since(d))
    }
}

impl Since {
    /// The start of the window, RFC 3339, from `now` (Unix seconds).
    pub fn start(&self, now: u64) -> String {
        crate::time::rfc3339(now.saturating_sub(self.0.as_secs()))
    }

    /// As written for people (`7days`).
    pub fn describe(&self) -> String {
        humantime::format_duration(self.0).to_string()
    }
}

/// A statement and its named parameters (`:name` in the SQL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub sql: String,
    /// `(name, value, type)`, e.g. `("since", "2026-01-01T00:00:00Z", "TIMESTAMP")`.
    pub params: Vec<(String, String, String)>,
}

const USAGE: &str = "system.serving.endpoint_usage";
const ENTITIES: &str = "system.serving.served_entities";

fn statement(group_by: &str, own: bool, since: Since, now: u64) -> Statement {
    let own = if own {
        "\n  AND u.requester = current_user()"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {group_by} AS key, COUNT(*) AS requests,\n\
         \x20 COALESCE(SUM(u.input_token_count), 0) AS input_tokens,\n\
         \x20 COALESCE(SUM(u.output_token_count), 0) AS output_tokens\n\
         FROM {USAGE} AS u\n\
         JOIN (SELECT DISTINCT served_entity_id, endpoint_name FROM {ENTITIES}) AS se\n\
         \x20 ON u.served_entity_id = se.served_entity_id\n\
         WHERE u.request_time >= :since{own}\n\
         GROUP BY {group_by}\n\
         ORDER BY input_tokens + output_tokens DESC, key"
    );
    Statement {
        sql,
        params: vec![("since".into(), since.start(now), "TIMESTAMP".into())],
    }
}

/// The signed-in caller's own requests and tokens per model (serving endpoint) since
/// `since` before `now` (Unix seconds).
pub fn my_usage_sql(since: Since, now: u64) -> Statement {
    statement("se.endpoint_name", true, since, now)
}

/// Everyone's requests and tokens, per user (also the input of per-group totals) or per
/// endpoint.
pub fn usage_sql(by: By, since: Since, now: u64) -> Statement {
    match by {
        By::Endpoint => statement("se.endpoint_name", false, since, now),
        By::User | By::Group => statement("u.requester", false, since, now),
    }
}

/// One row of a usage table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UsageRow {
    /// The user, group, endpoint or model.
    pub key: String,
    pub requests: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

impl UsageRow {
    pub fn total_tokens(&self) -> u64 {
        self.input_tokens.saturating_add(self.output_tokens)
    }
}

/// Rows from a result of [`my_usage_sql`] or [`usage_sql`] (columns key, requests,
/// input_tokens, output_tokens; JSON_ARRAY values are strings or null).
pub fn rows(data: &[Vec<Option<String>>]) -> Vec<UsageRow> {
    let num = |v: Option<&Option<String>>| {
        v.and_then(|x| x.as_deref())
            .and_then(|s| s.parse::<f64>().ok())
            .map(|f| f.max(0.0) as u64)
            .unwrap_or(0)
    };
    data.iter()
        .map(|r| UsageRow {
            key: r
                .first()
                .and_then(|k| k.clone())
                .unwrap_or_else(|| "(unknown)".into()),
            requests: num(r.get(1)),
            input_tokens: num(r.get(2)),
            output_tokens: num(r.get(3)),
        })
        .collect()
}

/// Per-group totals from per-user rows: each group adds up its members' rows (a user in two
/// groups counts in both); users in no listed group are `(no group)`. Sorted by tokens.
pub fn by_group(user_rows: &[UsageRow], groups: &[(String, Vec<String>)]) -> Vec<UsageRow> {
    let mut out: Vec<UsageRow> = Vec::new();
    let mut add = |key: &str, r: &UsageRow| match out.iter_mut().find(|o| o.key == key) {
        Some(o) => {
            o.requests += r.requests;
            o.input_tokens += r.input_tokens;
            o.output_tokens += r.output_tokens;
        }
        None => out.push(UsageRow {
            key: key.to_owned(),
            ..r.clone()
        }),
    };
    for r in user_rows {
        let mut any = false;
        for (g, members) in groups {
            if members.iter().any(|m| m.eq_ignore_ascii_case(&r.key)) {
                add(g, r);
                any = true;
            }
        }
        if !any {
            add("(no group)", r);
        }
    }
    out.sort_by(|a, b| {
        b.total_tokens()
            .cmp(&a.total_tokens())
            .then(a.key.cmp(&b.key))
    });
    out
}

/// A table for a terminal: the key column (`header`), requests, input, output and total
/// tokens, right-aligned numbers, and a total line.
pub fn render_table(rows: &[UsageRow], header: &str) -> String {
    let total = UsageRow {
        key: "total".into(),
        requests: rows.iter().map(|r| r.requests).sum(),
        input_tokens: rows.iter().map(|r| r.input_tokens).sum(),
        output_tokens: rows.iter().map(|r| r.output_tokens).sum(),
    };
    let cells = |r: &UsageRow| {
        [
            crate::sanitize::one_line(&r.key, 80),
            r.requests.to_string(),
            r.input_tokens.to_string(),
            r.output_tokens.to_string(),
            r.total_tokens().to_string(),
        ]
    };
    let head = [
        header.to_owned(),
        "requests".into(),
        "input tokens".into(),
        "output tokens".into(),
        "total tokens".into(),
    ];
    let body: Vec<[String; 5]> = rows.iter().map(cells).collect();
    let foot = cells(&total);
    let mut width = [0usize; 5];
    for r in std::iter::once(&head)
        .chain(&body)
        .chain(std::iter::once(&foot))
    {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |r: &[String; 5]| {
        let mut s = format!("{:<w$}", r[0], w = width[0]);
        for (c, w) in r.iter().zip(width).skip(1) {
            s.push_str(&format!("  {c:>w$}"));
        }
        s.push('\n');
        s
    };
    let mut out = line(&head);
    if body.is_empty() {
        out.push_str("(no requests in this period)\n");
    }
    for r in &body {
        out.push_str(&line(r));
    }
    out.push_str(&line(&foot));
    out
}

/// The `--json` document: `{"by", "since", "rows": [{key, requests, input_tokens,
/// output_tokens, total_tokens}], "total": {...}}`.
pub fn to_json(rows: &[UsageRow], by: &str, since: Since) -> Value {
    let row = |r: &UsageRow| {
        json!({"key": r.key, "requests": r.requests, "input_tokens": r.input_tokens,
            "output_tokens": r.output_tokens, "total_tokens": r.total_tokens()})
    };
    let total = UsageRow {
        key: "total".into(),
        requests: rows.iter().map(|r| r.requests).sum(),
        input_tokens: rows.iter().map(|r| r.input_tokens).sum(),
        output_tokens: rows.iter().map(|r| r.output_tokens).sum(),
    };
    json!({"by": by, "since": since.describe(), "rows": rows.iter().map(row).collect::<Vec<_>>(),
        "total": row(&total)})
}

/// Why usage could not be read.
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    /// The warehouse does not exist, or the caller cannot use it.
    #[error("the SQL warehouse `{id}` cannot be used: {message}")]
    Warehouse { id: String, message: String },
    /// The system tables are missing or not readable by the caller.
    #[error("the usage tables are not available to you: {message}")]
    Tables { message: String },
    /// The workspace refused the token.
    #[error("the workspace refused the token (HTTP {status}): {message}")]
    Auth { status: u16, message: String },
    /// The statement failed for another reason, or the API answered unexpectedly.
    #[error("the usage query failed: {message}")]
    Failed { message: String },
    /// It ran longer than the bound.
    #[error("the usage query did not finish within {secs} s")]
    Timeout { secs: u64 },
    #[error("cannot reach the workspace: {0}")]
    Http(#[from] crate::http::HttpError),
}

impl UsageError {
    /// The one-line error and its hint (exit 1).
    pub fn into_user_error(self) -> UserError {
        let hint = match &self {
            UsageError::Warehouse { .. } => {
                "check the warehouse id (SQL Warehouses → the warehouse → Overview), and that you have CAN_USE on it; \
                 set it with `--warehouse-id` or `warehouse_id` in the profile"
            }
            UsageError::Tables { .. } => {
                "only account admins can read system.serving.endpoint_usage by default: ask one to grant you \
                 SELECT on system.serving, and to turn on usage tracking on the endpoints \
                 (`gw-admin configure-gateway --usage-tracking`)"
            }
            UsageError::Auth { .. } => "sign in again (`gw login`), or set a valid token",
            UsageError::Failed { .. } => {
                "run the query in the SQL editor to see more, or try again later"
            }
            UsageError::Timeout { .. } => "the warehouse may be starting: try again in a minute",
            UsageError::Http(_) => {
                "check the workspace URL, your network and proxy (`HTTPS_PROXY`)"
            }
        };
        UserError::failure(crate::sanitize::one_line(&self.to_string(), 400), hint)
    }
}

#[derive(Debug, Deserialize)]
struct StatementResponse {
    statement_id: Option<String>,
    status: Option<Status>,
    result: Option<Chunk>,
}

#[derive(Debug, Deserialize)]
struct Status {
    state: Option<String>,
    error: Option<ServiceError>,
}

#[derive(Debug, Deserialize)]
struct ServiceError {
    error_code: Option<String>,
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Chunk {
    #[serde(default)]
    data_array: Vec<Vec<Option<String>>>,
    next_chunk_index: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct ApiErrorBody {
    error_code: Option<String>,
    message: Option<String>,
}

/// How long to wait, and how often to look.
#[derive(Debug, Clone, Copy)]
pub struct Poll {
    pub interval: Duration,
    pub timeout: Duration,
}

impl Default for Poll {
    fn default() -> Self {
        Poll {
            interval: Duration::from_secs(2),
            timeout: Duration::from_secs(300),
        }
    }
}

/// Pages of results read at most.
const MAX_CHUNKS: u64 = 1000;

/// Run `stmt` on warehouse `warehouse_id` of workspace `host` and return every row.
///
/// 1. `POST /api/2.0/sql/statements` with `wait_timeout: 30s`, `on_wait_timeout: CONTINUE`,
///    `disposition: INLINE`, `format: JSON_ARRAY` and the named parameters.
/// 2. `PENDING`/`RUNNING` → `GET /api/2.0/sql/statements/{id}` every `poll.interval` until
///    `poll.timeout`.
/// 3. `SUCCEEDED` → the first chunk's rows, then `GET …/result/chunks/{n}` while
///    `next_chunk_index` says there is more.
/// 4. `FAILED`/`CANCELED`/`CLOSED`, or an error status → a [`UsageError`] that tells a missing
///    warehouse and unreadable tables apart.
pub async fn run_statement(
    http: &Http,
    host: &str,
    token: &Secret,
    warehouse_id: &str,
    stmt: &Statement,
    poll: Poll,
) -> Result<Vec<Vec<Option<String>>>, UsageError> {
    let host = host.trim_end_matches('/');
    let params: Vec<Value> = stmt
        .params
        .iter()
        .map(|(n, v, t)| json!({"name": n, "value": v, "type": t}))
        .collect();
    let body = json!({
        "statement": stmt.sql,
        "warehouse_id": warehouse_id,
        "parameters": params,
        "wait_timeout": "30s",
        "on_wait_timeout": "CONTINUE",
        "disposition": "INLINE",
        "format": "JSON_ARRAY",
    });
    let started = Instant::now();
    let mut resp: StatementResponse = call(
        http,
        "POST",
        &format!("{host}/api/2.0/sql/statements"),
        token,
        Some(&body),
        warehouse_id,
    )
    .await?;
    loop {
        let state = resp
            .status
            .as_ref()
            .and_then(|s| s.state.clone())
            .unwrap_or_default();
        match state.as_str() {
            "SUCCEEDED" => break,
            "PENDING" | "RUNNING" => {
                if started.elapsed() >= poll.timeout {
                    return Err(UsageError::Timeout {
                        secs: poll.timeout.as_secs(),
                    });
                }
                tokio::time::sleep(poll.interval).await;
                let id = statement_id(&resp)?;
                resp = call(
                    http,
                    "GET",
                    &format!("{host}/api/2.0/sql/statements/{id}"),
                    token,
                    None,
                    warehouse_id,
                )
                .await?;
            }
            _ => {
                let err = resp.status.and_then(|s| s.error);
                let code = err
                    .as_ref()
                    .and_then(|e| e.error_code.clone())
                    .unwrap_or_default();
                let message = err
                    .and_then(|e| e.message)
                    .unwrap_or_else(|| format!("the statement ended {state}"));
                return Err(classify(&code, &message, warehouse_id));
            }
        }
    }
    let id = resp.statement_id.clone().unwrap_or_default();
    let mut chunk = resp.result.unwrap_or(Chunk {
        data_array: Vec::new(),
        next_chunk_index: None,
    });
    let mut out = std::mem::take(&mut chunk.data_array);
    let mut pages = 0;
    while let Some(n) = chunk.next_chunk_index {
        pages += 1;
        if pages > MAX_CHUNKS || id.is_empty() {
            break;
        }
        chunk = call(
            http,
            "GET",
            &format!("{host}/api/2.0/sql/statements/{id}/result/chunks/{n}"),
            token,
            None,
            warehouse_id,
        )
        .await?;
        out.append(&mut chunk.data_array);
    }
    Ok(out)
}

fn statement_id(resp: &StatementResponse) -> Result<String, UsageError> {
    resp.statement_id
        .clone()
        .filter(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .ok_or_else(|| UsageError::Failed {
            message: "the workspace answered without a usable statement id".into(),
        })
}

/// A failed statement: missing or forbidden tables, a warehouse problem, or anything else.
fn classify(code: &str, message: &str, warehouse_id: &str) -> UsageError {
    let m = message.to_ascii_uppercase();
    let message = crate::sanitize::one_line(message, 300);
    if m.contains("TABLE_OR_VIEW_NOT_FOUND")
        || m.contains("INSUFFICIENT_PERMISSIONS")
        || m.contains("PERMISSION_DENIED")
        || m.contains("SCHEMA_NOT_FOUND")
        || code == "PERMISSION_DENIED"
    {
        UsageError::Tables { message }
    } else if m.contains("WAREHOUSE") {
        UsageError::Warehouse {
            id: warehouse_id.to_owned(),
            message,
        }
    } else {
        UsageError::Failed { message }
    }
}

async fn call<T: for<'de> Deserialize<'de>>(
    http: &Http,
    method: &str,
    url: &str,
    token: &Secret,
    body: Option<&Value>,
    warehouse_id: &str,
) -> Result<T, UsageError> {
    let resp = http.send_json(method, url, Some(token), body).await?;
    if !resp.is_success() {
        let parsed = serde_json::from_slice::<ApiErrorBody>(&resp.body).ok();
        let code = parsed
            .as_ref()
            .and_then(|b| b.error_code.clone())
            .unwrap_or_default();
        let message = parsed
            .and_then(|b| b.message)
            .map(|m| crate::sanitize::one_line(&m, 300))
            .unwrap_or_else(|| resp.describe());
        return Err(match resp.status {
            401 => UsageError::Auth {
                status: 401,
                message,
            },
            403 if !message.to_ascii_lowercase().contains("warehouse") => {
                UsageError::Tables { message }
            }
            404 | 403 => UsageError::Warehouse {
                id: warehouse_id.to_owned(),
                message,
            },
            400 if message.to_ascii_lowercase().contains("warehouse") => UsageError::Warehouse {
                id: warehouse_id.to_owned(),
                message,
            },
            s => UsageError::Failed {
                message: format!("HTTP {s} {code}: {message}"),
            },
        });
    }
    serde_json::from_slice(&resp.body).map_err(|e| UsageError::Failed {
        message: format!("unexpected answer from the Statement Execution API: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_parses_days_and_refuses_nonsense() {
        assert_eq!(
            "7d".parse::<Since>().unwrap().0,
            Duration::from_secs(7 * 86400)
        );
        assert_eq!(
            "24h".parse::<Since>().unwrap().0,
            Duration::from_secs(86400)
        );
        for bad in ["", "7", "soon", "1s", "-1d"] {
            assert!(bad.parse::<Since>().is_err(), "{bad}");
        }
        assert_eq!(
            Since(Duration::from_secs(86400)).start(86400 * 3),
            "1970-01-03T00:00:00Z"
        );
    }

    #[test]
    fn my_usage_filters_on_the_caller_and_passes_the_window_as_a_parameter() {
        let s = my_usage_sql(Since(Duration::from_secs(86400)), 86400 * 2);
        assert!(s.sql.contains("u.requester = current_user()"));
        assert!(s.sql.contains("GROUP BY se.endpoint_name"));
        assert!(s.sql.contains(":since") && !s.sql.contains("1970"));
        assert_eq!(
            s.params,
            [(
                "since".into(),
                "1970-01-02T00:00:00Z".into(),
                "TIMESTAMP".into()
            )]
        );
        let all = usage_sql(By::User, Since(Duration::from_secs(86400)), 0);
        assert!(!all.sql.contains("current_user()") && all.sql.contains("GROUP BY u.requester"));
    }

    #[test]
    fn rows_read_json_array_strings_and_groups_add_up_their_members() {
        let data = vec![
            vec![
                Some("alice@x".into()),
                Some("3".into()),
                Some("100".into()),
                Some("50".into()),
            ],
            vec![
                Some("bob@x".into()),
                Some("1".into()),
                None,
                Some("7".into()),
            ],
        ];
        let r = rows(&data);
        assert_eq!(
            r[1],
            UsageRow {
                key: "bob@x".into(),
                requests: 1,
                input_tokens: 0,
                output_tokens: 7
            }
        );
        let g = by_group(
            &r,
            &[
                ("devs".into(), vec!["ALICE@x".into(), "bob@x".into()]),
                ("ops".into(), vec!["bob@x".into()]),
            ],
        );
        assert_eq!(
            g[0],
            UsageRow {
                key: "devs".into(),
                requests: 4,
                input_tokens: 100,
                output_tokens: 57
            }
        );
        assert_eq!(g[1].key, "ops");
        let table = render_table(&r, "user");
        assert!(
            table
                .lines()
                .next()
                .unwrap()
                .starts_with("user     requests"),
            "{table}"
        );
        assert!(
            table.contains("alice@x         3           100             50           150"),
            "{table}"
        );
        assert!(
            table.lines().last().unwrap().starts_with("total"),
            "{table}"
        );
        assert_eq!(
            to_json(&r, "user", "7d".parse().unwrap())["total"]["total_tokens"],
            157
        );
    }

    #[test]
    fn failures_tell_tables_from_warehouses() {
        assert!(matches!(
            classify(
                "",
                "[TABLE_OR_VIEW_NOT_FOUND] system.serving.endpoint_usage",
                "w"
            ),
            UsageError::Tables { .. }
        ));
        assert!(matches!(
            classify(
                "BAD_REQUEST",
                "Warehouse w is stopped and cannot start",
                "w"
            ),
            UsageError::Warehouse { .. }
        ));
        assert!(matches!(
            classify("", "division by zero", "w"),
            UsageError::Failed { .. }
        ));
        let e = classify("", "[INSUFFICIENT_PERMISSIONS] no SELECT", "w").into_user_error();
        assert_eq!(e.code, 1);
        assert!(e.hint.unwrap().contains("SELECT on system.serving"));
    }
}
