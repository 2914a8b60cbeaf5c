//! `dane completions SHELL` and `dane man`: shell completions (clap_complete) and the
//! manual page (clap_mangen), both generated from the one clap definition of the command
//! line, so they cannot drift from it. Where to install them: docs/install.md, "Completions and
//! the manual page".

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::builder::{PossibleValue, StringValueParser, TypedValueParser};
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

/// The value parser of an argument with a closed list of names that the command checks
/// itself (with its own message, and numbers where the registry allows them): any string
/// is passed on, and the names are offered to shell completion and listed in --help.
#[derive(Clone)]
pub struct Names(fn() -> Vec<&'static str>);

impl Names {
    /// `--service`: the services dane-check knows.
    pub fn services() -> Self {
        Self(|| {
            dane_check::service::SERVICES
                .iter()
                .map(|s| s.name)
                .collect()
        })
    }

    /// `--key-type`: the key types `dane rollover` creates.
    pub fn key_types() -> Self {
        Self(|| {
            dane_check::rollover::key::KeyType::ALL
                .iter()
                .map(|k| k.name())
                .collect()
        })
    }

    /// `--usage`: the RFC 7218 mnemonics (numbers 0-255 are accepted too).
    pub fn usages() -> Self {
        Self(|| {
            (0..=255u8)
                .filter_map(|v| dane_tlsa::CertUsage::from(v).mnemonic())
                .collect()
        })
    }

    /// `--selector`: the RFC 7218 mnemonics (numbers 0-255 are accepted too).
    pub fn selectors() -> Self {
        Self(|| {
            (0..=255u8)
                .filter_map(|v| dane_tlsa::Selector::from(v).mnemonic())
                .collect()
        })
    }

    /// `--mtype`: the RFC 7218 mnemonics (numbers 0-255 are accepted too).
    pub fn matching_types() -> Self {
        Self(|| {
            (0..=255u8)
                .filter_map(|v| dane_tlsa::MatchingType::from(v).mnemonic())
                .collect()
        })
    }
}

impl TypedValueParser for Names {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        StringValueParser::new().parse_ref(cmd, arg, value)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new((self.0)().into_iter().map(PossibleValue::new)))
    }
}

