//! The TOML config: schema, loading, validation, and profile resolution (SPEC "Config").
//!
//! Everything is validated up front, before any store or network is touched, so that a config
//! mistake is always exit 2 with a message naming the key and the file.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};
use url::Url;

use crate::error::UserError;

/// The largest config file read.
const MAX_CONFIG: u64 = 1024 * 1024;

const HINT: &str = "fix the file (every key is documented in config.example.toml), or write a new one with `gw config init --force`";

/// The file as written (serde schema).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    default_profile: Option<String>,
    ca_file: Option<PathBuf>,
    #[serde(default)]
    profiles: BTreeMap<String, RawProfile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    databricks_host: String,
    #[serde(default)]
    gateway: Gateway,
    model: Option<String>,
    models: Option<RawModels>,
    codex_model: Option<String>,
    gemini_model: Option<String>,
    opencode_model: Option<String>,
    service_principal_client_id: Option<String>,
    warehouse_id: Option<String>,
    idp: RawIdp,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModels {
    opus: Option<String>,
    sonnet: Option<String>,
    haiku: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIdp {
    kind: IdpKind,
    tenant_id: Option<String>,
    authority: Option<String>,
    client_id: Option<String>,
    issuer: Option<String>,
    scopes: Option<Vec<String>>,
    redirect_uri: Option<String>,
    redirect_port: Option<u16>,
}

/// Which IdP a profile signs in at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdpKind {
    /// Microsoft Entra ID (v2.0 endpoint of one tenant).
    Azure,
    /// Any OpenID Connect provider with discovery.
    Oidc,
    /// The Databricks workspace's own OAuth (U2M); no external IdP and no exchange.
    Databricks,
}

/// The gateway route Claude Code talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum Gateway {
    #[default]
    #[serde(rename = "serving-endpoints")]
    ServingEndpoints,
    #[serde(rename = "ai-gateway")]
    AiGateway,
}

impl Gateway {
    /// The path segment under the workspace host.
    pub fn path(self) -> &'static str {
        match self {
            Gateway::ServingEndpoints => "serving-endpoints",
            Gateway::AiGateway => "ai-gateway",
        }
    }
}

/// A loaded and validated config file.
#[derive(Debug, Clone)]
pub struct Config {
    pub path: PathBuf,
    pub default_profile: Option<String>,
    pub ca_file: Option<PathBuf>,
    pub profiles: BTreeMap<String, Profile>,
}

/// One profile, resolved: every default filled in, every URL checked.
#[derive(Debug, Clone)]
pub struct Profile {
    pub name: String,
    /// The workspace URL without a trailing slash, e.g. `https://adb-1.2.azuredatabricks.net`.
    pub databricks_host: String,
    pub gateway: Gateway,
    /// Model per Claude family; `None` when the profile names no model.
    pub models: Option<Models>,
    /// The model Codex CLI sends (`codex_model`).
    pub codex_model: Option<String>,
    /// The model Gemini CLI sends (`gemini_model`).
    pub gemini_model: Option<String>,
    /// The model OpenCode sends (`opencode_model`, else `model`).
    pub opencode_model: Option<String>,
    pub service_principal_client_id: Option<String>,
    /// The SQL warehouse usage queries run on (`warehouse_id`).
    pub warehouse_id: Option<String>,
    pub idp: IdpSettings,
}

/// The endpoint (or model service) name for each Claude family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Models {
    pub opus: String,
    pub sonnet: String,
    pub haiku: String,
}

/// What proves who signed in, and so what follows the sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    /// The IdP's ID token (OpenID Connect: a nonce, keys from the JWKS, claims checked), which
    /// is then exchanged at the workspace (RFC 8693).
    IdToken,
    /// The workspace is the authorization server: its access token is the Databricks token,
    /// with no ID token and no exchange.
    WorkspaceToken,
}

impl Proof {
    /// Whether the authorization request carries an OIDC nonce.
    pub fn uses_nonce(self) -> bool {
        self == Proof::IdToken
    }
}

