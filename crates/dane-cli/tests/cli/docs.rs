//! `dane completions` and `dane man`: the generated scripts load in the real shells and
//! complete our subcommands and options; the manual pages pass groff's and man's checks and
//! carry every subcommand and the exit status table.

use crate::common::{run, temp_file};
use dane_testenv::{require_tool, run_command};
use std::process::Command;

/// The subcommands every generated artefact must know.
const SUBCOMMANDS: &[&str] = &[
    "tlsa",
    "probe",
    "dnssec",
    "verify",
    "scan",
    "serve-metrics",
    "rollover",
    "zone",
    "completions",
    "man",
];

/// Runs `program ARGS` to completion.
fn exec(program: &std::path::Path, args: &[&str]) -> dane_testenv::Run {
    let mut cmd = Command::new(program);
    cmd.args(args);
    run_command(cmd, None)
}

fn script(shell: &str) -> String {
    let out = run(&["completions", shell]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!out.stdout.is_empty(), "empty {shell} script");
    temp_file(&format!("completion.{shell}"), out.stdout.as_bytes())
}

#[test]
fn bash_completes_subcommands_and_options() {
    let Some(bash) = require_tool("bash", "bash") else {
        return;
    };
    let path = script("bash");
    let syntax = exec(&bash, &["-n", &path]);
    assert_eq!(syntax.code, 0, "bash -n: {syntax:?}");
    // What bash-completion does on TAB: call the registered function with COMP_WORDS.
    let complete = |words: &str| {
        let program = format!(
            "source {path}; COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}}-1)); \
             COMP_LINE=\"${{COMP_WORDS[*]}}\"; COMP_POINT=${{#COMP_LINE}}; \
             _dane dane \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; \
             printf '%s\\n' \"${{COMPREPLY[@]}}\""
        );
        let out = exec(&bash, &["-c", &program]);
        assert_eq!(out.code, 0, "{words}: {out:?}");
        out.stdout
    };
    let top = complete("dane ''");
    for sub in SUBCOMMANDS {
        assert!(top.lines().any(|l| l == *sub), "no {sub} in {top}");
    }
    assert_eq!(complete("dane ver").trim(), "verify");
    let opts = complete("dane verify --no-it");
    assert_eq!(opts.trim(), "--no-iterate", "{opts}");
    let shells = complete("dane completions ''");
    for shell in ["bash", "zsh", "fish"] {
        assert!(shells.lines().any(|l| l == shell), "{shells}");
    }
    // Closed lists complete to their values, not to file names.
    for (words, want) in CLOSED_LISTS {
        let got = complete(words);
        for value in *want {
            assert!(
                got.lines().any(|l| l == *value),
                "{words}: no {value} in {got}"
            );
        }
    }
}

/// Command lines ending in an option with a closed list, and values it must offer.
const CLOSED_LISTS: &[(&str, &[&str])] = &[
    (
        "dane verify --service ''",
        &["smtp", "imaps", "xmpp-server", "https"],
    ),
    ("dane rollover status --service ''", &["smtp", "submission"]),
    (
        "dane verify --format ''",
        &["text", "json", "nagios", "openmetrics"],
    ),
    ("dane verify --color ''", &["auto", "always", "never"]),
    (
        "dane tlsa generate --usage ''",
        &["PKIX-TA", "DANE-TA", "DANE-EE", "PrivCert"],
    ),
    ("dane tlsa generate --selector ''", &["Cert", "SPKI"]),
    (
        "dane tlsa generate --mtype ''",
        &["Full", "SHA2-256", "SHA2-512"],
    ),
    (
        "dane rollover stage --key-type ''",
        &["p256", "rsa2048", "rsa3072", "ed25519"],
    ),
    ("dane rollover promote --key-type ''", &["p256", "ed25519"]),
    (
        "dane rollover promote --service ''",
        &["smtp", "submission", "https"],
    ),
    (
        "dane verify --starttls ''",
        &["smtp", "imap", "pop3", "xmpp-client", "none"],
    ),
    ("dane probe --starttls ''", &["smtp", "xmpp-server", "none"]),
    ("dane rollover promote --starttls ''", &["smtp", "none"]),
    ("dane probe --sigalgs ''", &["rsa", "ecdsa", "eddsa"]),
    ("dane tlsa generate --proto ''", &["tcp", "udp"]),
    (
        "dane tlsa generate --format ''",
        &["zone", "generic", "json"],
    ),
    ("dane zone check --color ''", &["auto", "always", "never"]),
    (
        "dane completions ''",
        &["bash", "zsh", "fish", "powershell", "elvish"],
    ),
];