/// `dane man`.
#[derive(Debug, ClapArgs)]
pub struct ManArgs {
    /// Write dane.1 and one page per subcommand (dane-verify.1, dane-tlsa-generate.1, ...)
    /// into this directory (created when missing) instead of dane.1 to stdout.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Writes the completion script for `args.shell` to stdout.
pub fn completions(args: &CompletionsArgs, _ctx: &Context) -> anyhow::Result<Exit> {
    let mut cmd = crate::command();
    let mut out = std::io::stdout().lock();
    clap_complete::generate(args.shell.generator(), &mut cmd, "dane", &mut out);
    if let CompletionShell::Fish = args.shell {
        out.write_all(fish_positionals(&cmd).as_bytes())?;
    }
    out.flush()?;
    Ok(Exit::Ok)
}

/// clap_complete's fish script completes options' values but no positional argument's, so
/// `dane completions <TAB>` offered file names; these lines offer the values of every
/// positional with a closed list (the bash and zsh scripts have them from clap_complete),
/// until one of them is on the line.
fn fish_positionals(cmd: &clap::Command) -> String {
    let mut lines = String::new();
    let mut stack: Vec<(Vec<&str>, &clap::Command)> = cmd
        .get_subcommands()
        .map(|c| (vec![c.get_name()], c))
        .collect();
    while let Some((path, sub)) = stack.pop() {
        for arg in sub.get_positionals() {
            let values: Vec<String> = arg
                .get_possible_values()
                .iter()
                .filter(|v| !v.is_hide_set())
                .map(|v| v.get_name().to_owned())
                .collect();
            if values.is_empty() {
                continue;
            }
            // The condition functions the generated script defines.
            let mut cond = format!("__fish_dane_using_subcommand {}", path[0]);
            if let Some(last) = path.get(1..).and_then(<[&str]>::last) {
                cond.push_str(&format!("; and __fish_seen_subcommand_from {last}"));
            }
            let list = values.join(" ");
            lines.push_str(&format!(
                "complete -c dane -n \"{cond}; and not __fish_seen_subcommand_from {list}\" -f -a \"{list}\"\n"
            ));
        }
        stack.extend(sub.get_subcommands().map(|c| {
            let mut p = path.clone();
            p.push(c.get_name());
            (p, c)
        }));
    }
    lines
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
            std::fs::create_dir_all(dir)
                .with_context(|| format!("{}: cannot create the directory", dir.display()))?;
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
    out.extend_from_slice(synopsis(cmd).as_bytes());
    man.render_description_section(out)?;
    let (description, examples) = after_help(cmd);
    out.extend_from_slice(description.as_bytes());
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(out)?;
    }
    if cmd.has_subcommands() {
        man.render_subcommands_section(out)?;
    }
    if cmd.get_name() == "verify" {
        out.extend_from_slice(VERIFY_SECTIONS.as_bytes());
    }
    if let Some(files) = files_section(cmd) {
        out.extend_from_slice(files.as_bytes());
    }
    out.extend_from_slice(examples.as_bytes());
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

/// SYNOPSIS with every option's value: `[--service S]`, a closed list as its values
/// (`[--format text|json|nagios|openmetrics]`), flags alone, positionals in italics.
fn synopsis(cmd: &clap::Command) -> String {
    let bin = cmd.get_bin_name().unwrap_or(cmd.get_name());
    let mut line = format!(".SH SYNOPSIS\n\\fB{}\\fR", roff_escape(bin));
    for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
        let value = value_of(arg);
        let item = match (arg.get_long(), arg.get_short()) {
            (None, None) => value,
            (long, short) => {
                let mut names = Vec::new();
                if let Some(c) = short {
                    names.push(format!("\\fB\\-{c}\\fR"));
                }
                if let Some(l) = long {
                    names.push(format!("\\fB{}\\fR", roff_escape(&format!("--{l}"))));
                }
                let names = names.join("|");
                if arg.get_action().takes_values() {
                    format!("{names} {value}")
                } else {
                    names
                }
            }
        };
        if arg.is_required_set() {
            line.push_str(&format!(" {item}"));
        } else {
            line.push_str(&format!(" [{item}]"));
        }
    }
    if cmd.has_subcommands() {
        line.push_str(" \\fICOMMAND\\fR");
    }
    line.push('\n');
    line
}

/// An argument's value in SYNOPSIS: its closed list of values (`a|b|c`), else its value
/// name in italics; `...` when it repeats.
fn value_of(arg: &clap::Arg) -> String {
    let names: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| roff_escape(v.get_name()))
        .collect();
    let mut value = if !names.is_empty() && names.len() <= 12 {
        names.join("|")
    } else {
        let name = arg
            .get_value_names()
            .and_then(|n| n.first())
            .map_or_else(|| arg.get_id().as_str().to_uppercase(), ToString::to_string);
        format!("\\fI{}\\fR", roff_escape(&name))
    };
    if matches!(arg.get_action(), clap::ArgAction::Append) {
        value.push_str("...");
    }
    value
}

/// The command's after-help text as man sections: its paragraphs continue DESCRIPTION, and
/// the lines under `Examples:` become EXAMPLES (each as written, not filled; a blank line
/// between them is dropped).
fn after_help(cmd: &clap::Command) -> (String, String) {
    let Some(text) = cmd.get_after_long_help().or(cmd.get_after_help()) else {
        return (String::new(), String::new());
    };
    let text = text.to_string();
    let (prose, examples) = match text.split_once("Examples:") {
        Some((p, e)) => (p, Some(e)),
        None => (text.as_str(), None),
    };
    let mut description = String::new();
    for para in prose.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
        description.push_str(".PP\n");
        description.push_str(&roff_escape(&para.replace('\n', " ")));
        description.push('\n');
    }
    let mut section = String::new();
    if let Some(examples) = examples {
        section.push_str(".SH EXAMPLES\n.nf\n");
        // The help's two-space indent goes; deeper indents (a YAML block) stay.
        for line in examples.lines().filter(|l| !l.trim().is_empty()) {
            let line = line.strip_prefix("  ").unwrap_or(line).trim_end();
            section.push_str(&roff_escape(line));
            section.push('\n');
        }
        section.push_str(".fi\n");
    }
    (description, section)
}

