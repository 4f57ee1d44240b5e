//! Permissions on a serving endpoint: `/api/2.0/permissions/serving-endpoints/{id}`.
//!
//! The path takes the endpoint's `id` (from `GET /api/2.0/serving-endpoints/{name}`), not its
//! name. `PATCH` merges the given entries into the ACL; `PUT` would replace it, so gw-admin
//! never uses `PUT`.

use serde::{Deserialize, Serialize};

use super::{ApiError, DatabricksClient, Reply, seg, to_json};

/// The ACL as read.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ObjectPermissions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_type: Option<String>,
    #[serde(default)]
    pub access_control_list: Vec<AccessControlResponse>,
}

/// One principal's entry.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AccessControlResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_principal_name: Option<String>,
    #[serde(default)]
    pub all_permissions: Vec<Permission>,
}

impl AccessControlResponse {
    /// `group developers`, `user alice@corp.com`, …
    pub fn principal(&self) -> String {
        match (
            &self.group_name,
            &self.user_name,
            &self.service_principal_name,
        ) {
            (Some(g), _, _) => format!("group {g}"),
            (_, Some(u), _) => format!("user {u}"),
            (_, _, Some(s)) => format!("service principal {s}"),
            _ => "unknown principal".into(),
        }
    }
}

/// A level a principal holds, directly or inherited.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Permission {
    pub permission_level: String,
    #[serde(default)]
    pub inherited: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inherited_from_object: Option<Vec<String>>,
}

/// `PATCH` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PermissionsRequest {
    pub access_control_list: Vec<AccessControlRequest>,
}

/// One entry to merge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessControlRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_name: Option<String>,
    pub permission_level: String,
}

fn path(endpoint_id: &str) -> String {
    format!(
        "/api/2.0/permissions/serving-endpoints/{}",
        seg(endpoint_id)
    )
}

impl DatabricksClient {
    pub async fn get_endpoint_permissions(
        &self,
        endpoint_id: &str,
        endpoint_name: &str,
    ) -> Result<Reply<ObjectPermissions>, ApiError> {
        self.call(
            "GET",
            &path(endpoint_id),
            &[],
            None,
            &format!("serving endpoint `{endpoint_name}` (id `{endpoint_id}`)"),
        )
        .await
    }

    pub async fn patch_endpoint_permissions(
        &self,
        endpoint_id: &str,
        endpoint_name: &str,
        req: &PermissionsRequest,
    ) -> Result<Reply<ObjectPermissions>, ApiError> {
        self.call(
            "PATCH",
            &path(endpoint_id),
            &[],
            Some(&to_json(req)),
            &format!("serving endpoint `{endpoint_name}` (id `{endpoint_id}`)"),
        )
        .await
    }
}
