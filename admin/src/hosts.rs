//! Where requests go: the workspace URL and the account console URL (SPEC "gw-admin", Global).
//!
//! - Workspace: `--host`, else the profile's `databricks_host`.
//! - Account console: `--account-host`, else derived from the workspace's cloud.
//!
//! Both are https (http only on loopback, for tests), with no path, query or trailing slash.

use std::path::{Path, PathBuf};

use gw::api::Paths;
use gw::api::UserError;
use gw::api::{Config, Profile, checked_url};

/// The gw config, read only when the file exists (gw-admin can run from flags and env alone).
pub struct GwSetup {
    pub paths: Paths,
    pub config: Option<Config>,
}

impl GwSetup {
    /// Resolve the paths; parse and validate the config file if there is one (a broken one is
    /// exit 2, as in gw).
    pub fn load(config_flag: Option<&Path>) -> Result<GwSetup, UserError> {
        let paths = Paths::resolve(config_flag)?;
        let config = if config_flag.is_some() || paths.config.exists() {
            Some(Config::load(&paths.config)?)
        } else {
            None
        };
        Ok(GwSetup { paths, config })
    }

    /// The profile, which needs a config.
    pub fn profile(&self, name: Option<&str>) -> Result<&Profile, UserError> {
        match &self.config {
            Some(c) => c.profile(name),
            None => Err(UserError::config(
                format!("no gw config at `{}`", self.paths.config.display()),
                "pass `--host URL` and set `DATABRICKS_TOKEN`, or set up gw first (`gw config init`)",
            )),
        }
    }

    /// Extra CA certificates from the config.
    pub fn ca_file(&self) -> Option<PathBuf> {
        self.config.as_ref().and_then(|c| c.ca_file.clone())
    }
}

/// A base URL from a flag: https (http on loopback), no path, no trailing slash.
pub fn checked_base(flag: &str, value: &str) -> Result<String, UserError> {
    let hint = format!(
        "give `{flag}` as https://<host>, e.g. https://adb-1234567890123456.7.azuredatabricks.net"
    );
    let checked =
        checked_url(value).map_err(|e| UserError::config(format!("`{flag}`: {e}"), &hint))?;
    let trimmed = checked.trim_end_matches('/').to_owned();
    let path = url::Url::parse(&trimmed)
        .map(|u| u.path().to_owned())
        .unwrap_or_default();
    if !(path.is_empty() || path == "/") {
        return Err(UserError::config(
            format!("`{flag}` `{value}` has a path; give the URL without one"),
            hint,
        ));
    }
    Ok(trimmed)
}

/// The workspace URL: `--host`, else the profile's.
pub fn workspace_host(
    host_flag: Option<&str>,
    setup: &GwSetup,
    profile: Option<&str>,
) -> Result<String, UserError> {
    match host_flag {
        Some(h) => checked_base("--host", h),
        None => setup
            .profile(profile)
            .map(|p| p.databricks_host.clone())
            .map_err(|e| {
                UserError::config(
                    format!("no workspace given: {}", e.message),
                    "pass `--host https://<workspace>`, or pick a gw profile with `--profile`",
                )
            }),
    }
}

/// The DNS zones of Databricks' clouds, as the SDKs list them (databricks-sdk-go
/// `config/environments.go`): a workspace's account console is `accounts` + its zone.
const DNS_ZONES: &[&str] = &[
    ".cloud.databricks.com",
    ".cloud.databricks.us",
    ".dev.databricks.com",
    ".staging.cloud.databricks.com",
    ".azuredatabricks.net",
    ".databricks.azure.us",
    ".databricks.azure.cn",
    ".dev.azuredatabricks.net",
    ".staging.azuredatabricks.net",
    ".gcp.databricks.com",
    ".dev.gcp.databricks.com",
    ".staging.gcp.databricks.com",
];

/// The account console for a workspace's cloud, as the SDKs build it: `https://accounts` +
/// the workspace's DNS zone (`accounts.azuredatabricks.net`, `accounts.databricks.azure.us`,
/// `accounts.cloud.databricks.us`, …); a host in no known zone gets the AWS commercial one.
/// The longest matching zone wins (`.staging.cloud.databricks.com` before
/// `.cloud.databricks.com`).
pub fn default_account_host(workspace_host: &str) -> String {
    let host = url::Url::parse(workspace_host)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .unwrap_or_default();
    let zone = DNS_ZONES
        .iter()
        .filter(|z| host.ends_with(**z))
        .max_by_key(|z| z.len())
        .copied()
        .unwrap_or(".cloud.databricks.com");
    format!("https://accounts{zone}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_account_console_follows_the_workspace_cloud() {
        assert_eq!(
            default_account_host("https://adb-1.2.azuredatabricks.net"),
            "https://accounts.azuredatabricks.net"
        );
        assert_eq!(
            default_account_host("https://1.2.gcp.databricks.com"),
            "https://accounts.gcp.databricks.com"
        );
        assert_eq!(
            default_account_host("https://dbc-1.cloud.databricks.com"),
            "https://accounts.cloud.databricks.com"
        );
        // Government and sovereign clouds have consoles of their own.
        for (ws, console) in [
            (
                "https://dbc-1.cloud.databricks.us",
                "https://accounts.cloud.databricks.us",
            ),
            (
                "https://adb-1.2.databricks.azure.us",
                "https://accounts.databricks.azure.us",
            ),
            (
                "https://adb-1.2.databricks.azure.cn",
                "https://accounts.databricks.azure.cn",
            ),
            (
                "https://ADB-1.2.AzureDatabricks.NET/",
                "https://accounts.azuredatabricks.net",
            ),
            (
                "https://dbc-1.staging.cloud.databricks.com",
                "https://accounts.staging.cloud.databricks.com",
            ),
            (
                "https://workspace.example.com",
                "https://accounts.cloud.databricks.com",
            ),
        ] {
            assert_eq!(default_account_host(ws), console, "{ws}");
        }
    }

    #[test]
    fn bases_are_https_without_path() {
        assert_eq!(
            checked_base("--host", "https://x.cloud.databricks.com/").unwrap(),
            "https://x.cloud.databricks.com"
        );
        assert_eq!(
            checked_base("--host", "http://127.0.0.1:9/").unwrap(),
            "http://127.0.0.1:9"
        );
        for bad in [
            "http://x.cloud.databricks.com",
            "https://x/?o=1",
            "https://x/api",
            "x",
        ] {
            assert_eq!(checked_base("--host", bad).unwrap_err().code, 2, "{bad}");
        }
    }
}
