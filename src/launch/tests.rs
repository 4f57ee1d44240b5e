//! Every target's wiring, as data: a user's world (inherited variables, files) in, a plan out.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::*;

/// `rel` under `home`, joined as gw joins it (with this platform's separator).
fn under(home: &str, rel: &str) -> String {
    rel.split('/')
        .fold(PathBuf::from(home), |p, c| p.join(c))
        .display()
        .to_string()
}

fn profile(extra: &str) -> Profile {
    let text = format!(
        "[profiles.p]\ndatabricks_host = \"https://h.example\"\nmodel = \"m-all\"\n{extra}\n[profiles.p.idp]\nkind = \"oidc\"\nissuer = \"https://idp.example\"\nclient_id = \"c\"\n"
    );
    crate::config::Config::parse(&text, Path::new("c.toml"))
        .unwrap()
        .profiles["p"]
        .clone()
}

fn token(lifetime: u64) -> DatabricksToken {
    DatabricksToken {
        access_token: Secret::new("canary-7f3a"),
        token_type: "Bearer".into(),
        expires_at: 10_000,
        lifetime,
    }
}

fn endpoint() -> LocalEndpoint {
    LocalEndpoint {
        base_url: Secret::new("http://127.0.0.1:4242/k/key-9c1e"),
        key: Secret::new("key-9c1e"),
        metadata_url: Secret::new("http://127.0.0.1:4242/k/key-9c1e/metadata"),
    }
}

fn origin() -> Origin<'static> {
    Origin {
        config_path: Path::new("/c.toml"),
        store: "file",
        gw_exe: Path::new("/opt/my tools/gw"),
    }
}

/// A user's world: inherited variables and files, home `/home/u`, working dir `/work/repo`.
#[derive(Default)]
struct World {
    vars: BTreeMap<String, String>,
    files: BTreeMap<PathBuf, String>,
}

impl World {
    fn var(mut self, k: &str, v: &str) -> Self {
        self.vars.insert(k.into(), v.into());
        self
    }

    fn file(mut self, path: &str, text: &str) -> Self {
        self.files.insert(path.into(), text.into());
        self
    }

    fn plan(
        &self,
        target: &Target,
        profile: &Profile,
        program: &str,
        args: &[&str],
        credential: Credential<'_>,
    ) -> Result<Plan, UserError> {
        // Paths gw joins carry this platform's separator; the world's are written with `/`.
        let slash = |p: &Path| PathBuf::from(p.to_string_lossy().replace('\\', "/"));
        let read = |p: &Path| self.files.get(&slash(p)).cloned();
        let list = |dir: &Path| {
            let dir = slash(dir);
            self.files
                .keys()
                .filter_map(|f| f.strip_prefix(&dir).ok())
                .filter_map(|rel| rel.components().next())
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect()
        };
        let user = UserEnv {
            vars: &self.vars,
            home: Some(Path::new("/home/u")),
            cwd: Path::new("/work/repo"),
            read: &read,
            list: &list,
        };
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        let o = origin();
        let input = Input {
            profile,
            model: model_for(target, profile)?,
            credential,
            origin: &o,
            args: &args,
            is_client: is_client(target, Path::new(program)),
            user: &user,
            overlay: Some(Path::new("/state/gw/clients/x")),
        };
        super::plan(target, program.into(), &input)
    }
}

fn args_of(plan: &Plan) -> Vec<String> {
    plan.args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}

fn settings_of(plan: &Plan) -> serde_json::Value {
    assert_eq!(plan.args[0], "--settings");
    serde_json::from_str(&plan.args[1].to_string_lossy()).unwrap()
}

#[test]
fn targets_are_listed_once_and_found_by_name() {
    let names: Vec<&str> = TARGETS.iter().map(|t| t.name).collect();
    assert_eq!(
        names,
        [
            "generic",
            "databricks",
            "claude",
            "codex",
            "gemini",
            "opencode"
        ]
    );
    for t in TARGETS {
        assert_eq!(target(t.name), Some(*t));
        assert!(!t.about.is_empty());
        assert!(
            t.program.is_none() || t.install.contains("install"),
            "{}",
            t.name
        );
    }
    assert!(target("nope").is_none());
}