/// FILES for the pages of the commands that read or write files of their own: the
/// rollover's keys and state, serve-metrics' unit and its flags file (Debian package).
fn files_section(cmd: &clap::Command) -> Option<&'static str> {
    let bin = cmd.get_bin_name().unwrap_or_default();
    if bin.starts_with("dane rollover") {
        Some(ROLLOVER_FILES)
    } else if bin == "dane serve-metrics" {
        Some(
            ".SH FILES\n.TP\n\\fI/usr/lib/systemd/system/dane\\-serve\\-metrics.service\\fR\n\
             The hardened unit of the Debian package (not enabled by the package).\n.TP\n\
             \\fI/etc/default/dane\\-serve\\-metrics\\fR\n\
             DANE_SERVE_METRICS_ARGS: the flags the unit starts it with (default \\fB\\-\\-listen \
             127.0.0.1:9553\\fR).\n",
        )
    } else {
        None
    }
}

/// FILES of the dane-rollover pages.
const ROLLOVER_FILES: &str = r#".SH FILES
.TP
\fISTEM\fR\fB.next.key\fR
The next key, beside \fB\-\-key\fR/\fB\-\-cert\fR when \fB\-\-next\-key\fR is not given: PKCS#8 PEM, created with mode 0600, never overwritten.
.TP
\fINEXT\fR\fB.key.rollover.json\fR
The state \fBstatus\fR keeps (\fB\-\-state\fR): when each server was first seen serving the next key's record; JSON, "kind": "dane\-rollover\-state", "version": 1; written to a temporary file and renamed.
.TP
\fIKEY\fR\fB.retired\-\fR\fITIME\fR
The current key \fBpromote\fR retired; delete it after the time promote names (the TTL and the margin).
.TP
\fB/usr/share/doc/dane/examples/rollover/\fR
The ACME client hook recipes (certbot, acme.sh, lego, dehydrated).
"#;

/// dane-verify(1): the verdicts with their exit codes, and how `--format nagios` maps them.
const VERIFY_SECTIONS: &str = r#".SH VERDICTS
.TP
\fBverified\fR (exit 0)
Every endpoint DANE covers authenticates with its TLSA records: every DANE sender delivers.
.TP
\fBpartial\fR (exit 1)
Some endpoints authenticate and some fail: senders that reach a failing one defer the mail.
.TP
\fBfailed\fR (exit 1)
Mail would be deferred (a mismatch, bogus DNSSEC, STARTTLS missing under TLSA).
.TP
\fBunauthenticated\-tls\fR (exit 4)
Secure TLSA records, none usable: TLS is mandatory but not authenticated.
.TP
\fBnot\-protected\fR (exit 4; 1 with \fB\-\-require\-dane\fR)
DANE applies nowhere (DNSSEC\-insecure, or no TLSA records): senders use opportunistic TLS.
.TP
\fBindeterminate\fR (exit 3)
A lookup or probe could not be done (timeout, SERVFAIL, unreachable) and nothing failed definitely.
.TP
\fBnonexistent\fR (exit 4)
Secure NXDOMAIN or a null MX (\fBMX 0 .\fR); an SRV target \fB.\fR.
.PP
Exit status 2: bad input. With \fB\-\-strict\fR any warning makes the exit status 1.
.SH "NAGIOS MAPPING"
With \fB\-\-format nagios\fR the first line is \fBDANE\fR \fISTATE\fR \fB\-\fR \fIDOMAIN\fR\fB:\fR \fIVERDICT\fR, counts, the main reason and perfdata, and the exit status is the plugin's:
.TP
\fB0 OK\fR
verified (advice alone stays OK).
.TP
\fB1 WARNING\fR
verified with warnings (or no spare record under \fB\-\-require\-spare\fR); not\-protected, unauthenticated\-tls, nonexistent.
.TP
\fB2 CRITICAL\fR
failed, partial; not\-protected with \fB\-\-require\-dane\fR; warnings with \fB\-\-strict\fR.
.TP
\fB3 UNKNOWN\fR
indeterminate, or the check could not run (bad flags, unreadable files).
.PP
Perfdata: cert_days, rrsig_days (warning range \fB\-\-warn\-days\fR), endpoints, verified, failed, indeterminate, unprotected, warnings, advice; with a candidate candidates, candidates_verified and rollover_ready.
"#;

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
