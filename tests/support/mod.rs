//! Test support: the real test IdP and the fake workspace (`tests/idp/server.mjs`), a
//! sandbox HOME for each test, and a runner for the built `gw` binary.

#![allow(dead_code)]

pub mod tokens;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::time::Duration;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn idp_dir() -> PathBuf {
    repo().join("tests/idp")
}

/// A Node script from tests/idp that prints one JSON line when ready; killed on drop (and it
/// exits by itself when its stdin closes).
pub struct Node {
    child: Child,
    _stdin: ChildStdin,
}

impl Node {
    pub fn start(script: &str, env: &[(&str, &str)]) -> (Node, serde_json::Value) {
        let mut cmd = Command::new("node");
        cmd.arg(idp_dir().join(script))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("start node tests/idp/{script}: {e}"));
        let stdin = child.stdin.take().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("read the server's first line");
        let v = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("bad line from {script}: {line:?}: {e}"));
        (
            Node {
                child,
                _stdin: stdin,
            },
            v,
        )
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The test IdP and fake workspace, in one Node process; killed on drop.
pub struct Servers {
    node: Node,
    pub issuer: String,
    pub workspace: String,
    pub client_id: String,
}

impl Servers {
    /// Start with extra env knobs (see tests/idp/README.md).
    pub fn start(env: &[(&str, &str)]) -> Servers {
        assert!(
            idp_dir().join("node_modules/oidc-provider").exists(),
            "the test IdP is not installed: run `npm ci` in tests/idp (or `.ci/run`)"
        );
        let (node, v) = Node::start("server.mjs", env);
        Servers {
            node,
            issuer: v["issuer"].as_str().unwrap().to_owned(),
            workspace: v["workspace"].as_str().unwrap().to_owned(),
            client_id: v["client_id"].as_str().unwrap().to_owned(),
        }
    }

    pub fn idp_stats(&self) -> serde_json::Value {
        get_json(&format!("{}/__stats", self.issuer))
    }

    pub fn ws_stats(&self) -> serde_json::Value {
        get_json(&format!("{}/__stats", self.workspace))
    }

    /// Every secret the servers saw or issued.
    pub fn secrets(&self) -> Vec<String> {
        serde_json::from_value(get_json(&format!("{}/__secrets", self.issuer))).unwrap()
    }

    /// What the Anthropic stub recorded (`GET <workspace>/__requests`), model calls only.
    pub fn messages(&self) -> Vec<serde_json::Value> {
        let all = get_json(&format!("{}/__requests", self.workspace));
        all.as_array()
            .unwrap()
            .iter()
            .filter(|r| r["kind"] == "messages")
            .cloned()
            .collect()
    }

    pub fn reset_stats(&self) {
        http("POST", &format!("{}/__reset", self.issuer), "", "");
        http("POST", &format!("{}/__reset", self.workspace), "", "");
    }

    /// Whether the workspace accepts this token (`GET /__whoami`).
    pub fn workspace_accepts(&self, token: &str) -> bool {
        let (status, _) = http(
            "GET",
            &format!("{}/__whoami", self.workspace),
            &format!("authorization: Bearer {token}\r\n"),
            "",
        );
        status == 200
    }

    pub fn post(&self, url: &str, json: &str) -> (u16, String) {
        http("POST", url, "content-type: application/json\r\n", json)
    }

    /// An oidc profile pointing at these servers.
    pub fn config(&self, extra_profile: &str, extra_idp: &str) -> String {
        format!(
            "[profiles.test]\ndatabricks_host = \"{ws}\"\nmodel = \"databricks-claude-test\"\n{extra_profile}\n\
             [profiles.test.idp]\nkind = \"oidc\"\nissuer = \"{iss}\"\nclient_id = \"{cid}\"\n{extra_idp}\n",
            ws = self.workspace,
            iss = self.issuer,
            cid = self.client_id,
        )
    }
}

/// A sandbox: temp HOME with its own XDG dirs and config, and a runner for `gw`.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    pub env: Vec<(String, String)>,
}