/// How to sign in: one descriptor for every kind, so one PKCE engine serves them all.
#[derive(Debug, Clone)]
pub struct IdpSettings {
    pub kind: IdpKind,
    /// What the sign-in proves (resolved from the kind).
    pub proof: Proof,
    /// The exact issuer string ID tokens must carry (for `databricks`, the workspace's OAuth base).
    pub issuer: String,
    /// Where the provider's metadata is published.
    pub discovery_url: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub redirect: Redirect,
}

/// The loopback redirect URI and which ports it may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// The URI with `{port}` where the port goes.
    pub template: String,
    pub ports: Ports,
}

/// The port choice for the loopback listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ports {
    /// Any free port the OS hands out.
    Ephemeral,
    /// Exactly these, tried in order (the IdP registered exact ports).
    List(Vec<u16>),
}

impl Redirect {
    /// The redirect URI for a bound port.
    pub fn uri(&self, port: u16) -> String {
        self.template.replace("{port}", &port.to_string())
    }

    /// The host the browser will be sent to (`localhost`, `127.0.0.1`, `[::1]`).
    pub fn host(&self) -> String {
        Url::parse(&self.uri(1))
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// The path the callback arrives on.
    pub fn path(&self) -> String {
        Url::parse(&self.uri(1))
            .map(|u| u.path().to_owned())
            .unwrap_or_else(|_| "/".into())
    }
}

impl Profile {
    /// A stable key for this profile's tokens: a hash over everything that decides which
    /// tokens are valid here, so that a config change can never reuse stale tokens.
    pub fn cache_key(&self) -> String {
        let mut scopes = self.idp.scopes.clone();
        scopes.sort();
        let mut h = Sha256::new();
        for part in [
            format!("{:?}", self.idp.kind),
            self.idp.issuer.clone(),
            self.idp.client_id.clone(),
            scopes.join(" "),
            self.databricks_host.clone(),
            self.service_principal_client_id.clone().unwrap_or_default(),
        ] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        let digest = h.finalize();
        let hex: String = digest.iter().take(10).map(|b| format!("{b:02x}")).collect();
        format!("{}-{hex}", sanitize(&self.name))
    }
}

fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect()
}

impl Config {
    /// Read and validate the config at `path`.
    pub fn load(path: &Path) -> Result<Config, UserError> {
        let text = match crate::paths::read_trusted(
            path,
            MAX_CONFIG,
            crate::paths::Owners::MeOrRoot,
        ) {
            Ok(Some(bytes)) => String::from_utf8(bytes).map_err(|_| {
                UserError::config(
                    format!("config `{}` is not UTF-8 text", path.display()),
                    HINT,
                )
            })?,
            Ok(None) => {
                return Err(UserError::config(
                    format!("no config file at `{}`", path.display()),
                    "run `gw config init` to write one, or point `--config`/`GW_CONFIG` at yours",
                ));
            }
            Err(why) => {
                return Err(UserError::config(
                    format!("will not use config `{}`: it {why}", path.display()),
                    "use a config file only you (or root) can write: `chmod go-w` it, or write your own with `gw config init --force`",
                ));
            }
        };
        Self::parse(&text, path)
    }

