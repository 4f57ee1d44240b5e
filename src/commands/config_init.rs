//! `gw config init`: write a config from flags, prompting (in a terminal) for what is
//! missing. The text is validated by the same parser every run uses before it is written, so
//! `init` can never leave a config that gw would refuse.

use std::io::{BufRead, IsTerminal, Write};

use crate::cli::InitArgs;
use crate::config::Config;
use crate::error::UserError;
use crate::paths::{Paths, write_private};

/// The answers a config is made from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answers {
    pub profile: String,
    pub host: String,
    /// `azure` with a tenant, `oidc` with an issuer, else `databricks`.
    pub tenant_id: Option<String>,
    pub issuer: Option<String>,
    pub client_id: Option<String>,
    pub model: Option<String>,
}

pub fn run(paths: &Paths, profile: Option<&str>, args: &InitArgs) -> anyhow::Result<u8> {
    let path = &paths.config;
    if path.exists() && !args.force {
        return Err(UserError::failure(
            format!("a config already exists at `{}`", path.display()),
            "edit it, or pass `--force` to replace it",
        )
        .into());
    }
    let mut answers = Answers {
        profile: profile.unwrap_or("default").to_owned(),
        host: args.host.clone().unwrap_or_default(),
        tenant_id: args.tenant_id.clone(),
        issuer: args.issuer.clone(),
        client_id: args.client_id.clone(),
        model: args.model.clone(),
    };
    let interactive = !args.non_interactive && std::io::stdin().is_terminal();
    if interactive {
        prompt_missing(
            &mut answers,
            &mut std::io::stdin().lock(),
            &mut std::io::stderr(),
        )?;
    }
    if answers.host.is_empty() {
        return Err(UserError::config(
            "`gw config init` needs the workspace URL",
            "pass `--host https://<workspace>` (and --tenant-id/--issuer with --client-id), or run it in a terminal to be asked",
        )
        .into());
    }
    let text = render(&answers);
    Config::parse(&text, path)?;
    write_private(path, text.as_bytes()).map_err(|e| {
        UserError::failure(
            format!("cannot write `{}`: {e}", path.display()),
            "check the directory's permissions",
        )
    })?;
    eprintln!(
        "Wrote {} (profile `{}`). Next: `gw login`.",
        path.display(),
        answers.profile
    );
    Ok(0)
}

/// Ask for every answer not given as a flag, showing defaults in brackets.
pub fn prompt_missing(
    a: &mut Answers,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let mut ask = |question: &str, default: &str| -> anyhow::Result<String> {
        if default.is_empty() {
            write!(out, "{question}: ")?;
        } else {
            write!(out, "{question} [{default}]: ")?;
        }
        out.flush()?;
        let mut line = String::new();
        input.read_line(&mut line)?;
        let line = line.trim();
        Ok(if line.is_empty() {
            default.to_owned()
        } else {
            line.to_owned()
        })
    };
    if a.host.is_empty() {
        a.host = ask("Databricks workspace URL (https://…)", "")?;
    }
    if a.tenant_id.is_none() && a.issuer.is_none() {
        let kind = ask(
            "Identity provider: azure, oidc, or databricks (the workspace's own sign-in)",
            "azure",
        )?;
        match kind.as_str() {
            "azure" => a.tenant_id = Some(ask("Entra ID directory (tenant) ID", "")?),
            "oidc" => a.issuer = Some(ask("Issuer URL", "")?),
            _ => {}
        }
    }
    if (a.tenant_id.is_some() || a.issuer.is_some()) && a.client_id.is_none() {
        a.client_id = Some(ask(
            "Client (application) ID of the gw app registration",
            "",
        )?);
    }
    if a.model.is_none() {
        let m = ask(
            "Serving endpoint for Claude Code",
            "databricks-claude-sonnet-4-5",
        )?;
        a.model = Some(m).filter(|m| !m.is_empty());
    }
    Ok(())
}

