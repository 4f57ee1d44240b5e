//! The whole flow with the built binary against the real test IdP (oidc-provider) and the
//! fake workspace that verifies ID tokens against the IdP's keys.

mod support;

use support::{Sandbox, Servers};

#[test]
fn login_then_token_then_exec_then_a_warm_token_costs_no_request() {
    let servers = Servers::start(&[]);
    let sb = Sandbox::new(&servers.config("", ""));

    let login = sb.gw(&["login"]).ok();
    assert!(
        login.stderr.contains("as alice@example.com"),
        "{}",
        login.stderr
    );
    assert!(
        login.stdout.is_empty(),
        "login writes nothing to stdout: {}",
        login.stdout
    );
    let idp = servers.idp_stats();
    assert_eq!(idp["token_authorization_code"], 1);

    let token = sb.gw(&["token"]).ok();
    let tok = token
        .stdout
        .strip_suffix('\n')
        .expect("one trailing newline");
    assert!(!tok.contains('\n') && tok.starts_with("dbx_"), "{tok:?}");
    assert!(
        servers.workspace_accepts(tok),
        "the workspace accepts the printed token"
    );

    let exec = sb.gw(&["exec", "--", "env"]).ok();
    let env: Vec<&str> = exec.stdout.lines().collect();
    assert!(
        env.contains(&format!("DATABRICKS_TOKEN={tok}").as_str()),
        "{env:?}"
    );
    assert!(env.contains(&format!("DATABRICKS_HOST={}", servers.workspace).as_str()));
    assert!(env.contains(&"GW_EXEC_PROFILE=test"));
    assert!(env.contains(&"GW_TOKEN_STORE=file"));
    assert!(env.contains(&format!("GW_CONFIG={}", sb.path("config.toml").display()).as_str()));

    servers.reset_stats();
    let again = sb.gw(&["token"]).ok();
    assert_eq!(again.stdout, token.stdout, "same cached token");
    let idp = servers.idp_stats();
    let ws = servers.ws_stats();
    for (k, v) in idp.as_object().unwrap() {
        assert_eq!(v, 0, "warm path made an IdP request: {k}");
    }
    assert_eq!(ws["exchange"], 0, "warm path made an exchange");
}