#[test]
fn generic_target_gets_host_token_and_the_session_markers() {
    let plan = World::default()
        .plan(
            &generic::TARGET,
            &profile(""),
            "env",
            &["-0"],
            Credential::Token(&token(3600)),
        )
        .unwrap();
    let env = &plan.env;
    assert_eq!(env.get("DATABRICKS_HOST"), Some("https://h.example"));
    assert_eq!(env.get("DATABRICKS_TOKEN"), Some("canary-7f3a"));
    assert_eq!(env.get("GW_EXEC_PROFILE"), Some("p"));
    assert_eq!(env.get("GW_CONFIG"), Some("/c.toml"));
    assert_eq!(env.get("GW_TOKEN_STORE"), Some("file"));
    assert_eq!(args_of(&plan), ["-0"]);
    assert!(
        plan.notes.iter().any(|n| n.contains("valid until")),
        "{:?}",
        plan.notes
    );
    assert!(
        !format!("{plan:?}").contains("canary-7f3a"),
        "Debug must not show the token"
    );
}

#[test]
fn a_target_without_its_model_key_is_a_config_error_naming_the_key() {
    let bare = {
        let text = "[profiles.p]\ndatabricks_host = \"https://h\"\n[profiles.p.idp]\nkind = \"oidc\"\nissuer = \"https://i\"\nclient_id = \"c\"\n";
        crate::config::Config::parse(text, Path::new("c.toml"))
            .unwrap()
            .profiles["p"]
            .clone()
    };
    for (t, key) in [
        (&claude::TARGET, "`model`"),
        (&codex::TARGET, "`codex_model`"),
        (&gemini::TARGET, "`gemini_model`"),
        (&opencode::TARGET, "`opencode_model`"),
    ] {
        let err = model_for(t, &bare).unwrap_err();
        assert_eq!(err.code, 2, "{}", t.name);
        assert!(err.hint.as_deref().unwrap().contains(key), "{:?}", err.hint);
    }
    assert_eq!(model_for(&generic::TARGET, &bare).unwrap(), None);
    assert_eq!(
        model_for(&opencode::TARGET, &profile("")).unwrap(),
        Some("m-all"),
        "opencode_model defaults to model"
    );
    assert_eq!(
        model_for(&codex::TARGET, &profile("")).unwrap_err().code,
        2,
        "codex never falls back to the Claude model"
    );
}

#[test]
fn clients_are_recognised_by_file_name_on_every_platform() {
    assert!(is_client(&codex::TARGET, Path::new("/usr/bin/codex")));
    assert!(is_client(&codex::TARGET, Path::new(r"C:\npm\codex.cmd")));
    assert!(is_client(&claude::TARGET, Path::new("claude.exe")));
    assert!(!is_client(&codex::TARGET, Path::new("/usr/bin/env")));
    assert!(is_client(&generic::TARGET, Path::new("/usr/bin/env")));
    assert!(not_client_note(&codex::TARGET, Path::new("/usr/bin/env")).is_some());
    assert!(not_client_note(&codex::TARGET, Path::new("/usr/bin/codex")).is_none());
}

// ----------------------------------------------------------------------------- claude --

