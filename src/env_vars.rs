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
/// Set for the `databricks` target: `metadata-service` (or `pat` for one token in `gw env`).
pub const DATABRICKS_AUTH_TYPE: &str = "DATABRICKS_AUTH_TYPE";
/// Set for the `databricks` target: gw's local endpoint, where the SDKs ask for tokens.
pub const DATABRICKS_METADATA_SERVICE_URL: &str = "DATABRICKS_METADATA_SERVICE_URL";
/// Read: seconds to wait for the browser sign-in callback (default 300).
pub const GW_LOGIN_TIMEOUT: &str = "GW_LOGIN_TIMEOUT";

/// Set for the `claude` target: the gateway's Anthropic Messages API base URL.
pub const ANTHROPIC_BASE_URL: &str = "ANTHROPIC_BASE_URL";
/// Set for the `claude` target: the model for each Claude family.
pub const ANTHROPIC_DEFAULT_OPUS_MODEL: &str = "ANTHROPIC_DEFAULT_OPUS_MODEL";
pub const ANTHROPIC_DEFAULT_SONNET_MODEL: &str = "ANTHROPIC_DEFAULT_SONNET_MODEL";
pub const ANTHROPIC_DEFAULT_HAIKU_MODEL: &str = "ANTHROPIC_DEFAULT_HAIKU_MODEL";
/// Set for the `claude` target: extra request headers (`x-databricks-use-coding-agent-mode`).
pub const ANTHROPIC_CUSTOM_HEADERS: &str = "ANTHROPIC_CUSTOM_HEADERS";
/// Set for the `claude` target: how often Claude Code re-runs the token helper (ms).
pub const CLAUDE_CODE_API_KEY_HELPER_TTL_MS: &str = "CLAUDE_CODE_API_KEY_HELPER_TTL_MS";
/// Removed for the `claude` target: each outranks the token helper.
pub const ANTHROPIC_API_KEY: &str = "ANTHROPIC_API_KEY";
pub const ANTHROPIC_AUTH_TOKEN: &str = "ANTHROPIC_AUTH_TOKEN";
/// Emptied for the `claude` target: a model id the gateway may not serve.
pub const ANTHROPIC_MODEL: &str = "ANTHROPIC_MODEL";
pub const CLAUDE_CODE_USE_BEDROCK: &str = "CLAUDE_CODE_USE_BEDROCK";
pub const CLAUDE_CODE_USE_VERTEX: &str = "CLAUDE_CODE_USE_VERTEX";
pub const CLAUDE_CODE_USE_FOUNDRY: &str = "CLAUDE_CODE_USE_FOUNDRY";

/// Set for the `gemini` target: the gateway's Gemini API base URL.
pub const GOOGLE_GEMINI_BASE_URL: &str = "GOOGLE_GEMINI_BASE_URL";
/// Set for the `gemini` target: the Databricks token (Gemini CLI has no refresh hook).
pub const GEMINI_API_KEY: &str = "GEMINI_API_KEY";
/// Set for the `gemini` target: `bearer`, so the key goes in `Authorization: Bearer`.
pub const GEMINI_API_KEY_AUTH_MECHANISM: &str = "GEMINI_API_KEY_AUTH_MECHANISM";
/// Set for the `gemini` target: the model (the profile's `gemini_model`).
pub const GEMINI_MODEL: &str = "GEMINI_MODEL";
/// Set for the `gemini` target: gw's home overlay, whose settings select the API-key auth.
pub const GEMINI_CLI_HOME: &str = "GEMINI_CLI_HOME";
/// Set for the `opencode` target: the inline config adding gw's provider and model.
pub const OPENCODE_CONFIG_CONTENT: &str = "OPENCODE_CONFIG_CONTENT";
/// Removed for the `gemini` target: it would outrank the gateway key.
pub const GOOGLE_API_KEY: &str = "GOOGLE_API_KEY";
pub const GOOGLE_GENAI_USE_VERTEXAI: &str = "GOOGLE_GENAI_USE_VERTEXAI";

/// Read (Linux): the session bus where the Secret Service lives.
pub const DBUS_SESSION_BUS_ADDRESS: &str = "DBUS_SESSION_BUS_ADDRESS";
/// Read: an SSH session (a browser elsewhere cannot reach this machine's loopback).
pub const SSH_CONNECTION: &str = "SSH_CONNECTION";
pub const SSH_CLIENT: &str = "SSH_CLIENT";
pub const SSH_TTY: &str = "SSH_TTY";
/// Read (Linux): a display a browser could open on.
pub const DISPLAY: &str = "DISPLAY";
pub const WAYLAND_DISPLAY: &str = "WAYLAND_DISPLAY";
/// Read: running under WSL (the Windows browser is reachable through `wslview`).
pub const WSL_DISTRO_NAME: &str = "WSL_DISTRO_NAME";
pub const WSL_INTEROP: &str = "WSL_INTEROP";
/// Read, tests only: panic right after a sign-in with the token in the panic message, to prove
/// the panic hook never prints it.
pub const GW_INTERNAL_TEST_PANIC: &str = "GW_INTERNAL_TEST_PANIC";
