//! The fleet file (`gw-admin plan|apply|export -f FLEET.toml`): the desired state of the
//! account's federation policies and, per workspace (or per list of workspaces sharing a
//! template), the serving endpoints, their AI Gateway settings and their grants.
//!
//! Everything is checked before any request: an unknown key, a wrong type or a bad value is
//! exit 2 naming the file, the line and the key (`fleet.toml:12: `workspaces.prod.…`: …`).
//!
//! ```toml
//! [account]
//! id = "0a1b2c3d-…"
//! [[account.federation_policies]]
//! azure_tenant = "<tenant GUID>"
//! audiences = ["<app id>"]
//!
//! [templates.standard.endpoints.claude-code]
//! external_model = "claude-sonnet-4-5"
//! api_key_secret = "gw/anthropic"
//! gateway = { usage_tracking = true, rate_limits = ["60/minute:user"] }
//! grants = { developers = "CAN_QUERY" }
//!
//! [workspaces.emea]
//! hosts = ["https://adb-1.2.azuredatabricks.net", "https://adb-3.4.azuredatabricks.net"]
//! template = "standard"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use clap::ValueEnum;
use gw::api::UserError;
use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer};

use crate::commands::configure_gateway::{GatewayChanges, InferenceTableArg, Pii, RateLimitArg};
use crate::commands::grant::PermissionLevel;
use crate::commands::setup_endpoint::{Model, Provider, SecretRef};
use crate::commands::setup_federation::{self, Federation};
use crate::databricks::federation_policy::PolicyOwner;
use crate::hosts;

