//! The OS keyring store against a real Secret Service (gnome-keyring in a private D-Bus
//! session), the fallback with no session bus at all, and logout across both stores.
//!
//! Each test that needs the Secret Service re-runs itself inside
//! `dbus-run-session` with a freshly unlocked gnome-keyring and a throwaway HOME
//! (`.ci/run` installs both from Debian's packages).

mod support;

use std::process::Command;

use gw::token_store::keyring_store::KeyringStore;
use gw::token_store::{KeyLock, StoredTokens, TokenStore};
use support::{Sandbox, Servers};

const INSIDE: &str = "GW_TEST_INSIDE_SECRET_SERVICE";

/// Run the named test again inside a private session bus with an unlocked keyring; returns
/// true when the caller is already inside and should run its body.
fn inside_secret_service(test: &str) -> bool {
    if std::env::var_os(INSIDE).is_some() {
        return true;
    }
    let home = tempfile::tempdir().unwrap();
    let script = r#"printf 'gw-test' | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1 || exit 90; exec "$@""#;
    let out = Command::new("dbus-run-session")
        .args(["--", "sh", "-c", script, "sh"])
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(INSIDE, "1")
        .env("HOME", home.path())
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .output()
        .expect(
            "dbus-run-session (Debian package dbus-bin) and gnome-keyring are needed: run .ci/run",
        );
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(
        out.status.code(),
        Some(90),
        "gnome-keyring-daemon did not start: {text}"
    );
    assert!(
        out.status.success(),
        "inside the Secret Service session:\n{text}"
    );
    assert!(text.contains("1 passed"), "the test body ran: {text}");
    false
}

