//! The measuring half of `scripts/bench`: starts programs and reports wall times, peak RSS
//! and concurrent runs, as tab-separated lines a shell script can read. No hyperfine, no
//! `/usr/bin/time`: process start-up is timed from here with a monotonic clock, and peak RSS
//! comes from `wait4(2)`.
//!
//! ```text
//! measure time --runs N [--warmup W] -- NAME CMD [ARGS...] [::: NAME CMD [ARGS...]]...
//!     Runs every command N times (after W untimed runs), interleaved round-robin so noise
//!     from other load hits every command alike. Prints one line per command:
//!     time  NAME  median_us  min_us  p90_us  mean_us  runs  failures
//! measure rss --runs N -- CMD [ARGS...]
//!     Prints  rss  max_kib  median_kib  runs  failures   (ru_maxrss of each child)
//! measure concurrent --n N -- CMD [ARGS...]
//!     Starts N copies at once, waits for all. Prints
//!     concurrent  wall_ms  failures  distinct_stdout
//! ```
//!
//! Children get stdin from /dev/null; stdout goes to /dev/null (captured for `concurrent`);
//! stderr is inherited only with `MEASURE_STDERR=1`, so a failure can be looked at.

use std::ffi::OsString;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let mode = args.first().and_then(|a| a.to_str()).unwrap_or("");
    let result = match mode {
        "time" => time(&args[1..]),
        "rss" => rss(&args[1..]),
        "concurrent" => concurrent(&args[1..]),
        other => Err(format!("unknown mode `{other}` (time, rss, concurrent)")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("measure: {e}");
            ExitCode::from(2)
        }
    }
}

/// `--key value` options before `--`, and everything after it.
struct Parsed {
    opts: Vec<(String, u64)>,
    rest: Vec<OsString>,
}

fn parse(args: &[OsString]) -> Result<Parsed, String> {
    let mut opts = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let a = a.to_str().ok_or("non-UTF-8 option")?;
        if a == "--" {
            return Ok(Parsed {
                opts,
                rest: it.cloned().collect(),
            });
        }
        let key = a
            .strip_prefix("--")
            .ok_or_else(|| format!("unexpected `{a}`"))?;
        let value = it
            .next()
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("--{key} needs a number"))?;
        opts.push((key.to_owned(), value));
    }
    Err("missing `--` before the command".into())
}

impl Parsed {
    fn get(&self, key: &str, default: Option<u64>) -> Result<u64, String> {
        self.opts
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| *v)
            .or(default)
            .ok_or_else(|| format!("--{key} is required"))
    }
}

fn command(argv: &[OsString]) -> Result<Command, String> {
    let (program, args) = argv.split_first().ok_or("empty command")?;
    let mut cmd = Command::new(program);
    cmd.args(args).stdin(Stdio::null()).stdout(Stdio::null());
    if std::env::var_os("MEASURE_STDERR").is_none_or(|v| v != "1") {
        cmd.stderr(Stdio::null());
    }
    Ok(cmd)
}

/// Run once; the wall time from just before spawn to just after the child is reaped.
fn timed_run(cmd: &mut Command) -> Result<(Duration, bool), String> {
    let start = Instant::now();
    let status = cmd
        .status()
        .map_err(|e| format!("cannot start {:?}: {e}", cmd.get_program()))?;
    Ok((start.elapsed(), status.success()))
}