/// The largest fleet file read.
const MAX_FLEET: u64 = 4 * 1024 * 1024;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFleet {
    account: Option<RawAccount>,
    #[serde(default)]
    templates: BTreeMap<String, RawTemplate>,
    #[serde(default)]
    workspaces: BTreeMap<String, RawWorkspace>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccount {
    id: String,
    host: Option<String>,
    #[serde(default)]
    federation_policies: Vec<RawPolicy>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    issuer: Option<String>,
    azure_tenant: Option<String>,
    audiences: Vec<String>,
    subject_claim: Option<String>,
    service_principal: Option<u64>,
    subject: Option<String>,
    policy_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTemplate {
    #[serde(default)]
    endpoints: BTreeMap<String, RawEndpoint>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWorkspace {
    host: Option<String>,
    hosts: Option<Vec<String>>,
    template: Option<String>,
    token_env: Option<String>,
    profile: Option<String>,
    #[serde(default)]
    endpoints: BTreeMap<String, RawEndpoint>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEndpoint {
    foundation_model: Option<String>,
    external_model: Option<String>,
    #[serde(default, deserialize_with = "opt_enum")]
    provider: Option<Provider>,
    #[serde(default, deserialize_with = "opt_parsed")]
    api_key_secret: Option<SecretRef>,
    gateway: Option<RawGateway>,
    #[serde(default)]
    grants: BTreeMap<String, LevelName>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGateway {
    usage_tracking: Option<bool>,
    #[serde(default, deserialize_with = "opt_parsed_list")]
    rate_limits: Option<Vec<RateLimitArg>>,
    #[serde(default, deserialize_with = "opt_enum")]
    pii: Option<Pii>,
    safety: Option<bool>,
    #[serde(default, deserialize_with = "opt_parsed")]
    inference_table: Option<InferenceTableArg>,
}

/// A permission level as written (`CAN_QUERY`).
#[derive(Debug, Clone, Copy)]
struct LevelName(PermissionLevel);

impl<'de> Deserialize<'de> for LevelName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        PermissionLevel::from_str(&s, false)
            .map(LevelName)
            .map_err(|_| {
                serde::de::Error::custom(format!("`{s}` is not CAN_VIEW, CAN_QUERY or CAN_MANAGE"))
            })
    }
}

fn opt_parsed<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr<Err = String>,
{
    let s = String::deserialize(d)?;
    s.parse().map(Some).map_err(serde::de::Error::custom)
}

fn opt_parsed_list<'de, D, T>(d: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr<Err = String>,
{
    let v = Vec::<String>::deserialize(d)?;
    v.iter()
        .map(|s| s.parse())
        .collect::<Result<Vec<T>, String>>()
        .map(Some)
        .map_err(serde::de::Error::custom)
}

fn opt_enum<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: ValueEnum,
{
    let s = String::deserialize(d)?;
    let names: Vec<String> = T::value_variants()
        .iter()
        .filter_map(|v| v.to_possible_value().map(|p| p.get_name().to_owned()))
        .collect();
    T::from_str(&s, true)
        .map(Some)
        .map_err(|_| serde::de::Error::custom(format!("`{s}` is not one of {}", names.join(", "))))
}

/// The account part: where, which account, and the policies it must have.
#[derive(Debug, Clone)]
pub struct AccountSpec {
    pub id: String,
    /// `None`: derived from the first workspace's cloud.
    pub host: Option<String>,
    pub policies: Vec<Federation>,
}

/// How gw-admin gets a workspace's token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkspaceAuth {
    /// The token in this environment variable.
    Env(String),
    /// The gw session of this profile (its `databricks_host` must be the workspace).
    Profile(String),
    /// The gw profile whose `databricks_host` is this workspace, if there is one.
    Auto,
}

/// One workspace and what it must have.
#[derive(Debug, Clone)]
pub struct WorkspaceSpec {
    /// `prod` for `host = …`, `emea (adb-1.2.azuredatabricks.net)` for an entry of `hosts`.
    pub name: String,
    pub host: String,
    pub auth: WorkspaceAuth,
    pub endpoints: Vec<EndpointSpec>,
}

/// One serving endpoint and what it must have.
#[derive(Debug, Clone)]
pub struct EndpointSpec {
    pub name: String,
    pub model: Model,
    /// The gateway settings named (the others stay as they are).
    pub gateway: Option<GatewayChanges>,
    /// Groups and the level each must hold at least.
    pub grants: Vec<(String, PermissionLevel)>,
}

/// The whole file, checked.
#[derive(Debug, Clone)]
pub struct Fleet {
    pub path: PathBuf,
    pub account: Option<AccountSpec>,
    pub workspaces: Vec<WorkspaceSpec>,
}

impl Fleet {
    /// The account console: the file's `account.host`, else the first workspace's.
    pub fn account_host(&self) -> Option<String> {
        let a = self.account.as_ref()?;
        Some(match &a.host {
            Some(h) => h.clone(),
            None => hosts::default_account_host(
                self.workspaces
                    .first()
                    .map(|w| w.host.as_str())
                    .unwrap_or(""),
            ),
        })
    }
}

const HINT: &str = "fix the fleet file (admin/README.md, \"The fleet file\", lists every key)";

/// Read and check a fleet file.
pub fn load(path: &Path) -> Result<Fleet, UserError> {
    let bytes = match gw::api::read_trusted(path, MAX_FLEET, gw::api::Owners::MeOrRoot) {
        Ok(Some(b)) => b,
        Ok(None) => {
            return Err(UserError::config(
                format!("no fleet file at `{}`", path.display()),
                "pass the file with `-f FLEET.toml`",
            ));
        }
        Err(why) => {
            return Err(UserError::config(
                format!("will not read fleet file `{}`: it {why}", path.display()),
                "use a file only you (or root) can write",
            ));
        }
    };
    let text = String::from_utf8(bytes).map_err(|_| {
        UserError::config(
            format!("fleet file `{}` is not UTF-8", path.display()),
            HINT,
        )
    })?;
    parse(&text, path)
}

/// Check fleet file text; `path` is only used in messages.
pub fn parse(text: &str, path: &Path) -> Result<Fleet, UserError> {
    let raw: RawFleet = from_toml(text, path)?;
    let at = |table: &str, key: &str, why: String| {
        UserError::config(
            format!(
                "{}:{}: `{key}` {why}",
                path.display(),
                line_of_key(text, table, key)
            ),
            HINT,
        )
    };
    let mut templates: BTreeMap<String, Vec<EndpointSpec>> = BTreeMap::new();
    for (tname, t) in &raw.templates {
        let mut eps = Vec::new();
        for (ename, e) in &t.endpoints {
            let table = format!("templates.{tname}.endpoints.{ename}");
            eps.push(
                endpoint(ename, e).map_err(|(k, why)| at(&table, &format!("{table}{k}"), why))?,
            );
        }
        templates.insert(tname.clone(), eps);
    }
    let mut workspaces = Vec::new();
    for (wname, w) in &raw.workspaces {
        let table = format!("workspaces.{wname}");
        let hosts: Vec<String> = match (&w.host, &w.hosts) {
            (Some(h), None) => vec![h.clone()],
            (None, Some(hs)) if !hs.is_empty() => hs.clone(),
            (None, Some(_)) => {
                return Err(at(&table, &format!("{table}.hosts"), "is empty".into()));
            }
            (Some(_), Some(_)) => {
                return Err(at(
                    &table,
                    &table,
                    "has both `host` and `hosts`: give one".into(),
                ));
            }
            (None, None) => {
                return Err(at(
                    &table,
                    &table,
                    "needs `host` (or `hosts` for several workspaces)".into(),
                ));
            }
        };
        let mut eps: Vec<EndpointSpec> = match &w.template {
            Some(t) => templates.get(t).cloned().ok_or_else(|| {
                at(
                    &table,
                    &format!("{table}.template"),
                    format!("names `{t}`, which is not a `[templates.…]` table"),
                )
            })?,
            None => Vec::new(),
        };
        for (ename, e) in &w.endpoints {
            let etable = format!("{table}.endpoints.{ename}");
            let spec =
                endpoint(ename, e).map_err(|(k, why)| at(&etable, &format!("{etable}{k}"), why))?;
            // The workspace's own entry replaces the template's endpoint of that name.
            eps.retain(|x| x.name != spec.name);
            eps.push(spec);
        }
        if eps.is_empty() {
            return Err(at(
                &table,
                &table,
                "has no endpoints (give `template` or `[…endpoints.<name>]`)".into(),
            ));
        }
        let auth = match (&w.token_env, &w.profile) {
            (Some(_), Some(_)) => {
                return Err(at(
                    &table,
                    &table,
                    "has both `token_env` and `profile`: give one".into(),
                ));
            }
            (Some(e), None) => WorkspaceAuth::Env(e.clone()),
            (None, Some(p)) => WorkspaceAuth::Profile(p.clone()),
            (None, None) => WorkspaceAuth::Auto,
        };
        for h in &hosts {
            let host = hosts::checked_base("host", h)
                .map_err(|e| at(&table, &format!("{table}.host"), e.message))?;
            let name = if w.hosts.is_some() {
                let short = url::Url::parse(&host)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_owned))
                    .unwrap_or_else(|| host.clone());
                format!("{wname} ({short})")
            } else {
                wname.clone()
            };
            if workspaces.iter().any(|x: &WorkspaceSpec| x.host == host) {
                return Err(at(
                    &table,
                    &table,
                    format!("lists `{host}`, which another workspace entry lists too"),
                ));
            }
            workspaces.push(WorkspaceSpec {
                name,
                host,
                auth: auth.clone(),
                endpoints: eps.clone(),
            });
        }
    }
    let account = match &raw.account {
        None => None,
        Some(a) => {
            let table = "account";
            check_ident(&a.id).map_err(|why| at(table, "account.id", why))?;
            let host = match &a.host {
                Some(h) => Some(
                    hosts::checked_base("account.host", h)
                        .map_err(|e| at(table, "account.host", e.message))?,
                ),
                None if workspaces.is_empty() => {
                    return Err(at(
                        table,
                        "account.host",
                        "is needed when the file names no workspace".into(),
                    ));
                }
                None => None,
            };
            let mut policies = Vec::new();
            for (i, p) in a.federation_policies.iter().enumerate() {
                let key = format!("account.federation_policies[{i}]");
                policies.push(
                    policy(&a.id, p).map_err(|(k, why)| at(table, &format!("{key}{k}"), why))?,
                );
            }
            Some(AccountSpec {
                id: a.id.clone(),
                host,
                policies,
            })
        }
    };
    if account.is_none() && workspaces.is_empty() {
        return Err(UserError::config(
            format!(
                "{}: names neither an `[account]` nor a `[workspaces.…]`",
                path.display()
            ),
            HINT,
        ));
    }
    Ok(Fleet {
        path: path.to_owned(),
        account,
        workspaces,
    })
}