impl Sandbox {
    pub fn new(config: &str) -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        let cfg = dir.path().join("config.toml");
        std::fs::write(&cfg, config).unwrap();
        let p = |s: &str| dir.path().join(s).display().to_string();
        let env = vec![
            ("HOME".into(), home.display().to_string()),
            ("XDG_CONFIG_HOME".into(), p("home/.config")),
            ("XDG_CACHE_HOME".into(), p("home/.cache")),
            ("XDG_STATE_HOME".into(), p("home/.local/state")),
            ("PATH".into(), std::env::var("PATH").unwrap_or_default()),
            ("GW_CONFIG".into(), cfg.display().to_string()),
            ("GW_TOKEN_STORE".into(), "file".into()),
            (
                "BROWSER".into(),
                idp_dir().join("browser.mjs").display().to_string(),
            ),
            ("GW_LOGIN_TIMEOUT".into(), "20".into()),
        ];
        Sandbox { dir, env }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn set(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.into(), value.into()));
    }

    pub fn unset(&mut self, key: &str) {
        self.env.retain(|(k, _)| k != key);
    }

    /// The `gw` command with this sandbox's (and only this sandbox's) environment.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_gw"));
        c.args(args)
            .env_clear()
            .stdin(Stdio::null())
            .current_dir(self.dir.path());
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    pub fn gw(&self, args: &[&str]) -> Run {
        Run::from(self.cmd(args).output().expect("run gw"))
    }

    /// The one token record in the file store, as JSON.
    pub fn record(&self) -> serde_json::Value {
        let path = self.record_path();
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }

    pub fn record_path(&self) -> PathBuf {
        let files: Vec<PathBuf> = std::fs::read_dir(self.token_dir())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        assert_eq!(files.len(), 1, "one token record: {files:?}");
        files[0].clone()
    }

    /// Make the cached Databricks token expired, as if an hour had passed.
    pub fn expire_token(&self) {
        let mut rec = self.record();
        rec["databricks"]["expires_at"] = 1.into();
        std::fs::write(self.record_path(), serde_json::to_vec(&rec).unwrap()).unwrap();
    }

    /// Start `gw` without waiting; its stderr is read as it comes.
    pub fn spawn(&self, args: &[&str]) -> Spawned {
        watch(
            self.cmd(args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn gw"),
        )
    }

    /// The token store directory (file store).
    pub fn token_dir(&self) -> PathBuf {
        self.path("home/.local/state/gw/tokens")
    }

    /// Every file under the sandbox HOME, with its content.
    pub fn home_files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = vec![];
        walk(&self.path("home"), &mut out);
        out
    }
}

fn walk(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if let Ok(bytes) = std::fs::read(&p) {
            out.push((p, bytes));
        }
    }
}

/// A finished `gw` run.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "gw failed:\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }
}

/// Run the test browser on a URL (approves a device code, or completes a sign-in).
pub fn browse(url: &str, mode: &str) -> bool {
    Command::new(idp_dir().join("browser.mjs"))
        .arg(url)
        .env("TEST_BROWSER_MODE", mode)
        .status()
        .expect("run browser.mjs")
        .success()
}

/// A running `gw` whose stderr is read line by line as it comes.
pub struct Spawned {
    pub child: Child,
    lines: std::sync::mpsc::Receiver<String>,
    reader: std::thread::JoinHandle<String>,
}

impl Spawned {
    /// Wait until a stderr line matches; returns that line.
    pub fn wait_for(&mut self, pred: impl Fn(&str) -> bool) -> Option<String> {
        while let Ok(line) = self.lines.recv() {
            if pred(&line) {
                return Some(line.trim().to_owned());
            }
        }
        None
    }

    /// Wait for the process and collect stdout and all of stderr.
    pub fn finish(mut self) -> Run {
        let mut stdout = String::new();
        if let Some(mut out) = self.child.stdout.take() {
            out.read_to_string(&mut stdout).unwrap();
        }
        let status = self.child.wait().unwrap();
        let stderr = self.reader.join().unwrap();
        Run {
            code: status.code().unwrap_or(-1),
            stdout,
            stderr,
        }
    }

    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn watch(mut child: Child) -> Spawned {
    let stderr = child.stderr.take().expect("piped stderr");
    let (tx, lines) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            all.push_str(&line);
            all.push('\n');
            let _ = tx.send(line);
        }
        all
    });
    Spawned {
        child,
        lines,
        reader,
    }
}

