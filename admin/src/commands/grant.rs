//! `gw-admin grant`: let a group use the endpoint, through the Permissions API (by endpoint id).

use gw::api::UserError;
use serde_json::json;

use super::{DRY_RUN_ID, Outcome};
use crate::databricks::DatabricksClient;
use crate::databricks::permissions::{AccessControlRequest, ObjectPermissions, PermissionsRequest};

/// A permission level on a serving endpoint, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum PermissionLevel {
    /// See the endpoint.
    #[value(name = "CAN_VIEW")]
    CanView,
    /// Send requests to it (what developers need).
    #[value(name = "CAN_QUERY")]
    CanQuery,
    /// Change and delete it, and its permissions.
    #[value(name = "CAN_MANAGE")]
    CanManage,
}

impl PermissionLevel {
    pub fn as_api(self) -> &'static str {
        match self {
            PermissionLevel::CanView => "CAN_VIEW",
            PermissionLevel::CanQuery => "CAN_QUERY",
            PermissionLevel::CanManage => "CAN_MANAGE",
        }
    }

    fn from_api(s: &str) -> Option<Self> {
        match s {
            "CAN_VIEW" => Some(PermissionLevel::CanView),
            "CAN_QUERY" => Some(PermissionLevel::CanQuery),
            "CAN_MANAGE" => Some(PermissionLevel::CanManage),
            _ => None,
        }
    }
}

/// The strongest level `group` holds directly (not inherited) on the object.
///
/// Inherited levels do not count: they come from elsewhere (the workspace admins, a folder)
/// and can disappear without anyone touching this endpoint.
pub fn direct_level(acl: &ObjectPermissions, group: &str) -> Option<PermissionLevel> {
    acl.access_control_list
        .iter()
        .filter(|e| e.group_name.as_deref() == Some(group))
        .flat_map(|e| &e.all_permissions)
        .filter(|p| !p.inherited)
        .filter_map(|p| PermissionLevel::from_api(&p.permission_level))
        .max()
}

/// Run `grant`.
///
/// 1. GET the endpoint for its id (the Permissions API takes the id, not the name); none →
///    error. A dry run prints `ENDPOINT_ID` where the id would go.
/// 2. GET its permissions; the group already holds `level` or a stronger one directly →
///    nothing to write (never a downgrade).
/// 3. Else `PATCH` one entry, which merges into the ACL and leaves every other entry alone.
pub async fn run(
    ws: &DatabricksClient,
    name: &str,
    group: &str,
    level: PermissionLevel,
) -> anyhow::Result<Outcome> {
    let dry = ws.is_dry_run();
    let id = match ws.get_endpoint(name).await?.sent() {
        Some(Some(e)) => e.id.ok_or_else(|| {
            UserError::failure(
                format!("Databricks sent serving endpoint `{name}` without an id"),
                "the Permissions API needs it: check `--host`, or grant in the workspace UI",
            )
        })?,
        Some(None) => {
            return Err(UserError::failure(
                format!("there is no serving endpoint `{name}`"),
                "create it first with `gw-admin setup-endpoint`, or check the name with `gw-admin show`",
            )
            .into());
        }
        None => DRY_RUN_ID.to_owned(),
    };
    let held = ws
        .get_endpoint_permissions(&id, name)
        .await?
        .sent()
        .and_then(|acl| direct_level(&acl, group));
    if let Some(held) = held.filter(|h| *h >= level) {
        let extra = if held > level {
            format!(", which includes {}", level.as_api())
        } else {
            String::new()
        };
        return Ok(Outcome {
            changed: false,
            lines: vec![format!(
                "Group `{group}` already has {} on `{name}`{extra}; nothing to change.",
                held.as_api()
            )],
            json: json!({"command": "grant", "endpoint": name, "endpoint_id": id, "group": group,
                "level": level.as_api(), "held": held.as_api(), "changed": false, "dry_run": dry}),
        });
    }
    let req = PermissionsRequest {
        access_control_list: vec![AccessControlRequest {
            group_name: Some(group.to_owned()),
            permission_level: level.as_api().to_owned(),
        }],
    };
    ws.patch_endpoint_permissions(&id, name, &req).await?;
    let line = if dry {
        format!(
            "Dry run: would grant {} on `{name}` to group `{group}` unless it has it already ({DRY_RUN_ID} is the id the first GET returns).",
            level.as_api()
        )
    } else {
        format!("Granted {} on `{name}` to group `{group}`.", level.as_api())
    };
    Ok(Outcome {
        changed: true,
        lines: vec![line],
        json: json!({"command": "grant", "endpoint": name, "endpoint_id": id, "group": group,
            "level": level.as_api(), "held": held.map(PermissionLevel::as_api),
            "changed": true, "dry_run": dry}),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acl(v: serde_json::Value) -> ObjectPermissions {
        serde_json::from_value(json!({ "access_control_list": v })).unwrap()
    }

    #[test]
    fn only_direct_levels_count_and_the_strongest_wins() {
        let a = acl(json!([
            {"group_name": "devs", "all_permissions": [
                {"permission_level": "CAN_VIEW", "inherited": false},
                {"permission_level": "CAN_MANAGE", "inherited": true,
                 "inherited_from_object": ["/serving-endpoints/"]}]},
            {"group_name": "admins", "all_permissions": [
                {"permission_level": "CAN_MANAGE", "inherited": true}]},
            {"user_name": "alice", "all_permissions": [{"permission_level": "CAN_QUERY"}]}
        ]));
        assert_eq!(direct_level(&a, "devs"), Some(PermissionLevel::CanView));
        assert_eq!(direct_level(&a, "admins"), None);
        assert_eq!(direct_level(&a, "alice"), None);
        assert!(PermissionLevel::CanManage > PermissionLevel::CanQuery);
    }
}
