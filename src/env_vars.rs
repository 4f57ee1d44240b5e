//! Every environment variable gw reads or sets, declared once.
//!
//! The README's table lists the same names; a test keeps the two in step.

/// Read: the config file to use (overridden by `--config`). Set in every child.
pub const GW_CONFIG: &str = "GW_CONFIG";
/// Read: the profile to use (overridden by `--profile`).
pub const GW_PROFILE: &str = "GW_PROFILE";
/// Read: the token store, `auto` | `keyring` | `file` (overridden by `--store`). Set in every child.
pub const GW_TOKEN_STORE: &str = "GW_TOKEN_STORE";
/// Set in every child: the profile gw ran it for (tells nested tools they run inside gw).
pub const GW_EXEC_PROFILE: &str = "GW_EXEC_PROFILE";
/// Read: the Claude Code binary `gw claude` runs (default: `claude` on `PATH`).
pub const GW_CLAUDE_BIN: &str = "GW_CLAUDE_BIN";
/// Read: the program that opens the authorization URL (`$BROWSER <url>`).
pub const BROWSER: &str = "BROWSER";
/// Read: replaces the TLS trust store with this PEM bundle (as in OpenSSL).
pub const SSL_CERT_FILE: &str = "SSL_CERT_FILE";
/// Read: proxy for HTTPS requests.
pub const HTTPS_PROXY: &str = "HTTPS_PROXY";
/// Read: hosts that bypass the proxy.
pub const NO_PROXY: &str = "NO_PROXY";

/// Set for the `generic` and `databricks` targets: the workspace URL.
pub const DATABRICKS_HOST: &str = "DATABRICKS_HOST";
/// Set for the `generic` and `databricks` targets: the Databricks access token.
pub const DATABRICKS_TOKEN: &str = "DATABRICKS_TOKEN";
/// Read: seconds to wait for the browser sign-in callback (default 300).
pub const GW_LOGIN_TIMEOUT: &str = "GW_LOGIN_TIMEOUT";