pub fn get_json(url: &str) -> serde_json::Value {
    let (status, body) = http("GET", url, "", "");
    assert_eq!(status, 200, "GET {url}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// A minimal HTTP/1.1 client for loopback test servers.
pub fn http(method: &str, url: &str, headers: &str, body: &str) -> (u16, String) {
    let rest = url.strip_prefix("http://").expect("loopback http URL");
    let (hostport, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let mut s = TcpStream::connect(hostport).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nhost: {hostport}\r\nconnection: close\r\n{headers}content-length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    (status, body)
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((len, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(len.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        s = &rest[n + 2..];
    }
    out
}

/// A loopback listener that counts every connection: where a hostile or stale settings file
/// points a client. A test asserts it received nothing.
pub struct Sink {
    pub url: String,
    hits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Sink {
    pub fn start() -> Sink {
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = hits.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                counter.fetch_add(1, Ordering::SeqCst);
                let mut s = stream;
                let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let _ = s.write_all(
                    b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
            }
        });
        Sink { url, hits }
    }

    pub fn hits(&self) -> usize {
        self.hits.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// The real agent CLI `name`, pinned in tests/agents (installed by `.ci/run`).
pub fn agent_bin(name: &str) -> PathBuf {
    let bin = repo().join("tests/agents/node_modules/.bin").join(name);
    assert!(
        bin.exists(),
        "{name} is not installed for the tests: run `npm install` in tests/agents (or `.ci/run`)"
    );
    bin
}

/// A home that already holds a user's own settings for every client, all pointing at `sink`
/// with stale credentials, and shell variables left from earlier set-ups. Returns the files
/// written, whose bytes a test checks are unchanged afterwards.
pub fn make_dirty(sb: &mut Sandbox, sink: &str) -> Vec<PathBuf> {
    let files: Vec<(&str, String)> = vec![
        (
            "home/.claude/settings.json",
            format!(
                "{{\n  \"env\": {{\n    \"ANTHROPIC_BASE_URL\": \"{sink}/user-claude\",\n    \"ANTHROPIC_AUTH_TOKEN\": \"dapi-stale-user-pat\",\n    \"ANTHROPIC_MODEL\": \"claude-sonnet-4-20250514\"\n  }},\n  \"theme\": \"dark\"\n}}\n"
            ),
        ),
        (
            "home/.codex/config.toml",
            format!(
                "model = \"gpt-6.1-sol\"\nmodel_provider = \"corp\"\n\n[model_providers.corp]\nname = \"old\"\nbase_url = \"{sink}/user-codex/v1\"\nwire_api = \"responses\"\nenv_key = \"OPENAI_API_KEY\"\n\n[model_providers.gw-databricks]\nname = \"spoof\"\nbase_url = \"{sink}/spoof/v1\"\nwire_api = \"responses\"\n"
            ),
        ),
        (
            "home/.codex/work.config.toml",
            format!(
                "model_provider = \"corp\"\n[model_providers.corp]\nname = \"work\"\nbase_url = \"{sink}/user-codex-profile/v1\"\nwire_api = \"responses\"\n"
            ),
        ),
        (
            "home/.gemini/settings.json",
            "{\n  \"security\": { \"auth\": { \"selectedType\": \"oauth-personal\" } },\n  \"ui\": { \"theme\": \"GitHub\" }\n}\n".to_owned(),
        ),
        (
            "home/.gemini/.env",
            format!("GOOGLE_GEMINI_BASE_URL={sink}/user-gemini-dotenv\nGEMINI_API_KEY=old-user-key\n"),
        ),
        (
            "home/.config/opencode/opencode.json",
            format!(
                "{{\n  \"$schema\": \"https://opencode.ai/config.json\",\n  \"model\": \"anthropic/claude-sonnet-4-5\",\n  \"provider\": {{\n    \"anthropic\": {{ \"options\": {{ \"baseURL\": \"{sink}/user-opencode\", \"apiKey\": \"sk-ant-user\" }} }}\n  }}\n}}\n"
            ),
        ),
        (
            "home/.databrickscfg",
            format!("[DEFAULT]\nhost = {sink}\ntoken = dapi-stale-user-pat\n\n[old]\nhost = {sink}\ntoken = dapi-old\n"),
        ),
    ];
    let mut written = vec![];
    for (rel, text) in files {
        let p = sb.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        written.push(p);
    }
    for (k, v) in [
        ("ANTHROPIC_BASE_URL", format!("{sink}/shell-claude")),
        ("ANTHROPIC_AUTH_TOKEN", "dapi-stale-shell-pat".to_owned()),
        ("ANTHROPIC_API_KEY", "sk-ant-shell".to_owned()),
        ("OPENAI_API_KEY", "sk-openai-shell".to_owned()),
        ("OPENAI_BASE_URL", format!("{sink}/shell-openai")),
        ("GOOGLE_GEMINI_BASE_URL", format!("{sink}/shell-gemini")),
        ("GEMINI_API_KEY", "old-shell-key".to_owned()),
        ("GOOGLE_API_KEY", "old-google-key".to_owned()),
        ("GEMINI_MODEL", "gemini-2.5-pro".to_owned()),
        ("DATABRICKS_HOST", sink.to_owned()),
        ("DATABRICKS_TOKEN", "dapi-stale-shell-pat".to_owned()),
        ("DATABRICKS_AUTH_TYPE", "oauth-m2m".to_owned()),
        ("DATABRICKS_CLIENT_ID", "old-sp".to_owned()),
        ("DATABRICKS_CLIENT_SECRET", "dose-old-secret".to_owned()),
        ("DATABRICKS_CONFIG_PROFILE", "old".to_owned()),
    ] {
        sb.set(k, &v);
    }
    written
}

/// Every file's bytes, to compare before and after a run.
pub fn snapshot(files: &[PathBuf]) -> Vec<(PathBuf, Vec<u8>)> {
    files
        .iter()
        .map(|f| (f.clone(), std::fs::read(f).unwrap()))
        .collect()
}

/// What the fake workspace's model APIs recorded, of one kind (`messages`, `responses`,
/// `gemini`, `scim_me`).
impl Servers {
    pub fn recorded(&self, kind: &str) -> Vec<serde_json::Value> {
        let all = get_json(&format!("{}/__requests", self.workspace));
        all.as_array()
            .unwrap()
            .iter()
            .filter(|r| r["kind"] == kind)
            .cloned()
            .collect()
    }
}