/// Every gw item in the Secret Service, as `secret-tool search` lists them.
fn keyring_items() -> String {
    let out = Command::new("secret-tool")
        .args(["search", "--all", "service", "gw"])
        .output()
        .expect("secret-tool (Debian package libsecret-tools)");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn record(refresh_len: usize) -> StoredTokens {
    let mut r = StoredTokens::new("kr");
    r.refresh_token = Some(gw::secret::Secret::new("r".repeat(refresh_len)));
    r
}

#[test]
fn secret_service_stores_reads_replaces_and_deletes_tokens_including_16_kb() {
    if !inside_secret_service(
        "secret_service_stores_reads_replaces_and_deletes_tokens_including_16_kb",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let lock = KeyLock::acquire(dir.path(), "k", std::time::Duration::from_secs(1), || {}).unwrap();
    let store = KeyringStore::os(gw::token_store::Slow::FallBack);
    assert!(store.load("k").unwrap().is_none());
    store.save("k", &record(100), &lock).unwrap();
    assert_eq!(
        store.load("k").unwrap().unwrap().refresh_token,
        record(100).refresh_token
    );
    assert!(keyring_items().contains("tokens/k"), "{}", keyring_items());
    let big = record(16 * 1024);
    store.save("k", &big, &lock).unwrap();
    assert_eq!(
        store.load("k").unwrap().unwrap().refresh_token,
        big.refresh_token,
        "16 KB read back whole"
    );
    store.save("k", &record(5), &lock).unwrap();
    assert_eq!(
        store.load("k").unwrap().unwrap().refresh_token,
        record(5).refresh_token,
        "replaced"
    );
    assert!(store.delete("k", &lock).unwrap());
    assert!(store.load("k").unwrap().is_none());
    assert!(
        !keyring_items().contains("tokens/"),
        "nothing left: {}",
        keyring_items()
    );
}

#[test]
fn auto_uses_the_keyring_and_logout_leaves_nothing_in_either_store() {
    if !inside_secret_service("auto_uses_the_keyring_and_logout_leaves_nothing_in_either_store") {
        return;
    }
    let servers = Servers::start(&[]);
    let mut sb = Sandbox::new(&servers.config("", ""));
    sb.set("GW_TOKEN_STORE", "auto");
    sb.set(
        "DBUS_SESSION_BUS_ADDRESS",
        &std::env::var("DBUS_SESSION_BUS_ADDRESS").unwrap(),
    );
    let login = sb.gw(&["login"]).ok();
    assert!(
        !login.stderr.contains("no usable OS keyring"),
        "{}",
        login.stderr
    );
    let status: serde_json::Value =
        serde_json::from_str(&sb.gw(&["status", "--json"]).ok().stdout).unwrap();
    assert_eq!(status["store"], "keyring", "{status}");
    assert!(
        status["store_detail"]
            .as_str()
            .unwrap()
            .contains("Secret Service"),
        "{status}"
    );
    assert!(
        keyring_items().contains("tokens/test-"),
        "{}",
        keyring_items()
    );
    let json_files = |sb: &Sandbox| {
        std::fs::read_dir(sb.token_dir())
            .map(|rd| {
                rd.flatten()
                    .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
                    .count()
            })
            .unwrap_or(0)
    };
    assert_eq!(json_files(&sb), 0, "no file copy next to the keyring");
    let tok = sb.gw(&["token"]).ok().stdout;
    assert!(servers.workspace_accepts(tok.trim()));
    sb.gw(&["logout"]).ok();
    assert!(
        !keyring_items().contains("tokens/"),
        "keyring emptied: {}",
        keyring_items()
    );
    assert_eq!(json_files(&sb), 0);
    let doctor: serde_json::Value =
        serde_json::from_str(&sb.gw(&["doctor", "--json", "--offline"]).stdout).unwrap();
    let store = doctor["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "store")
        .unwrap()
        .clone();
    assert_eq!(store["status"], "ok", "{doctor}");
}

#[test]
fn with_no_session_bus_auto_falls_back_to_the_file_store_and_says_so_once() {
    let servers = Servers::start(&[]);
    let mut sb = Sandbox::new(&servers.config("", ""));
    sb.set("GW_TOKEN_STORE", "auto");
    let started = std::time::Instant::now();
    let first = sb.gw(&["login"]).ok();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "never hangs"
    );
    assert_eq!(
        first.stderr.matches("no usable OS keyring").count(),
        1,
        "{}",
        first.stderr
    );
    let second = sb.gw(&["token"]).ok();
    assert!(
        !second.stderr.contains("keyring"),
        "said once, not on every run: {}",
        second.stderr
    );
    let status: serde_json::Value =
        serde_json::from_str(&sb.gw(&["status", "--json"]).ok().stdout).unwrap();
    assert_eq!(status["store"], "file");
    assert!(
        status["store_detail"]
            .as_str()
            .unwrap()
            .contains("no usable OS keyring"),
        "{status}"
    );

    sb.set("GW_TOKEN_STORE", "keyring");
    let out = sb.gw(&["token"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .lines()
            .any(|l| l.starts_with("hint: ") && l.contains("--store file")),
        "{}",
        out.stderr
    );
}

#[test]
fn status_and_doctor_json_have_their_documented_fields() {
    let servers = Servers::start(&[]);
    let sb = Sandbox::new(&servers.config("", ""));
    sb.gw(&["login"]).ok();
    let status: serde_json::Value =
        serde_json::from_str(&sb.gw(&["status", "--json"]).ok().stdout).unwrap();
    for k in [
        "profile",
        "identity",
        "expires_at",
        "expires_in",
        "valid",
        "refresh_token",
        "store",
        "store_detail",
        "databricks_host",
        "issuer",
    ] {
        assert!(
            status.get(k).is_some(),
            "status --json lacks `{k}`: {status}"
        );
    }
    let out = sb.gw(&["doctor", "--json"]);
    let doctor: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let names: Vec<&str> = doctor["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "config",
            "store",
            "sign-in",
            "claude",
            "idp",
            "workspace",
            "clock"
        ]
    );
    for c in doctor["checks"].as_array().unwrap() {
        assert!(
            ["ok", "warn", "fail"].contains(&c["status"].as_str().unwrap()),
            "{c}"
        );
        assert!(!c["detail"].as_str().unwrap().is_empty());
    }
    let by = |n: &str| {
        doctor["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == n)
            .unwrap()["status"]
            .clone()
    };
    assert_eq!(by("idp"), "ok");
    assert_eq!(by("workspace"), "ok");
    assert_eq!(by("clock"), "ok");
    assert_eq!(by("sign-in"), "ok");
    assert_eq!(doctor["ok"], true);
    assert_eq!(out.code, 0);
    let text = sb.gw(&["doctor", "--offline"]).ok().stdout;
    assert_eq!(
        text.lines().count(),
        4,
        "one line per offline check: {text}"
    );
}