#[test]
fn fish_completes_subcommands_and_options() {
    let Some(fish) = require_tool("fish", "fish") else {
        return;
    };
    let path = script("fish");
    let syntax = exec(&fish, &["--no-execute", &path]);
    assert_eq!(syntax.code, 0, "fish --no-execute: {syntax:?}");
    let complete = |line: &str| {
        let program = format!("source {path}; complete --do-complete '{line}'");
        let mut cmd = Command::new(&fish);
        cmd.args(["--no-config", "-c", &program]);
        let out = run_command(cmd, None);
        assert_eq!(out.code, 0, "{line}: {out:?}");
        // Each line: candidate TAB description.
        out.stdout
            .lines()
            .map(|l| l.split('\t').next().unwrap_or("").to_owned())
            .collect::<Vec<_>>()
    };
    let top = complete("dane ");
    for sub in SUBCOMMANDS {
        assert!(top.iter().any(|l| l == sub), "no {sub} in {top:?}");
    }
    assert!(complete("dane verify --no-it").contains(&"--no-iterate".to_owned()));
    for (words, want) in CLOSED_LISTS {
        let line = format!("{} ", words.trim_end_matches("''").trim_end());
        let got = complete(&line);
        for value in *want {
            assert!(
                got.iter().any(|l| l == value),
                "{line}: no {value} in {got:?}"
            );
        }
    }
}