    /// Validate config text; `path` is only used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, UserError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let msg = e.message().trim().to_owned();
            let at = e
                .span()
                .map(|s| format!(" (line {})", line_of(text, s.start)))
                .unwrap_or_default();
            UserError::config(
                format!("invalid config `{}`{at}: {msg}", path.display()),
                HINT,
            )
        })?;
        let bad = |key: &str, why: String| {
            UserError::config(
                format!("invalid config `{}`: `{key}` {why}", path.display()),
                HINT,
            )
        };
        let mut profiles = BTreeMap::new();
        for (name, p) in raw.profiles {
            let profile = resolve_profile(&name, p)
                .map_err(|(key, why)| bad(&format!("profiles.{name}.{key}"), why))?;
            profiles.insert(name, profile);
        }
        if let Some(d) = &raw.default_profile
            && !profiles.contains_key(d)
        {
            return Err(bad(
                "default_profile",
                format!("names `{d}`, which is not a profile"),
            ));
        }
        let ca_file = raw.ca_file.map(|f| {
            if f.is_relative() {
                path.parent().unwrap_or(Path::new(".")).join(f)
            } else {
                f
            }
        });
        Ok(Config {
            path: path.to_owned(),
            default_profile: raw.default_profile,
            ca_file,
            profiles,
        })
    }

    /// Pick the profile: the requested one, else `default_profile`, else the only one, else
    /// `default`.
    pub fn profile(&self, requested: Option<&str>) -> Result<&Profile, UserError> {
        let name = match requested {
            Some(n) => n.to_owned(),
            None => match (&self.default_profile, self.profiles.len()) {
                (Some(d), _) => d.clone(),
                (None, 1) => self.profiles.keys().next().cloned().unwrap_or_default(),
                _ => "default".to_owned(),
            },
        };
        self.profiles.get(&name).ok_or_else(|| {
            let known: Vec<_> = self.profiles.keys().map(|k| format!("`{k}`")).collect();
            UserError::config(
                format!("no profile `{name}` in `{}`", self.path.display()),
                if known.is_empty() {
                    "add a `[profiles.<name>]` table, or run `gw config init`".to_owned()
                } else {
                    format!("choose one of {} with `--profile`", known.join(", "))
                },
            )
        })
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

type KeyError = (&'static str, String);

fn resolve_profile(name: &str, p: RawProfile) -> Result<Profile, KeyError> {
    let host = checked_url(&p.databricks_host).map_err(|e| ("databricks_host", e))?;
    let databricks_host = host.trim_end_matches('/').to_owned();
    let idp = resolve_idp(p.idp, &databricks_host)?;
    let m_raw = p.model.clone();
    let models = match (p.model, p.models) {
        (m, Some(ms)) => {
            let pick = |v: Option<String>, key: &'static str| {
                v.or_else(|| m.clone()).ok_or((
                    key,
                    "is missing: set it, or set `model` for every family".to_owned(),
                ))
            };
            Some(Models {
                opus: pick(ms.opus, "models.opus")?,
                sonnet: pick(ms.sonnet, "models.sonnet")?,
                haiku: pick(ms.haiku, "models.haiku")?,
            })
        }
        (Some(m), None) => Some(Models {
            opus: m.clone(),
            sonnet: m.clone(),
            haiku: m,
        }),
        (None, None) => None,
    };
    if let Some(sp) = &p.service_principal_client_id
        && sp.trim().is_empty()
    {
        return Err(("service_principal_client_id", "is empty".into()));
    }
    let families = models.as_ref().map(|m| [&m.opus, &m.sonnet, &m.haiku]);
    for (key, value) in [
        ("model", m_raw.as_ref()),
        ("models.opus", families.map(|f| f[0])),
        ("models.sonnet", families.map(|f| f[1])),
        ("models.haiku", families.map(|f| f[2])),
        ("codex_model", p.codex_model.as_ref()),
        ("gemini_model", p.gemini_model.as_ref()),
        ("opencode_model", p.opencode_model.as_ref()),
    ] {
        if let Some(v) = value {
            check_model_name(v).map_err(|why| (key, why))?;
        }
    }
    if let Some(w) = &p.warehouse_id
        && (w.is_empty()
            || !w
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
    {
        return Err((
            "warehouse_id",
            format!("`{w}` is not a SQL warehouse id (letters, digits, `-`, `_`)"),
        ));
    }
    let opencode_model = p.opencode_model.or(m_raw);
    Ok(Profile {
        name: name.to_owned(),
        databricks_host,
        gateway: p.gateway,
        models,
        codex_model: p.codex_model,
        gemini_model: p.gemini_model,
        opencode_model,
        service_principal_client_id: p.service_principal_client_id,
        warehouse_id: p.warehouse_id,
        idp,
    })
}

/// What one kind of IdP gives a profile by default, and what its sign-in means.
struct KindDefaults {
    issuer: String,
    discovery_url: String,
    client_id: String,
    scopes: Vec<String>,
    redirect: &'static str,
    /// The ports the default redirect may use.
    ports: Ports,
    proof: Proof,
}

/// One arm per kind: adding a kind (Okta with its quirks, say) is one arm here plus its
/// entries in `advice`.
fn kind_defaults(raw: &RawIdp, databricks_host: &str) -> Result<KindDefaults, KeyError> {
    let forbid = |v: &Option<String>, key: &'static str, kind: &str| match v {
        Some(_) => Err((key, format!("does not apply to kind = \"{kind}\""))),
        None => Ok(()),
    };
    let required =
        |v: &Option<String>, key: &'static str| v.clone().ok_or((key, "is required".to_owned()));
    Ok(match raw.kind {
        IdpKind::Azure => {
            forbid(&raw.issuer, "idp.issuer", "azure")?;
            let tenant = raw.tenant_id.clone().ok_or((
                "idp.tenant_id",
                "is required for kind = \"azure\"".to_owned(),
            ))?;
            let authority = match &raw.authority {
                Some(a) => checked_authority(a).map_err(|e| ("idp.authority", e))?,
                None => ENTRA_AUTHORITY.to_owned(),
            };
            let issuer = entra_issuer(&authority, &tenant).map_err(|e| ("idp.tenant_id", e))?;
            KindDefaults {
                discovery_url: format!("{issuer}/.well-known/openid-configuration"),
                issuer,
                client_id: required(&raw.client_id, "idp.client_id")?,
                scopes: oidc_scopes(),
                // Entra registers `http://localhost` and ignores the port.
                redirect: "http://localhost:{port}",
                ports: Ports::Ephemeral,
                proof: Proof::IdToken,
            }
        }
        IdpKind::Oidc => {
            forbid(&raw.tenant_id, "idp.tenant_id", "oidc")?;
            forbid(&raw.authority, "idp.authority", "oidc")?;
            let issuer = raw
                .issuer
                .clone()
                .ok_or(("idp.issuer", "is required for kind = \"oidc\"".to_owned()))?;
            checked_url(&issuer).map_err(|e| ("idp.issuer", e))?;
            KindDefaults {
                discovery_url: format!(
                    "{}/.well-known/openid-configuration",
                    issuer.trim_end_matches('/')
                ),
                issuer,
                client_id: required(&raw.client_id, "idp.client_id")?,
                scopes: oidc_scopes(),
                redirect: "http://127.0.0.1:{port}/callback",
                ports: Ports::Ephemeral,
                proof: Proof::IdToken,
            }
        }
        IdpKind::Databricks => {
            forbid(&raw.tenant_id, "idp.tenant_id", "databricks")?;
            forbid(&raw.authority, "idp.authority", "databricks")?;
            forbid(&raw.issuer, "idp.issuer", "databricks")?;
            let issuer = format!("{databricks_host}/oidc");
            KindDefaults {
                discovery_url: format!("{issuer}/.well-known/oauth-authorization-server"),
                issuer,
                client_id: raw
                    .client_id
                    .clone()
                    .unwrap_or_else(|| databricks_cli::CLIENT_ID.to_owned()),
                scopes: databricks_cli::scopes(),
                redirect: databricks_cli::REDIRECT,
                ports: databricks_cli::ports(),
                proof: Proof::WorkspaceToken,
            }
        }
    })
}

fn resolve_idp(raw: RawIdp, databricks_host: &str) -> Result<IdpSettings, KeyError> {
    let d = kind_defaults(&raw, databricks_host)?;
    if d.client_id.trim().is_empty() {
        return Err(("idp.client_id", "is empty".into()));
    }
    let scopes = raw.scopes.unwrap_or(d.scopes);
    if d.proof == Proof::IdToken && !scopes.iter().any(|s| s == "openid") {
        return Err((
            "idp.scopes",
            "must include `openid`: gw needs an ID token to exchange".into(),
        ));
    }
    if let Some(bad) = scopes.iter().find(|s| s.is_empty() || s.contains(' ')) {
        return Err(("idp.scopes", format!("has an invalid scope `{bad}`")));
    }
    let template = raw.redirect_uri.unwrap_or_else(|| d.redirect.to_owned());
    let ports = match raw.redirect_port {
        Some(0) => return Err(("idp.redirect_port", "must not be 0".into())),
        Some(p) => Ports::List(vec![p]),
        // A template of one's own without `{port}` names its port; else the kind's default.
        None if !template.contains("{port}") => Ports::Ephemeral,
        None => d.ports,
    };
    let redirect = check_redirect(&template, ports).map_err(|e| ("idp.redirect_uri", e))?;
    Ok(IdpSettings {
        kind: raw.kind,
        issuer: d.issuer,
        discovery_url: d.discovery_url,
        client_id: d.client_id,
        scopes,
        redirect,
        proof: d.proof,
    })
}

/// The Databricks CLI's public OAuth client, which the workspace's own OAuth (U2M) and the
/// account console accept: one description, for gw and gw-admin.
pub mod databricks_cli {
    use super::{Ports, Redirect};

    pub const CLIENT_ID: &str = "databricks-cli";
    /// Registered for these redirect ports only.
    pub const PORTS: std::ops::RangeInclusive<u16> = 8020..=8040;
    pub const REDIRECT: &str = "http://localhost:{port}";

    pub fn scopes() -> Vec<String> {
        vec!["all-apis".to_owned(), "offline_access".to_owned()]
    }

    pub fn ports() -> Ports {
        Ports::List(PORTS.collect())
    }

    /// Its loopback redirect.
    pub fn redirect() -> Redirect {
        Redirect {
            template: REDIRECT.to_owned(),
            ports: ports(),
        }
    }
}

fn oidc_scopes() -> Vec<String> {
    ["openid", "profile", "email", "offline_access"]
        .map(String::from)
        .to_vec()
}

/// A redirect template must be `http` to a loopback host, with `{port}` exactly where the port
/// goes (a template with its own port number is turned into one, and that port is used unless
/// `redirect_port` says otherwise); no user info.
fn check_redirect(template: &str, ports: Ports) -> Result<Redirect, String> {
    let (template, fixed) = if template.contains("{port}") {
        (template.to_owned(), None)
    } else {
        let (t, port) = port_placeholder(template)?;
        (t, Some(port))
    };
    let sample = |port: &str| Url::parse(&template.replace("{port}", port));
    let (one, two) = match (sample("1"), sample("2")) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return Err(format!("`{template}` is not a URL: {e}")),
    };
    if template.matches("{port}").count() != 1 || one.port() != Some(1) || two.port() != Some(2) {
        return Err(format!(
            "`{template}` must have `{{port}}` once, where the port goes (e.g. `http://127.0.0.1:{{port}}/callback`)"
        ));
    }
    if one.scheme() != "http" || !is_loopback_host(&one) {
        return Err(format!(
            "`{template}` must be an http:// loopback URI (127.0.0.1, [::1] or localhost)"
        ));
    }
    if !one.username().is_empty() || one.password().is_some() || one.fragment().is_some() {
        return Err(format!(
            "`{template}` must not have user info or a fragment"
        ));
    }
    let ports = match (ports, fixed) {
        // An explicit `redirect_port` wins over a port written in the URI.
        (Ports::List(p), Some(_)) if p.len() == 1 => Ports::List(p),
        (_, Some(port)) => Ports::List(vec![port]),
        (ports, None) => ports,
    };
    Ok(Redirect { template, ports })
}

