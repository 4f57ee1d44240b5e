use super::*;

fn parse(text: &str) -> Result<Config, UserError> {
    Config::parse(text, Path::new("/etc/gw/config.toml"))
}

const OIDC: &str = r#"
[profiles.dev]
databricks_host = "https://adb-1.2.azuredatabricks.net/"
model = "databricks-claude-opus-4-8"
[profiles.dev.idp]
kind = "oidc"
issuer = "https://idp.example.com"
client_id = "cli"
"#;

#[test]
fn example_config_parses_and_documents_the_defaults() {
    let text = include_str!("../../config.example.toml");
    let cfg = parse(text).expect("config.example.toml must be valid");
    let p = cfg.profile(None).unwrap();
    assert_eq!(p.name, "work");
    assert_eq!(p.idp.kind, IdpKind::Azure);
    assert_eq!(
        p.idp.issuer,
        "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0"
    );
    assert_eq!(p.idp.redirect.uri(4242), "http://localhost:4242");
    assert_eq!(p.gateway, Gateway::ServingEndpoints);
    assert_eq!(p.codex_model.as_deref(), Some("databricks-gpt-5-2"));
    assert_eq!(p.gemini_model.as_deref(), Some("databricks-gemini-2-5-pro"));
    assert_eq!(p.warehouse_id.as_deref(), Some("1234567890abcdef"));
    assert_eq!(
        p.opencode_model.as_deref(),
        Some("databricks-claude-opus-4-8"),
        "opencode_model defaults to model"
    );
    assert!(
        cfg.profiles.contains_key("okta"),
        "example shows a generic oidc profile"
    );
    assert!(
        cfg.profiles.contains_key("native"),
        "example shows kind = databricks"
    );
}

#[test]
fn oidc_profile_gets_the_spec_defaults() {
    let cfg = parse(OIDC).unwrap();
    let p = cfg.profile(None).unwrap();
    assert_eq!(p.databricks_host, "https://adb-1.2.azuredatabricks.net");
    assert_eq!(
        p.idp.scopes,
        ["openid", "profile", "email", "offline_access"]
    );
    assert_eq!(p.idp.redirect.uri(5000), "http://127.0.0.1:5000/callback");
    assert_eq!(p.idp.redirect.ports, Ports::Ephemeral);
    assert_eq!(
        p.idp.discovery_url,
        "https://idp.example.com/.well-known/openid-configuration"
    );
    let m = p.models.clone().unwrap();
    assert_eq!(
        (m.opus.as_str(), m.haiku.as_str()),
        ("databricks-claude-opus-4-8", "databricks-claude-opus-4-8")
    );
}

#[test]
fn plain_http_is_refused_except_on_loopback() {
    let err =
        parse(&OIDC.replace("https://idp.example.com", "http://idp.example.com")).unwrap_err();
    assert_eq!(err.code, 2);
    assert!(
        err.message.contains("profiles.dev.idp.issuer"),
        "{}",
        err.message
    );
    assert!(
        err.message.contains("/etc/gw/config.toml"),
        "{}",
        err.message
    );
    assert!(err.message.contains("https://"), "{}", err.message);
    let err = parse(&OIDC.replace("https://adb-1.2.azuredatabricks.net/", "http://10.0.0.1"))
        .unwrap_err();
    assert!(err.message.contains("databricks_host"), "{}", err.message);
    for ok in [
        "http://127.0.0.1:8080",
        "http://localhost:1",
        "http://[::1]:9",
        "http://127.9.9.9",
    ] {
        parse(&OIDC.replace("https://idp.example.com", ok))
            .unwrap_or_else(|e| panic!("{ok}: {}", e.message));
    }
}

#[test]
fn unknown_and_missing_keys_name_the_key_and_the_file() {
    let err = parse(&OIDC.replace(
        "client_id = \"cli\"",
        "client_id = \"cli\"\nclient_secret = \"x\"",
    ))
    .unwrap_err();
    assert_eq!(err.code, 2);
    assert!(err.message.contains("client_secret"), "{}", err.message);
    assert!(
        err.message.contains("/etc/gw/config.toml"),
        "{}",
        err.message
    );
    assert!(err.message.contains("line 9"), "{}", err.message);
    let err = parse(&OIDC.replace("client_id = \"cli\"", "")).unwrap_err();
    assert!(
        err.message.contains("profiles.dev.idp.client_id"),
        "{}",
        err.message
    );
    let err = parse(&OIDC.replace("databricks_host", "host")).unwrap_err();
    assert!(err.message.contains("databricks_host"), "{}", err.message);
    assert!(err.hint.unwrap().contains("config.example.toml"));
}

