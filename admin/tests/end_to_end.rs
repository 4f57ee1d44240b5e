//! The built `gw-admin` against a fake Databricks workspace + account API
//! (`tests/idp/databricks_api.mjs`, in-memory): the admin sequence twice, the second run
//! writing nothing; dry runs sending nothing; the account sign-in through gw's PKCE engine;
//! exit codes and `error:`/`hint:` lines.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Output, Stdio};

use serde_json::Value;

const WS_TOKEN: &str = "ws-test-token-e2e-7f3a";
const ACCOUNT_TOKEN: &str = "acct-test-token-e2e-91c2";
const ACCOUNT: &str = "acct-e2e";
const TENANT: &str = "11111111-2222-3333-4444-555555555555";

fn fake_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/idp/databricks_api.mjs")
}

/// The fake API; it exits when its stdin closes (on drop).
struct Fake {
    child: Child,
    _stdin: ChildStdin,
    url: String,
}

impl Fake {
    fn start() -> Fake {
        Fake::start_with(&[])
    }

    fn start_with(env: &[(&str, &str)]) -> Fake {
        let mut child = Command::new("node")
            .arg(fake_script())
            .envs(env.iter().copied())
            .env("FAKE_WS_TOKEN", WS_TOKEN)
            .env("FAKE_ACCOUNT_TOKEN", ACCOUNT_TOKEN)
            .env("FAKE_SEED_POLICIES", "3")
            .env("FAKE_SEED_ACCOUNT", ACCOUNT)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start node tests/idp/databricks_api.mjs (Node 20+)");
        let stdin = child.stdin.take().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
        Fake {
            child,
            _stdin: stdin,
            url: v["url"].as_str().unwrap().to_owned(),
        }
    }