/// `http://host:8400/cb` → (`http://host:{port}/cb`, 8400), replacing the port in the authority
/// only.
fn port_placeholder(template: &str) -> Result<(String, u16), String> {
    let rest = template
        .strip_prefix("http://")
        .ok_or_else(|| format!("`{template}` must be an http:// loopback URI"))?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let missing = || format!("`{template}` has neither `{{port}}` nor a port number");
    let (host, digits) = authority.rsplit_once(':').ok_or_else(missing)?;
    if host.contains('@') {
        return Err(format!("`{template}` must not have user info"));
    }
    let port: u16 = digits
        .parse()
        .ok()
        .filter(|p| *p != 0 && digits.chars().all(|c| c.is_ascii_digit()))
        .ok_or_else(missing)?;
    Ok((format!("http://{host}:{{port}}{tail}"), port))
}

/// A model (serving endpoint) name: it goes into URL paths and the clients' own config
/// strings, so only the characters Databricks allows in endpoint names.
fn check_model_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a serving endpoint name (letters, digits, `-`, `_`, `.`)"
        ))
    }
}

/// `https://` always; `http://` only for loopback hosts; no user info, query or fragment.
/// Returns the URL as written.
pub fn checked_url(s: &str) -> Result<String, String> {
    let url = checked_endpoint(s)?;
    if Url::parse(&url).is_ok_and(|u| u.query().is_some()) {
        return Err(format!("`{s}` must not have a query or fragment"));
    }
    Ok(url)
}