/// The config file for these answers.
pub fn render(a: &Answers) -> String {
    let q = |s: &str| toml_string(s);
    let mut out = String::from(
        "# Written by `gw config init`; every key is documented in config.example.toml.\n",
    );
    out.push_str(&format!(
        "default_profile = {}\n\n[profiles.{}]\n",
        q(&a.profile),
        table_key(&a.profile)
    ));
    out.push_str(&format!(
        "databricks_host = {}\n",
        q(a.host.trim_end_matches('/'))
    ));
    if let Some(m) = &a.model {
        out.push_str(&format!("model = {}\n", q(m)));
    }
    out.push_str(&format!("\n[profiles.{}.idp]\n", table_key(&a.profile)));
    match (&a.tenant_id, &a.issuer) {
        (Some(t), _) => out.push_str(&format!("kind = \"azure\"\ntenant_id = {}\n", q(t))),
        (None, Some(i)) => out.push_str(&format!("kind = \"oidc\"\nissuer = {}\n", q(i))),
        (None, None) => out.push_str("kind = \"databricks\"\n"),
    }
    if let (Some(c), true) = (&a.client_id, a.tenant_id.is_some() || a.issuer.is_some()) {
        out.push_str(&format!("client_id = {}\n", q(c)));
    }
    out
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

fn table_key(name: &str) -> String {
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        name.to_owned()
    } else {
        toml_string(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn parse(a: &Answers) -> crate::config::Profile {
        Config::parse(&render(a), Path::new("c.toml"))
            .unwrap()
            .profile(None)
            .unwrap()
            .clone()
    }

    #[test]
    fn each_kind_renders_a_config_gw_accepts() {
        let base = Answers {
            profile: "work".into(),
            host: "https://adb-1.2.azuredatabricks.net/".into(),
            model: Some("m".into()),
            ..Default::default()
        };
        let azure = Answers {
            tenant_id: Some("72f988bf-86f1-41af-91ab-2d7cd011db47".into()),
            client_id: Some("c".into()),
            ..base.clone()
        };
        let p = parse(&azure);
        assert_eq!(
            (p.name.as_str(), p.idp.kind, p.databricks_host.as_str()),
            (
                "work",
                crate::config::IdpKind::Azure,
                "https://adb-1.2.azuredatabricks.net"
            )
        );
        let oidc = Answers {
            issuer: Some("https://idp.example".into()),
            client_id: Some("c".into()),
            ..base.clone()
        };
        assert_eq!(parse(&oidc).idp.issuer, "https://idp.example");
        assert_eq!(parse(&base).idp.kind, crate::config::IdpKind::Databricks);
        let odd = Answers {
            profile: "my team".into(),
            host: "http://10.1.2.3".into(),
            ..base
        };
        assert!(
            Config::parse(&render(&odd), Path::new("c.toml"))
                .is_err_and(|e| e.message.contains("databricks_host")),
            "bad input is caught by the parser, not written"
        );
    }

    #[test]
    fn prompts_fill_what_flags_did_not_give_with_defaults() {
        let mut a = Answers {
            profile: "default".into(),
            ..Default::default()
        };
        let mut input = std::io::Cursor::new(
            "https://dbc-1.cloud.databricks.com\n\n72f988bf-86f1-41af-91ab-2d7cd011db47\nclient-1\n\n",
        );
        let mut out = Vec::new();
        prompt_missing(&mut a, &mut input, &mut out).unwrap();
        assert_eq!(a.host, "https://dbc-1.cloud.databricks.com");
        assert_eq!(
            a.tenant_id.as_deref(),
            Some("72f988bf-86f1-41af-91ab-2d7cd011db47"),
            "azure is the default kind"
        );
        assert_eq!(a.client_id.as_deref(), Some("client-1"));
        assert_eq!(
            a.model.as_deref(),
            Some("databricks-claude-sonnet-4-5"),
            "the default model"
        );
        let asked = String::from_utf8(out).unwrap();
        assert!(
            asked.contains("Databricks workspace URL") && asked.contains("[azure]"),
            "{asked}"
        );
    }
}