#[test]
fn azure_needs_a_tenant_guid_and_has_no_issuer_key() {
    let azure = r#"
[profiles.w]
databricks_host = "https://adb-1.2.azuredatabricks.net"
[profiles.w.idp]
kind = "azure"
tenant_id = "TENANT"
client_id = "c"
"#;
    let err = parse(azure).unwrap_err();
    assert!(err.message.contains("tenant_id"), "{}", err.message);
    let ok = azure.replace("TENANT", "72f988bf-86f1-41af-91ab-2d7cd011db47");
    let p = parse(&ok).unwrap().profile(None).unwrap().clone();
    assert_eq!(
        p.idp.issuer,
        "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0"
    );
    let err = parse(&ok.replace(
        "client_id = \"c\"",
        "client_id = \"c\"\nissuer = \"https://x\"",
    ))
    .unwrap_err();
    assert!(err.message.contains("idp.issuer"), "{}", err.message);
}

#[test]
fn databricks_kind_uses_the_registered_cli_client_and_ports() {
    let text = r#"
[profiles.n]
databricks_host = "https://dbc-1.cloud.databricks.com"
[profiles.n.idp]
kind = "databricks"
"#;
    let p = parse(text).unwrap().profile(None).unwrap().clone();
    assert_eq!(p.idp.client_id, "databricks-cli");
    assert_eq!(p.idp.scopes, ["all-apis", "offline_access"]);
    assert_eq!(p.idp.redirect.uri(8020), "http://localhost:8020");
    assert_eq!(p.idp.redirect.ports, Ports::List((8020..=8040).collect()));
    assert_eq!(
        p.idp.discovery_url,
        "https://dbc-1.cloud.databricks.com/oidc/.well-known/oauth-authorization-server"
    );
}

#[test]
fn redirect_uri_and_port_are_checked() {
    let with = |extra: &str| {
        parse(&OIDC.replace(
            "client_id = \"cli\"",
            &format!("client_id = \"cli\"\n{extra}"),
        ))
    };
    let p = with("redirect_port = 8400")
        .unwrap()
        .profile(None)
        .unwrap()
        .clone();
    assert_eq!(p.idp.redirect.ports, Ports::List(vec![8400]));
    let p = with("redirect_uri = \"http://localhost:7000/cb\"")
        .unwrap()
        .profile(None)
        .unwrap()
        .clone();
    assert_eq!(p.idp.redirect.ports, Ports::List(vec![7000]));
    assert_eq!(p.idp.redirect.uri(7000), "http://localhost:7000/cb");
    let err = with("redirect_uri = \"https://evil.example/{port}\"").unwrap_err();
    assert!(err.message.contains("redirect_uri"), "{}", err.message);
    let err = with("redirect_uri = \"http://localhost/cb\"").unwrap_err();
    assert!(err.message.contains("port"), "{}", err.message);
    // Found by fuzzing: `{port}` elsewhere than the port, and text-search rewriting.
    let err = with("redirect_uri = \"http://127.0.0.1/{port}\"").unwrap_err();
    assert!(
        err.message.contains("where the port goes"),
        "{}",
        err.message
    );
    assert!(
        with("redirect_uri = \"http://u:8400@127.0.0.1:8400/cb\"").is_err(),
        "user info"
    );
    let p = with("redirect_uri = \"http://127.0.0.1:08400/cb\"\nredirect_port = 9400")
        .unwrap()
        .profile(None)
        .unwrap()
        .clone();
    assert_eq!(
        p.idp.redirect.uri(9400),
        "http://127.0.0.1:9400/cb",
        "the port the listener binds is the one the browser is sent to"
    );
    assert_eq!(p.idp.redirect.ports, Ports::List(vec![9400]));
    let p = with("redirect_uri = \"http://[::1]:7000\"")
        .unwrap()
        .profile(None)
        .unwrap()
        .clone();
    assert_eq!(p.idp.redirect.uri(7000), "http://[::1]:7000");
}

#[test]
fn profile_selection_follows_the_spec_order() {
    let two = format!("{OIDC}\n{}", OIDC.replace("profiles.dev", "profiles.other"));
    let cfg = parse(&two).unwrap();
    let err = cfg.profile(None).unwrap_err();
    assert!(
        err.message.contains("no profile `default`"),
        "{}",
        err.message
    );
    assert!(err.hint.unwrap().contains("`dev`"));
    assert_eq!(cfg.profile(Some("other")).unwrap().name, "other");
    let cfg = parse(&format!("default_profile = \"other\"\n{two}")).unwrap();
    assert_eq!(cfg.profile(None).unwrap().name, "other");
    let err = parse(&format!("default_profile = \"nope\"\n{two}")).unwrap_err();
    assert!(err.message.contains("default_profile"), "{}", err.message);
}

