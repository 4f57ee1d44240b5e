//! TLS is always verified: the OS trust store by default, `ca_file` adds a CA, `SSL_CERT_FILE`
//! replaces the store (as in OpenSSL); `HTTPS_PROXY`/`NO_PROXY` are honoured. Checked with a
//! local HTTPS server whose certificate comes from a test CA, through `gw doctor`'s network
//! checks (which fetch the IdP's discovery document and the workspace's OAuth metadata).

mod support;

use support::{Node, Sandbox, get_json};

fn setup(extra_top: &str) -> (Node, String, String, Sandbox) {
    let (node, v) = Node::start("tls_server.mjs", &[]);
    let https = v["https"].as_str().unwrap().to_owned();
    let proxy = v["proxy"].as_str().unwrap().to_owned();
    let config = format!(
        "{extra_top}\n[profiles.tls]\ndatabricks_host = \"{https}\"\n[profiles.tls.idp]\nkind = \"oidc\"\nissuer = \"{https}\"\nclient_id = \"c\"\n"
    );
    let sb = Sandbox::new(&config);
    (node, https, proxy, sb)
}

fn ca() -> String {
    support::repo()
        .join("tests/fixtures/tls/ca.pem")
        .display()
        .to_string()
}

/// The `idp` and `workspace` checks of `gw doctor --json`: (status, detail) each.
fn doctor(sb: &Sandbox) -> Vec<(String, String)> {
    let out = sb.gw(&["doctor", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {} {}", out.stdout, out.stderr));
    ["idp", "workspace"]
        .iter()
        .map(|n| {
            let c = v["checks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["name"] == *n)
                .unwrap();
            (
                c["status"].as_str().unwrap().to_owned(),
                c["detail"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn an_unknown_ca_is_refused() {
    let (_n, _https, _p, mut sb) = setup("");
    sb.set("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt");
    for (status, detail) in doctor(&sb) {
        assert_eq!(status, "warn", "{detail}");
        assert!(
            detail.to_lowercase().contains("certificate"),
            "says why: {detail}"
        );
    }
}

#[test]
fn ca_file_adds_the_corporate_ca_to_the_trust_store() {
    let (_n, _https, _p, mut sb) = setup(&format!("ca_file = \"{}\"", ca()));
    sb.set("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt");
    for (status, detail) in doctor(&sb) {
        assert_eq!(status, "ok", "{detail}");
    }
}

#[test]
fn ssl_cert_file_replaces_the_trust_store() {
    let (_n, _https, _p, mut sb) = setup("");
    sb.set("SSL_CERT_FILE", &ca());
    for (status, detail) in doctor(&sb) {
        assert_eq!(status, "ok", "{detail}");
    }
}

#[test]
fn a_ca_file_that_is_not_pem_is_a_clear_error() {
    let bogus = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(bogus.path(), "not a certificate").unwrap();
    let (_n, _https, _p, sb) = setup(&format!("ca_file = \"{}\"", bogus.path().display()));
    let out = sb.gw(&["token", "--no-login"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("ca_file"), "{}", out.stderr);
}

#[test]
fn https_proxy_is_used_and_no_proxy_bypasses_it() {
    let (_n, https, proxy, mut sb) = setup(&format!("ca_file = \"{}\"", ca()));
    sb.set("HTTPS_PROXY", &proxy);
    for (status, detail) in doctor(&sb) {
        assert_eq!(status, "ok", "through the proxy: {detail}");
    }
    let stats = get_json(&format!("{proxy}/__stats"));
    let target = https.trim_start_matches("https://");
    assert!(
        stats["targets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == target),
        "the proxy tunnelled to {target}: {stats}"
    );
    let before = stats["connect"].as_u64().unwrap();
    sb.set("NO_PROXY", "127.0.0.1");
    for (status, detail) in doctor(&sb) {
        assert_eq!(status, "ok", "{detail}");
    }
    assert_eq!(
        get_json(&format!("{proxy}/__stats"))["connect"]
            .as_u64()
            .unwrap(),
        before,
        "NO_PROXY bypasses the proxy"
    );
}