/// Deserialize with the path of the failing key, and the line it is on.
fn from_toml<T: DeserializeOwned>(text: &str, path: &Path) -> Result<T, UserError> {
    let de = toml::de::Deserializer::parse(text).map_err(|e| toml_error(text, path, None, &e))?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let key = e.path().to_string();
        toml_error(text, path, Some(key), e.inner())
    })
}

fn toml_error(text: &str, path: &Path, key: Option<String>, e: &toml::de::Error) -> UserError {
    let line = e
        .span()
        .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
        .unwrap_or(1);
    let msg = e.message().trim().to_owned();
    let key = key
        .filter(|k| !k.is_empty() && k != ".")
        .map(|k| format!("`{k}`: "))
        .unwrap_or_default();
    UserError::config(format!("{}:{line}: {key}{msg}", path.display()), HINT)
}

/// The line of a `[table]` header (or of the table's first mention), for messages.
fn line_of_table(text: &str, table: &str) -> usize {
    let wanted = [
        format!("[{table}]"),
        format!("[{table}."),
        format!("[[{table}"),
    ];
    text.lines()
        .position(|l| {
            let l = l.trim();
            wanted.iter().any(|w| l.starts_with(w.as_str()))
        })
        .or_else(|| {
            let last = table.rsplit('.').next().unwrap_or(table);
            text.lines().position(|l| l.contains(last))
        })
        .map(|i| i + 1)
        .unwrap_or(1)
}

