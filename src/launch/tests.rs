use std::ffi::OsString;
use std::path::Path;

use serde_json::json;

use super::*;
use crate::cli::Target;

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

fn origin() -> Origin<'static> {
    Origin {
        config_path: Path::new("/c.toml"),
        store: "file",
        gw_exe: Path::new("/opt/my tools/gw"),
    }
}

fn none(_: &str) -> Option<String> {
    None
}

#[test]
fn generic_target_gets_host_token_and_the_session_markers() {
    let (env, notes) = target_env(
        Target::Generic,
        &profile(""),
        &token(3600),
        &origin(),
        &none,
    )
    .unwrap();
    assert_eq!(env.get("DATABRICKS_HOST"), Some("https://h.example"));
    assert_eq!(env.get("DATABRICKS_TOKEN"), Some("canary-7f3a"));
    assert_eq!(env.get("GW_EXEC_PROFILE"), Some("p"));
    assert_eq!(env.get("GW_CONFIG"), Some("/c.toml"));
    assert_eq!(env.get("GW_TOKEN_STORE"), Some("file"));
    assert!(notes.is_empty());
    assert!(
        !format!("{env:?}").contains("canary-7f3a"),
        "Debug must not show the token"
    );
}

#[test]
fn claude_target_points_at_the_gateway_without_a_token_in_its_environment() {
    let (env, _) =
        target_env(Target::Claude, &profile(""), &token(3600), &origin(), &none).unwrap();
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
    assert!(env.get("ANTHROPIC_AUTH_TOKEN").is_none() && env.get("ANTHROPIC_API_KEY").is_none());
    for v in [
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "CLAUDE_CODE_USE_BEDROCK",
        "CLAUDE_CODE_USE_VERTEX",
        "DATABRICKS_TOKEN",
    ] {
        assert!(env.remove.contains(&v), "{v} is removed");
    }
    assert!(!format!("{env:?}").contains("canary-7f3a"));
}

#[test]
fn claude_models_per_family_and_the_ai_gateway_route() {
    let p = profile("gateway = \"ai-gateway\"\nmodels = { opus = \"o\", haiku = \"h\" }");
    let (env, _) = target_env(Target::Claude, &p, &token(3600), &origin(), &none).unwrap();
    assert_eq!(
        env.get("ANTHROPIC_BASE_URL"),
        Some("https://h.example/ai-gateway/anthropic")
    );
    assert_eq!(
        (
            env.get("ANTHROPIC_DEFAULT_OPUS_MODEL"),
            env.get("ANTHROPIC_DEFAULT_SONNET_MODEL"),
            env.get("ANTHROPIC_DEFAULT_HAIKU_MODEL")
        ),
        (Some("o"), Some("m-all"), Some("h"))
    );
}

#[test]
fn claude_without_a_model_is_a_config_error() {
    let text = "[profiles.p]\ndatabricks_host = \"https://h\"\n[profiles.p.idp]\nkind = \"oidc\"\nissuer = \"https://i\"\nclient_id = \"c\"\n";
    let p = crate::config::Config::parse(text, Path::new("c.toml"))
        .unwrap()
        .profiles["p"]
        .clone();
    let err = target_env(Target::Claude, &p, &token(3600), &origin(), &none).unwrap_err();
    assert_eq!(err.code, 2);
    assert!(err.hint.unwrap().contains("model"));
}

#[test]
fn inherited_variables_that_outrank_the_helper_are_noted_and_headers_kept() {
    let inherited = |k: &str| match k {
        "ANTHROPIC_API_KEY" | "CLAUDE_CODE_USE_BEDROCK" => Some("x".to_owned()),
        "ANTHROPIC_CUSTOM_HEADERS" => Some("x-team: a".to_owned()),
        _ => None,
    };
    let (env, notes) = target_env(
        Target::Claude,
        &profile(""),
        &token(3600),
        &origin(),
        &inherited,
    )
    .unwrap();
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(notes.iter().any(|n| n.contains("ANTHROPIC_API_KEY")));
    assert_eq!(
        env.get("ANTHROPIC_CUSTOM_HEADERS"),
        Some("x-team: a\nx-databricks-use-coding-agent-mode: true")
    );
}

#[test]
fn the_helper_ttl_scales_with_the_token_lifetime() {
    use claude::{helper_min_ttl, helper_ttl};
    assert_eq!(helper_ttl(3600), 900);
    assert_eq!(helper_ttl(300), 75);
    assert_eq!(helper_ttl(30), 7);
    assert_eq!(helper_ttl(86400), 900, "at most 15 min");
    assert_eq!(helper_ttl(2), 1, "at least 1 s");
    for l in [4, 30, 300, 3600] {
        assert!(
            helper_min_ttl(l) > helper_ttl(l),
            "a token outlives the helper interval"
        );
        assert!(helper_min_ttl(l) < l, "and a fresh one qualifies");
    }
}

fn settings_of(args: &[OsString]) -> serde_json::Value {
    assert_eq!(args[0], "--settings");
    serde_json::from_str(&args[1].to_string_lossy()).unwrap()
}