    fn stats(&self) -> Value {
        let out = Command::new("node")
            .args([
                "-e",
                "fetch(process.argv[1]).then(r => r.text()).then(t => process.stdout.write(t))",
                &format!("{}/__stats", self.url),
            ])
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A sandbox for one run of the binary: its own HOME, no inherited gw or Databricks settings.
struct Admin {
    home: tempfile::TempDir,
    host: String,
}

impl Admin {
    fn new(fake: &Fake) -> Admin {
        Admin {
            home: tempfile::tempdir().unwrap(),
            host: fake.url.clone(),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gw-admin"));
        cmd.args(["--host", &self.host, "--account-host", &self.host])
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("XDG_CONFIG_HOME", self.home.path().join("config"))
            .env("XDG_STATE_HOME", self.home.path().join("state"))
            .env("XDG_CACHE_HOME", self.home.path().join("cache"))
            .env("GW_ADMIN_POLL_MS", "20")
            .env("GW_ADMIN_WAIT_SECS", "20")
            .stdin(Stdio::null());
        cmd
    }

    /// Run with both tokens set.
    fn run(&self, args: &[&str]) -> Output {
        self.command(args)
            .env("DATABRICKS_TOKEN", WS_TOKEN)
            .env("DATABRICKS_ACCOUNT_TOKEN", ACCOUNT_TOKEN)
            .output()
            .unwrap()
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ok(out: &Output) -> String {
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status.code()
    );
    for token in [WS_TOKEN, ACCOUNT_TOKEN] {
        assert!(
            !stdout.contains(token) && !stderr.contains(token),
            "a token was printed"
        );
    }
    stdout
}

const SEQUENCE: &[&[&str]] = &[
    &[
        "setup-endpoint",
        "--name",
        "claude-code",
        "--external-model",
        "claude-sonnet-4-5",
        "--provider",
        "anthropic",
        "--api-key-secret",
        "gw/anthropic",
    ],
    &[
        "configure-gateway",
        "--name",
        "claude-code",
        "--usage-tracking",
        "--rate-limit",
        "100/minute",
        "--rate-limit",
        "20/minute:user",
        "--rate-limit",
        "50/minute:group=data-eng",
        "--pii",
        "mask",
        "--safety",
        "--inference-table",
        "main.gw",
    ],
    &["grant", "--name", "claude-code", "--group", "developers"],
    &[
        "setup-federation",
        "--account-id",
        ACCOUNT,
        "--azure-tenant",
        TENANT,
        "--audience",
        "gw-client-id",
    ],
    &["show", "--name", "claude-code", "--account-id", ACCOUNT],
];

#[test]
fn the_admin_sequence_twice_changes_everything_once_and_nothing_the_second_time() {
    let fake = Fake::start();
    let admin = Admin::new(&fake);

    let first: Vec<String> = SEQUENCE.iter().map(|args| ok(&admin.run(args))).collect();
    let after_first = fake.stats();
    assert_eq!(after_first["writes"], 4, "{after_first}");
    let routes = &after_first["by_route"];
    assert_eq!(routes["POST /api/2.0/serving-endpoints"], 1);
    assert_eq!(
        routes["PUT /api/2.0/serving-endpoints/claude-code/ai-gateway"],
        1
    );
    assert_eq!(
        routes["PATCH /api/2.0/permissions/serving-endpoints/{id}"],
        1
    );
    assert_eq!(
        routes[&format!("POST /api/2.0/accounts/{ACCOUNT}/federationPolicies")],
        1
    );
    assert!(
        first[0].contains("Created serving endpoint `claude-code`"),
        "{}",
        first[0]
    );
    assert!(first[0].contains("READY"));
    assert!(first[1].contains("Updated the AI Gateway of `claude-code`"));
    assert!(first[2].contains("Granted CAN_QUERY on `claude-code` to group `developers`"));
    assert!(first[3].contains("Created federation policy `gw-"));
    assert!(first[3].contains("subject claim `preferred_username`"));
    assert!(
        first[4].contains("group developers CAN_QUERY"),
        "{}",
        first[4]
    );

    let second: Vec<String> = SEQUENCE.iter().map(|args| ok(&admin.run(args))).collect();
    let after_second = fake.stats();
    assert_eq!(
        after_second["writes"], 4,
        "the second run wrote: {after_second}"
    );
    for out in &second[..4] {
        assert!(out.contains("nothing to change"), "{out}");
    }
    assert_eq!(second[4], first[4], "show differs between runs");

    // What exists, as JSON: the endpoint ready with its gateway and grant, and the policy
    // found past the first page of the list.
    let shown: Value = serde_json::from_str(&ok(&admin.run(&[
        "--json",
        "show",
        "--name",
        "claude-code",
        "--account-id",
        ACCOUNT,
    ])))
    .unwrap();
    let e = &shown["endpoint"];
    assert_eq!(e["state"]["ready"], "READY");
    assert_eq!(
        e["config"]["served_entities"][0]["external_model"]["anthropic_config"]["anthropic_api_key"],
        "{{secrets/gw/anthropic}}"
    );
    assert_eq!(e["ai_gateway"]["usage_tracking_config"]["enabled"], true);
    assert_eq!(
        e["ai_gateway"]["guardrails"]["output"]["pii"]["behavior"],
        "MASK"
    );
    assert_eq!(
        e["ai_gateway"]["inference_table_config"]["table_name_prefix"],
        "claude-code"
    );
    let acl = shown["permissions"]["access_control_list"]
        .as_array()
        .unwrap();
    assert!(acl.iter().any(|a| a["group_name"] == "developers"
        && a["all_permissions"][0]["permission_level"] == "CAN_QUERY"));
    // Which route these settings govern, said in both forms.
    assert_eq!(
        shown["governs"]["route"],
        format!("{}/serving-endpoints/", fake.url)
    );
    assert_eq!(
        shown["governs"]["not_governed"],
        format!("{}/ai-gateway/", fake.url)
    );
    assert!(
        first[4].contains(&format!("govern `{}/serving-endpoints/…`", fake.url))
            && first[4].contains("Unity AI Gateway"),
        "{}",
        first[4]
    );
    let policies = shown["federation_policies"].as_array().unwrap();
    assert_eq!(policies.len(), 4);
    let ours = &policies[3]["oidc_policy"];
    assert_eq!(
        ours["issuer"],
        format!("https://login.microsoftonline.com/{TENANT}/v2.0")
    );
    assert_eq!(ours["audiences"], serde_json::json!(["gw-client-id"]));
    assert_eq!(ours["subject_claim"], "preferred_username");
}

#[test]
fn a_dry_run_prints_every_request_and_sends_none() {
    let fake = Fake::start();
    let admin = Admin::new(&fake);
    for args in SEQUENCE {
        let mut with = vec!["--dry-run"];
        with.extend_from_slice(args);
        let stdout = ok(&admin.run(&with));
        assert!(
            stdout.contains(&format!("GET {}/api/2.0/", fake.url)),
            "{stdout}"
        );
    }
    let stats = fake.stats();
    assert_eq!(stats["requests"], 0, "{stats}");

    // Without any token either: a dry run needs none and signs in nowhere.
    let out = admin
        .command(&[
            "--dry-run",
            "grant",
            "--name",
            "claude-code",
            "--group",
            "developers",
        ])
        .output()
        .unwrap();
    let stdout = ok(&out);
    assert!(stdout.contains(&format!(
        "PATCH {}/api/2.0/permissions/serving-endpoints/ENDPOINT_ID\n{{\n  \"access_control_list\"",
        fake.url
    )));
    assert_eq!(fake.stats()["requests"], 0);
}

#[test]
fn without_an_account_token_the_account_console_sign_in_uses_pkce() {
    let fake = Fake::start();
    let admin = Admin::new(&fake);
    let browser = format!("node {} --browse", fake_script().display());
    let out = admin
        .command(&[
            "setup-federation",
            "--account-id",
            ACCOUNT,
            "--issuer",
            "https://idp.example.com",
            "--audience",
            "gw",
            "--subject-claim",
            "email",
        ])
        .env("BROWSER", browser)
        .env("GW_LOGIN_TIMEOUT", "20")
        .output()
        .unwrap();
    let stdout = ok(&out);
    assert!(stdout.contains("Created federation policy"), "{stdout}");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "{}/oidc/accounts/{ACCOUNT}/v1/authorize?",
            fake.url
        )),
        "{stderr}"
    );
    assert!(stderr.contains("client_id=databricks-cli"));
    assert!(stderr.contains("code_challenge_method=S256"));
    assert!(stderr.contains("redirect_uri=http%3A%2F%2Flocalhost%3A80"));
    let stats = fake.stats();
    assert_eq!(stats["oauth_tokens"], 1, "{stats}");
    assert!(!stdout.contains("acct-oauth-") && !stderr.contains("acct-oauth-"));
}

/// The account sign-in is kept in gw's store: a second run signs in nowhere, and a run after
/// the token expired refreshes it silently (no browser), the refresh token rotating.
#[test]
fn the_account_sign_in_is_cached_and_refreshed_silently() {
    let fake = Fake::start_with(&[("FAKE_ACCOUNT_TOKEN_TTL", "2")]);
    let admin = Admin::new(&fake);
    let show = |browser: &str| {
        admin
            .command(&["show", "--account-id", ACCOUNT, "--json"])
            .env("DATABRICKS_TOKEN", WS_TOKEN)
            .env("GW_TOKEN_STORE", "file")
            .env("BROWSER", browser)
            .env("GW_LOGIN_TIMEOUT", "20")
            .output()
            .unwrap()
    };
    let browser = format!("node {} --browse", fake_script().display());
    let first = show(&browser);
    ok(&first);
    assert_eq!(fake.stats()["oauth_tokens"], 1);

    // At once: the cached token (a failing browser proves no sign-in is attempted).
    let second = show("false");
    ok(&second);
    let stats = fake.stats();
    assert_eq!(
        (
            stats["oauth_tokens"].as_u64(),
            stats["oauth_refreshes"].as_u64()
        ),
        (Some(1), Some(0)),
        "{stats}"
    );

    // Once it has expired: a silent refresh, twice in a row (so the rotated refresh token
    // was the one saved).
    for n in 1..=2 {
        std::thread::sleep(std::time::Duration::from_millis(2100));
        let out = show("false");
        ok(&out);
        let stats = fake.stats();
        assert_eq!(stats["oauth_tokens"], 1, "{stats}");
        assert_eq!(stats["oauth_refreshes"], n, "{stats}");
    }

    // Nothing the store holds is printed, and the record is private.
    let dir = admin.home.path().join("state/gw/tokens");
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("oauth-") && n.ends_with(".json"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let record = std::fs::read_to_string(dir.join(&files[0])).unwrap();
    assert!(record.contains("acct-refresh-"));
    for out in [&first, &second] {
        for stream in [text(&out.stdout), text(&out.stderr)] {
            assert!(!stream.contains("acct-refresh-") && !stream.contains("acct-oauth-"));
        }
    }
}

#[test]
fn failures_are_one_error_line_and_one_hint_with_gw_exit_codes() {
    let fake = Fake::start();
    let admin = Admin::new(&fake);

    // A missing endpoint: exit 1.
    let out = admin.run(&["grant", "--name", "nope", "--group", "developers"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: there is no serving endpoint `nope`\nhint: create it first with `gw-admin setup-endpoint`, or check the name with `gw-admin show`\n"
    );
    assert!(out.stdout.is_empty());

    // The wrong token: Databricks' 401, with its hint.
    let out = admin
        .command(&["show"])
        .env("DATABRICKS_TOKEN", "not-the-token")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with(&format!(
            "error: `GET {}/api/2.0/serving-endpoints` failed with HTTP 401 UNAUTHENTICATED",
            fake.url
        )),
        "{stderr}"
    );
    assert!(stderr.contains("\nhint: the workspace token was refused"));
    assert!(!stderr.contains("not-the-token"));

    // Usage errors are exit 2, before any request.
    for args in [
        &["configure-gateway", "--name", "claude-code"][..],
        &[
            "setup-federation",
            "--account-id",
            ACCOUNT,
            "--azure-tenant",
            "contoso.com",
            "--audience",
            "x",
        ],
        &[
            "setup-endpoint",
            "--name",
            "bad name!",
            "--external-model",
            "m",
            "--api-key-secret",
            "s/k",
        ],
    ] {
        let out = admin.run(args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        let stderr = text(&out.stderr);
        assert_eq!(stderr.lines().count(), 2, "{stderr}");
        assert!(stderr.starts_with("error: ") && stderr.contains("\nhint: "));
    }
    let out = admin
        .command(&["--host", "http://example.com", "show"])
        .env("DATABRICKS_TOKEN", WS_TOKEN)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));

    // No token and no gw config: exit 2, saying what to set.
    let out = admin.command(&["show"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("DATABRICKS_TOKEN"));

    // A gw profile for another workspace is not used for this one.
    let config = admin.home.path().join("gw.toml");
    std::fs::write(
        &config,
        "[profiles.work]\ndatabricks_host = \"https://adb-1.2.azuredatabricks.net\"\n\
         [profiles.work.idp]\nkind = \"oidc\"\nissuer = \"https://idp.example.com\"\nclient_id = \"gw\"\n",
    )
    .unwrap();
    let out = admin
        .command(&["--config", config.to_str().unwrap(), "show"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with(&format!(
            "error: profile `work` signs in to `https://adb-1.2.azuredatabricks.net`, not `{}`",
            fake.url
        )),
        "{stderr}"
    );

    assert_eq!(fake.stats()["writes"], 0);
}

/// Seed a gw session for a profile pointed at the fake: config plus a cached, unexpired token.
fn seed_gw_session(admin: &Admin, token: &str) {
    let config = format!(
        "[profiles.work]\ndatabricks_host = \"{h}\"\n[profiles.work.idp]\nkind = \"oidc\"\nissuer = \"{h}\"\nclient_id = \"c\"\n",
        h = admin.host
    );
    let cfg_path = admin.home.path().join("config/gw/config.toml");
    std::fs::create_dir_all(cfg_path.parent().unwrap()).unwrap();
    std::fs::write(&cfg_path, &config).unwrap();
    let parsed = gw::api::Config::parse(&config, &cfg_path).unwrap();
    let paths = gw::api::Paths {
        config: cfg_path.clone(),
        state_dir: admin.home.path().join("state/gw"),
        cache_dir: admin.home.path().join("cache/gw"),
    };
    gw::api::seed_session(
        parsed.profile(None).unwrap(),
        &paths,
        gw::api::StoreChoice::File,
        &gw::api::Secret::new(token),
        gw::api::now_unix() + 3600,
    )
    .unwrap();
}

#[test]
fn without_databricks_token_the_profiles_gw_session_is_used() {
    let fake = Fake::start();
    let admin = Admin::new(&fake);
    seed_gw_session(&admin, WS_TOKEN);
    let run = |admin: &Admin| {
        admin
            .command(&["show", "--name", "claude-code", "--json"])
            .env("GW_TOKEN_STORE", "file")
            .output()
            .unwrap()
    };
    let out = run(&admin);
    ok(&out);
    let before = fake.stats()["requests"].as_u64().unwrap();
    assert!(
        before >= 1,
        "gw-admin called the workspace with the session's token"
    );

    // A session holding another token is refused by the workspace: the token really came from it.
    seed_gw_session(&admin, "dbx-not-the-workspace-token");
    let out = run(&admin);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("401"), "{}", text(&out.stderr));
    assert!(
        !text(&out.stderr).contains("dbx-not-the-workspace-token"),
        "never printed"
    );
}

fn fleet_file(admin: &Admin, extra: &str) -> std::path::PathBuf {
    let text = format!(
        r#"[account]
id = "{ACCOUNT}"
host = "{host}"
[[account.federation_policies]]
azure_tenant = "{TENANT}"
audiences = ["gw-client-id"]

[templates.standard.endpoints.claude-code]
external_model = "claude-sonnet-4-5"
api_key_secret = "gw/anthropic"
gateway = {{ usage_tracking = true, rate_limits = ["60/minute:user", "100000/minute:tokens:user"], pii = "mask" }}
grants = {{ developers = "CAN_QUERY" }}

[workspaces.prod]
host = "{host}"
template = "standard"
token_env = "FLEET_PROD_TOKEN"
{extra}"#,
        host = admin.host
    );
    let path = admin.home.path().join("fleet.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn plan_reads_only_apply_writes_once_and_a_dead_workspace_fails_alone() {
    let fake = Fake::start();
    let admin = Admin::new(&fake);
    let dead = "[workspaces.dead]\nhost = \"http://127.0.0.1:9\"\ntemplate = \"standard\"\ntoken_env = \"FLEET_PROD_TOKEN\"\n";
    let file = fleet_file(&admin, dead);
    let f = file.to_str().unwrap();
    let run = |args: &[&str]| {
        admin
            .command(args)
            .env("FLEET_PROD_TOKEN", WS_TOKEN)
            .env("DATABRICKS_ACCOUNT_TOKEN", ACCOUNT_TOKEN)
            .output()
            .unwrap()
    };

    let plan = run(&["plan", "-f", f]);
    assert_eq!(plan.status.code(), Some(1), "{}", text(&plan.stderr));
    let shown = text(&plan.stdout);
    assert!(shown.contains("workspace prod ("), "{shown}");
    assert!(shown.contains("+ serving endpoint claude-code"), "{shown}");
    assert!(shown.contains("~ ai gateway of claude-code"), "{shown}");
    assert!(
        shown.contains("+ grant CAN_QUERY on claude-code to group developers"),
        "{shown}"
    );
    assert!(shown.contains("+ federation policy gw-"), "{shown}");
    assert!(
        shown.contains("workspace dead (http://127.0.0.1:9): FAILED"),
        "{shown}"
    );
    assert!(text(&plan.stderr).contains("error: 1 of 3 targets failed: dead"));
    assert_eq!(fake.stats()["writes"], 0, "plan wrote");

    // A reviewed plan, saved as JSON, then applied.
    let json_plan = run(&["--json", "plan", "-f", f]);
    let saved = admin.home.path().join("plan.json");
    std::fs::write(&saved, &json_plan.stdout).unwrap();
    let v: Value = serde_json::from_slice(&json_plan.stdout).unwrap();
    assert_eq!(v["summary"]["failed"], 1);
    let apply = run(&["apply", "-f", f, "--plan", saved.to_str().unwrap()]);
    assert_eq!(apply.status.code(), Some(1), "{}", text(&apply.stderr));
    let out = text(&apply.stdout);
    assert!(
        out.contains("workspace prod (")
            && out.contains("done: Created serving endpoint `claude-code`"),
        "{out}"
    );
    assert!(
        out.contains("workspace dead (http://127.0.0.1:9): FAILED"),
        "{out}"
    );
    let after = fake.stats();
    assert_eq!(after["writes"], 4, "{after}");

    // Idempotent: nothing left to do for prod or the account.
    let again = run(&["apply", "-f", f]);
    assert!(
        text(&again.stdout).contains("workspace prod ("),
        "{}",
        text(&again.stdout)
    );
    assert!(text(&again.stdout).contains(": up to date"));
    assert_eq!(fake.stats()["writes"], 4);

    // A plan that no longer matches: someone changed the gateway since the review.
    let reviewed = run(&["--json", "plan", "-f", f]);
    std::fs::write(&saved, &reviewed.stdout).unwrap();
    let changed = fleet_file(&admin, dead).to_str().unwrap().to_owned();
    std::fs::write(
        &changed,
        std::fs::read_to_string(&changed)
            .unwrap()
            .replace("\"60/minute:user\"", "\"30/minute:user\""),
    )
    .unwrap();
    let stale = run(&["apply", "-f", &changed, "--plan", saved.to_str().unwrap()]);
    let out = text(&stale.stdout);
    assert!(
        out.contains("the plan changed since it was reviewed: ~ ai gateway of claude-code"),
        "{out}"
    );
    assert_eq!(fake.stats()["writes"], 4, "a stale plan wrote");
}

#[test]
fn a_bad_fleet_file_is_exit_2_naming_the_line_and_key_before_any_request() {
    let fake = Fake::start();
    let admin = Admin::new(&fake);
    let file = fleet_file(&admin, "colour = \"blue\"\n");
    let out = admin
        .command(&["plan", "-f", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with(&format!(
            "error: {}:18: `workspaces.prod.colour`: unknown field `colour`",
            file.display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("\nhint: "));
    assert_eq!(fake.stats()["requests"], 0);
}

#[test]
fn usage_per_user_endpoint_and_group_from_the_statement_api() {
    let fake = Fake::start_with(&[("FAKE_SQL_CHUNK_ROWS", "1")]);
    let admin = Admin::new(&fake);
    let by_user = admin.run(&[
        "--json",
        "usage",
        "--by",
        "user",
        "--since",
        "30d",
        "--warehouse-id",
        "wh-test",
    ]);
    let v: Value = serde_json::from_str(&ok(&by_user)).unwrap();
    let keys: Vec<&str> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        ["alice@example.com", "bob@example.com", "admin@example.com"],
        "every chunk read, carol's old row outside the window"
    );
    assert_eq!(v["rows"][0]["requests"], 3);
    assert_eq!(v["rows"][0]["input_tokens"], 4500);
    let table = ok(&admin.run(&[
        "usage",
        "--by",
        "endpoint",
        "--since",
        "1d",
        "--warehouse-id",
        "wh-test",
    ]));
    assert!(
        table.contains("endpoint") && table.contains("claude-code") && !table.contains("sonnet"),
        "{table}"
    );
    let groups: Value = serde_json::from_str(&ok(&admin.run(&[
        "--json",
        "usage",
        "--by",
        "group",
        "--warehouse-id",
        "wh-test",
    ])))
    .unwrap();
    assert_eq!(groups["rows"][0]["key"], "developers");
    // alice's 3 requests and bob's 1 in the last 7 days.
    assert_eq!(groups["rows"][0]["requests"], 4);

    let out = admin.run(&["usage", "--warehouse-id", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("error: the SQL warehouse `nope` cannot be used"),
        "{}",
        text(&out.stderr)
    );
    let out = admin.run(&["usage"]);
    assert_eq!(out.status.code(), Some(2), "no warehouse given");
    assert_eq!(fake.stats()["writes"], 0);
}
