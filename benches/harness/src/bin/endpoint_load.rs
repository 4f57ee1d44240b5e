//! Load for gw's local endpoint (`scripts/bench` part g): the same requests sent straight to
//! the fake workspace and through `gw serve`, side by side, over keep-alive HTTP/1.1
//! connections (std only). Prints tab-separated lines a shell script can read.
//!
//! ```text
//! endpoint_load latency --runs N --direct URL --token T --via URL
//!     N messages each way, interleaved. Prints
//!     latency  direct_p50_us  direct_p99_us  via_p50_us  via_p99_us  failures
//! endpoint_load ttfb --runs N --direct URL --token T --via URL
//!     A stream whose first event comes after 100 ms: time to its first byte each way. Prints
//!     ttfb  direct_median_us  via_median_us  failures
//! endpoint_load streams --n N --via URL
//!     N streaming messages at once through gw. Prints  streams  answered  failures  wall_ms
//! endpoint_load soak --secs S --conns C --via URL
//!     C connections sending messages for S seconds. Prints  soak  requests  failures
//! ```
//! URLs are `http://127.0.0.1:PORT[/prefix]`; `--via` is gw's `base_url` (the key in its path).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::time::{Duration, Instant};

const MESSAGE: &str = r#"{"model":"databricks-claude-test","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}"#;
const STREAMING: &str = r#"{"model":"databricks-claude-test","max_tokens":16,"stream":true,"messages":[{"role":"user","content":"hi"}]}"#;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opt = |name: &str| -> Option<String> {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let num = |name: &str, default: u64| -> u64 {
        opt(name).and_then(|v| v.parse().ok()).unwrap_or(default)
    };
    let result = match args.first().map(String::as_str) {
        Some("latency") => latency(num("--runs", 200), &opt("--direct"), &opt("--token"), &opt("--via")),
        Some("ttfb") => ttfb(num("--runs", 10), &opt("--direct"), &opt("--token"), &opt("--via")),
        Some("streams") => streams(num("--n", 64), &opt("--via")),
        Some("soak") => soak(num("--secs", 45), num("--conns", 4), &opt("--via")),
        other => Err(format!("unknown mode {other:?} (latency, ttfb, streams, soak)")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("endpoint_load: {e}");
            ExitCode::from(2)
        }
    }
}

fn need(v: &Option<String>, name: &str) -> Result<String, String> {
    v.clone().ok_or_else(|| format!("{name} is required"))
}

/// `http://host:port/prefix` → (`host:port`, `/prefix`).
fn split(url: &str) -> Result<(String, String), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("not an http:// URL: {url}"))?;
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    Ok((host.to_owned(), path.trim_end_matches('/').to_owned()))
}

/// One keep-alive connection to a base URL.
struct Conn {
    host: String,
    prefix: String,
    token: Option<String>,
    stream: Option<BufReader<TcpStream>>,
}

impl Conn {
    fn new(base: &str, token: Option<String>) -> Result<Conn, String> {
        let (host, prefix) = split(base)?;
        Ok(Conn {
            host,
            prefix,
            token,
            stream: None,
        })
    }

    fn stream(&mut self) -> std::io::Result<&mut BufReader<TcpStream>> {
        if self.stream.is_none() {
            let s = TcpStream::connect(&self.host)?;
            s.set_nodelay(true)?;
            s.set_read_timeout(Some(Duration::from_secs(60)))?;
            self.stream = Some(BufReader::new(s));
        }
        Ok(self.stream.as_mut().expect("just set"))
    }

    /// POST `path` with `body`: (status, time to the first body byte, total time).
    fn post(&mut self, path: &str, body: &str) -> std::io::Result<(u16, Duration, Duration)> {
        let auth = self
            .token
            .as_ref()
            .map(|t| format!("authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        let head = format!(
            "POST {}{path} HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\n{auth}content-length: {}\r\n\r\n",
            self.prefix,
            self.host,
            body.len()
        );
        let start = Instant::now();
        let result = (|| {
            let s = self.stream()?;
            s.get_mut().write_all(head.as_bytes())?;
            s.get_mut().write_all(body.as_bytes())?;
            read_response(s, start)
        })();
        if result.is_err() {
            self.stream = None;
        }
        result.map(|(status, first, close)| {
            if close {
                self.stream = None;
            }
            (status, first, start.elapsed())
        })
    }
}

/// Read one response: (status, time to first body byte, whether the server closes).
fn read_response(s: &mut BufReader<TcpStream>, start: Instant) -> std::io::Result<(u16, Duration, bool)> {
    let mut line = String::new();
    s.read_line(&mut line)?;
    let status: u16 = line
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
    let mut length = None;
    let mut chunked = false;
    let mut close = false;
    loop {
        line.clear();
        s.read_line(&mut line)?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let lower = l.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse::<usize>().ok();
        } else if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
            chunked = true;
        } else if lower.starts_with("connection:") && lower.contains("close") {
            close = true;
        }
    }
    let mut first = None;
    let mark = |first: &mut Option<Duration>| {
        if first.is_none() {
            *first = Some(start.elapsed());
        }
    };
    if chunked {
        loop {
            line.clear();
            s.read_line(&mut line)?;
            let n = usize::from_str_radix(line.trim(), 16)
                .map_err(|_| std::io::Error::other("bad chunk size"))?;
            mark(&mut first);
            let mut buf = vec![0u8; n + 2];
            s.read_exact(&mut buf)?;
            if n == 0 {
                break;
            }
        }
    } else if let Some(n) = length {
        let mut buf = vec![0u8; n];
        if n > 0 {
            s.read_exact(&mut buf[..1])?;
            mark(&mut first);
            s.read_exact(&mut buf[1..])?;
        }
    } else {
        let mut rest = Vec::new();
        s.read_to_end(&mut rest)?;
        mark(&mut first);
        close = true;
    }
    Ok((status, first.unwrap_or_else(|| start.elapsed()), close))
}