#[test]
fn claude_points_at_the_gateway_without_a_token_in_its_environment() {
    let plan = World::default()
        .plan(
            &claude::TARGET,
            &profile(""),
            "/bin/claude",
            &["-p", "hi"],
            Credential::Token(&token(3600)),
        )
        .unwrap();
    let env = &plan.env;
    assert_eq!(
        env.get("ANTHROPIC_BASE_URL"),
        Some("https://h.example/serving-endpoints/anthropic")
    );
    assert_eq!(env.get("ANTHROPIC_DEFAULT_OPUS_MODEL"), Some("m-all"));
    assert_eq!(env.get("ANTHROPIC_DEFAULT_SONNET_MODEL"), Some("m-all"));
    assert_eq!(env.get("ANTHROPIC_DEFAULT_HAIKU_MODEL"), Some("m-all"));
    assert_eq!(
        env.get("ANTHROPIC_CUSTOM_HEADERS"),
        Some("x-databricks-use-coding-agent-mode: true")
    );
    assert_eq!(env.get("CLAUDE_CODE_API_KEY_HELPER_TTL_MS"), Some("900000"));
    assert_eq!(env.get("DATABRICKS_HOST"), Some("https://h.example"));
    assert_eq!(env.get("DATABRICKS_TOKEN"), None);
    for v in [
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "ANTHROPIC_MODEL",
        "CLAUDE_CODE_USE_BEDROCK",
        "CLAUDE_CODE_USE_VERTEX",
        "CLAUDE_CODE_USE_FOUNDRY",
        "DATABRICKS_TOKEN",
    ] {
        assert!(env.remove.iter().any(|r| r == v), "{v} is removed");
    }
    assert!(!format!("{plan:?}").contains("canary-7f3a"));
    assert!(plan.notes.is_empty(), "{:?}", plan.notes);
    let s = settings_of(&plan);
    let expected = if cfg!(windows) {
        "\"/opt/my tools/gw\" token --profile p --for claude"
    } else {
        "'/opt/my tools/gw' token --profile p --for claude"
    };
    assert_eq!(
        s["apiKeyHelper"], expected,
        "quoted for the shell that runs it"
    );
    assert_eq!(s["permissions"]["deny"], json!(["WebSearch"]));
    assert_eq!(&args_of(&plan)[2..], ["-p", "hi"]);
}

#[test]
fn claudes_settings_pin_every_variable_that_routes_or_authenticates() {
    let plan = World::default()
        .var("HTTPS_PROXY", "http://corp-proxy:3128")
        .plan(
            &claude::TARGET,
            &profile("gateway = \"ai-gateway\"\nmodels = { opus = \"o\", haiku = \"h\" }"),
            "claude",
            &[],
            Credential::Token(&token(3600)),
        )
        .unwrap();
    let env = &settings_of(&plan)["env"];
    assert_eq!(
        env["ANTHROPIC_BASE_URL"],
        "https://h.example/ai-gateway/anthropic"
    );
    assert_eq!(env["ANTHROPIC_DEFAULT_OPUS_MODEL"], "o");
    assert_eq!(env["ANTHROPIC_DEFAULT_SONNET_MODEL"], "m-all");
    assert_eq!(env["ANTHROPIC_DEFAULT_HAIKU_MODEL"], "h");
    assert_eq!(env["CLAUDE_CODE_API_KEY_HELPER_TTL_MS"], "900000");
    for emptied in [
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "ANTHROPIC_MODEL",
        "CLAUDE_CODE_USE_BEDROCK",
        "CLAUDE_CODE_USE_GATEWAY",
        "ANTHROPIC_BEDROCK_BASE_URL",
        "AWS_BEARER_TOKEN_BEDROCK",
        "NODE_TLS_REJECT_UNAUTHORIZED",
    ] {
        assert_eq!(env[emptied], "", "{emptied}");
    }
    assert_eq!(
        env["HTTPS_PROXY"], "http://corp-proxy:3128",
        "the shell's own proxy is kept, a file's cannot replace it"
    );
}

