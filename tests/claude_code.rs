//! `gw claude` with the REAL Claude Code CLI (npm `@anthropic-ai/claude-code`, pinned in
//! tests/agents, installed by `.ci/run`) against the fake workspace's Anthropic Messages stub.
//! Claude Code runs offline: temp HOME, no non-essential traffic, stdin closed.

mod support;

use std::path::PathBuf;

use support::{Sandbox, Servers};

fn claude_bin() -> PathBuf {
    let bin = support::repo().join("tests/agents/node_modules/.bin/claude");
    assert!(
        bin.exists(),
        "Claude Code is not installed for the tests: run `npm install` in tests/agents (or `.ci/run`)"
    );
    bin
}

fn sandbox(servers: &Servers, extra_profile: &str) -> Sandbox {
    let mut sb = Sandbox::new(
        &servers
            .config(extra_profile, "")
            .replace("databricks-claude-test", "databricks-claude-opus-4-8"),
    );
    sb.set("GW_CLAUDE_BIN", &claude_bin().display().to_string());
    sb.set("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1");
    sb.set("CLAUDE_CODE_MAX_RETRIES", "3");
    sb
}

fn digest(path: &std::path::Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

#[test]
fn claude_db_reaches_the_gateway_as_the_signed_in_user_and_leaves_user_settings_alone() {
    let servers = Servers::start(&[]);
    let mut sb = sandbox(&servers, "");
    let settings = sb.path("home/.claude/settings.json");
    std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
    std::fs::write(&settings, "{\n  \"theme\": \"dark\"\n}\n").unwrap();
    let before = digest(&settings);
    sb.set("ANTHROPIC_API_KEY", "sk-ant-should-not-pass");
    sb.gw(&["login"]).ok();
    let token = sb.gw(&["token"]).ok().stdout.trim().to_owned();

    let out = sb.gw(&["claude", "-p", "say hi"]).ok();
    assert!(
        out.stdout
            .contains("STUB-REPLY model=databricks-claude-opus-4-8"),
        "stdout: {}\nstderr: {}",
        out.stdout,
        out.stderr
    );
    assert!(
        out.stderr.contains("not passing ANTHROPIC_API_KEY"),
        "{}",
        out.stderr
    );
    let msgs = servers.messages();
    assert!(!msgs.is_empty());
    for m in &msgs {
        assert_eq!(m["status"], 200, "{m}");
        assert_eq!(
            m["headers"]["authorization"],
            format!("Bearer {token}"),
            "the exchanged token, from the helper"
        );
        assert_eq!(m["headers"]["x-databricks-use-coding-agent-mode"], "true");
        assert!(
            m["path"]
                .as_str()
                .unwrap()
                .starts_with("/serving-endpoints/anthropic/v1/messages"),
            "{m}"
        );
        assert!(
            m["model"]
                .as_str()
                .unwrap()
                .starts_with("databricks-claude-opus-4-8"),
            "{m}"
        );
    }
    assert_eq!(
        digest(&settings),
        before,
        "~/.claude/settings.json is byte-for-byte unchanged"
    );
}

#[test]
fn the_ai_gateway_route_works_alongside_a_users_own_settings() {
    let servers = Servers::start(&[]);
    let sb = sandbox(&servers, "gateway = \"ai-gateway\"");
    sb.gw(&["login"]).ok();
    let out = sb
        .gw(&[
            "claude",
            "--settings",
            r#"{"permissions":{"deny":["Bash(rm:*)"]}}"#,
            "-p",
            "say hi",
        ])
        .ok();
    assert!(
        out.stdout.contains("STUB-REPLY"),
        "stdout: {}\nstderr: {}",
        out.stdout,
        out.stderr
    );
    let msgs = servers.messages();
    assert!(
        msgs.iter().all(|m| m["path"]
            .as_str()
            .unwrap()
            .starts_with("/ai-gateway/anthropic/")),
        "{msgs:?}"
    );
}

#[test]
fn a_long_session_gets_a_fresh_token_mid_session_through_the_helper() {
    // Databricks tokens of 4 s: the tool call below outlives the first one.
    let servers = Servers::start(&[("WS_TOKEN_TTL", "4")]);
    let sb = sandbox(&servers, "");
    sb.gw(&["login"]).ok();
    servers.reset_stats();
    let out = sb
        .gw(&[
            "claude",
            "--allowedTools",
            "Bash(sleep:*)",
            "-p",
            "go [[stub-bash: sleep 5]]",
        ])
        .ok();
    assert!(
        out.stdout.contains("STUB-REPLY"),
        "stdout: {}\nstderr: {}",
        out.stdout,
        out.stderr
    );
    let msgs = servers.messages();
    let ok_tokens: Vec<&str> = msgs
        .iter()
        .filter(|m| m["status"] == 200)
        .map(|m| m["token"].as_str().unwrap())
        .collect();
    let mut distinct = ok_tokens.clone();
    distinct.dedup();
    assert!(
        distinct.len() >= 2,
        "a later request carried a fresh token: {msgs:#?}"
    );
    assert!(
        servers.idp_stats()["token_refresh_token"].as_u64().unwrap() >= 1,
        "obtained by a silent refresh"
    );
    assert_eq!(
        servers.idp_stats()["authorize"],
        0,
        "no browser in the middle of the session"
    );
}

#[test]
fn the_helper_never_shows_a_device_code_prompt() {
    let servers = Servers::start(&[]);
    let mut sb = Sandbox::new(&servers.config("", ""));
    sb.unset("BROWSER");
    sb.set("SSH_CONNECTION", "10.0.0.1 5000 10.0.0.2 22");
    let out = sb.gw(&["token", "--for", "claude"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        !out.stderr.contains("user_code") && !out.stderr.contains("enter the code"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("hint: run `gw login`"),
        "{}",
        out.stderr
    );
    assert_eq!(servers.idp_stats()["device_authorization"], 0);
}

#[test]
fn a_missing_claude_is_one_line_with_the_install_command_and_no_sign_in() {
    let servers = Servers::start(&[]);
    let mut sb = Sandbox::new(&servers.config("", ""));
    sb.set("GW_CLAUDE_BIN", "/nonexistent/claude");
    let out = sb.gw(&["claude", "-p", "x"]);
    assert_eq!(out.code, 1);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].contains("/nonexistent/claude"), "{lines:?}");
    assert!(
        lines[1].contains("npm install -g @anthropic-ai/claude-code"),
        "{lines:?}"
    );
    assert_eq!(servers.idp_stats()["authorize"], 0);
}

#[test]
fn a_nested_gw_reuses_the_session_of_its_parent() {
    let servers = Servers::start(&[]);
    let sb = Sandbox::new(&servers.config("", ""));
    let gw = env!("CARGO_BIN_EXE_gw");
    let out = sb
        .gw(&[
            "exec",
            "--",
            "sh",
            "-c",
            &format!(
                "echo outer=$DATABRICKS_TOKEN; '{gw}' exec -- sh -c 'echo inner=$DATABRICKS_TOKEN'"
            ),
        ])
        .ok();
    let outer = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("outer="))
        .unwrap();
    let inner = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("inner="))
        .unwrap();
    assert_eq!(outer, inner);
    assert_eq!(servers.idp_stats()["authorize"], 1, "one sign-in for both");
}