fn time(args: &[OsString]) -> Result<(), String> {
    let p = parse(args)?;
    let runs = p.get("runs", None)?.max(1);
    let warmup = p.get("warmup", Some(3))?;
    let mut named: Vec<(String, Command)> = Vec::new();
    for group in p.rest.split(|a| a == ":::") {
        let (name, argv) = group.split_first().ok_or("empty command group")?;
        named.push((name.to_string_lossy().into_owned(), command(argv)?));
    }
    let n = named.len();
    for _ in 0..warmup {
        for (_, cmd) in &mut named {
            timed_run(cmd)?;
        }
    }
    let mut samples: Vec<Vec<u64>> = vec![Vec::with_capacity(runs as usize); n];
    let mut failures = vec![0u64; n];
    for round in 0..runs as usize {
        // Rotate the order each round: no command always runs right after another.
        for k in 0..n {
            let i = (round + k) % n;
            let (d, ok) = timed_run(&mut named[i].1)?;
            samples[i].push(d.as_micros() as u64);
            failures[i] += u64::from(!ok);
        }
    }
    for (i, (name, _)) in named.iter().enumerate() {
        let s = &mut samples[i];
        s.sort_unstable();
        let mean = s.iter().sum::<u64>() / s.len() as u64;
        println!(
            "time\t{name}\t{}\t{}\t{}\t{mean}\t{}\t{}",
            median(s),
            s[0],
            percentile(s, 90),
            s.len(),
            failures[i]
        );
    }
    Ok(())
}

fn median(sorted: &[u64]) -> u64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2
    }
}

fn percentile(sorted: &[u64], pct: usize) -> u64 {
    let idx = (sorted.len() * pct).div_ceil(100).saturating_sub(1);
    sorted[idx.min(sorted.len() - 1)]
}

/// Peak RSS of one run, in KiB (`ru_maxrss` from `wait4`), and whether it succeeded.
#[cfg(unix)]
fn rss_run(cmd: &mut Command) -> Result<(u64, bool), String> {
    let child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {:?}: {e}", cmd.get_program()))?;
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: plain FFI call with valid pointers to locals; `child` is reaped here and never
    // waited on again (dropping a `Child` neither waits nor kills).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if r != pid {
        return Err(format!("wait4: {}", std::io::Error::last_os_error()));
    }
    drop(child);
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    // Linux and the BSDs report KiB; macOS reports bytes.
    let kib = if cfg!(target_os = "macos") {
        usage.ru_maxrss as u64 / 1024
    } else {
        usage.ru_maxrss as u64
    };
    Ok((kib, ok))
}

#[cfg(not(unix))]
fn rss_run(_cmd: &mut Command) -> Result<(u64, bool), String> {
    Err("peak RSS is measured on Unix only".into())
}

fn rss(args: &[OsString]) -> Result<(), String> {
    let p = parse(args)?;
    let runs = p.get("runs", Some(5))?.max(1);
    let mut cmd = command(&p.rest)?;
    let mut kib = Vec::new();
    let mut failures = 0u64;
    for _ in 0..runs {
        let (k, ok) = rss_run(&mut cmd)?;
        kib.push(k);
        failures += u64::from(!ok);
    }
    kib.sort_unstable();
    println!(
        "rss\t{}\t{}\t{}\t{failures}",
        kib[kib.len() - 1],
        median(&kib),
        kib.len()
    );
    Ok(())
}

fn concurrent(args: &[OsString]) -> Result<(), String> {
    let p = parse(args)?;
    let n = p.get("n", None)?.max(1);
    let mut cmd = command(&p.rest)?;
    cmd.stdout(Stdio::piped());
    let start = Instant::now();
    let mut children = Vec::new();
    for _ in 0..n {
        children.push(
            cmd.spawn()
                .map_err(|e| format!("cannot start {:?}: {e}", cmd.get_program()))?,
        );
    }
    let mut failures = 0u64;
    let mut outputs = Vec::new();
    // Each child writes one short line, far below a pipe's buffer: waiting in order is safe.
    for child in children {
        let out = child.wait_with_output().map_err(|e| format!("wait: {e}"))?;
        failures += u64::from(!out.status.success());
        if out.status.success() {
            outputs.push(out.stdout);
        }
    }
    let wall = start.elapsed();
    outputs.sort_unstable();
    outputs.dedup();
    println!(
        "concurrent\t{}\t{failures}\t{}",
        wall.as_millis(),
        outputs.len()
    );
    Ok(())
}