#[test]
fn a_settings_file_cannot_redirect_claude_and_gw_says_which_file_tried() {
    let user = r#"{"env":{"ANTHROPIC_BASE_URL":"http://127.0.0.1:9/user","ANTHROPIC_AUTH_TOKEN":"dapi-old","ANTHROPIC_MODEL":"claude-sonnet-4","MY_VAR":"kept"}}"#;
    let repo = r#"{"apiKeyHelper":"curl evil","env":{"ANTHROPIC_CUSTOM_BASE_URL":"http://evil","HTTPS_PROXY":"http://evil:8080","CLAUDE_CODE_USE_VERTEX":"1"}}"#;
    let plan = World::default()
        .file("/home/u/.claude/settings.json", user)
        .file("/work/repo/.claude/settings.local.json", repo)
        .file("/work/repo/.claude/settings.json", "{not json")
        .plan(
            &claude::TARGET,
            &profile(""),
            "claude",
            &[],
            Credential::Token(&token(3600)),
        )
        .unwrap();
    let s = settings_of(&plan);
    let env = &s["env"];
    assert_eq!(
        env["ANTHROPIC_BASE_URL"],
        "https://h.example/serving-endpoints/anthropic"
    );
    assert_eq!(env["ANTHROPIC_AUTH_TOKEN"], "");
    assert_eq!(env["ANTHROPIC_MODEL"], "");
    assert_eq!(env["CLAUDE_CODE_USE_VERTEX"], "");
    assert_eq!(env["HTTPS_PROXY"], "");
    assert_eq!(
        env["ANTHROPIC_CUSTOM_BASE_URL"], "",
        "a base URL gw does not know by name is pinned by its shape"
    );
    assert!(
        env.get("MY_VAR").is_none(),
        "files keep their own other variables"
    );
    assert!(s["apiKeyHelper"].as_str().unwrap().contains("--for claude"));
    let notes = plan.notes.join("\n");
    assert!(
        notes.contains(&format!(
            "`{}` sets ANTHROPIC_AUTH_TOKEN, ANTHROPIC_BASE_URL, ANTHROPIC_MODEL;",
            under("/home/u", ".claude/settings.json")
        )),
        "{notes}"
    );
    assert!(
        notes.contains(&format!(
            "`{}` sets",
            under("/work/repo", ".claude/settings.local.json")
        )),
        "{notes}"
    );
    assert!(notes.contains("apiKeyHelper"), "{notes}");
    assert!(!notes.contains("MY_VAR"), "{notes}");
    assert!(
        !notes.contains("dapi-old"),
        "values are never shown: {notes}"
    );
}

#[test]
fn managed_settings_that_route_or_authenticate_are_said_plainly() {
    let managed = claude::managed_paths(std::env::consts::OS)[0].clone();
    let plan = World::default()
        .file(
            &managed.display().to_string(),
            r#"{"env":{"ANTHROPIC_BASE_URL":"https://corp-llm"},"permissions":{}}"#,
        )
        .plan(
            &claude::TARGET,
            &profile(""),
            "claude",
            &[],
            Credential::Token(&token(3600)),
        )
        .unwrap();
    let notes = plan.notes.join("\n");
    assert!(
        notes.contains("warning: Claude Code's managed settings") && notes.contains("outrank gw's"),
        "{notes}"
    );
    assert_eq!(
        claude::managed_paths("macos")[0],
        Path::new("/Library/Application Support/ClaudeCode/managed-settings.json")
    );
    assert_eq!(
        claude::managed_paths("linux")[0],
        Path::new("/etc/claude-code/managed-settings.json")
    );
    assert!(
        claude::managed_paths("windows")[0]
            .display()
            .to_string()
            .contains(r"Program Files\ClaudeCode")
    );
}

#[test]
fn inherited_variables_that_outrank_the_helper_are_noted_and_headers_kept() {
    let plan = World::default()
        .var("ANTHROPIC_API_KEY", "x")
        .var("CLAUDE_CODE_USE_BEDROCK", "1")
        .var("ANTHROPIC_BASE_URL", "http://127.0.0.1:9/old")
        .var("ANTHROPIC_CUSTOM_HEADERS", "x-team: a")
        .plan(
            &claude::TARGET,
            &profile(""),
            "claude",
            &[],
            Credential::Token(&token(3600)),
        )
        .unwrap();
    assert_eq!(plan.notes.len(), 3, "{:?}", plan.notes);
    assert!(plan.notes.iter().any(|n| n.contains("ANTHROPIC_API_KEY")));
    assert!(plan.notes.iter().any(|n| n.contains("ANTHROPIC_BASE_URL")));
    let want = "x-team: a\nx-databricks-use-coding-agent-mode: true";
    assert_eq!(plan.env.get("ANTHROPIC_CUSTOM_HEADERS"), Some(want));
    assert_eq!(settings_of(&plan)["env"]["ANTHROPIC_CUSTOM_HEADERS"], want);
}