/// The line of `key` inside `[table]` (its `name =` line), else of the table's header.
fn line_of_key(text: &str, table: &str, key: &str) -> usize {
    let header = line_of_table(text, table);
    let Some(rest) = key.strip_prefix(table).and_then(|r| r.strip_prefix('.')) else {
        return header;
    };
    let first = rest.split(['.', '[']).next().unwrap_or(rest);
    text.lines()
        .enumerate()
        .skip(header)
        .take_while(|(_, l)| !l.trim_start().starts_with('['))
        .find(|(_, l)| {
            let l = l.trim_start();
            l.strip_prefix(first)
                .is_some_and(|r| r.trim_start().starts_with('='))
        })
        .map(|(i, _)| i + 1)
        .unwrap_or(header)
}

type KeyError = (String, String);

fn check_ident(v: &str) -> Result<(), String> {
    let ok = !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!("`{v}` may hold only letters, digits, `-` and `_`"))
    }
}

fn endpoint(name: &str, e: &RawEndpoint) -> Result<EndpointSpec, KeyError> {
    check_ident(name).map_err(|why| (String::new(), format!("(the endpoint name) {why}")))?;
    let model = match (&e.foundation_model, &e.external_model, &e.api_key_secret) {
        (Some(_), Some(_), _) => {
            return Err((
                String::new(),
                "has both `foundation_model` and `external_model`".into(),
            ));
        }
        (Some(m), None, None) => Model::Foundation(m.clone()),
        (Some(_), None, Some(_)) => {
            return Err((
                ".api_key_secret".into(),
                "applies to `external_model` only".into(),
            ));
        }
        (None, Some(m), Some(k)) => Model::External {
            model: m.clone(),
            provider: e.provider.unwrap_or(Provider::Anthropic),
            api_key: k.clone(),
        },
        (None, Some(_), None) => {
            return Err((
                ".api_key_secret".into(),
                "is missing: an external model needs SCOPE/KEY".into(),
            ));
        }
        (None, None, _) => {
            return Err((
                String::new(),
                "needs `foundation_model` or `external_model`".into(),
            ));
        }
    };
    let gateway = match &e.gateway {
        None => None,
        Some(g) => {
            let ch = GatewayChanges {
                usage_tracking: g.usage_tracking,
                rate_limits: g.rate_limits.clone().map(|v| {
                    if v.is_empty() {
                        vec![RateLimitArg::None]
                    } else {
                        v
                    }
                }),
                pii: g.pii,
                safety: g.safety,
                inference_table: g.inference_table.clone(),
            };
            ch.validate()
                .map_err(|err| (".gateway".to_owned(), err.message))?;
            Some(ch)
        }
    };
    let mut grants = Vec::new();
    for (group, level) in &e.grants {
        if group.trim().is_empty() {
            return Err((".grants".into(), "names an empty group".into()));
        }
        grants.push((group.clone(), level.0));
    }
    Ok(EndpointSpec {
        name: name.to_owned(),
        model,
        gateway,
        grants,
    })
}