#[test]
fn gw_env_round_trips_through_each_shell() {
    let servers = Servers::start(&[]);
    let mut sb = Sandbox::new(&servers.config("", ""));
    let weird = sb.path("dir with 'quotes' and \"double\" $HOME \\ back");
    std::fs::create_dir_all(&weird).unwrap();
    let cfg = weird.join("config.toml");
    std::fs::copy(sb.path("config.toml"), &cfg).unwrap();
    sb.set("GW_CONFIG", &cfg.display().to_string());
    sb.gw(&["login"]).ok();
    let token = sb.gw(&["token"]).ok().stdout.trim().to_owned();
    let expect = format!("{}|{token}|test", cfg.display());

    let sh = sb.gw(&["env", "--shell", "sh"]).ok().stdout;
    let script = sb.path("env.sh");
    std::fs::write(&script, &sh).unwrap();
    let got = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            ". '{}'; printf '%s|%s|%s' \"$GW_CONFIG\" \"$DATABRICKS_TOKEN\" \"$GW_EXEC_PROFILE\"",
            script.display()
        ))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&got.stdout), expect, "sh");

    let fish = sb.gw(&["env", "--shell", "fish"]).ok().stdout;
    let script = sb.path("env.fish");
    std::fs::write(&script, &fish).unwrap();
    let got = std::process::Command::new("fish")
        .env("HOME", sb.path("home"))
        .arg("-c")
        .arg(format!("source '{}'; printf '%s|%s|%s' \"$GW_CONFIG\" \"$DATABRICKS_TOKEN\" \"$GW_EXEC_PROFILE\"", script.display()))
        .output()
        .expect("fish (Debian package fish, installed by .ci/run)");
    assert_eq!(
        String::from_utf8_lossy(&got.stdout),
        expect,
        "fish: {}",
        String::from_utf8_lossy(&got.stderr)
    );

    let json: serde_json::Value = serde_json::from_str(
        &sb.gw(&["env", "--shell", "json", "--target", "claude"])
            .ok()
            .stdout,
    )
    .unwrap();
    assert_eq!(json["GW_CONFIG"], cfg.display().to_string());
    assert!(
        json["DATABRICKS_TOKEN"].is_null(),
        "claude's env removes it"
    );
    assert_eq!(
        json["ANTHROPIC_BASE_URL"],
        format!("{}/serving-endpoints/anthropic", servers.workspace)
    );
}