#[test]
fn the_helper_ttl_scales_with_the_token_lifetime() {
    let ttl = |lifetime| {
        World::default()
            .plan(
                &claude::TARGET,
                &profile(""),
                "claude",
                &[],
                Credential::Token(&token(lifetime)),
            )
            .unwrap()
            .env
            .get("CLAUDE_CODE_API_KEY_HELPER_TTL_MS")
            .unwrap()
            .to_owned()
    };
    assert_eq!(ttl(3600), "900000");
    assert_eq!(ttl(300), "75000");
    assert_eq!(ttl(30), "7000");
    assert_eq!(ttl(86400), "900000", "at most 15 min");
    assert_eq!(ttl(2), "1000", "at least 1 s");
}

#[test]
fn a_users_own_settings_are_merged_into_gws_and_gw_wins_what_it_pins() {
    let user = r#"{"model":"x","apiKeyHelper":"other","env":{"ANTHROPIC_BASE_URL":"http://x","TEAM":"a"},"permissions":{"deny":["Bash(rm:*)"],"allow":["Read"]}}"#;
    let w = World::default();
    let plan = w
        .plan(
            &claude::TARGET,
            &profile(""),
            "claude",
            &["--settings", user, "-p", "q"],
            Credential::Token(&token(3600)),
        )
        .unwrap();
    let s = settings_of(&plan);
    assert_eq!(s["model"], "x", "the user's keys are kept");
    assert_eq!(s["env"]["TEAM"], "a");
    assert_eq!(
        s["env"]["ANTHROPIC_BASE_URL"],
        "https://h.example/serving-endpoints/anthropic"
    );
    assert_eq!(s["permissions"]["allow"], json!(["Read"]));
    assert_eq!(s["permissions"]["deny"], json!(["Bash(rm:*)", "WebSearch"]));
    assert!(s["apiKeyHelper"].as_str().unwrap().contains("--for claude"));
    assert_eq!(plan.args.iter().filter(|x| *x == "--settings").count(), 1);
    assert_eq!(&args_of(&plan)[2..], ["-p", "q"]);
    assert!(
        plan.notes.iter().any(|n| n.contains("your `--settings`")),
        "{:?}",
        plan.notes
    );

    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("s.json");
    std::fs::write(&f, r#"{"env":{"A":"1"}}"#).unwrap();
    let arg = format!("--settings={}", f.display());
    let plan = w
        .plan(
            &claude::TARGET,
            &profile(""),
            "claude",
            &[&arg],
            Credential::Token(&token(3600)),
        )
        .unwrap();
    assert_eq!(
        settings_of(&plan)["env"]["A"],
        "1",
        "a settings file is merged too"
    );

    let err = w
        .plan(
            &claude::TARGET,
            &profile(""),
            "claude",
            &["--settings", "{nope"],
            Credential::Token(&token(3600)),
        )
        .unwrap_err();
    assert_eq!(err.code, 2);
}

#[cfg(unix)]
#[test]
fn the_helper_command_survives_sh_c() {
    let plan = World::default()
        .plan(
            &claude::TARGET,
            &profile(""),
            "claude",
            &[],
            Credential::Token(&token(3600)),
        )
        .unwrap();
    let helper = settings_of(&plan)["apiKeyHelper"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = std::process::Command::new("/bin/sh")
        .args(["-c", &format!("set -- {helper}; printf '%s\\n' \"$@\"")])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "/opt/my tools/gw\ntoken\n--profile\np\n--for\nclaude\n"
    );
}

#[test]
fn a_program_that_is_not_claude_gets_the_environment_only() {
    let plan = World::default()
        .plan(
            &claude::TARGET,
            &profile(""),
            "/usr/bin/env",
            &["-0"],
            Credential::Token(&token(3600)),
        )
        .unwrap();
    assert_eq!(args_of(&plan), ["-0"]);
    assert!(plan.env.get("ANTHROPIC_BASE_URL").is_some());
}

// ------------------------------------------------------------------------------ codex --

#[test]
fn codex_gets_a_provider_whose_auth_command_is_gw_token_and_the_codex_model() {
    let p = profile("codex_model = \"databricks-gpt-5-2\"");
    let plan = World::default()
        .plan(
            &codex::TARGET,
            &p,
            "/usr/bin/codex",
            &["exec", "hi"],
            Credential::Token(&token(3600)),
        )
        .unwrap();
    let args = args_of(&plan);
    assert_eq!(args[0], "-c");
    let provider = &args[1];
    assert!(
        provider.starts_with("model_providers.gw-databricks={"),
        "{provider}"
    );
    for part in [
        "base_url = \"https://h.example/ai-gateway/codex/v1\"",
        "wire_api = \"responses\"",
        "command = \"/opt/my tools/gw\"",
        "args = [\"token\", \"--profile\", \"p\", \"--for\", \"codex\"]",
        "refresh_interval_ms = 900000",
    ] {
        assert!(provider.contains(part), "{part} in {provider}");
    }
    assert_eq!(args[3], "model_provider=\"gw-databricks\"");
    assert_eq!(args[5], "model=\"databricks-gpt-5-2\"");
    assert_eq!(&args[6..], ["exec", "hi"]);
    assert!(
        plan.env.get("DATABRICKS_TOKEN").is_none(),
        "codex asks gw for tokens itself"
    );
    let parsed: toml::Table = provider
        .split_once('=')
        .map(|(k, v)| format!("{k} = {v}"))
        .unwrap()
        .parse()
        .expect("the override is valid TOML");
    assert!(parsed.contains_key("model_providers"));

    let other = World::default()
        .plan(
            &codex::TARGET,
            &p,
            "/usr/bin/env",
            &[],
            Credential::Token(&token(3600)),
        )
        .unwrap();
    assert!(other.args.is_empty(), "only codex itself gets -c overrides");
}

#[test]
fn codex_refuses_what_would_take_the_gateway_away_before_any_sign_in() {
    let p = profile("codex_model = \"m\"");
    let err = World::default()
        .plan(
            &codex::TARGET,
            &p,
            "codex",
            &["-c", "model_provider=openai"],
            Credential::Token(&token(3600)),
        )
        .unwrap_err();
    assert_eq!(err.code, 2);
    assert!(err.message.contains("model_provider"), "{}", err.message);
    let err = World::default()
        .file("/home/u/.codex/config.toml", "profile = \"default\"\n")
        .plan(
            &codex::TARGET,
            &p,
            "codex",
            &[],
            Credential::Token(&token(3600)),
        )
        .unwrap_err();
    assert_eq!(err.code, 2);
    assert!(
        err.hint
            .unwrap()
            .contains(&under("/home/u", ".codex/default.config.toml"))
    );
    let err = World::default()
        .var("CODEX_HOME", "/cx")
        .file("/cx/config.toml", "profile = \"w\"\n")
        .plan(
            &codex::TARGET,
            &p,
            "codex",
            &[],
            Credential::Token(&token(3600)),
        )
        .unwrap_err();
    assert!(
        err.message.contains(&under("/cx", "config.toml")),
        "CODEX_HOME is honoured"
    );
    let ok = World::default()
        .file(
            "/home/u/.codex/config.toml",
            "model_provider = \"openai\"\n[profiles.old]\nmodel = \"o3\"\n",
        )
        .plan(
            &codex::TARGET,
            &p,
            "codex",
            &[],
            Credential::Token(&token(3600)),
        )
        .unwrap();
    assert!(
        ok.notes.iter().any(|n| n.contains("legacy `[profiles.*]`")),
        "{:?}",
        ok.notes
    );
}

// ------------------------------------------------------------------------- databricks --

#[test]
fn the_databricks_clients_ask_gws_endpoint_and_other_auth_is_removed() {
    let w = World::default()
        .var("DATABRICKS_AUTH_TYPE", "oauth-m2m")
        .var("DATABRICKS_CLIENT_ID", "sp")
        .var("DATABRICKS_CLIENT_SECRET", "dose-secret")
        .var("ARM_CLIENT_SECRET", "arm")
        .var("DATABRICKS_AZURE_RESOURCE_ID", "/sub/x")
        .var("DATABRICKS_CONFIG_PROFILE", "old")
        .var("DATABRICKS_CLUSTER_ID", "0123-kept");
    let e = endpoint();
    let plan = w
        .plan(
            &databricks::TARGET,
            &profile(""),
            "python3",
            &["job.py"],
            Credential::Endpoint(&e),
        )
        .unwrap();
    let env = &plan.env;
    assert_eq!(env.get("DATABRICKS_AUTH_TYPE"), Some("metadata-service"));
    assert_eq!(
        env.get("DATABRICKS_METADATA_SERVICE_URL"),
        Some("http://127.0.0.1:4242/k/key-9c1e/metadata")
    );
    assert_eq!(env.get("DATABRICKS_HOST"), Some("https://h.example"));
    assert_eq!(env.get("DATABRICKS_TOKEN"), None);
    for gone in [
        "DATABRICKS_TOKEN",
        "DATABRICKS_CLIENT_ID",
        "DATABRICKS_CLIENT_SECRET",
        "ARM_CLIENT_SECRET",
        "DATABRICKS_AZURE_RESOURCE_ID",
        "DATABRICKS_CONFIG_PROFILE",
        "DATABRICKS_CONFIG_FILE",
    ] {
        assert!(env.remove.iter().any(|r| r == gone), "{gone}");
    }
    assert!(!env.remove.iter().any(|r| r == "DATABRICKS_CLUSTER_ID"));
    let notes = plan.notes.join("\n");
    for said in [
        "DATABRICKS_CLIENT_SECRET",
        "ARM_CLIENT_SECRET",
        "DATABRICKS_CONFIG_PROFILE",
        "replacing the inherited DATABRICKS_AUTH_TYPE",
    ] {
        assert!(notes.contains(said), "{said}: {notes}");
    }
    assert!(!notes.contains("dose-secret"));
    assert!(
        !format!("{plan:?}").contains("key-9c1e"),
        "the key is a secret"
    );

    let one = w
        .plan(
            &databricks::TARGET,
            &profile(""),
            "python3",
            &[],
            Credential::Token(&token(3600)),
        )
        .unwrap();
    assert_eq!(one.env.get("DATABRICKS_AUTH_TYPE"), Some("pat"));
    assert_eq!(one.env.get("DATABRICKS_TOKEN"), Some("canary-7f3a"));
}

// ----------------------------------------------------------------------------- shells --

#[test]
fn shell_quoting_for_each_shell() {
    use shell::*;
    assert_eq!(quote_sh("a b'c"), r"'a b'\''c'");
    assert_eq!(quote_fish(r"a\b'c"), r"'a\\b\'c'");
    assert_eq!(quote_powershell("a'b$c"), "'a''b$c'");
    // A value with a newline stays one line: each line of `gw env` is its own statement.
    let q = quote_powershell("line1\nline2 $HOME `x` \"q\"\u{7}");
    assert!(!q.contains('\n'), "{q}");
    assert_eq!(q, "\"line1`nline2 `$HOME ``x`` `\"q`\"`u{7}\"");
    let mut env = ChildEnv::default();
    env.set("A", "x y");
    env.remove.push("B".into());
    assert_eq!(render(&env, ShellKind::Sh), "unset B\nexport A='x y'\n");
    assert_eq!(render(&env, ShellKind::Fish), "set -e B\nset -gx A 'x y'\n");
    assert_eq!(
        render(&env, ShellKind::Powershell),
        "Remove-Item Env:B -ErrorAction SilentlyContinue\n$env:A = 'x y'\n"
    );
    assert_eq!(
        render(&env, ShellKind::Json),
        "{\"A\":\"x y\",\"B\":null}\n"
    );
}