/// Completes `line` (what a user typed before TAB) in an interactive zsh on a
/// pseudo-terminal (zsh/zpty), with the script installed as `_dane` in an `fpath`
/// directory and loaded by compinit, as zsh-capture-completion does: every candidate that
/// the completion system adds is printed, one a line. The markers are split in the commands
/// typed (`E""ND`), so the terminal's echo of them is never taken for the output.
const ZSH_CAPTURE: &str = r#"
zmodload zsh/zpty
zpty z zsh -f -i
local line out
zpty -w z "fpath=($DANE_FPATH \$fpath)"
zpty -w z 'autoload -U compinit; compinit -u -D'
zpty -w z 'zstyle ":completion:*" list-grouped false; zstyle ":completion:*" insert-tab false'
zpty -w z 'compprefuncs=( ); comppostfuncs=(finish)'
zpty -w z 'finish() { zle -R; print -n -- "\0E""ND\0" }'
zpty -w z 'compadd() {
  [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]] && { builtin compadd "$@"; return $? }
  typeset -a __hits __dscr
  builtin compadd -A __hits -D __dscr "$@"
  local ret=$?
  (( $#__hits == 0 )) && return $ret
  local i; for i in $__hits; do print -n -- "\0CA""ND:$i\n"; done
  builtin compadd "$@"
}'
zpty -w z 'bindkey "^I" complete-word; PROMPT=""; RPROMPT=""'
zpty -w z "print -n -- '\0'RE'ADY\0'"
zpty -r z line '*READY*'
zpty -w -n z "$1"$'\t'
zpty -r z out $'*\0END\0*'
print -r -- "$out" | tr -d '\r' | grep -a -o 'CAND:[^[:cntrl:]]*' | sed 's/^CAND://'
zpty -d z
"#;

#[test]
fn zsh_completes_subcommands_options_and_values() {
    let Some(zsh) = require_tool("zsh", "zsh") else {
        return;
    };
    let path = script("zsh");
    let syntax = exec(&zsh, &["-n", &path]);
    assert_eq!(syntax.code, 0, "zsh -n: {syntax:?}");
    // Installed as `_dane` in a directory on fpath, as the package does.
    let dir = std::path::Path::new(&path)
        .parent()
        .unwrap()
        .join("zsh-fpath");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(&path, dir.join("_dane")).unwrap();
    let capture = temp_file("zsh-capture.zsh", ZSH_CAPTURE.as_bytes());
    let complete = |line: &str| {
        let mut cmd = Command::new(&zsh);
        cmd.args(["-f", &capture, line]).env("DANE_FPATH", &dir);
        let out = run_command(cmd, None);
        assert_eq!(out.code, 0, "{line}: {out:?}");
        out.stdout.lines().map(str::to_owned).collect::<Vec<_>>()
    };
    let top = complete("dane ");
    for sub in SUBCOMMANDS {
        assert!(top.iter().any(|l| l == sub), "no {sub} in {top:?}");
    }
    assert_eq!(complete("dane ver"), ["verify"]);
    assert_eq!(complete("dane verify --no-it"), ["--no-iterate"]);
    for (words, want) in CLOSED_LISTS {
        let line = format!("{} ", words.trim_end_matches("''").trim_end());
        let got = complete(&line);
        for value in *want {
            assert!(
                got.iter().any(|l| l == value),
                "zsh: {line}: no {value} in {got:?}"
            );
        }
    }
}

#[test]
fn unknown_shell_is_a_usage_error() {
    let out = run(&["completions", "tcsh"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("tcsh"), "{out:?}");
}

#[test]
fn man_page_renders_cleanly_with_every_subcommand() {
    let out = run(&["man"]);
    assert_eq!(out.code, 0, "{out:?}");
    let page = out.stdout;
    assert!(
        page.starts_with(".ie") || page.contains(".TH dane 1"),
        "{page}"
    );
    for sub in SUBCOMMANDS {
        assert!(
            page.contains(&format!("dane\\-{}(1)", sub.replace('-', "\\-"))),
            "{sub}"
        );
    }
    assert!(!page.contains("dane\\-help"), "help pseudo-command listed");
    assert!(page.contains(".SH \"EXIT STATUS\""));
    for code in 0..=4 {
        assert!(
            page.contains(&format!(".TP\n\\fB{code}\\fR\n")),
            "exit {code}"
        );
    }
    let Some(groff) = require_tool("groff", "groff-base") else {
        return;
    };
    // -ww: all warnings; groff prints them on stderr, and a clean page has none.
    let mut cmd = Command::new(groff);
    cmd.args(["-man", "-Tutf8", "-ww", "-z"]);
    let lint = run_command(cmd, Some(page.as_bytes()));
    assert_eq!(lint.code, 0, "{lint:?}");
    assert_eq!(lint.stderr, "", "groff warnings");
}

#[test]
fn man_dir_writes_one_page_per_command() {
    let dir = std::path::Path::new(&temp_file("man-probe", b""))
        .parent()
        .unwrap()
        .join("man1");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let out = run(&["man", "--dir", dir.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{out:?}");
    let mut pages: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    for expected in [
        "dane.1",
        "dane-verify.1",
        "dane-tlsa.1",
        "dane-tlsa-generate.1",
        "dane-tlsa-match.1",
        "dane-serve-metrics.1",
    ] {
        assert!(
            pages.iter().any(|p| p == expected),
            "{expected} in {pages:?}"
        );
    }
    assert!(!pages.iter().any(|p| p.contains("help")), "{pages:?}");
    let verify = std::fs::read_to_string(dir.join("dane-verify.1")).unwrap();
    assert!(
        verify.contains("dane verify"),
        "synopsis names the full command"
    );
    assert!(verify.contains("\\-\\-no\\-iterate"), "options listed");
    assert!(verify.contains("\\fBdane\\fR(1)"), "SEE ALSO dane(1)");
    if let Some(man) = require_tool("man", "man-db") {
        let mut cmd = Command::new(man);
        cmd.args(["--warnings", "-l", "-P", "cat"])
            .arg(dir.join("dane-verify.1"))
            .env("MANWIDTH", "80");
        let shown = run_command(cmd, None);
        assert_eq!(shown.code, 0, "{shown:?}");
        assert!(shown.stdout.contains("EXIT STATUS"), "{shown:?}");
        assert_eq!(shown.stderr, "", "man warnings");
    }
}

#[test]
fn man_dir_that_cannot_be_written_is_an_error() {
    // A directory that cannot be created (its parent is a file).
    let file = temp_file("man-not-a-dir", b"");
    let dir = format!("{file}/man1");
    let out = run(&["man", "--dir", &dir]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .starts_with(&format!("dane: {dir}: cannot create the directory")),
        "{out:?}"
    );
    assert_eq!(out.stdout, "");
}

/// `dane man --dir DIR` creates DIR (and its parents) when missing, as docs/install.md's
/// `dane man --dir /usr/local/share/man/man1` needs on a stock system; every page passes
/// groff -ww; dane-verify(1) has its verdicts, the nagios mapping, EXAMPLES and a SYNOPSIS
/// that shows the options' values.
#[test]
fn man_dir_is_created_and_every_page_is_clean() {
    let base = std::path::Path::new(&temp_file("man-created", b""))
        .parent()
        .unwrap()
        .join("created");
    let _ = std::fs::remove_dir_all(&base);
    let dir = base.join("share/man/man1");
    let out = run(&["man", "--dir", dir.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{out:?}");
    let verify = std::fs::read_to_string(dir.join("dane-verify.1")).unwrap();
    for want in [
        ".SH VERDICTS",
        "\\fBunauthenticated\\-tls\\fR (exit 4)",
        ".SH \"NAGIOS MAPPING\"",
        "\\fB2 CRITICAL\\fR",
        ".SH EXAMPLES",
        "dane verify example.com \\-\\-csr next.csr",
        "[\\fB\\-\\-service\\fR smtp|submission|",
        "[\\fB\\-\\-timeout\\fR \\fISECS\\fR]",
        "[\\fB\\-\\-format\\fR text|json|nagios|openmetrics|dot|svg|html]",
    ] {
        assert!(verify.contains(want), "dane-verify.1 lacks {want}");
    }
    let status = std::fs::read_to_string(dir.join("dane-rollover-status.1")).unwrap();
    assert!(
        status.contains(".SH FILES"),
        "dane-rollover-status.1 lacks FILES"
    );
    assert!(
        status.contains("\\fB.key.rollover.json\\fR"),
        "the state file"
    );
    // Every command that does the work has EXAMPLES (the groups dane-tlsa, dane-rollover
    // and dane-zone list their commands; completions and man have their own sections).
    for page in [
        "verify",
        "scan",
        "serve-metrics",
        "probe",
        "dnssec",
        "tlsa-generate",
        "tlsa-match",
        "zone-check",
        "rollover-stage",
        "rollover-status",
        "rollover-promote",
        "rollover-rollback",
    ] {
        let text = std::fs::read_to_string(dir.join(format!("dane-{page}.1"))).unwrap();
        assert!(
            text.contains(".SH EXAMPLES\n.nf\ndane "),
            "dane-{page}.1 lacks EXAMPLES"
        );
        assert!(
            text.contains(".SH DESCRIPTION"),
            "dane-{page}.1 lacks DESCRIPTION"
        );
        assert!(
            text.contains(".SH \"SEE ALSO\""),
            "dane-{page}.1 lacks SEE ALSO"
        );
    }
    let serve = std::fs::read_to_string(dir.join("dane-serve-metrics.1")).unwrap();
    assert!(
        serve.contains("/etc/default/dane\\-serve\\-metrics"),
        "serve-metrics FILES"
    );
    let Some(groff) = require_tool("groff", "groff-base") else {
        return;
    };
    for page in std::fs::read_dir(&dir).unwrap() {
        let page = page.unwrap().path();
        let mut cmd = Command::new(&groff);
        cmd.args(["-man", "-Tutf8", "-ww", "-z"]).arg(&page);
        let lint = run_command(cmd, None);
        assert_eq!(lint.code, 0, "{}: {lint:?}", page.display());
        assert_eq!(lint.stderr, "", "{}: groff warnings", page.display());
    }
}
