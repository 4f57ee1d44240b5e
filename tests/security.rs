//! The guarantees a credential tool must keep (SECURITY.md): cache at rest, crash safety,
//! clock skew, panics, and HTTP limits.
//!
//! Unix only: the checks are of file modes, owners, FIFOs and signals. What they become on
//! Windows is in SECURITY.md ("On Windows").
#![cfg(unix)]

mod support;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::{Duration, Instant};

use support::{Sandbox, Servers};

fn mode(p: &std::path::Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn with_umask_000_token_files_are_still_0600_in_a_0700_dir() {
    let servers = Servers::start(&[]);
    let sb = Sandbox::new(&servers.config("", ""));
    let gw = env!("CARGO_BIN_EXE_gw");
    let out = Command::new("sh")
        .args(["-c", &format!("umask 000; exec '{gw}' login")])
        .env_clear()
        .envs(sb.env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(mode(&sb.token_dir()), 0o700);
    assert_eq!(mode(&sb.path("home/.local/state/gw")), 0o700);
    for e in std::fs::read_dir(sb.token_dir()).unwrap().flatten() {
        assert_eq!(mode(&e.path()), 0o600, "{}", e.path().display());
    }
    for e in std::fs::read_dir(sb.path("home/.cache/gw/idp"))
        .unwrap()
        .flatten()
    {
        assert_eq!(mode(&e.path()), 0o600, "{}", e.path().display());
    }
}

#[test]
fn a_symlink_planted_at_the_cache_path_is_not_followed_and_its_target_is_untouched() {
    let servers = Servers::start(&[]);
    let sb = Sandbox::new(&servers.config("", ""));
    sb.gw(&["login"]).ok();
    let record = sb.record_path();
    sb.gw(&["logout"]).ok();
    let victim = sb.path("victim.txt");
    std::fs::write(&victim, "precious").unwrap();
    std::os::unix::fs::symlink(&victim, &record).unwrap();
    // Reading through the link is refused (a miss, with a warning), not followed.
    let out = sb.gw(&["token", "--no-login"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr.contains("warning: ignoring token cache"),
        "{}",
        out.stderr
    );
    // Saving replaces the link itself.
    sb.gw(&["login"]).ok();
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert!(
        !std::fs::symlink_metadata(&record)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(mode(&record), 0o600);
}

#[test]
fn a_symlink_planted_at_the_lock_path_is_refused() {
    let servers = Servers::start(&[]);
    let sb = Sandbox::new(&servers.config("", ""));
    sb.gw(&["login"]).ok();
    let lock = sb.record_path().with_extension("lock");
    std::fs::remove_file(&lock).unwrap();
    let victim = sb.path("victim.txt");
    std::fs::write(&victim, "precious").unwrap();
    std::os::unix::fs::symlink(&victim, &lock).unwrap();
    sb.expire_token();
    let out = sb.gw(&["token"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("cannot lock"), "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
}

#[test]
fn a_corrupt_or_truncated_cache_is_a_miss_with_a_warning_never_a_crash() {
    let servers = Servers::start(&[]);
    let sb = Sandbox::new(&servers.config("", ""));
    sb.gw(&["login"]).ok();
    let record = sb.record_path();
    let whole = std::fs::read(&record).unwrap();
    for damaged in [
        &whole[..whole.len() / 2],
        b"\x00\xff garbage",
        b"",
        b"{\"version\":99}",
    ] {
        std::fs::write(&record, damaged).unwrap();
        let out = sb.gw(&["token", "--no-login"]);
        assert_eq!(out.code, 3, "{}", out.stderr);
        assert!(
            out.stderr.contains("warning: ignoring token cache"),
            "{}",
            out.stderr
        );
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    }
    // A damaged discovery cache is refetched.
    for e in std::fs::read_dir(sb.path("home/.cache/gw/idp"))
        .unwrap()
        .flatten()
    {
        std::fs::write(e.path(), "{not json").unwrap();
    }
    sb.gw(&["login"]).ok();
}

const TORTURE: &str = "GW_TEST_TORTURE_DIR";

/// Child mode of the kill loop: save large records under the lock, forever.
fn torture_child(dir: &str) {
    use gw::token_store::file_store::FileStore;
    use gw::token_store::{KeyLock, StoredTokens, TokenStore};
    let store = FileStore::new(std::path::Path::new(dir));
    let mut generation = 0u64;
    loop {
        generation += 1;
        let lock = KeyLock::acquire(
            std::path::Path::new(dir),
            "k",
            Duration::from_secs(5),
            || {},
        )
        .unwrap();
        let mut rec = StoredTokens::new(&format!("gen-{generation}"));
        rec.refresh_token = Some(gw::secret::Secret::new(
            format!("{generation}-").repeat(20_000),
        ));
        store.save("k", &rec, &lock).unwrap();
    }
}

#[test]
fn kill_9_during_500_save_cycles_never_leaves_a_truncated_or_mixed_record() {
    if let Ok(dir) = std::env::var(TORTURE) {
        torture_child(&dir);
        return;
    }
    use gw::token_store::TokenStore;
    use gw::token_store::file_store::FileStore;
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::new(dir.path());
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut seen = 0;
    for cycle in 0..500 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "kill_9_during_500_save_cycles_never_leaves_a_truncated_or_mixed_record",
                "--nocapture",
            ])
            .env(TORTURE, dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_micros(2_000 + seed % 25_000));
        child.kill().unwrap();
        child.wait().unwrap();
        let Some(rec) = store.load("k").unwrap() else {
            continue;
        };
        seen += 1;
        let generation = rec.profile.strip_prefix("gen-").unwrap();
        let rt = rec.refresh_token.unwrap();
        assert_eq!(
            rt.expose(),
            format!("{generation}-").repeat(20_000),
            "cycle {cycle}: a whole record of one generation"
        );
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
            .collect();
        assert!(
            leftovers.len() <= cycle + 1,
            "temp files do not pile up without bound"
        );
    }
    assert!(
        seen > 100,
        "the loop really saved records ({seen} of 500 cycles)"
    );
}

#[test]
fn a_process_killed_mid_refresh_keeps_the_rotated_refresh_token_it_received() {
    let servers = Servers::start(&[]);
    let sb = Sandbox::new(&servers.config("", ""));
    sb.gw(&["login"]).ok();
    let before = sb.record()["refresh_token"].as_str().unwrap().to_owned();
    sb.expire_token();
    servers.reset_stats(); // the counters below must count this refresh only, not the sign-in
    servers.post(
        &format!("{}/__delay", servers.workspace),
        r#"{"ms": 30000}"#,
    );
    let child = sb.spawn(&["token"]);
    let started = Instant::now();
    while servers.idp_stats()["token_refresh_token"] != 1 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the refresh grant never came"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // The IdP has rotated the refresh token; the exchange is held. Kill gw now.
    while servers.ws_stats()["exchange"] != 1 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the exchange never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill();
    let saved = sb.record()["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(
        saved, before,
        "the rotated refresh token was saved before the exchange"
    );
    servers.post(&format!("{}/__delay", servers.workspace), r#"{"ms": 0}"#);
    let out = sb.gw(&["token", "--no-login"]).ok();
    assert!(servers.workspace_accepts(out.stdout.trim()));
    let idp = servers.idp_stats();
    assert_eq!(
        idp["refresh_token_reuse"], 0,
        "the consumed refresh token was never sent again"
    );
    assert_eq!(idp["authorize"], 0, "no new sign-in was needed");
}

fn skewed(sb: &Sandbox, skew: &str, args: &[&str]) -> support::Run {
    let mut cmd = Command::new("faketime");
    cmd.arg("-f")
        .arg(skew)
        .arg(env!("CARGO_BIN_EXE_gw"))
        .args(args)
        .env_clear()
        .current_dir(sb.path(""));
    for (k, v) in &sb.env {
        cmd.env(k, v);
    }
    cmd.env("FAKETIME_DONT_FAKE_MONOTONIC", "1");
    support::Run::from(
        cmd.output()
            .expect("faketime (Debian package faketime, installed by .ci/run)"),
    )
}

#[test]
fn with_the_local_clock_ten_minutes_off_sign_in_and_refresh_still_work() {
    for skew in ["-10m", "+10m"] {
        let servers = Servers::start(&[]);
        let sb = Sandbox::new(&servers.config("", ""));
        let login = skewed(&sb, skew, &["login"]).ok();
        assert!(
            login.stderr.contains("Signed in"),
            "{skew}: {}",
            login.stderr
        );
        let warm = skewed(&sb, skew, &["token"]).ok();
        assert!(servers.workspace_accepts(warm.stdout.trim()), "{skew}");
        assert_eq!(
            skewed(&sb, skew, &["token", "--check"]).code,
            0,
            "{skew}: fresh on the local clock"
        );
        sb.expire_token();
        let refreshed = skewed(&sb, skew, &["token"]).ok();
        assert_ne!(refreshed.stdout, warm.stdout, "{skew}");
        assert!(servers.workspace_accepts(refreshed.stdout.trim()), "{skew}");
        assert_eq!(servers.idp_stats()["token_refresh_token"], 1, "{skew}");
        let doctor = skewed(&sb, skew, &["doctor", "--json"]);
        let v: serde_json::Value = serde_json::from_str(&doctor.stdout).unwrap();
        let clock = v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "clock")
            .unwrap()
            .clone();
        assert_eq!(
            clock["status"], "warn",
            "{skew}: doctor sees the skew: {clock}"
        );
    }
}

#[test]
fn a_panic_prints_where_it_happened_but_never_its_secret_message() {
    let servers = Servers::start(&[]);
    let mut sb = Sandbox::new(&servers.config("", ""));
    sb.set("GW_INTERNAL_TEST_PANIC", "1");
    sb.set("RUST_BACKTRACE", "1");
    let out = sb.gw(&["-vv", "login"]);
    assert_eq!(out.code, 101, "a panic: {}", out.stderr);
    assert!(
        out.stderr.contains("internal error at src/session.rs:"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("forced test panic"),
        "the panic message is withheld: {}",
        out.stderr
    );
    for secret in servers.secrets() {
        assert!(
            !out.stderr.contains(&secret),
            "a secret reached the panic output"
        );
        assert!(!out.stdout.contains(&secret));
    }
}

#[tokio::test]
async fn every_response_is_size_capped_and_every_call_times_out() {
    use httpmock::prelude::*;
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/big");
            then.status(200).body(vec![b'x'; gw::http::MAX_BODY + 1]);
        })
        .await;
    server
        .mock_async(|when, then| {
            when.path("/slow");
            then.status(200).delay(Duration::from_secs(5)).body("{}");
        })
        .await;
    let http =
        gw::http::Http::with_timeouts(None, Duration::from_secs(1), Duration::from_millis(300))
            .unwrap();
    let err = http.get(&server.url("/big")).await.unwrap_err();
    assert!(matches!(err, gw::http::HttpError::TooLarge { .. }), "{err}");
    let started = Instant::now();
    let err = http.get(&server.url("/slow")).await.unwrap_err();
    assert!(matches!(err, gw::http::HttpError::Timeout { .. }), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the total timeout cut it short"
    );
    // A connect to a port nobody listens on fails, it does not hang.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    assert!(http.get(&format!("http://{dead}/")).await.is_err());
}

/// Make `path` look planted by another user: writable by others, and (where this runs as
/// root, as CI does) owned by uid 65534.
fn plant(path: &std::path::Path) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666)).unwrap();
    // SAFETY: geteuid cannot fail; chown of a file this test made.
    if unsafe { libc_geteuid() } == 0 {
        let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc_chown(c.as_ptr(), 65534, 65534) }, 0);
    }
}