#[test]
fn claude_args_carry_one_merged_settings_with_the_quoted_helper() {
    let a = claude::args(
        vec!["-p".into(), "hi".into()],
        &profile(""),
        &token(3600),
        &origin(),
    )
    .unwrap();
    let s = settings_of(&a);
    assert_eq!(
        s["apiKeyHelper"],
        "'/opt/my tools/gw' token --profile p --for claude"
    );
    assert_eq!(s["permissions"]["deny"], json!(["WebSearch"]));
    assert_eq!(&a[2..], &[OsString::from("-p"), OsString::from("hi")]);

    let user = r#"{"model":"x","apiKeyHelper":"other","permissions":{"deny":["Bash(rm:*)"],"allow":["Read"]}}"#;
    let a = claude::args(
        vec!["--settings".into(), user.into(), "-p".into(), "q".into()],
        &profile(""),
        &token(3600),
        &origin(),
    )
    .unwrap();
    let s = settings_of(&a);
    assert_eq!(s["model"], "x", "the user's keys are kept");
    assert_eq!(s["permissions"]["allow"], json!(["Read"]));
    assert_eq!(s["permissions"]["deny"], json!(["Bash(rm:*)", "WebSearch"]));
    assert!(
        s["apiKeyHelper"].as_str().unwrap().contains("--for claude"),
        "gw's helper wins"
    );
    assert_eq!(a.iter().filter(|x| *x == "--settings").count(), 1);
    assert_eq!(&a[2..], &[OsString::from("-p"), OsString::from("q")]);

    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("s.json");
    std::fs::write(&f, r#"{"env":{"A":"1"}}"#).unwrap();
    let a = claude::args(
        vec![format!("--settings={}", f.display()).into()],
        &profile(""),
        &token(3600),
        &origin(),
    )
    .unwrap();
    assert_eq!(
        settings_of(&a)["env"]["A"],
        "1",
        "a settings file is merged too"
    );

    let err = claude::args(
        vec!["--settings".into(), "{nope".into()],
        &profile(""),
        &token(3600),
        &origin(),
    )
    .unwrap_err();
    assert_eq!(err.code, 2);
}

#[test]
fn the_helper_command_survives_sh_c() {
    let helper = claude::helper_command(&origin(), &profile(""));
    let out = std::process::Command::new("/bin/sh")
        .args(["-c", &format!("set -- {helper}; printf '%s\\n' \"$@\"")])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "/opt/my tools/gw\ntoken\n--profile\np\n--for\nclaude\n"
    );
    assert_eq!(sh_quote("it's"), r"'it'\''s'");
}

#[test]
fn codex_gets_a_provider_whose_auth_command_is_gw_token() {
    let p = profile("");
    let plan = plan(
        Target::Codex,
        &p,
        &token(3600),
        &origin(),
        "/usr/bin/codex".into(),
        vec!["exec".into(), "hi".into()],
        &none,
    )
    .unwrap();
    let args: Vec<String> = plan
        .args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    assert_eq!(args[0], "-c");
    assert!(
        args[1].starts_with("model_providers.gw-databricks={"),
        "{}",
        args[1]
    );
    assert!(
        args[1].contains("base_url = \"https://h.example/ai-gateway/codex/v1\""),
        "{}",
        args[1]
    );
    assert!(
        args[1].contains("command = \"/opt/my tools/gw\""),
        "{}",
        args[1]
    );
    assert!(
        args[1].contains("args = [\"token\", \"--profile\", \"p\"]"),
        "{}",
        args[1]
    );
    assert_eq!(args[3], "model_provider=\"gw-databricks\"");
    assert_eq!(&args[4..], ["exec", "hi"]);
    assert!(
        plan.env.get("DATABRICKS_TOKEN").is_none(),
        "codex asks gw for tokens itself"
    );
    let other = super::plan(
        Target::Codex,
        &p,
        &token(3600),
        &origin(),
        "/usr/bin/env".into(),
        vec![],
        &none,
    )
    .unwrap();
    assert!(other.args.is_empty(), "only codex itself gets -c overrides");
}

#[test]
fn gemini_gets_the_gateway_and_a_bearer_key_with_a_note_on_its_lifetime() {
    let (env, notes) =
        target_env(Target::Gemini, &profile(""), &token(3600), &origin(), &none).unwrap();
    assert_eq!(
        env.get("GOOGLE_GEMINI_BASE_URL"),
        Some("https://h.example/ai-gateway/gemini")
    );
    assert_eq!(env.get("GEMINI_API_KEY"), Some("canary-7f3a"));
    assert_eq!(env.get("GEMINI_API_KEY_AUTH_MECHANISM"), Some("bearer"));
    assert!(notes.iter().any(|n| n.contains("cannot refresh")));
}

#[test]
fn shell_quoting_for_each_shell() {
    use shell::*;
    assert_eq!(quote_sh("a b'c"), r"'a b'\''c'");
    assert_eq!(quote_fish(r"a\b'c"), r"'a\\b\'c'");
    assert_eq!(quote_powershell("a'b$c"), "'a''b$c'");
    let mut env = ChildEnv::default();
    env.set("A", "x y");
    env.remove.push("B");
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
