//! Terminal concerns the CLI owns: colour choice and sanitising untrusted text.
//!
//! Banners, certificate subjects, DNS names and resolver errors come from the network;
//! before they reach a terminal every control character is escaped so that a hostile
//! server cannot move the cursor, rewrite earlier lines or change the terminal title.

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

pub use dane_render::{paint, sanitize};