fn policy(account_id: &str, p: &RawPolicy) -> Result<Federation, KeyError> {
    let azure = p.azure_tenant.is_some();
    let issuer = match (&p.issuer, &p.azure_tenant) {
        (Some(_), Some(_)) => {
            return Err((String::new(), "has both `issuer` and `azure_tenant`".into()));
        }
        (None, Some(t)) => {
            setup_federation::azure_issuer(t).map_err(|e| (".azure_tenant".into(), e.message))?
        }
        (Some(i), None) => gw::api::checked_url(i).map_err(|e| (".issuer".into(), e))?,
        (None, None) => return Err((String::new(), "needs `issuer` or `azure_tenant`".into())),
    };
    let mut audiences: Vec<String> = Vec::new();
    for a in p.audiences.iter().map(|s| s.trim()) {
        if a.is_empty() {
            return Err((".audiences".into(), "holds an empty audience".into()));
        }
        if !audiences.iter().any(|x| x == a) {
            audiences.push(a.to_owned());
        }
    }
    if audiences.is_empty() {
        return Err((".audiences".into(), "is empty".into()));
    }
    if p.service_principal.is_some() != p.subject.is_some() {
        return Err((
            String::new(),
            "needs `service_principal` and `subject` together".into(),
        ));
    }
    let subject_claim = match (&p.subject_claim, azure, p.service_principal) {
        (Some(c), _, _) => c.trim().to_owned(),
        (None, true, None) => setup_federation::ENTRA_SUBJECT_CLAIM.to_owned(),
        _ => setup_federation::DEFAULT_SUBJECT_CLAIM.to_owned(),
    };
    if subject_claim.is_empty() || subject_claim.contains(char::is_whitespace) {
        return Err((".subject_claim".into(), "is not a claim name".into()));
    }
    if let Some(id) = &p.policy_id {
        setup_federation::check_policy_id(id).map_err(|e| (".policy_id".into(), e.message))?;
    }
    Ok(Federation {
        owner: PolicyOwner {
            account_id: account_id.to_owned(),
            service_principal: p.service_principal,
        },
        issuer,
        audiences,
        subject_claim,
        subject: p.subject.clone(),
        policy_id: p.policy_id.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[account]
id = "acct-1"
[[account.federation_policies]]
azure_tenant = "11111111-2222-3333-4444-555555555555"
audiences = ["gw-app"]

[templates.standard.endpoints.claude-code]
external_model = "claude-sonnet-4-5"
api_key_secret = "gw/anthropic"
gateway = { usage_tracking = true, rate_limits = ["60/minute:user", "100000/minute:tokens:user"], pii = "mask" }
grants = { developers = "CAN_QUERY" }

[workspaces.prod]
host = "https://adb-1.2.azuredatabricks.net"
template = "standard"
token_env = "PROD_TOKEN"

[workspaces.emea]
hosts = ["https://adb-3.4.azuredatabricks.net", "https://adb-5.6.azuredatabricks.net"]
template = "standard"
[workspaces.emea.endpoints.databricks-claude-sonnet-4-5]
foundation_model = "databricks-claude-sonnet-4-5"
grants = { everyone = "CAN_QUERY" }
"#;

    fn p(text: &str) -> Result<Fleet, UserError> {
        parse(text, Path::new("fleet.toml"))
    }

    #[test]
    fn a_full_file_resolves_templates_and_host_lists() {
        let f = p(GOOD).unwrap();
        let names: Vec<_> = f.workspaces.iter().map(|w| w.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "emea (adb-3.4.azuredatabricks.net)",
                "emea (adb-5.6.azuredatabricks.net)",
                "prod"
            ]
        );
        assert_eq!(f.workspaces[0].endpoints.len(), 2);
        assert_eq!(
            f.workspaces[2].auth,
            WorkspaceAuth::Env("PROD_TOKEN".into())
        );
        assert_eq!(
            f.workspaces[2].endpoints[0].grants,
            [("developers".into(), PermissionLevel::CanQuery)]
        );
        let acct = f.account.as_ref().unwrap();
        assert_eq!(acct.policies[0].subject_claim, "preferred_username");
        assert_eq!(
            f.account_host().unwrap(),
            "https://accounts.azuredatabricks.net"
        );
    }

    #[test]
    fn an_unknown_key_names_the_file_the_line_and_the_key() {
        let text = GOOD.replace("pii = \"mask\" }", "pii = \"mask\", safty = true }");
        let err = p(&text).unwrap_err();
        assert_eq!(err.code, 2);
        assert!(
            err.message
                .starts_with("fleet.toml:11: `templates.standard.endpoints.claude-code.gateway"),
            "{}",
            err.message
        );
        assert!(err.message.contains("safty"), "{}", err.message);
    }

    #[test]
    fn a_wrong_type_names_the_line_and_the_key() {
        let text = GOOD.replace("token_env = \"PROD_TOKEN\"", "token_env = 5");
        let err = p(&text).unwrap_err();
        assert!(
            err.message
                .starts_with("fleet.toml:17: `workspaces.prod.token_env`: "),
            "{}",
            err.message
        );
        let text = GOOD.replace("\"60/minute:user\"", "\"60/hour:user\"");
        let err = p(&text).unwrap_err();
        assert!(
            err.message.starts_with(
                "fleet.toml:11: `templates.standard.endpoints.claude-code.gateway.rate_limits`"
            ),
            "{}",
            err.message
        );
        assert!(err.message.contains("minute"), "{}", err.message);
        let text = GOOD.replace(
            "\"CAN_QUERY\" }\n\n[workspaces.prod]",
            "\"CAN_READ\" }\n\n[workspaces.prod]",
        );
        let err = p(&text).unwrap_err();
        assert!(
            err.message.contains("grants.developers") && err.message.contains("CAN_READ"),
            "{}",
            err.message
        );
    }

    #[test]
    fn semantic_mistakes_name_their_table() {
        let err = p(&GOOD.replace(
            "template = \"standard\"\ntoken_env",
            "template = \"std\"\ntoken_env",
        ))
        .unwrap_err();
        assert!(
            err.message
                .starts_with("fleet.toml:16: `workspaces.prod.template` names `std`"),
            "{}",
            err.message
        );
        let err = p(&GOOD.replace("api_key_secret = \"gw/anthropic\"\n", "")).unwrap_err();
        assert!(
            err.message.contains("api_key_secret` is missing"),
            "{}",
            err.message
        );
        let err = p("[workspaces.x]\nhost = \"http://example.com\"\n[workspaces.x.endpoints.e]\nfoundation_model = \"m\"\n").unwrap_err();
        assert!(
            err.message.starts_with("fleet.toml:2: `workspaces.x.host`"),
            "{}",
            err.message
        );
        assert!(p("").is_err());
    }
}