/// A provider's endpoint: [`checked_url`]'s rules, but a query is allowed (Azure AD B2C's
/// `?p=<policy>`, Entra's `jwks_uri?appid=`).
pub fn checked_endpoint(s: &str) -> Result<String, String> {
    // Messages show the URL with any user info masked: it may hold a password.
    let shown = mask_userinfo(s);
    let url = Url::parse(s).map_err(|e| format!("`{shown}` is not a URL: {e}"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("`{shown}` must not carry a user name or password"));
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback_host(&url) => {}
        "http" => {
            return Err(format!(
                "`{shown}` must use https:// (http:// is only allowed for loopback hosts)"
            ));
        }
        other => return Err(format!("`{shown}` has scheme `{other}`; use https://")),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("`{shown}` has no host"));
    }
    if url.fragment().is_some() {
        return Err(format!("`{shown}` must not have a fragment"));
    }
    Ok(s.to_owned())
}

/// `scheme://user:pass@host/…` → `scheme://…@host/…` (textually, so even a URL that does not
/// parse is shown without its password). Pure.
fn mask_userinfo(s: &str) -> String {
    let Some((scheme, rest)) = s.split_once("://") else {
        return s.to_owned();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => format!("{scheme}://…{}", &rest[at..]),
        None => s.to_owned(),
    }
}