fn percentile(samples: &mut [u64], p: f64) -> u64 {
    if samples.is_empty() {
        return 0;
    }
    samples.sort_unstable();
    let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[i]
}

fn latency(runs: u64, direct: &Option<String>, token: &Option<String>, via: &Option<String>) -> Result<(), String> {
    let mut d = Conn::new(&need(direct, "--direct")?, Some(need(token, "--token")?))?;
    let mut v = Conn::new(&need(via, "--via")?, None)?;
    let path = "/serving-endpoints/anthropic/v1/messages";
    let (mut ds, mut vs, mut failures) = (Vec::new(), Vec::new(), 0u64);
    for i in 0..runs + 10 {
        for (conn, out) in [(&mut d, &mut ds), (&mut v, &mut vs)] {
            match conn.post(path, MESSAGE) {
                Ok((200, _, total)) if i >= 10 => out.push(total.as_micros() as u64),
                Ok((200, _, _)) => {}
                _ => failures += 1,
            }
        }
    }
    println!(
        "latency\t{}\t{}\t{}\t{}\t{failures}",
        percentile(&mut ds, 0.5),
        percentile(&mut ds, 0.99),
        percentile(&mut vs, 0.5),
        percentile(&mut vs, 0.99)
    );
    Ok(())
}

fn ttfb(runs: u64, direct: &Option<String>, token: &Option<String>, via: &Option<String>) -> Result<(), String> {
    let mut d = Conn::new(&need(direct, "--direct")?, Some(need(token, "--token")?))?;
    let mut v = Conn::new(&need(via, "--via")?, None)?;
    let path = "/ai-gateway/slow/v1/stream?delay_ms=100&events=5&gap_ms=20";
    let (mut ds, mut vs, mut failures) = (Vec::new(), Vec::new(), 0u64);
    for _ in 0..runs {
        for (conn, out) in [(&mut d, &mut ds), (&mut v, &mut vs)] {
            match conn.post(path, "{}") {
                Ok((200, first, _)) => out.push(first.as_micros() as u64),
                _ => failures += 1,
            }
        }
    }
    println!(
        "ttfb\t{}\t{}\t{failures}",
        percentile(&mut ds, 0.5),
        percentile(&mut vs, 0.5)
    );
    Ok(())
}

fn streams(n: u64, via: &Option<String>) -> Result<(), String> {
    let via = need(via, "--via")?;
    let start = Instant::now();
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let via = via.clone();
            std::thread::spawn(move || {
                Conn::new(&via, None)
                    .ok()
                    .and_then(|mut c| c.post("/serving-endpoints/anthropic/v1/messages", STREAMING).ok())
                    .is_some_and(|(status, _, _)| status == 200)
            })
        })
        .collect();
    let answered = handles
        .into_iter()
        .map(|h| h.join().unwrap_or(false))
        .filter(|ok| *ok)
        .count() as u64;
    println!(
        "streams\t{answered}\t{}\t{}",
        n - answered,
        start.elapsed().as_millis()
    );
    Ok(())
}

fn soak(secs: u64, conns: u64, via: &Option<String>) -> Result<(), String> {
    let via = need(via, "--via")?;
    let until = Instant::now() + Duration::from_secs(secs);
    let handles: Vec<_> = (0..conns)
        .map(|_| {
            let via = via.clone();
            std::thread::spawn(move || {
                let (mut ok, mut failed) = (0u64, 0u64);
                let Ok(mut c) = Conn::new(&via, None) else {
                    return (0, 1);
                };
                while Instant::now() < until {
                    match c.post("/serving-endpoints/anthropic/v1/messages", MESSAGE) {
                        Ok((200, _, _)) => ok += 1,
                        _ => failed += 1,
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                (ok, failed)
            })
        })
        .collect();
    let (mut ok, mut failed) = (0, 0);
    for h in handles {
        let (o, f) = h.join().unwrap_or((0, 1));
        ok += o;
        failed += f;
    }
    println!("soak\t{}\t{failed}", ok + failed);
    Ok(())
}
