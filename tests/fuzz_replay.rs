//! The fuzz corpus as ordinary tests (CI has no nightly toolchain, so it cannot run cargo-fuzz).
//!
//! The checks are the fuzz targets' own bodies (`fuzz/src/lib.rs`, included below), so a
//! finding of `scripts/fuzz` and a failure here are the same thing. Per target:
//! - `*_corpus`: every file of `tests/fuzz_corpus/<target>/` and of its `crashes/` (inputs
//!   that once broke an invariant and must not again) goes through the body;
//! - `*_mutants`: a deterministic mutation loop on stable: 3000 mutants of the corpus (bit
//!   flips, byte edits, inserts of interesting tokens, deletes, splices, truncations), from a
//!   fixed-seed xorshift RNG, so every run tries the same inputs. A failing mutant is written
//!   to `target/tmp/fuzz_replay/<target>/` and printed: move it into `crashes/` to keep it.

#[path = "../fuzz/src/lib.rs"]
mod bodies;

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::time::Instant;

/// Mutants per target (the whole test stays well under 10 s in a debug build).
const MUTANTS: usize = 3000;
/// No mutant grows past this.
const MAX_LEN: usize = 64 * 1024;
/// At least this many seeds per target, so a moved or emptied corpus cannot pass silently.
const MIN_SEEDS: usize = 15;

#[test]
fn callback_corpus() {
    replay("callback");
}

#[test]
fn callback_mutants() {
    mutate("callback", 0x0c0f_fee0_dead_beef);
}

#[test]
fn token_response_corpus() {
    replay("token_response");
}

#[test]
fn token_response_mutants() {
    mutate("token_response", 0x5eed_0000_0000_0002);
}

#[test]
fn config_corpus() {
    replay("config");
}

#[test]
fn config_mutants() {
    mutate("config", 0x5eed_0000_0000_0003);
}

#[test]
fn endpoint_request_corpus() {
    replay("endpoint_request");
}

#[test]
fn endpoint_request_mutants() {
    mutate("endpoint_request", 0x5eed_0000_0000_0004);
}

#[test]
fn state_file_corpus() {
    replay("state_file");
}

#[test]
fn state_file_mutants() {
    mutate("state_file", 0x5eed_0000_0000_0005);
}

#[test]
fn every_target_has_a_corpus() {
    for (name, _) in bodies::TARGETS {
        let seeds = read_dir(&corpus_dir(name));
        assert!(
            seeds.len() >= MIN_SEEDS,
            "tests/fuzz_corpus/{name}/ has {} inputs, expected at least {MIN_SEEDS}",
            seeds.len()
        );
    }
}

fn body(target: &str) -> bodies::Body {
    bodies::TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map(|(_, f)| *f)
        .unwrap_or_else(|| panic!("no fuzz target `{target}`"))
}

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_corpus")
        .join(target)
}

/// The regular files directly in `dir`, sorted by name; none when `dir` does not exist.
fn read_dir(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries
        .map(|e| e.expect("readable corpus directory").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let data = std::fs::read(&p).expect("readable corpus file");
            (p, data)
        })
        .collect()
}

thread_local! {
    /// Set while a body runs: its panics are results, not noise on stderr.
    static QUIET: Cell<bool> = const { Cell::new(false) };
    /// Where the last quiet panic happened.
    static PANICKED_AT: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Run one input; the panic message and its location when the body panics.
fn run(f: bodies::Body, data: &[u8]) -> Result<(), String> {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if QUIET.get() {
                PANICKED_AT.set(info.location().map(|l| l.to_string()).unwrap_or_default());
            } else {
                default(info);
            }
        }));
    });
    QUIET.set(true);
    let result = catch_unwind(AssertUnwindSafe(|| f(data)));
    QUIET.set(false);
    result.map_err(|payload| {
        let msg = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "(non-string panic)".to_owned());
        format!("{msg}\n  at: {}", PANICKED_AT.take())
    })
}

/// The input, printable: ASCII as is, everything else escaped, cut at 600 characters.
fn show(data: &[u8]) -> String {
    let text: String = data.escape_ascii().to_string();
    if text.len() > 600 {
        format!("{}… ({} bytes)", &text[..600], data.len())
    } else {
        text
    }
}

fn replay(target: &str) {
    let f = body(target);
    let dir = corpus_dir(target);
    let seeds = read_dir(&dir);
    assert!(
        seeds.len() >= MIN_SEEDS,
        "{} has {} inputs, expected at least {MIN_SEEDS}",
        dir.display(),
        seeds.len()
    );
    let crashes = read_dir(&dir.join("crashes"));
    let failures: Vec<String> = seeds
        .iter()
        .chain(&crashes)
        .filter_map(|(path, data)| {
            run(f, data).err().map(|msg| {
                format!(
                    "{}\n  input: {}\n  panic: {msg}",
                    path.display(),
                    show(data)
                )
            })
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} `{target}` corpus inputs break an invariant:\n{}",
        failures.len(),
        seeds.len() + crashes.len(),
        failures.join("\n")
    );
}