/// The Claude Code IDE extensions run `<process wrapper> <their bundled claude> <args…>`
/// without a shell and speak JSON over stdin/stdout; `claude-db` (a link to gw) as the wrapper
/// must run that binary wired to the gateway, with stdio untouched. A recorder stands in for
/// the extension's Claude Code.
#[cfg(unix)]
#[test]
fn claude_db_works_as_the_ide_extensions_process_wrapper() {
    use std::io::Write;
    let servers = Servers::start(&[]);
    let sb = sandbox(&servers, "");
    sb.gw(&["login"]).ok();
    let bundled = sb.path("ext/resources/native-binary/claude");
    std::fs::create_dir_all(bundled.parent().unwrap()).unwrap();
    let record = sb.path("recorded.txt");
    std::fs::write(
        &bundled,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{rec}'\necho \"BASE=$ANTHROPIC_BASE_URL\" >> '{rec}'\necho \"ENTRY=$CLAUDE_CODE_ENTRYPOINT\" >> '{rec}'\nread line\necho \"echo:$line\"\n",
            rec = record.display()
        ),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&bundled, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let wrapper = sb.path("bin/claude-db");
    std::fs::create_dir_all(wrapper.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_gw"), &wrapper).unwrap();
    let mut cmd = std::process::Command::new(&wrapper);
    cmd.args([
        bundled.to_str().unwrap(),
        "--output-format",
        "stream-json",
        "--verbose",
        "--input-format",
        "stream-json",
    ])
    .env_clear()
    .envs(sb.env.iter().map(|(k, v)| (k, v)))
    .env("CLAUDE_CODE_ENTRYPOINT", "claude-vscode")
    .env_remove("GW_CLAUDE_BIN")
    .current_dir(sb.path(""))
    .stdin(std::process::Stdio::piped())
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"{\"type\":\"user\"}\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "echo:{\"type\":\"user\"}\n",
        "stdout is the bundled claude's alone, stdin reaches it"
    );
    let rec = std::fs::read_to_string(&record).unwrap();
    let lines: Vec<&str> = rec.lines().collect();
    assert_eq!(lines[0], "--settings", "{rec}");
    let settings: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
    assert!(
        settings["apiKeyHelper"]
            .as_str()
            .unwrap()
            .contains("token --profile test --for claude"),
        "{settings}"
    );
    assert_eq!(
        &lines[2..7],
        [
            "--output-format",
            "stream-json",
            "--verbose",
            "--input-format",
            "stream-json"
        ]
    );
    assert!(
        rec.contains(&format!(
            "BASE={}/serving-endpoints/anthropic",
            servers.workspace
        )),
        "{rec}"
    );
    assert!(
        rec.contains("ENTRY=claude-vscode"),
        "the extension's variables pass: {rec}"
    );
}
