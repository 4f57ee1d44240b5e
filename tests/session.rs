//! Sessions that last: silent refresh with rotation, fallbacks to sign-in, device code,
//! headless detection, Databricks U2M, and single flight across processes.

mod support;

use std::process::Command;

use support::{Sandbox, Servers, browse};

fn signed_in(servers: &Servers) -> Sandbox {
    let sb = Sandbox::new(&servers.config("", ""));
    sb.gw(&["login"]).ok();
    servers.reset_stats();
    sb
}

#[test]
fn an_expired_token_is_refreshed_with_one_refresh_grant_and_one_exchange_and_no_browser() {
    let servers = Servers::start(&[]);
    let sb = signed_in(&servers);
    let old = sb.gw(&["token"]).ok().stdout;
    sb.expire_token();
    let new = sb.gw(&["token"]).ok();
    assert_ne!(new.stdout, old);
    assert!(servers.workspace_accepts(new.stdout.trim()));
    let idp = servers.idp_stats();
    assert_eq!(idp["token_refresh_token"], 1);
    assert_eq!(idp["authorize"], 0, "no browser");
    assert_eq!(idp["discovery"], 0, "discovery came from the disk cache");
    assert_eq!(idp["jwks"], 0, "keys came from the disk cache");
    assert_eq!(servers.ws_stats()["exchange"], 1);
    assert!(!new.stderr.contains("Sign in"), "{}", new.stderr);
}

#[test]
fn rotated_refresh_tokens_are_saved_and_the_old_one_is_never_reused() {
    let servers = Servers::start(&[]);
    let sb = signed_in(&servers);
    let mut seen = vec![sb.record()["refresh_token"].as_str().unwrap().to_owned()];
    for _ in 0..3 {
        sb.expire_token();
        sb.gw(&["token"]).ok();
        let rt = sb.record()["refresh_token"].as_str().unwrap().to_owned();
        assert!(
            !seen.contains(&rt),
            "a new refresh token is stored after each refresh"
        );
        seen.push(rt);
    }
    let idp = servers.idp_stats();
    assert_eq!(idp["token_refresh_token"], 3);
    assert_eq!(
        idp["refresh_token_reuse"], 0,
        "a consumed refresh token was sent again"
    );
}