unsafe extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
    #[link_name = "chown"]
    fn libc_chown(path: *const std::ffi::c_char, uid: u32, gid: u32) -> i32;
    #[link_name = "mkfifo"]
    fn libc_mkfifo(path: *const std::ffi::c_char, mode: u32) -> i32;
}

#[test]
fn a_fifo_or_a_huge_file_at_the_record_path_is_refused_at_once() {
    let servers = Servers::start(&[]);
    let sb = Sandbox::new(&servers.config("", ""));
    sb.gw(&["login"]).ok();
    let record = sb.record_path();
    std::fs::remove_file(&record).unwrap();
    let c = std::ffi::CString::new(record.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo on the path this test just freed.
    assert_eq!(unsafe { libc_mkfifo(c.as_ptr(), 0o600) }, 0);
    for args in [
        &["status"][..],
        &["token", "--no-login"],
        &["token", "--json", "--no-login"],
    ] {
        let mut child = sb
            .cmd(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while child.try_wait().unwrap().is_none() {
            if started.elapsed() > Duration::from_secs(20) {
                let _ = child.kill();
                panic!("{args:?} hung on a FIFO at the record path");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = support::Run::from(child.wait_with_output().unwrap());
        assert!(
            out.stderr.contains("is not a regular file"),
            "{args:?}: {}",
            out.stderr
        );
    }
    std::fs::remove_file(&record).unwrap();
    std::fs::write(&record, vec![b' '; 2 * 1024 * 1024]).unwrap();
    std::fs::set_permissions(&record, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = sb.gw(&["token", "--no-login"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("larger than"), "{}", out.stderr);
}

#[test]
fn a_token_record_or_discovery_cache_another_user_planted_is_never_trusted() {
    let servers = Servers::start(&[]);
    let sink = support::Sink::start();
    let sb = Sandbox::new(&servers.config("", ""));
    sb.gw(&["login"]).ok();
    // The planter's record: a valid token, but the record is theirs.
    let record = sb.record_path();
    plant(&record);
    let out = sb.gw(&["token", "--no-login"]);
    assert_eq!(out.code, 3, "a planted record is a miss: {}", out.stderr);
    assert!(
        out.stderr.contains("warning: ignoring token cache"),
        "{}",
        out.stderr
    );
    // A fresh sign-in replaces it.
    sb.gw(&["login"]).ok();
    assert_eq!(mode(&sb.record_path()), 0o600);
    // The planter's discovery documents send the refresh token to their sink.
    for e in std::fs::read_dir(sb.path("home/.cache/gw/idp"))
        .unwrap()
        .flatten()
    {
        let p = e.path();
        let text = std::fs::read_to_string(&p).unwrap().replace(
            &format!("{}/token", servers.issuer),
            &format!("{}/token", sink.url),
        );
        std::fs::write(&p, text).unwrap();
        plant(&p);
    }
    sb.expire_token();
    let out = sb.gw(&["token"]).ok();
    assert!(
        out.stderr.contains("warning: ignoring cached document"),
        "{}",
        out.stderr
    );
    assert_eq!(
        sink.hits(),
        0,
        "the refresh token went only to the real IdP"
    );
    assert_eq!(servers.idp_stats()["token_refresh_token"], 1);
}

#[test]
fn a_config_another_user_can_write_is_refused_with_exit_2() {
    let sb = Sandbox::new(
        "[profiles.p]\ndatabricks_host = \"https://h\"\n[profiles.p.idp]\nkind = \"oidc\"\nissuer = \"https://i\"\nclient_id = \"c\"\n",
    );
    plant(&sb.path("config.toml"));
    let out = sb.gw(&["status"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("will not use config"), "{}", out.stderr);
    assert!(out.stderr.contains("hint:"), "{}", out.stderr);
}

/// `$BROWSER`: a script that records the URL it was given (what every local user can read in
/// `/proc/<pid>/cmdline`), optionally lets a "neighbour" fetch it first, then browses it.
fn recording_browser(sb: &mut Sandbox, neighbour_first: bool) -> std::path::PathBuf {
    let seen = sb.path("browser-argv.txt");
    let script = sb.path("browser.sh");
    let neighbour = if neighbour_first {
        "node -e 'fetch(process.argv[1], {redirect: \"manual\"}).then(r => r.text())' \"$1\"\n"
    } else {
        ""
    };
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s' \"$1\" > '{}'\n{neighbour}exec node '{}' \"$1\"\n",
            seen.display(),
            support::idp_dir().join("browser.mjs").display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    sb.set("BROWSER", &script.display().to_string());
    seen
}

#[test]
fn the_browsers_arguments_reveal_no_state_nonce_or_challenge() {
    let servers = Servers::start(&[]);
    let mut sb = Sandbox::new(&servers.config("", ""));
    let seen = recording_browser(&mut sb, false);
    let out = sb.gw(&["login"]).ok();
    let url = std::fs::read_to_string(&seen).unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert!(url.contains("/gw-start/"), "{url}");
    for secret in [
        "state",
        "nonce",
        "code_challenge",
        "client_id",
        "authorize",
        "auth?",
    ] {
        assert!(!url.contains(secret), "{secret} in argv: {url}");
    }
    assert!(
        out.stderr.contains("state="),
        "the full URL is still printed on stderr, for the user to open: {}",
        out.stderr
    );
}

#[test]
fn a_neighbour_who_opens_the_link_first_stops_the_sign_in_instead_of_completing_it() {
    let servers = Servers::start(&[]);
    let mut sb = Sandbox::new(&servers.config("", ""));
    recording_browser(&mut sb, true);
    let out = sb.gw(&["login"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("fetched twice"), "{}", out.stderr);
    let status: serde_json::Value =
        serde_json::from_str(&sb.gw(&["status", "--json"]).ok().stdout).unwrap();
    assert!(status["identity"].is_null(), "nobody signed in: {status}");
}

#[test]
fn a_record_with_absurd_times_never_makes_a_command_panic() {
    let servers = Servers::start(&[]);
    let sb = Sandbox::new(&servers.config("", ""));
    sb.gw(&["login"]).ok();
    let mut rec = sb.record();
    rec["databricks"]["expires_at"] = u64::MAX.into();
    rec["databricks"]["lifetime"] = u64::MAX.into();
    std::fs::write(sb.record_path(), serde_json::to_vec(&rec).unwrap()).unwrap();
    for args in [
        &["status"][..],
        &["status", "--json"],
        &["token", "--json"],
        &["token", "--for", "claude"],
        &["doctor", "--offline"],
        &["exec", "--", "true"],
    ] {
        let out = sb.gw(args);
        assert!(
            !out.stderr.contains("internal error"),
            "{args:?} panicked: {}",
            out.stderr
        );
        assert!(out.code == 0 || out.code == 1, "{args:?}: {}", out.stderr);
    }
}
