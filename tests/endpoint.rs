//! gw's local endpoint through `gw serve` and `gw exec` (the real binary, the fake workspace):
//! who gets in, what is forwarded, streaming, a refused token, a dead sign-in, an unreachable
//! workspace; and the supervised child's signals, exit codes and stdout.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::Duration;

use support::{Sandbox, Servers};

/// `gw serve` running in a sandbox, with its ready line.
struct Serve {
    child: Child,
    ready: serde_json::Value,
    stderr: std::sync::mpsc::Receiver<String>,
}

impl Serve {
    fn start(sb: &Sandbox, extra: &[&str]) -> Serve {
        let mut args = vec!["serve"];
        args.extend(extra);
        let mut child = sb
            .cmd(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn gw serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let ready: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("not one JSON line: {line:?}: {e}"));
        let (tx, stderr) = std::sync::mpsc::channel();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for l in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = tx.send(l);
            }
        });
        Serve {
            child,
            ready,
            stderr,
        }
    }

    fn base(&self) -> String {
        self.ready["base_url"].as_str().unwrap().to_owned()
    }

    fn key(&self) -> String {
        self.ready["key"].as_str().unwrap().to_owned()
    }

    /// `127.0.0.1:<port>`.
    fn addr(&self) -> String {
        let base = self.base();
        let rest = base.strip_prefix("http://").unwrap();
        rest.split('/').next().unwrap().to_owned()
    }

    fn stderr_lines(&self) -> Vec<String> {
        std::thread::sleep(Duration::from_millis(200));
        self.stderr.try_iter().collect()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Send a raw HTTP/1.1 request to `addr`; (status, body).
fn raw(addr: &str, head: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "{head}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    (status, body)
}

fn signed_in(servers: &Servers) -> Sandbox {
    let sb = Sandbox::new(&servers.config("", ""));
    sb.gw(&["login"]).ok();
    sb
}

const MESSAGE: &str = r#"{"model":"databricks-claude-test","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}"#;

#[test]
fn serve_prints_one_ready_line_and_forwards_model_traffic_with_the_users_token() {
    let servers = Servers::start(&[]);
    let sb = signed_in(&servers);
    let serve = Serve::start(&sb, &["--target", "databricks"]);
    for k in ["base_url", "key", "metadata_service_url", "pid"] {
        assert!(!serve.ready[k].is_null(), "{k}: {}", serve.ready);
    }
    assert_eq!(serve.ready["pid"], serve.child.id());
    assert!(
        serve.ready["env"]["DATABRICKS_METADATA_SERVICE_URL"]
            .as_str()
            .unwrap()
            .starts_with(&serve.base()),
        "{}",
        serve.ready
    );
    let addr = serve.addr();
    let key = serve.key();
    // The key in the path…
    let (status, body) = raw(
        &addr,
        &format!(
            "POST /k/{key}/serving-endpoints/anthropic/v1/messages HTTP/1.1\r\nhost: {addr}\r\nx-api-key: client-own-key\r\ncontent-type: application/json"
        ),
        MESSAGE,
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("STUB-REPLY"), "{body}");
    // …or as the client's API key.
    let (status, _) = raw(
        &addr,
        &format!(
            "POST /ai-gateway/anthropic/v1/messages HTTP/1.1\r\nhost: {addr}\r\nx-api-key: {key}\r\ncontent-type: application/json"
        ),
        MESSAGE,
    );
    assert_eq!(status, 200);
    let token = sb.gw(&["token"]).ok().stdout.trim().to_owned();
    let msgs = servers.recorded("messages");
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    for m in &msgs {
        assert_eq!(
            m["token"], token,
            "gw's token replaced the client's key: {m}"
        );
        assert_eq!(m["token_source"], "authorization", "{m}");
        assert!(
            m["headers"].get("x-api-key").is_none(),
            "client key stripped: {m}"
        );
    }
    let lines = serve.stderr_lines().join("\n");
    assert!(!lines.contains(&key) && !lines.contains(&token), "{lines}");
}

#[test]
fn nobody_without_the_key_from_another_host_or_for_another_api_gets_through() {
    let servers = Servers::start(&[]);
    let sb = signed_in(&servers);
    let mut sb_v = Sandbox::new("");
    sb_v.env = sb.env.clone();
    let serve = Serve::start(&sb_v, &["-vv"]);
    let addr = serve.addr();
    let key = serve.key();
    servers.reset_stats();
    let cases = [
        (
            format!("POST /ai-gateway/anthropic/v1/messages HTTP/1.1\r\nhost: {addr}"),
            401,
        ),
        (
            format!(
                "POST /k/not-the-key/ai-gateway/anthropic/v1/messages HTTP/1.1\r\nhost: {addr}"
            ),
            401,
        ),
        (
            format!(
                "POST /ai-gateway/anthropic/v1/messages HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer wrong"
            ),
            401,
        ),
        (
            format!(
                "POST /k/{key}/ai-gateway/anthropic/v1/messages HTTP/1.1\r\nhost: attacker.example:80"
            ),
            421,
        ),
        (
            format!(
                "POST /k/{key}/ai-gateway/anthropic/v1/messages HTTP/1.1\r\nhost: rebind.attacker.example:{}",
                addr.split(':').nth(1).unwrap()
            ),
            421,
        ),
        (
            format!("GET /k/{key}/api/2.0/clusters/list HTTP/1.1\r\nhost: {addr}"),
            404,
        ),
        (
            format!("GET /k/{key}/oidc/v1/token HTTP/1.1\r\nhost: {addr}"),
            404,
        ),
        (
            format!("GET /k/{key}/ai-gateway/../api/2.0/clusters/list HTTP/1.1\r\nhost: {addr}"),
            400,
        ),
        (
            format!("GET /k/{key}/serving-endpoints/a%2F..%2F..%2Fapi/x HTTP/1.1\r\nhost: {addr}"),
            400,
        ),
        (
            format!("GET /k/{key}/metadata HTTP/1.1\r\nhost: {addr}"),
            400,
        ),
    ];
    for (head, want) in &cases {
        let (status, body) = raw(&addr, head, MESSAGE);
        assert_eq!(status, *want, "{head}: {body}");
        assert!(!body.contains(&key), "a refusal never echoes the key");
    }
    let stats = servers.ws_stats();
    assert_eq!(
        stats["messages"], 0,
        "nothing reached the workspace: {stats}"
    );
    assert!(servers.recorded("messages").is_empty());
    let lines = serve.stderr_lines().join("\n");
    assert!(lines.contains("refused"), "-vv says why: {lines}");
    assert!(!lines.contains(&key), "-vv never shows the key: {lines}");
    // A flood of idle connections is bounded, and the endpoint keeps answering.
    let idle: Vec<TcpStream> = (0..300)
        .filter_map(|_| TcpStream::connect(&addr).ok())
        .collect();
    drop(idle);
    let (status, _) = raw(
        &addr,
        &format!(
            "GET /k/{key}/metadata HTTP/1.1\r\nhost: {addr}\r\nx-databricks-metadata-version: 1"
        ),
        "",
    );
    assert_eq!(status, 200);
}

#[test]
fn the_metadata_service_answers_the_sdks_shape_for_its_own_workspace_only() {
    let servers = Servers::start(&[]);
    let sb = signed_in(&servers);
    let serve = Serve::start(&sb, &[]);
    let url = serve.ready["metadata_service_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = url
        .strip_prefix(&format!("http://{}", serve.addr()))
        .unwrap();
    let addr = serve.addr();
    let (status, body) = raw(
        &addr,
        &format!(
            "GET {path} HTTP/1.1\r\nhost: {addr}\r\nx-databricks-metadata-version: 1\r\nx-databricks-host: {}",
            servers.workspace
        ),
        "",
    );
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["token_type"], "Bearer");
    assert!(v["expires_on"].is_u64(), "integer Unix seconds: {v}");
    assert!(servers.workspace_accepts(v["access_token"].as_str().unwrap()));
    let (status, _) = raw(
        &addr,
        &format!(
            "GET {path} HTTP/1.1\r\nhost: {addr}\r\nx-databricks-metadata-version: 1\r\nx-databricks-host: https://other.cloud.databricks.com"
        ),
        "",
    );
    assert_eq!(status, 400, "one host per URL");
}

#[test]
fn streams_pass_through_as_they_arrive() {
    let servers = Servers::start(&[]);
    let sb = signed_in(&servers);
    let serve = Serve::start(&sb, &[]);
    let addr = serve.addr();
    let key = serve.key();
    let mut s = TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        s,
        "POST /k/{key}/ai-gateway/slow/v1/stream HTTP/1.1\r\nhost: {addr}\r\ncontent-length: 2\r\n\r\n{{}}"
    )
    .unwrap();
    // The workspace holds the rest of the stream until released: the first event must
    // cross gw before that, or gw is buffering.
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("data: first") {
        let n = s
            .read(&mut buf)
            .expect("the first event arrived before the stream ended");
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    assert!(!String::from_utf8_lossy(&seen).contains("data: last"));
    servers.post(&format!("{}/__release", servers.workspace), "{}");
    let mut rest = String::new();
    let _ = s.read_to_string(&mut rest);
    assert!(rest.contains("data: last"), "{rest}");
}

#[test]
fn a_token_the_workspace_refuses_is_replaced_and_the_request_replayed_once() {
    let servers = Servers::start(&[]);
    let sb = signed_in(&servers);
    let serve = Serve::start(&sb, &[]);
    let addr = serve.addr();
    let key = serve.key();
    servers.post(&format!("{}/__revoke_tokens", servers.workspace), "{}");
    servers.reset_stats();
    let (status, body) = raw(
        &addr,
        &format!(
            "POST /k/{key}/ai-gateway/anthropic/v1/messages HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json"
        ),
        MESSAGE,
    );
    assert_eq!(status, 200, "{body}");
    let calls = servers.recorded("messages");
    assert_eq!(calls.len(), 2, "one refusal, one replay: {calls:?}");
    assert_eq!(calls[0]["status"], 401);
    assert_eq!(calls[1]["status"], 200);
    assert_eq!(servers.ws_stats()["exchange"], 1, "one new token");
}

#[test]
fn an_unreachable_workspace_is_a_502_with_a_reason_and_the_endpoint_keeps_serving() {
    let servers = Servers::start(&[]);
    let sb = signed_in(&servers);
    let serve = Serve::start(&sb, &[]);
    let addr = serve.addr();
    let key = serve.key();
    // The workspace goes away; the endpoint holds a valid token in memory.
    drop(servers);
    for _ in 0..2 {
        let (status, body) = raw(
            &addr,
            &format!("POST /k/{key}/ai-gateway/anthropic/v1/messages HTTP/1.1\r\nhost: {addr}"),
            MESSAGE,
        );
        assert_eq!(status, 502, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(msg.starts_with("gw: cannot reach the workspace"), "{msg}");
        assert!(!msg.contains('\n'));
    }
}

#[test]
fn a_dead_sign_in_is_a_401_telling_the_user_to_run_gw_login_said_once_on_stderr() {
    let servers = Servers::start(&[("WS_TOKEN_TTL", "4")]);
    let mut sb = signed_in(&servers);
    // No way to prompt here, and the IdP has forgotten every grant.
    sb.unset("BROWSER");
    sb.set("SSH_CONNECTION", "10.0.0.1 5000 10.0.0.2 22");
    let serve = Serve::start(&sb, &[]);
    servers.post(&format!("{}/__revoke_all", servers.issuer), "{}");
    std::thread::sleep(Duration::from_secs(5));
    let addr = serve.addr();
    let key = serve.key();
    for _ in 0..3 {
        let (status, body) = raw(
            &addr,
            &format!("POST /k/{key}/ai-gateway/anthropic/v1/messages HTTP/1.1\r\nhost: {addr}"),
            MESSAGE,
        );
        assert_eq!(status, 401, "{body}");
        assert!(body.contains("run `gw login`"), "{body}");
    }
    let lines = serve.stderr_lines();
    let said: Vec<_> = lines
        .iter()
        .filter(|l| l.contains("cannot refresh its token"))
        .collect();
    assert_eq!(said.len(), 1, "said once: {lines:?}");
}

#[test]
fn serve_stops_on_sigterm_and_closes_its_port() {
    let servers = Servers::start(&[]);
    let sb = signed_in(&servers);
    let mut serve = Serve::start(&sb, &[]);
    let addr = serve.addr();
    unsafe_kill(serve.child.id(), "TERM");
    let status = serve.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(TcpStream::connect(&addr).is_err(), "the port is closed");
}

#[test]
fn a_port_in_use_is_a_clear_error_naming_it() {
    let servers = Servers::start(&[]);
    let sb = signed_in(&servers);
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = sb.gw(&["serve", "--port", &port]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!("127.0.0.1:{port}")),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("hint:"), "{}", out.stderr);
}

fn unsafe_kill(pid: u32, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

// ------------------------------------------------------------------- supervised exec --

/// `gw exec --target databricks -- sh -c SCRIPT`: a supervised child.
fn supervised(sb: &Sandbox, script: &str) -> std::process::Command {
    let mut c = sb.cmd(&["exec", "--target", "databricks", "--", "sh", "-c", script]);
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    c
}

#[cfg(unix)]
#[test]
fn the_childs_exit_code_and_signal_are_gws_and_its_stdout_is_its_own() {
    let servers = Servers::start(&[]);
    let sb = signed_in(&servers);
    let out = supervised(&sb, "echo only-the-child; exit 7")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(7));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "only-the-child\n");
    let out = supervised(&sb, "kill -TERM $$").output().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        out.status.signal(),
        Some(15),
        "gw died the way its child did"
    );
}

