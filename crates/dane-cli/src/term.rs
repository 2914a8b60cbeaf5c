//! Terminal concerns the CLI owns: colour choice and sanitising untrusted text.
//!
//! Banners, certificate subjects, DNS names and resolver errors come from the network;
//! before they reach a terminal every control character is escaped so that a hostile
//! server cannot move the cursor, rewrite earlier lines or change the terminal title.

use std::borrow::Cow;
use std::io::IsTerminal as _;

/// `--color auto|always|never`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal and `NO_COLOR` is unset or empty.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

impl ColorChoice {
    /// Whether to emit ANSI colour on stdout, honouring `NO_COLOR` (no-color.org).
    pub fn enabled(self) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
                !no_color && std::io::stdout().is_terminal()
            }
        }
    }
}

/// Escapes control characters (C0, DEL, C1, and bidi overrides) in untrusted text.
pub fn sanitize(text: &str) -> Cow<'_, str> {
    fn bad(c: char) -> bool {
        c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    }
    if !text.chars().any(bad) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if bad(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Wraps `text` in an ANSI SGR colour when `on`.
pub fn paint(on: bool, sgr: &str, text: &str) -> String {
    if on {
        format!("\x1b[{sgr}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::sanitize;

    #[test]
    fn sanitize_escapes_controls() {
        for (input, expected) in [
            ("mx1.example.", "mx1.example."),
            ("evil\x1b[2Jbanner", "evil\\u{1b}[2Jbanner"),
            ("line\r\nnext", "line\\r\\nnext"),
            ("rtl\u{202e}txt", "rtl\\u{202e}txt"),
            ("caf\u{e9}", "caf\u{e9}"),
        ] {
            assert_eq!(sanitize(input), expected, "{input:?}");
        }
    }
}
