//! The architecture's "never" arrows, kept by a test: which parts of gw may not name which.
//! (The picture is the design whiteboard; this is its rule list, read from the sources.)
//!
//! A part names another when its source mentions `crate::<module>` (in a `use` or a path);
//! gw-admin names gw only through `gw::api`.

use std::path::{Path, PathBuf};

/// (part, its files or folders, modules it must never name, why)
const NEVER: &[(&str, &[&str], &[&str], &str)] = &[
    (
        "Store",
        &["src/token_store"],
        &["idp", "cli", "commands", "session"],
        "storage knows nothing of how tokens were won, nor of any command line",
    ),
    (
        "Idp",
        &["src/idp"],
        &["token_store", "cli", "commands"],
        "login knows nothing of where tokens go",
    ),
    (
        "Launch",
        &["src/launch"],
        &["idp", "cli", "commands", "session", "token_store"],
        "launching never logs in by itself and a target is described by launch, not by the CLI",
    ),
    (
        "Exchange",
        &["src/exchange.rs"],
        &["token_store", "idp", "session"],
        "the exchange is a pure network call",
    ),
    (
        "Session",
        &["src/session.rs", "src/session"],
        &["cli", "commands", "launch"],
        "the core knows no command line",
    ),
    (
        "Base",
        &[
            "src/error.rs",
            "src/secret.rs",
            "src/time.rs",
            "src/env_vars.rs",
            "src/paths.rs",
            "src/diag.rs",
            "src/advice.rs",
            "src/sanitize.rs",
            "src/platform",
        ],
        &["launch", "cli", "commands", "session", "endpoint"],
        "helpers know nothing of consumers",
    ),
    (
        "Endpoint",
        &["src/endpoint"],
        &["cli", "commands", "session", "idp", "token_store"],
        "the local endpoint is handed a token source; it never signs in itself",
    ),
];

fn files(root: &Path, rel: &str) -> Vec<PathBuf> {
    let p = root.join(rel);
    if p.is_file() {
        return vec![p];
    }
    let mut out = vec![];
    let mut stack = vec![p];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = e.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|x| x == "rs") {
                out.push(path);
            }
        }
    }
    out
}

/// The `crate::<module>` names a source file mentions, outside comments.
fn named_modules(text: &str, prefix: &str) -> Vec<String> {
    let mut out = vec![];
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find(prefix) {
            let after = &rest[i + prefix.len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.push(name);
            }
            rest = after;
            if rest.is_empty() {
                break;
            }
        }
        // `use crate::{a, b}` groups.
        if let Some(i) = code.find(&format!("{prefix}{{")) {
            let group = &code[i + prefix.len() + 1..];
            for part in group.split([',', '}']) {
                let name: String = part
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    out.push(name);
                }
            }
        }
    }
    out
}

#[test]
fn no_part_names_what_the_design_says_it_never_may() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut broken = vec![];
    for (part, places, never, why) in NEVER {
        let sources: Vec<PathBuf> = places.iter().flat_map(|p| files(root, p)).collect();
        assert!(!sources.is_empty(), "{part}: no sources at {places:?}");
        for file in sources {
            let text = std::fs::read_to_string(&file).unwrap();
            for name in named_modules(&text, "crate::") {
                if never.contains(&name.as_str()) {
                    broken.push(format!(
                        "{part} ({}) names `crate::{name}`: {why}",
                        file.strip_prefix(root).unwrap().display()
                    ));
                }
            }
        }
    }
    assert!(
        broken.is_empty(),
        "never arrows broken:\n{}",
        broken.join("\n")
    );
}

#[test]
fn gw_admin_uses_gws_library_api_only() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut broken = vec![];
    for dir in ["admin/src", "admin/tests"] {
        for file in files(root, dir) {
            let text = std::fs::read_to_string(&file).unwrap();
            for name in named_modules(&text, "gw::") {
                if name != "api" {
                    broken.push(format!(
                        "{} names `gw::{name}`",
                        file.strip_prefix(root).unwrap().display()
                    ));
                }
            }
        }
    }
    assert!(
        broken.is_empty(),
        "gw-admin reaches past gw::api:\n{}",
        broken.join("\n")
    );
}

#[test]
fn the_rule_reader_sees_uses_paths_and_groups() {
    let text =
        "use crate::{idp, token_store::X};\nlet x = crate::cli::Cli::new(); // crate::launch\n";
    let names = named_modules(text, "crate::");
    for n in ["idp", "token_store", "cli"] {
        assert!(names.contains(&n.to_owned()), "{n}: {names:?}");
    }
    assert!(
        !names.contains(&"launch".to_owned()),
        "comments are not code"
    );
}
