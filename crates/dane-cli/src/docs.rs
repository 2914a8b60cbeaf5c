//! `dane completions SHELL` and `dane man`: shell completions (clap_complete) and the
//! manual page (clap_mangen), both generated from the one clap definition of the command
//! line, so they cannot drift from it. Where to install them: README, "Completions and
//! the manual page".

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args as ClapArgs, ValueEnum};
use clap_complete::Shell;

use crate::{Context, Exit};

/// `dane completions`.
#[derive(Debug, ClapArgs)]
pub struct CompletionsArgs {
    /// The shell to write a completion script for (to stdout).
    #[arg(value_enum)]
    pub shell: CompletionShell,
}

/// The shells `dane completions` writes for.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CompletionShell {
    /// bash (bash-completion).
    Bash,
    /// zsh (a `_dane` function for `fpath`).
    Zsh,
    /// fish.
    Fish,
    /// PowerShell.
    Powershell,
    /// elvish.
    Elvish,
}

impl CompletionShell {
    fn generator(self) -> Shell {
        match self {
            Self::Bash => Shell::Bash,
            Self::Zsh => Shell::Zsh,
            Self::Fish => Shell::Fish,
            Self::Powershell => Shell::PowerShell,
            Self::Elvish => Shell::Elvish,
        }
    }
}

/// `dane man`.
#[derive(Debug, ClapArgs)]
pub struct ManArgs {
    /// Write dane.1 and one page per subcommand (dane-verify.1, dane-tlsa-generate.1, ...)
    /// into this directory instead of dane.1 to stdout.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Writes the completion script for `args.shell` to stdout.
pub fn completions(args: &CompletionsArgs, _ctx: &Context) -> anyhow::Result<Exit> {
    let mut cmd = crate::command();
    let mut out = std::io::stdout().lock();
    clap_complete::generate(args.shell.generator(), &mut cmd, "dane", &mut out);
    out.flush()?;
    Ok(Exit::Ok)
}

/// Writes dane.1 to stdout, or every page into `--dir`.
pub fn man(args: &ManArgs, _ctx: &Context) -> anyhow::Result<Exit> {
    // No `help` pseudo-subcommand page (as clap_mangen's own generate_to does).
    let mut cmd = crate::command().disable_help_subcommand(true);
    cmd.build();
    match &args.dir {
        None => {
            let mut page = Vec::new();
            render(&cmd, true, &mut page)?;
            let mut out = std::io::stdout().lock();
            out.write_all(&page)?;
            out.flush()?;
        }
        Some(dir) => {
            write_pages(&cmd, true, dir)?;
        }
    }
    Ok(Exit::Ok)
}

/// Writes the page of `cmd` and, recursively, of each visible subcommand. `cmd` has been
/// built, so clap has given every subcommand its display name (`dane-tlsa-generate`, the
/// file name clap_mangen uses) and bin name (`dane tlsa generate`, its SYNOPSIS).
fn write_pages(cmd: &clap::Command, top: bool, dir: &Path) -> anyhow::Result<()> {
    let file = clap_mangen::Man::new(cmd.clone()).get_filename();
    let path = dir.join(file);
    let mut page = Vec::new();
    render(cmd, top, &mut page)?;
    std::fs::write(&path, page).with_context(|| format!("{}: cannot write", path.display()))?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        if sub.get_name() != "help" {
            write_pages(sub, false, dir)?;
        }
    }
    Ok(())
}

/// Renders one page: clap_mangen's sections, then EXIT STATUS (from [`Exit::DOCUMENTED`]),
/// ENVIRONMENT and SEE ALSO, which every page carries because every subcommand shares them.
fn render(cmd: &clap::Command, top: bool, out: &mut Vec<u8>) -> anyhow::Result<()> {
    let man = clap_mangen::Man::new(cmd.clone())
        .manual("dane manual")
        .source(format!("dane {}", env!("CARGO_PKG_VERSION")));
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(out)?;
    }
    if cmd.has_subcommands() {
        man.render_subcommands_section(out)?;
    }
    let mut extra = String::from(".SH \"EXIT STATUS\"\n");
    for (exit, meaning) in Exit::DOCUMENTED {
        extra.push_str(&format!(
            ".TP\n\\fB{}\\fR\n{}\n",
            *exit as u8,
            roff_escape(meaning)
        ));
    }
    extra.push_str(
        ".SH ENVIRONMENT\n.TP\n\\fBNO_COLOR\\fR\nWhen set and not empty, \\fB\\-\\-color auto\\fR \
         does not colour.\n",
    );
    extra.push_str(".SH \"SEE ALSO\"\n");
    let mut see: Vec<String> = Vec::new();
    if !top {
        see.push("\\fBdane\\fR(1)".to_owned());
    }
    see.extend(
        [
            "posttls-finger(1)",
            "ldns-dane(1)",
            "danetool(1)",
            "delv(1)",
            "unbound-host(1)",
        ]
        .map(|s| {
            let (name, section) = s.split_once('(').unwrap_or((s, ""));
            format!("\\fB{name}\\fR({section}")
        }),
    );
    extra.push_str(&see.join(", "));
    extra.push_str("\n.PP\nRFC 6698, RFC 7671, RFC 7672, RFC 7673, RFC 4033\\(en4035, RFC 5155.\n");
    out.extend_from_slice(extra.as_bytes());
    if cmd.get_version().is_some() {
        man.render_version_section(out)?;
    }
    Ok(())
}

/// Escapes text for a roff body line: backslashes, hyphens (so they stay ASCII minus
/// signs for copy and paste), and a leading `.` or `'` that roff would read as a request.
fn roff_escape(text: &str) -> String {
    let mut s = text.replace('\\', "\\e").replace('-', "\\-");
    if s.starts_with('.') || s.starts_with('\'') {
        s.insert_str(0, "\\&");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::roff_escape;

    #[test]
    fn roff_escape_guards_requests_and_hyphens() {
        let check = |input: &str, expected: &str| assert_eq!(roff_escape(input), expected);
        check("plain", "plain");
        check("--no-iterate", "\\-\\-no\\-iterate");
        check(".SH fake", "\\&.SH fake");
        check("'x", "\\&'x");
        check("a\\b", "a\\eb");
    }
}
