//! Golden tests: every known error body (tests/errors/catalogue.json) maps to one actionable
//! line, a hint, and a stable exit code (tests/errors/expected.json).

use std::path::Path;

use gw::advice::{Endpoint, advise};
use gw::config::Config;
use gw::http::Response;
use gw::token_endpoint::{TokenResponse, interpret};
use serde_json::{Value, json};

fn profile() -> gw::config::Profile {
    let text = r#"
[profiles.work]
databricks_host = "https://adb-1234567890123456.7.azuredatabricks.net"
[profiles.work.idp]
kind = "azure"
tenant_id = "72f988bf-86f1-41af-91ab-2d7cd011db47"
client_id = "11111111-1111-1111-1111-111111111111"
"#;
    Config::parse(text, Path::new("config.toml"))
        .unwrap()
        .profiles["work"]
        .clone()
}

#[test]
fn every_catalogued_error_reads_as_its_golden_line_hint_and_exit_code() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/errors");
    let catalogue: Vec<Value> =
        serde_json::from_slice(&std::fs::read(dir.join("catalogue.json")).unwrap()).unwrap();
    let profile = profile();
    let mut actual = serde_json::Map::new();
    for case in &catalogue {
        let endpoint = match case["endpoint"].as_str().unwrap() {
            "sign_in" => Endpoint::SignIn,
            "refresh" => Endpoint::Refresh,
            "exchange" => Endpoint::Exchange,
            other => panic!("unknown endpoint {other}"),
        };
        let url = if endpoint == Endpoint::Exchange {
            "https://adb-1234567890123456.7.azuredatabricks.net/oidc/v1/token"
        } else {
            "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token"
        };
        let resp = Response::new(
            case["status"].as_u64().unwrap() as u16,
            case["content_type"].as_str(),
            case["body"].as_str().unwrap().as_bytes(),
        );
        let err =
            interpret::<TokenResponse>(url, &resp, &[]).expect_err("an error body is an error");
        let a = advise(endpoint, &err, &profile);
        assert!(
            !a.message.contains('\n') && !a.hint.contains('\n'),
            "one line each: {a:?}"
        );
        assert!(
            !a.message.chars().any(char::is_control),
            "what a server said cannot drive the terminal: {:?}",
            a.message
        );
        assert!(
            !a.message.contains("Trace ID"),
            "Entra's trace lines are dropped: {}",
            a.message
        );
        actual.insert(
            case["name"].as_str().unwrap().to_owned(),
            json!({"error": a.message, "hint": a.hint, "exit": a.code, "signs_in_again": a.needs_login}),
        );
    }
    let golden = dir.join("expected.json");
    let actual = Value::Object(actual);
    if std::env::var_os("GW_UPDATE_GOLDEN").is_some() {
        std::fs::write(
            &golden,
            serde_json::to_string_pretty(&actual).unwrap() + "\n",
        )
        .unwrap();
    }
    let expected: Value =
        serde_json::from_slice(&std::fs::read(&golden).expect("tests/errors/expected.json"))
            .unwrap();
    for (name, want) in expected.as_object().unwrap() {
        assert_eq!(&actual[name], want, "case `{name}`");
    }
    assert_eq!(
        expected.as_object().unwrap().len(),
        catalogue.len(),
        "every case has a golden answer"
    );
}