fn mutate(target: &str, seed: u64) {
    let f = body(target);
    let seeds: Vec<Vec<u8>> = read_dir(&corpus_dir(target))
        .into_iter()
        .map(|(_, data)| data)
        .collect();
    assert!(seeds.len() >= MIN_SEEDS, "no `{target}` corpus to mutate");
    let mut rng = XorShift(seed);
    let started = Instant::now();
    let mut failures = Vec::new();
    for n in 0..MUTANTS {
        let mutant = mutant(&mut rng, &seeds);
        if let Err(msg) = run(f, &mutant) {
            let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
                .join("fuzz_replay")
                .join(target);
            let file = dir.join(format!("mutant-{n}"));
            let saved = std::fs::create_dir_all(&dir)
                .and_then(|()| std::fs::write(&file, &mutant))
                .map(|()| file.display().to_string())
                .unwrap_or_else(|e| format!("(not saved: {e})"));
            failures.push(format!(
                "mutant {n} (saved as {saved})\n  input: {}\n  panic: {msg}",
                show(&mutant)
            ));
        }
    }
    eprintln!(
        "fuzz_replay: {MUTANTS} `{target}` mutants of {} seeds in {} ms",
        seeds.len(),
        started.elapsed().as_millis()
    );
    assert!(
        failures.is_empty(),
        "{} of {MUTANTS} `{target}` mutants break an invariant:\n{}",
        failures.len(),
        failures
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Tokens worth inserting: the syntax each parser cares about, and values at its edges.
const TOKENS: &[&[u8]] = &[
    b"\r\n",
    b"\r\n\r\n",
    b"\n",
    b"GET ",
    b"Host: 127.0.0.1:5000\r\n",
    b"?",
    b"&",
    b"=",
    b"%",
    b"%00",
    b"%ZZ",
    b"%C3%A9",
    b"+",
    b"state=S1",
    b"code=",
    b"iss=https%3A%2F%2Fidp",
    b"error=",
    b"$",
    b"\"",
    b"\\u0000",
    b"\\ud800",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"\"error\":\"x\",",
    b"\"error_description\":\"$\",",
    b"\"errorSummary\":\"$\",",
    b"\"expires_in\":",
    b"1e999",
    b"-1",
    b"18446744073709551616",
    b"null",
    b"[profiles.p]\n",
    b"[profiles.p.idp]\n",
    b"kind = \"oidc\"\n",
    b"kind = \"databricks\"\n",
    b"redirect_uri = \"http://127.0.0.1:{port}/cb\"\n",
    b"redirect_port = 8400\n",
    b"{port}",
    b"http://",
    b"https://",
    b"localhost",
    b"[::1]",
    b"@",
    b"#",
    b"\xef\xbb\xbf",
    b"\xff",
    b"\xf0\x9f\x9a\x80",
];

/// A tiny xorshift64 generator: deterministic, no crates.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..n` (`n` > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// One mutant: a seed with 1 to 4 mutations stacked.
fn mutant(rng: &mut XorShift, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut data = seeds[rng.below(seeds.len())].clone();
    for _ in 0..=rng.below(4) {
        let len = data.len();
        match rng.below(8) {
            // Flip one bit.
            0 if len > 0 => {
                let i = rng.below(len);
                data[i] ^= 1 << rng.below(8);
            }
            // Overwrite a byte.
            1 if len > 0 => {
                let i = rng.below(len);
                data[i] = rng.next() as u8;
            }
            // Insert a random byte.
            2 => {
                let i = rng.below(len + 1);
                data.insert(i, rng.next() as u8);
            }
            // Delete a run of 1 to 16 bytes.
            3 if len > 0 => {
                let i = rng.below(len);
                let end = (i + 1 + rng.below(16)).min(len);
                data.drain(i..end);
            }
            // Insert a token.
            4 => {
                let i = rng.below(len + 1);
                let token = TOKENS[rng.below(TOKENS.len())];
                data.splice(i..i, token.iter().copied());
            }
            // Splice: this one's head, another seed's tail.
            5 => {
                let other = &seeds[rng.below(seeds.len())];
                data.truncate(rng.below(len + 1));
                data.extend_from_slice(&other[rng.below(other.len() + 1)..]);
            }
            // Truncate.
            6 => data.truncate(rng.below(len + 1)),
            // Repeat a chunk of up to 256 bytes, up to 64 times (long lines, deep nesting).
            _ if len > 0 => {
                let i = rng.below(len);
                let end = (i + 1 + rng.below(256)).min(len);
                let chunk = data[i..end].to_vec();
                let times = 1 + rng.below(64);
                let at = rng.below(len + 1);
                data.splice(
                    at..at,
                    chunk.iter().copied().cycle().take(chunk.len() * times),
                );
            }
            _ => {}
        }
        data.truncate(MAX_LEN);
    }
    data
}