#[test]
fn a_dead_refresh_token_falls_back_to_sign_in_or_exit_3_and_leaves_a_whole_record() {
    let servers = Servers::start(&[]);
    let sb = signed_in(&servers);
    sb.expire_token();
    servers.post(&format!("{}/__revoke_all", servers.issuer), "{}");
    let out = sb.gw(&["token", "--no-login"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr.contains("invalid_grant"),
        "says why: {}",
        out.stderr
    );
    let rec = sb.record();
    assert!(
        rec["refresh_token"].is_null(),
        "the dead refresh token is dropped"
    );
    assert_eq!(
        rec["identity"]["name"], "alice@example.com",
        "the rest of the record is intact"
    );

    let again = sb.gw(&["token"]).ok();
    assert!(servers.workspace_accepts(again.stdout.trim()));
    assert_eq!(servers.idp_stats()["authorize"], 1, "one browser sign-in");
}

#[test]
fn a_refresh_without_an_id_token_falls_back_to_sign_in() {
    let servers = Servers::start(&[("IDP_NO_REFRESH_ID_TOKEN", "1")]);
    let sb = signed_in(&servers);
    sb.expire_token();
    let out = sb.gw(&["token"]).ok();
    assert!(
        out.stderr.contains("no ID token on refresh") && out.stderr.contains("signing in again"),
        "{}",
        out.stderr
    );
    assert_eq!(servers.idp_stats()["authorize"], 1);
    sb.expire_token();
    let out = sb.gw(&["token", "--no-login"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr.contains("no ID token on refresh"),
        "{}",
        out.stderr
    );
}

fn device_login(sb: &Sandbox, args: &[&str]) -> support::Run {
    let mut child = sb.spawn(args);
    let url = child
        .wait_for(|l| l.contains("/device?user_code="))
        .expect("a verification URI");
    assert!(browse(&url, "normal"), "approve the device code");
    child.finish()
}

#[test]
fn device_flow_end_to_end_shows_the_complete_uri_and_user_code() {
    let servers = Servers::start(&[("IDP_DEVICE_INTERVAL", "1")]);
    let sb = Sandbox::new(&servers.config("", ""));
    let out = device_login(&sb, &["login", "--device"]).ok();
    assert!(out.stderr.contains("enter the code: "), "{}", out.stderr);
    assert!(
        out.stderr.contains("as alice@example.com"),
        "{}",
        out.stderr
    );
    let idp = servers.idp_stats();
    assert_eq!(idp["device_authorization"], 1);
    assert_eq!(idp["authorize"], 0, "no browser flow");
    let tok = sb.gw(&["token"]).ok().stdout;
    assert!(servers.workspace_accepts(tok.trim()));
}

#[test]
fn over_ssh_without_browser_gw_picks_the_device_flow_and_says_why() {
    let servers = Servers::start(&[("IDP_DEVICE_INTERVAL", "1")]);
    let mut sb = Sandbox::new(&servers.config("", ""));
    sb.unset("BROWSER");
    sb.set("SSH_CONNECTION", "10.0.0.1 5000 10.0.0.2 22");
    let out = device_login(&sb, &["token"]).ok();
    assert!(
        out.stderr
            .contains("device code sign-in: this is an SSH session"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.trim().starts_with("dbx_"));
    // A set BROWSER always wins.
    let mut sb2 = Sandbox::new(&servers.config("", ""));
    sb2.set("SSH_CONNECTION", "10.0.0.1 5000 10.0.0.2 22");
    sb2.set("DISPLAY", "");
    let out = sb2.gw(&["login"]).ok();
    assert!(!out.stderr.contains("device code"), "{}", out.stderr);
}

#[test]
fn a_denied_device_sign_in_fails_with_a_clear_message() {
    let servers = Servers::start(&[("IDP_DEVICE_INTERVAL", "1")]);
    let sb = Sandbox::new(&servers.config("", ""));
    let mut child = sb.spawn(&["login", "--device"]);
    let url = child
        .wait_for(|l| l.contains("/device?user_code="))
        .expect("a verification URI");
    browse(&url, "deny");
    let out = child.finish();
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("declined"), "{}", out.stderr);
}

#[test]
fn databricks_u2m_signs_in_at_the_workspace_without_an_exchange_and_refreshes() {
    let servers = Servers::start(&[]);
    let config = format!(
        "[profiles.native]\ndatabricks_host = \"{}\"\n[profiles.native.idp]\nkind = \"databricks\"\n",
        servers.workspace
    );
    let sb = Sandbox::new(&config);
    sb.gw(&["login"]).ok();
    let tok = sb.gw(&["token"]).ok().stdout;
    assert!(servers.workspace_accepts(tok.trim()));
    let ws = servers.ws_stats();
    assert_eq!(
        (ws["u2m"].as_u64(), ws["exchange"].as_u64()),
        (Some(1), Some(0))
    );
    sb.expire_token();
    let tok2 = sb.gw(&["token"]).ok().stdout;
    assert_ne!(tok, tok2);
    assert!(servers.workspace_accepts(tok2.trim()));
    assert_eq!(servers.ws_stats()["u2m"], 2, "refreshed at the workspace");
    assert_eq!(
        servers.idp_stats()["authorize"],
        1,
        "one browser sign-in only"
    );
}

fn many(sb: &Sandbox, n: usize) -> Vec<support::Run> {
    let children: Vec<_> = (0..n).map(|_| sb.spawn(&["token"])).collect();
    children.into_iter().map(|c| c.finish()).collect()
}

#[test]
fn thirty_two_processes_with_an_expired_token_cause_one_refresh_and_one_exchange() {
    let servers = Servers::start(&[]);
    let sb = signed_in(&servers);
    sb.expire_token();
    let runs = many(&sb, 32);
    let first = runs[0].stdout.clone();
    for r in &runs {
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(r.stdout, first, "all print the same token");
    }
    assert!(servers.workspace_accepts(first.trim()));
    assert_eq!(servers.idp_stats()["token_refresh_token"], 1);
    assert_eq!(servers.ws_stats()["exchange"], 1);
}

#[test]
fn thirty_two_processes_with_nobody_signed_in_start_exactly_one_sign_in() {
    let servers = Servers::start(&[]);
    let sb = Sandbox::new(&servers.config("", ""));
    let runs = many(&sb, 32);
    let first = runs[0].stdout.clone();
    for r in &runs {
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(r.stdout, first);
    }
    assert_eq!(servers.idp_stats()["authorize"], 1);
    assert_eq!(servers.ws_stats()["exchange"], 1);
}

#[test]
fn a_lock_holder_killed_mid_sign_in_does_not_block_the_next_process() {
    let servers = Servers::start(&[]);
    let mut sb = Sandbox::new(&servers.config("", ""));
    let stall = sb.path("stall.sh");
    let started = sb.path("browser-started");
    std::fs::write(
        &stall,
        format!("#!/bin/sh\ntouch '{}'\nsleep 60\n", started.display()),
    )
    .unwrap();
    Command::new("chmod")
        .arg("+x")
        .arg(&stall)
        .status()
        .unwrap();
    sb.set("BROWSER", &stall.display().to_string());
    let mut holder = sb.spawn(&["token"]);
    assert!(
        holder
            .wait_for(|l| l.contains("If no browser opens"))
            .is_some(),
        "the holder reached the sign-in"
    );
    // Kill it once its browser runs (between fork and exec, a child still shares the lock).
    let t0 = std::time::Instant::now();
    while !started.exists() && t0.elapsed() < std::time::Duration::from_secs(20) {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    holder.kill(); // SIGKILL
    sb.set(
        "BROWSER",
        &support::idp_dir().join("browser.mjs").display().to_string(),
    );
    let next = sb.gw(&["token"]).ok();
    assert!(
        !next.stderr.contains("Waiting for another gw"),
        "the lock was free at once: {}",
        next.stderr
    );
}

#[test]
fn a_warm_call_on_a_headless_machine_says_nothing_about_sign_in_methods() {
    let servers = Servers::start(&[("IDP_DEVICE_INTERVAL", "1")]);
    let sb = signed_in(&servers);
    let mut headless = Sandbox::new(&servers.config("", ""));
    headless.env = sb.env.clone();
    headless.unset("BROWSER");
    headless.set("SSH_CONNECTION", "10.0.0.1 5000 10.0.0.2 22");
    let out = headless.gw(&["token"]).ok();
    assert!(
        out.stderr.is_empty(),
        "a cached token is served silently: {}",
        out.stderr
    );
    let out = headless.gw(&["exec", "--", "true"]).ok();
    assert!(
        out.stderr
            .lines()
            .all(|l| l.starts_with("note: the Databricks token this program gets is valid until")),
        "only the token's expiry is said: {}",
        out.stderr
    );
}