#[test]
fn cache_key_changes_with_anything_that_decides_token_validity() {
    let base = parse(OIDC).unwrap().profile(None).unwrap().cache_key();
    assert_eq!(
        base,
        parse(OIDC).unwrap().profile(None).unwrap().cache_key(),
        "stable"
    );
    for (from, to) in [
        ("client_id = \"cli\"", "client_id = \"cli2\""),
        ("https://idp.example.com", "https://idp2.example.com"),
        ("adb-1.2", "adb-1.3"),
    ] {
        let other = parse(&OIDC.replace(from, to))
            .unwrap()
            .profile(None)
            .unwrap()
            .cache_key();
        assert_ne!(base, other, "{from} -> {to}");
    }
    assert!(base.starts_with("dev-"));
}

#[test]
fn models_table_overrides_per_family() {
    let text = OIDC.replace(
        "model = \"databricks-claude-opus-4-8\"",
        "model = \"m\"\nmodels = { haiku = \"h\" }",
    );
    let m = parse(&text)
        .unwrap()
        .profile(None)
        .unwrap()
        .models
        .clone()
        .unwrap();
    assert_eq!(
        (m.opus.as_str(), m.sonnet.as_str(), m.haiku.as_str()),
        ("m", "m", "h")
    );
    let err = parse(&OIDC.replace(
        "model = \"databricks-claude-opus-4-8\"",
        "models = { haiku = \"h\" }",
    ))
    .unwrap_err();
    assert!(err.message.contains("models.opus"), "{}", err.message);
}

#[test]
fn model_names_are_serving_endpoint_names() {
    for bad in ["has space", "a/b", "x\"y", "", "q?x"] {
        let text = OIDC.replace(
            "model = \"databricks-claude-opus-4-8\"",
            &format!("codex_model = {bad:?}"),
        );
        let err = parse(&text).unwrap_err();
        assert_eq!(err.code, 2, "{bad}");
        assert!(err.message.contains("codex_model"), "{}", err.message);
    }
    let ok = OIDC.replace(
        "model = \"databricks-claude-opus-4-8\"",
        "gemini_model = \"databricks-gemini-2.5-pro_v1\"",
    );
    assert_eq!(
        parse(&ok)
            .unwrap()
            .profile(None)
            .unwrap()
            .gemini_model
            .as_deref(),
        Some("databricks-gemini-2.5-pro_v1")
    );
}

#[test]
fn an_entra_sovereign_cloud_is_an_authority_away() {
    let text = |authority: &str| {
        format!(
            "[profiles.g]\ndatabricks_host = \"https://adb-1.2.azuredatabricks.us\"\n[profiles.g.idp]\nkind = \"azure\"\ntenant_id = \"72f988bf-86f1-41af-91ab-2d7cd011db47\"\nclient_id = \"c\"\n{authority}"
        )
    };
    let gov = parse(&text("authority = \"https://login.microsoftonline.us\"\n")).unwrap();
    let idp = &gov.profile(None).unwrap().idp;
    assert_eq!(
        idp.issuer,
        "https://login.microsoftonline.us/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0"
    );
    assert_eq!(
        idp.discovery_url,
        "https://login.microsoftonline.us/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0/.well-known/openid-configuration"
    );
    for bad in [
        "authority = \"http://login.microsoftonline.us\"\n",
        "authority = \"https://login.microsoftonline.us/tenant\"\n",
        "authority = \"https://u:p@login.microsoftonline.us\"\n",
    ] {
        let err = parse(&text(bad)).unwrap_err();
        assert_eq!(err.code, 2, "{bad}");
        assert!(err.message.contains("idp.authority"), "{}", err.message);
        assert!(
            !err.message.contains(":p@"),
            "never echoes a password: {}",
            err.message
        );
    }
}

#[test]
fn a_url_with_user_info_is_refused_without_echoing_it() {
    let err = parse(&OIDC.replace(
        "https://adb-1.2.azuredatabricks.net",
        "https://me:hunter2@adb-1.2.azuredatabricks.net",
    ))
    .unwrap_err();
    assert_eq!(err.code, 2);
    assert!(err.message.contains("databricks_host"), "{}", err.message);
    assert!(!err.message.contains("hunter2"), "{}", err.message);
}

#[test]
fn warehouse_id_is_optional_and_checked() {
    assert_eq!(
        parse(OIDC).unwrap().profile(None).unwrap().warehouse_id,
        None
    );
    let with = OIDC.replacen(
        "[profiles.dev.idp]",
        "warehouse_id = \"abc-123\"\n[profiles.dev.idp]",
        1,
    );
    let cfg = parse(&with).unwrap();
    assert_eq!(
        cfg.profile(None).unwrap().warehouse_id.as_deref(),
        Some("abc-123")
    );
    let bad = OIDC.replacen(
        "[profiles.dev.idp]",
        "warehouse_id = \"a b\"\n[profiles.dev.idp]",
        1,
    );
    let err = parse(&bad).unwrap_err();
    assert_eq!(err.code, 2);
    assert!(err.message.contains("warehouse_id"), "{}", err.message);
}
