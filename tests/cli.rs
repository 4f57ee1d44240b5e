//! The binary's contract that needs no servers: config errors, `config path`, `--version`.

mod support;

use support::Sandbox;

const VALID: &str = r#"
[profiles.p]
databricks_host = "https://adb-1.2.azuredatabricks.net"
[profiles.p.idp]
kind = "oidc"
issuer = "https://idp.example"
client_id = "c"
"#;

#[test]
fn a_config_error_is_exit_2_with_key_file_and_hint_before_anything_else_happens() {
    let sb = Sandbox::new(&VALID.replace(
        "client_id = \"c\"",
        "client_id = \"c\"\nclient_sceret = \"typo\"",
    ));
    for args in [
        &["token"][..],
        &["login"],
        &["status"],
        &["exec", "--", "true"],
        &["logout"],
    ] {
        let out = sb.gw(args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        let lines: Vec<&str> = out.stderr.lines().collect();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(
            lines[0].starts_with("error: invalid config `") && lines[0].contains("client_sceret"),
            "{lines:?}"
        );
        assert!(lines[0].contains(&sb.path("config.toml").display().to_string()));
        assert!(lines[1].starts_with("hint: "));
    }
    assert!(
        !sb.path("home/.local/state/gw").exists(),
        "no store was touched"
    );
    assert!(
        !sb.path("home/.cache/gw").exists(),
        "no network cache was touched"
    );
}

#[test]
fn plain_http_to_a_remote_host_is_a_config_error() {
    let sb = Sandbox::new(&VALID.replace("https://idp.example", "http://idp.example"));
    let out = sb.gw(&["token", "--no-login"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("must use https://"), "{}", out.stderr);
}

#[test]
fn a_missing_config_and_an_unknown_profile_are_exit_2() {
    let mut sb = Sandbox::new(VALID);
    let out = sb.gw(&["--profile", "nope", "token"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("no profile `nope`") && out.stderr.contains("`p`"),
        "{}",
        out.stderr
    );
    sb.set("GW_CONFIG", "/nonexistent/gw.toml");
    let out = sb.gw(&["status"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("gw config init"), "{}", out.stderr);
}

#[test]
fn config_path_follows_flag_env_and_xdg() {
    let mut sb = Sandbox::new(VALID);
    assert_eq!(
        sb.gw(&["config", "path"]).ok().stdout.trim(),
        sb.path("config.toml").display().to_string()
    );
    assert_eq!(
        sb.gw(&["--config", "/x/y.toml", "config", "path"])
            .ok()
            .stdout
            .trim(),
        "/x/y.toml"
    );
    sb.unset("GW_CONFIG");
    assert_eq!(
        sb.gw(&["config", "path"]).ok().stdout.trim(),
        sb.path("home/.config/gw/config.toml").display().to_string()
    );
}

#[test]
fn version_and_usage_errors() {
    let sb = Sandbox::new(VALID);
    let v = sb.gw(&["--version"]).ok();
    assert_eq!(v.stdout.trim(), format!("gw {}", env!("CARGO_PKG_VERSION")));
    assert_eq!(sb.gw(&["token", "--min-ttl", "soon"]).code, 2);
    assert_eq!(sb.gw(&["exec"]).code, 2, "exec needs a command");
}

#[test]
fn config_init_writes_a_valid_config_once_and_replaces_it_only_with_force() {
    let mut sb = Sandbox::new(VALID);
    sb.unset("GW_CONFIG");
    let path = sb.path("home/.config/gw/config.toml");
    let args = [
        "config",
        "init",
        "--host",
        "https://adb-1.2.azuredatabricks.net",
        "--tenant-id",
        "72f988bf-86f1-41af-91ab-2d7cd011db47",
        "--client-id",
        "c1",
        "--model",
        "databricks-claude-opus-4-8",
    ];
    let out = sb.gw(&args).ok();
    assert!(
        out.stderr.contains(&path.display().to_string()),
        "{}",
        out.stderr
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("kind = \"azure\"")
            && text.contains("model = \"databricks-claude-opus-4-8\""),
        "{text}"
    );
    let status = sb.gw(&["status", "--json"]).ok();
    assert!(
        status.stdout.contains("\"profile\":\"default\""),
        "{}",
        status.stdout
    );
    let again = sb.gw(&args);
    assert_eq!(again.code, 1, "never overwrites without --force");
    assert!(again.stderr.contains("--force"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    let mut forced = args.to_vec();
    forced.extend(["--force", "--profile", "work"]);
    sb.gw(&forced).ok();
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .contains("[profiles.work]")
    );
    let bad = sb.gw(&["config", "init", "--force", "--host", "http://example.com"]);
    assert_eq!(
        bad.code, 2,
        "validated before it is written: {}",
        bad.stderr
    );
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .contains("[profiles.work]"),
        "the old file is kept"
    );
    let none = sb.gw(&["config", "init", "--force", "--non-interactive"]);
    assert_eq!(none.code, 2);
    assert!(none.stderr.contains("--host"), "{}", none.stderr);
}

#[test]
fn the_readme_lists_every_environment_variable_gw_declares() {
    let root = support::repo();
    let decls = std::fs::read_to_string(root.join("src/env_vars.rs")).unwrap();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let table = &readme[readme
        .find("## Environment variables")
        .expect("the env var table")..];
    let names: Vec<&str> = decls
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub const "))
        .filter_map(|l| l.split('"').nth(1))
        .collect();
    assert!(names.len() > 20, "parsed the declarations: {names:?}");
    for name in names {
        assert!(
            table.contains(&format!("`{name}`")),
            "README's env var table lacks `{name}`"
        );
    }
}

#[test]
fn config_path_can_name_the_state_and_cache_dirs_for_scripts() {
    let sb = Sandbox::new(VALID);
    assert_eq!(
        sb.gw(&["config", "path", "--state-dir"]).ok().stdout.trim(),
        sb.path("home/.local/state/gw").display().to_string()
    );
    assert_eq!(
        sb.gw(&["config", "path", "--cache-dir"]).ok().stdout.trim(),
        sb.path("home/.cache/gw").display().to_string()
    );
}

#[test]
fn a_relative_config_reaches_children_as_an_absolute_path() {
    let sb = Sandbox::new(VALID);
    let out = sb.gw(&["--config", "config.toml", "config", "path"]).ok();
    assert_eq!(
        out.stdout.trim(),
        sb.path("config.toml").display().to_string(),
        "resolved against the working directory"
    );
}
