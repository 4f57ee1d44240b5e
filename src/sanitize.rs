//! The one place text from outside gw is made safe to show on a terminal: error descriptions
//! and codes from servers, device user codes and URIs, usernames, issuers, callback errors,
//! and paths a repository chose.
//!
//! Control characters (C0, DEL, C1 — `ESC` starts OSC 52 clipboard writes and cursor moves,
//! `\r` rewrites the line) and the Unicode bidirectional overrides (which reorder what the eye
//! reads) are shown escaped (`\u{1b}`), so what the terminal prints is what the server sent,
//! made visible, never obeyed.

/// `s` with every control character and bidi override escaped.
pub fn shown(s: &str) -> String {
    if !s.chars().any(needs_escape) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if needs_escape(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// [`shown`], on one line, at most `max` characters (a `…` marks the cut).
pub fn one_line(s: &str, max: usize) -> String {
    let line = s.lines().next().unwrap_or("").trim();
    let cut: String = line.chars().take(max).collect();
    let more = line.chars().count() > max;
    let mut out = shown(&cut);
    if more {
        out.push('…');
    }
    out
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_controls_are_shown_not_obeyed() {
        assert_eq!(shown("plain text: ok"), "plain text: ok");
        assert_eq!(
            shown("a\u{1b}]52;c;ZXZpbA==\u{7}b"),
            "a\\u{1b}]52;c;ZXZpbA==\\u{7}b"
        );
        assert_eq!(shown("ok\rFAKE"), "ok\\u{d}FAKE");
        assert_eq!(shown("x\u{9b}2Jy"), "x\\u{9b}2Jy", "C1 CSI");
        assert_eq!(shown("abc\u{202e}txt.exe"), "abc\\u{202e}txt.exe");
        assert_eq!(shown("tab\there"), "tab\\u{9}here");
        assert_eq!(shown("Zürich ✓"), "Zürich ✓", "printable Unicode stays");
    }

    #[test]
    fn one_line_cuts_after_escaping_nothing_it_keeps() {
        assert_eq!(one_line("first\nsecond", 100), "first");
        assert_eq!(one_line("abcdef", 3), "abc…");
        assert_eq!(one_line("\u{1b}[2J", 10), "\\u{1b}[2J");
    }
}
