//! `gw env`: a target's environment as `sh`, `fish` or PowerShell statements, or JSON, each
//! value quoted so the shell reads back exactly the bytes gw meant.

use super::ChildEnv;

/// Output formats of `gw env --shell`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ShellKind {
    Sh,
    Fish,
    Powershell,
    Json,
}

/// Render the variables to set and to remove.
pub fn render(env: &ChildEnv, kind: ShellKind) -> String {
    let mut out = String::new();
    match kind {
        ShellKind::Json => {
            let mut map = serde_json::Map::new();
            for name in &env.remove {
                map.insert((*name).to_owned(), serde_json::Value::Null);
            }
            for (name, value) in &env.set {
                map.insert(
                    (*name).to_owned(),
                    serde_json::Value::String(value.expose().to_owned()),
                );
            }
            out = serde_json::Value::Object(map).to_string();
            out.push('\n');
        }
        ShellKind::Sh => {
            for name in &env.remove {
                out.push_str(&format!("unset {name}\n"));
            }
            for (name, value) in &env.set {
                out.push_str(&format!("export {name}={}\n", quote_sh(value.expose())));
            }
        }
        ShellKind::Fish => {
            for name in &env.remove {
                out.push_str(&format!("set -e {name}\n"));
            }
            for (name, value) in &env.set {
                out.push_str(&format!("set -gx {name} {}\n", quote_fish(value.expose())));
            }
        }
        ShellKind::Powershell => {
            for name in &env.remove {
                out.push_str(&format!(
                    "Remove-Item Env:{name} -ErrorAction SilentlyContinue\n"
                ));
            }
            for (name, value) in &env.set {
                out.push_str(&format!(
                    "$env:{name} = {}\n",
                    quote_powershell(value.expose())
                ));
            }
        }
    }
    out
}

/// POSIX sh: single quotes; a `'` becomes `'\''`.
pub fn quote_sh(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// fish: single quotes; `\` and `'` are escaped with a backslash.
pub fn quote_fish(s: &str) -> String {
    format!("'{}'", s.replace('\\', r"\\").replace('\'', r"\'"))
}

/// PowerShell, one line per statement whatever the value holds (`gw env | Invoke-Expression`
/// runs each line on its own):
/// - no control characters: single quotes (no expansion), a `'` (and its typographic twins)
///   doubled;
/// - else double quotes, with `` ` ``, `$`, the double quotes (and their typographic twins)
///   escaped by a backtick, and each control character written as an escape (`` `n ``,
///   `` `r ``, `` `t ``, `` `0 ``, or `` `u{…} ``).
pub fn quote_powershell(s: &str) -> String {
    let mut out = String::new();
    if !s.chars().any(char::is_control) {
        out.push('\'');
        for c in s.chars() {
            if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}') {
                out.push(c);
            }
            out.push(c);
        }
        out.push('\'');
        return out;
    }
    out.push('"');
    for c in s.chars() {
        match c {
            '\n' => out.push_str("`n"),
            '\r' => out.push_str("`r"),
            '\t' => out.push_str("`t"),
            '\0' => out.push_str("`0"),
            c if c.is_control() => out.push_str(&format!("`u{{{:x}}}", c as u32)),
            '`' | '$' | '"' | '\u{201C}' | '\u{201D}' | '\u{201E}' => {
                out.push('`');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