#[cfg(unix)]
#[test]
fn sigterm_is_forwarded_and_ctrl_c_reaches_the_child_while_gw_outlives_it() {
    use std::os::unix::process::CommandExt;
    let servers = Servers::start(&[]);
    let sb = signed_in(&servers);
    for (sig, to_group, code) in [("TERM", false, 5), ("INT", true, 3)] {
        let script = "trap 'echo got-term; exit 5' TERM; trap 'echo got-int; exit 3' INT; echo ready; while :; do sleep 0.1; done";
        let mut cmd = supervised(&sb, script);
        cmd.process_group(0);
        let mut child = cmd.spawn().unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert_eq!(line, "ready\n");
        let target = if to_group {
            format!("-{}", child.id())
        } else {
            child.id().to_string()
        };
        let ok = std::process::Command::new("kill")
            .args([&format!("-{sig}"), "--", &target])
            .status()
            .unwrap()
            .success();
        assert!(ok);
        let status = child.wait().unwrap();
        let mut rest = String::new();
        out.read_to_string(&mut rest).unwrap();
        assert_eq!(status.code(), Some(code), "{sig}: {rest}");
        assert!(
            rest.contains(&format!("got-{}", sig.to_lowercase())),
            "{rest}"
        );
    }
}

#[test]
fn the_endpoint_lives_exactly_as_long_as_the_child() {
    let servers = Servers::start(&[]);
    let sb = signed_in(&servers);
    let out = supervised(&sb, "echo \"$DATABRICKS_METADATA_SERVICE_URL\"")
        .output()
        .unwrap();
    assert!(out.status.success());
    let url = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let addr = url
        .strip_prefix("http://")
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    assert!(addr.starts_with("127.0.0.1:"), "{url}");
    assert!(TcpStream::connect(&addr).is_err(), "closed with the child");
}