/// Whether a URL's host is 127.0.0.0/8, ::1 or `localhost`.
pub fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// Entra ID's public cloud.
pub const ENTRA_AUTHORITY: &str = "https://login.microsoftonline.com";

/// The one issuer of an Entra tenant at `authority` (the public cloud, or a sovereign one:
/// `https://login.microsoftonline.us`, `https://login.chinacloudapi.cn`):
/// `<authority>/<tenant>/v2.0`. The tenant must be its GUID: Databricks federation needs one
/// exact issuer, which a domain name or `common` would not give.
pub fn entra_issuer(authority: &str, tenant: &str) -> Result<String, String> {
    if !is_guid(tenant) {
        return Err(format!(
            "must be the directory (tenant) ID, a GUID, not `{tenant}`: Databricks federation needs one exact issuer"
        ));
    }
    Ok(format!("{}/{tenant}/v2.0", authority.trim_end_matches('/')))
}

/// An Entra authority: an https URL of a host alone (no path, query or fragment).
fn checked_authority(a: &str) -> Result<String, String> {
    checked_url(a)?;
    let url = Url::parse(a).map_err(|e| e.to_string())?;
    if url.path() != "/" && !url.path().is_empty() {
        return Err(format!(
            "`{a}` must be the Entra host alone (e.g. `https://login.microsoftonline.us`), without a path"
        ));
    }
    Ok(a.trim_end_matches('/').to_owned())
}

fn is_guid(s: &str) -> bool {
    let parts: Vec<_> = s.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts
            .iter()
            .all(|p| p.chars().all(|c| c.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests;
