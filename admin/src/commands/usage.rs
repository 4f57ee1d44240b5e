//! `gw-admin usage`: requests and tokens per user, group or endpoint, from the system tables
//! through a SQL warehouse ([`gw::api::usage`]).

use serde::Deserialize;
use serde_json::json;

use super::Outcome;
use crate::databricks::DatabricksClient;
use gw::api::usage::{self, By, Since};

#[derive(Debug, Deserialize)]
struct ScimList<T> {
    #[serde(rename = "Resources", default = "Vec::new")]
    resources: Vec<T>,
}

impl<T> Default for ScimList<T> {
    fn default() -> Self {
        ScimList {
            resources: Vec::new(),
        }
    }
}

#[derive(Debug, Deserialize)]
struct ScimUser {
    id: String,
    #[serde(rename = "userName")]
    user_name: String,
}

#[derive(Debug, Deserialize)]
struct ScimGroup {
    #[serde(rename = "displayName")]
    display_name: String,
    #[serde(default)]
    members: Vec<ScimMember>,
}

#[derive(Debug, Deserialize)]
struct ScimMember {
    value: String,
}

/// Run `usage`.
///
/// 1. [`usage::usage_sql`] for `by` on the warehouse (a dry run prints the statement request
///    and sends nothing).
/// 2. `--by group`: the workspace's users and groups (SCIM), and the per-user rows added up per
///    group ([`usage::by_group`]).
/// 3. A table (or the `--json` document).
pub async fn run(
    ws: &DatabricksClient,
    warehouse_id: &str,
    by: By,
    since: Since,
) -> anyhow::Result<Outcome> {
    let stmt = usage::usage_sql(by, since, gw::api::now_unix());
    let Some(token) = ws.token() else {
        let params: Vec<_> = stmt
            .params
            .iter()
            .map(|(n, v, t)| json!({"name": n, "value": v, "type": t}))
            .collect();
        let body = json!({"statement": stmt.sql, "warehouse_id": warehouse_id,
            "parameters": params, "wait_timeout": "30s", "on_wait_timeout": "CONTINUE",
            "disposition": "INLINE", "format": "JSON_ARRAY"});
        ws.call::<serde_json::Value>(
            "POST",
            "/api/2.0/sql/statements",
            &[],
            Some(&body),
            "the usage query",
        )
        .await?;
        return Ok(Outcome {
            changed: false,
            lines: vec!["Dry run: nothing was read.".into()],
            json: json!({"command": "usage", "dry_run": true}),
        });
    };
    let data = usage::run_statement(
        ws.http(),
        ws.base(),
        token,
        warehouse_id,
        &stmt,
        usage::Poll::default(),
    )
    .await
    .map_err(usage::UsageError::into_user_error)?;
    let mut rows = usage::rows(&data);
    if by == By::Group {
        let query = [("attributes", "id,userName"), ("count", "10000")];
        let users: ScimList<ScimUser> = ws
            .call(
                "GET",
                "/api/2.0/preview/scim/v2/Users",
                &query,
                None,
                "the workspace's users",
            )
            .await?
            .sent()
            .unwrap_or_default();
        let query = [("attributes", "displayName,members"), ("count", "10000")];
        let groups: ScimList<ScimGroup> = ws
            .call(
                "GET",
                "/api/2.0/preview/scim/v2/Groups",
                &query,
                None,
                "the workspace's groups",
            )
            .await?
            .sent()
            .unwrap_or_default();
        let name_of = |id: &str| {
            users
                .resources
                .iter()
                .find(|u| u.id == id)
                .map(|u| u.user_name.clone())
        };
        let groups: Vec<(String, Vec<String>)> = groups
            .resources
            .iter()
            .map(|g| {
                (
                    g.display_name.clone(),
                    g.members.iter().filter_map(|m| name_of(&m.value)).collect(),
                )
            })
            .collect();
        rows = usage::by_group(&rows, &groups);
    }
    let header = match by {
        By::User => "user",
        By::Group => "group",
        By::Endpoint => "endpoint",
    };
    let mut doc = usage::to_json(&rows, header, since);
    doc["command"] = json!("usage");
    doc["warehouse_id"] = json!(warehouse_id);
    let mut text = format!(
        "Usage of serving endpoints in the last {}, per {header}:\n",
        since.describe()
    );
    text.push_str(&usage::render_table(&rows, header));
    Ok(Outcome {
        changed: false,
        lines: vec![text.trim_end().to_owned()],
        json: doc,
    })
}