#[test]
fn token_json_check_and_min_ttl() {
    let servers = Servers::start(&[]);
    let sb = Sandbox::new(&servers.config("", ""));
    assert_eq!(sb.gw(&["token", "--check"]).code, 1, "nothing cached yet");
    let out = sb.gw(&["token", "--json"]).ok();
    let v: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert!(v["token"].as_str().unwrap().starts_with("dbx_"));
    assert_eq!(v["token_type"], "Bearer");
    let expires_in = v["expires_in"].as_u64().unwrap();
    assert!((3500..=3600).contains(&expires_in), "{expires_in}");
    assert!(v["expires_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(sb.gw(&["token", "--check"]).code, 0);
    assert_eq!(sb.gw(&["token", "--check", "--min-ttl", "7200"]).code, 1);
    servers.reset_stats();
    assert_eq!(sb.gw(&["token", "--check", "--min-ttl", "7200"]).code, 1);
    assert_eq!(
        servers.ws_stats()["exchange"],
        0,
        "--check never touches the network"
    );
}

#[test]
fn no_login_exits_3_with_a_hint_and_starts_nothing() {
    let servers = Servers::start(&[]);
    let sb = Sandbox::new(&servers.config("", ""));
    let out = sb.gw(&["token", "--no-login"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stdout.is_empty());
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert!(lines[0].starts_with("error: "), "{lines:?}");
    assert!(
        lines[1].starts_with("hint: ") && lines[1].contains("gw login"),
        "{lines:?}"
    );
    assert_eq!(servers.idp_stats()["authorize"], 0);
}

#[test]
fn a_refused_exchange_and_an_html_502_read_as_one_line_each_and_keep_the_sign_in() {
    let servers = Servers::start(&[]);
    let sb = Sandbox::new(&servers.config("", ""));
    servers.post(
        &format!("{}/__fail_mode", servers.workspace),
        r#"{"mode":"html502"}"#,
    );
    let out = sb.gw(&["login"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("HTTP 502 with a non-JSON body (text/html)"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("<html>") && !out.stderr.contains("expected value"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.lines().any(|l| l.starts_with("hint: ")),
        "{}",
        out.stderr
    );

    servers.post(
        &format!("{}/__fail_mode", servers.workspace),
        r#"{"mode":"policy403"}"#,
    );
    let out = sb.gw(&["token"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("HTTP 403") && out.stderr.contains("federation policy"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&format!("issuer `{}`", servers.issuer)),
        "the hint names the issuer: {}",
        out.stderr
    );
    assert_eq!(
        servers.idp_stats()["token_authorization_code"],
        1,
        "the second try reused the saved sign-in"
    );

    servers.post(
        &format!("{}/__fail_mode", servers.workspace),
        r#"{"mode":null}"#,
    );
    sb.gw(&["token"]).ok();
    assert_eq!(
        servers.idp_stats()["token_authorization_code"],
        1,
        "no second browser sign-in"
    );
}

#[test]
fn status_and_logout() {
    let servers = Servers::start(&[]);
    let sb = Sandbox::new(&servers.config("", ""));
    let before: serde_json::Value =
        serde_json::from_str(&sb.gw(&["status", "--json"]).ok().stdout).unwrap();
    assert_eq!(before["profile"], "test");
    assert!(
        before["identity"].is_null() && before["store"].is_null() && before["expires_at"].is_null()
    );
    sb.gw(&["login"]).ok();
    let after: serde_json::Value =
        serde_json::from_str(&sb.gw(&["status", "--json"]).ok().stdout).unwrap();
    assert_eq!(after["identity"], "alice@example.com");
    assert_eq!(after["store"], "file");
    assert!(
        after["store_detail"]
            .as_str()
            .unwrap()
            .contains(&sb.token_dir().display().to_string())
    );
    assert!(after["expires_at"].as_str().unwrap().ends_with('Z'));
    let text = sb.gw(&["status"]).ok().stdout;
    assert!(
        text.contains("alice@example.com") && text.contains("store:"),
        "{text}"
    );

    let out = sb.gw(&["logout"]).ok();
    assert!(out.stderr.contains("Signed out"), "{}", out.stderr);
    let files: Vec<_> = std::fs::read_dir(sb.token_dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().into_string().unwrap())
        .collect();
    assert!(
        files.iter().all(|f| f.ends_with(".lock")),
        "only lock files remain: {files:?}"
    );
    assert_eq!(sb.gw(&["token", "--check"]).code, 1);
}

#[cfg(unix)]
#[test]
fn files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let servers = Servers::start(&[]);
    let sb = Sandbox::new(&servers.config("", ""));
    sb.gw(&["login"]).ok();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&sb.token_dir()), 0o700);
    for e in std::fs::read_dir(sb.token_dir()).unwrap().flatten() {
        assert_eq!(mode(&e.path()), 0o600, "{}", e.path().display());
    }
}

#[test]
fn no_secret_reaches_stderr_stdout_argv_or_non_token_files_even_at_vv() {
    let servers = Servers::start(&[]);
    let sb = Sandbox::new(&servers.config("", ""));
    let login = sb.gw(&["-vv", "login"]).ok();
    let token = sb.gw(&["-vv", "token"]).ok();
    let status = sb.gw(&["-vv", "status", "--json"]).ok();
    let exec = sb.gw(&["-vv", "exec", "--", "true"]).ok();
    let doctor = sb.gw(&["-vv", "doctor"]);
    sb.expire_token();
    let refresh = sb.gw(&["-vv", "token"]).ok();
    let secrets = servers.secrets();
    assert!(
        secrets.len() >= 5,
        "code, verifier, id/access/refresh tokens, subject token: {}",
        secrets.len()
    );
    let printed_token = token.stdout.trim();
    let texts = [
        ("login stderr", &login.stderr),
        ("login stdout", &login.stdout),
        ("token stderr", &token.stderr),
        ("status", &status.stdout),
        ("status stderr", &status.stderr),
        ("exec stderr", &exec.stderr),
        ("exec stdout", &exec.stdout),
        ("doctor", &doctor.stdout),
        ("doctor stderr", &doctor.stderr),
        ("refresh stderr", &refresh.stderr),
    ];
    for s in &secrets {
        for (name, text) in &texts {
            assert!(!text.contains(s.as_str()), "{name} leaks a secret");
        }
        if s != printed_token {
            assert!(
                !token.stdout.contains(s.as_str()),
                "gw token prints only its own token"
            );
        }
        if s != refresh.stdout.trim() {
            assert!(!refresh.stdout.contains(s.as_str()), "only its own token");
        }
    }
    for (path, bytes) in sb.home_files() {
        let in_token_store =
            path.starts_with(sb.token_dir()) && path.extension().is_some_and(|e| e == "json");
        if in_token_store {
            continue;
        }
        let text = String::from_utf8_lossy(&bytes);
        for s in &secrets {
            assert!(
                !text.contains(s.as_str()),
                "{} holds a secret",
                path.display()
            );
        }
    }
}

#[test]
fn state_and_nonce_are_fresh_for_every_sign_in() {
    let servers = Servers::start(&[]);
    let sb = Sandbox::new(&servers.config("", ""));
    let param = |text: &str, name: &str| {
        let url = text
            .lines()
            .find(|l| l.contains("/auth?"))
            .expect("the URL is printed")
            .trim()
            .to_owned();
        url::Url::parse(&url)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap()
    };
    let a = sb.gw(&["login"]).ok().stderr;
    let b = sb.gw(&["login"]).ok().stderr;
    for name in ["state", "nonce", "code_challenge"] {
        assert_ne!(
            param(&a, name),
            param(&b, name),
            "{name} is new for each sign-in"
        );
        assert!(
            param(&a, name).len() >= 22,
            "{name} carries at least 128 bits"
        );
    }
    assert_eq!(param(&a, "code_challenge_method"), "S256");
}

#[test]
fn logout_all_signs_out_of_every_profile() {
    let servers = Servers::start(&[]);
    let two = format!(
        "{}\n{}",
        servers.config("", ""),
        servers
            .config("", "")
            .replace("profiles.test", "profiles.second")
    );
    let sb = Sandbox::new(&format!("default_profile = \"test\"\n{two}"));
    sb.gw(&["login"]).ok();
    sb.gw(&["--profile", "second", "login"]).ok();
    let records = |sb: &Sandbox| {
        std::fs::read_dir(sb.token_dir())
            .unwrap()
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .count()
    };
    assert_eq!(records(&sb), 2);
    let out = sb.gw(&["logout", "--all"]).ok();
    assert_eq!(
        out.stderr.matches("Signed out of profile").count(),
        2,
        "{}",
        out.stderr
    );
    assert_eq!(records(&sb), 0);
}

#[test]
fn usage_shows_only_the_signed_in_users_requests_per_model() {
    let servers = Servers::start(&[]);
    let sb = Sandbox::new(&servers.config("warehouse_id = \"wh-test\"", ""));
    sb.gw(&["login"]).ok();

    // The fake's seed: alice has 2 claude-code requests (1000+200, 3000+800) in the last day
    // and one on another endpoint 30 h ago; bob and admin have their own.
    let day = sb.gw(&["usage", "--since", "24h", "--json"]).ok();
    let doc: serde_json::Value = serde_json::from_str(&day.stdout).unwrap();
    let rows = doc["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{doc}");
    assert_eq!(rows[0]["key"], "claude-code");
    assert_eq!(rows[0]["requests"], 2);
    assert_eq!(rows[0]["input_tokens"], 4000);
    assert_eq!(rows[0]["output_tokens"], 1000);

    let week = sb.gw(&["usage"]).ok();
    assert!(week.stdout.contains("per model"), "{}", week.stdout);
    assert!(
        week.stdout.contains("claude-code") && week.stdout.contains("databricks-claude-sonnet-4-5"),
        "{}",
        week.stdout
    );
    assert!(
        !week.stdout.contains("bob") && !week.stdout.contains("admin@"),
        "{}",
        week.stdout
    );

    // A warehouse that does not exist: one line, a hint, exit 1.
    let bad = sb.gw(&["usage", "--warehouse-id", "nope"]);
    assert_eq!(bad.code, 1, "{}", bad.stderr);
    assert!(
        bad.stderr.contains("`nope`") && bad.stderr.contains("hint:"),
        "{}",
        bad.stderr
    );

    // No warehouse at all: a config error before any request.
    let sb2 = Sandbox::new(&servers.config("", ""));
    let none = sb2.gw(&["usage"]);
    assert_eq!(none.code, 2, "{}", none.stderr);
    assert!(none.stderr.contains("--warehouse-id"), "{}", none.stderr);
}
