//! `--format dot|svg|html` (issue 26): the recorded interop scenarios drawn offline. The DOT
//! of each is a golden file and is accepted by Graphviz (`dot -Tsvg`); the SVG, which dane
//! lays out and draws itself, needs no Graphviz, is well-formed XML (xmllint) and shows
//! every host, address, endpoint and TLSA record the JSON report has;
//! the HTML opens in headless Chromium, in a network namespace of its own, with no console
//! message (a blocked fetch or a policy violation would log one), and is screenshotted.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

use crate::common::{fixture, root, run, run_command, temp_file};
use crate::verify::golden;

/// The interop evidence of one scenario.
fn evidence(scenario: &str) -> String {
    dane_testenv::interop::interop_dir()
        .join("evidence")
        .join(format!("{scenario}.json"))
        .display()
        .to_string()
}

/// The scenarios of the issue, by what they show, with their recorded exit codes.
const SCENARIOS: [(&str, &str, i32); 8] = [
    ("good", "ee311.test", 0),
    ("bogus-signature", "tlsa-tampered.test", 1),
    ("expired-rrsig", "tlsa-expired.test", 1),
    ("insecure-delegation", "insecure.test", 4),
    ("nsec3-denial", "nsec3-notlsa.test", 4),
    ("cname-mx", "cname-orig.test", 0),
    ("dane-ta-name-mismatch", "ta-badname.test", 1),
    ("rollover-pair", "rollover.test", 0),
];

/// `dane verify --evidence FILE EXTRA...` for one scenario.
fn verify(scenario: &str, extra: &[&str]) -> crate::common::Run {
    let file = evidence(scenario);
    let mut args = vec!["verify", "--evidence", file.as_str()];
    args.extend_from_slice(extra);
    run(&args)
}

/// The candidate check: rollover.test with a candidate set and the next certificate.
fn candidate_args() -> (String, String) {
    let rsa = run(&["tlsa", "generate", "--cert", &fixture("pki/leaf-rsa.pem")]).stdout;
    let ec = run(&["tlsa", "generate", "--cert", &fixture("pki/leaf-ec.pem")]).stdout;
    let set = temp_file("picture-rollover.tlsa", format!("{rsa}{ec}").as_bytes());
    (set, fixture("pki/chain-ec.pem"))
}

/// Every scenario, and the candidate check: (name, evidence, extra arguments, exit code).
fn cases() -> Vec<(String, &'static str, Vec<String>, i32)> {
    let mut out: Vec<(String, &'static str, Vec<String>, i32)> = SCENARIOS
        .iter()
        .map(|(name, file, code)| (name.to_string(), *file, Vec::new(), *code))
        .collect();
    let (set, cert) = candidate_args();
    out.push((
        "candidate".into(),
        "rollover.test",
        vec!["--tlsa".into(), set, "--cert".into(), cert],
        0,
    ));
    out
}

#[test]
fn scenarios_draw_as_their_golden_dot_files() {
    for (name, file, extra, code) in cases() {
        let mut args: Vec<&str> = extra.iter().map(String::as_str).collect();
        args.extend(["--format", "dot"]);
        let r = verify(file, &args);
        assert_eq!(r.code, code, "{name}: {r:?}");
        assert!(
            r.stdout.starts_with("digraph dane {"),
            "{name}: {}",
            r.stdout
        );
        golden(&format!("picture-{name}.dot"), &r.stdout);
        if let Some(dot) = dot_program() {
            let mut cmd = Command::new(dot);
            cmd.arg("-Tsvg");
            let g = run_command(cmd, Some(r.stdout.as_bytes()));
            assert_eq!(g.code, 0, "{name}: dot -Tsvg: {}", g.stderr);
            assert!(g.stdout.contains("<svg"), "{name}");
        }
        // Every node and edge has a tooltip (the SVG title a reader hovers over).
        for l in r.stdout.lines().map(str::trim_start) {
            if l.starts_with('"') {
                assert!(l.contains("tooltip="), "{name}: {l}");
            }
        }
        // The same picture at another time: --at re-judges the evidence (expired later).
        let later = verify(file, &[args.as_slice(), &["--at", "2040-01-01"]].concat());
        assert!(
            later.stdout.contains("expired"),
            "{name} at 2040: {}",
            later.stdout
        );
    }
}

/// What the JSON report lists, read from the consumer's side.
#[derive(Deserialize)]
struct Doc {
    hosts: Vec<Host>,
}

#[derive(Deserialize)]
struct Host {
    name: String,
    #[serde(default)]
    endpoints: Vec<Endpoint>,
    tlsa: Option<Tlsa>,
}

#[derive(Deserialize)]
struct Endpoint {
    address: String,
    port: u16,
}

#[derive(Deserialize)]
struct Tlsa {
    lookups: Vec<TlsaLookup>,
}

#[derive(Deserialize)]
struct TlsaLookup {
    answer: Answer,
}

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    records: Vec<Record>,
}

#[derive(Deserialize)]
struct Record {
    data: String,
}

/// SVG text with the entities Graphviz writes decoded (it writes `-` as `&#45;`).
pub(crate) fn svg_text(svg: &str) -> String {
    svg.replace("&#45;", "-")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

fn dot_program() -> Option<PathBuf> {
    dane_testenv::require_tool("dot", "graphviz")
}

#[test]
fn svg_is_well_formed_and_shows_everything_the_report_has() {
    let Some(xmllint) = dane_testenv::require_tool("xmllint", "libxml2-utils") else {
        return;
    };
    for (name, file, extra, code) in cases() {
        let mut args: Vec<&str> = extra.iter().map(String::as_str).collect();
        let json = verify(file, &[args.as_slice(), &["--json"]].concat());
        let doc: Doc = serde_json::from_str(&json.stdout).unwrap();
        args.extend(["--format", "svg"]);
        let r = verify(file, &args);
        assert_eq!(r.code, code, "{name}: {r:?}");
        let svg = temp_file(&format!("picture-{name}.svg"), r.stdout.as_bytes());
        let mut lint = Command::new(&xmllint);
        lint.args(["--noout", "--nonet", &svg]);
        let l = run_command(lint, None);
        assert_eq!(l.code, 0, "{name}: xmllint: {l:?}");
        let text = svg_text(&r.stdout);
        for h in &doc.hosts {
            assert!(text.contains(&h.name), "{name}: host {}", h.name);
            for e in &h.endpoints {
                let shown = if e.address.contains(':') {
                    format!("[{}]:{}", e.address, e.port)
                } else {
                    format!("{}:{}", e.address, e.port)
                };
                assert!(text.contains(&shown), "{name}: endpoint {shown}");
            }
            for l in h.tlsa.iter().flat_map(|t| &t.lookups) {
                for rec in &l.answer.records {
                    // The record's tooltip has the whole association data.
                    let data = rec.data.to_ascii_uppercase();
                    assert!(text.contains(&data), "{name}: record {data}");
                }
            }
        }
    }
}

/// Every key drawn in the DOT is in the laid-out SVG, with its zone's box.
#[test]
fn svg_keeps_every_key_and_zone_of_the_dot() {
    for file in ["tlsa-expired.test", "nsec3-notlsa.test"] {
        let dot = verify(file, &["--format", "dot"]).stdout;
        let svg = svg_text(&verify(file, &["--format", "svg"]).stdout);
        for line in dot
            .lines()
            .filter(|l| l.trim_start().starts_with("\"DNSKEY "))
        {
            // "DNSKEY ZONE ALG TAG" [...]
            let id = line.trim_start().split('"').nth(1).unwrap();
            let parts: Vec<&str> = id.split(' ').collect();
            let (zone, tag) = (parts[1], parts[3]);
            assert!(svg.contains(&format!("id={tag}")), "{file}: key {tag}");
            assert!(svg.contains(&format!(">{zone}<")), "{file}: zone {zone}");
        }
    }
}

/// svg and html are laid out and drawn by dane itself: no Graphviz on PATH (no program at
/// all), and the pictures are still made.
#[test]
fn svg_and_html_need_no_graphviz() {
    let empty = std::env::temp_dir().join(format!("dane-nodot-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    for format in ["svg", "html", "dot"] {
        let mut cmd = crate::common::dane();
        cmd.env("PATH", &empty).args([
            "verify",
            "--evidence",
            &evidence("ee311.test"),
            "--format",
            format,
        ]);
        let r = run_command(cmd, None);
        assert_eq!(r.code, 0, "{format}: {r:?}");
        assert_eq!(r.stderr, "", "{format}");
        let want = if format == "dot" {
            "digraph dane {"
        } else {
            "<svg"
        };
        assert!(r.stdout.contains(want), "{format}: {}", r.stdout);
    }
    let _ = std::fs::remove_dir_all(&empty);
}

/// `--output FILE` writes the picture like any other format.
#[test]
fn output_file_takes_the_picture() {
    let dir = std::env::temp_dir().join(format!("dane-picture-out-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("check.dot");
    let r = verify(
        "ee311.test",
        &["--format", "dot", "--output", path.to_str().unwrap()],
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.stdout, "");
    let written = std::fs::read_to_string(&path).unwrap();
    assert_eq!(written, verify("ee311.test", &["--format", "dot"]).stdout);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Headless Chromium in a network namespace of its own (no network at all): the page must
/// log nothing on its console (a fetch blocked by the policy, or failed for want of a
/// network, logs there) and render; the screenshot is kept under target/.
fn open_in_chromium(chromium: &Path, html: &str, shot: &Path) {
    let page = temp_file("picture.html", html.as_bytes());
    let mut cmd = Command::new("unshare");
    cmd.arg("-n")
        .arg(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1240,1754",
        ])
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{page}"));
    let r = run_command(cmd, None);
    assert_eq!(r.code, 0, "chromium: {r:?}");
    let console: Vec<&str> = r
        .stderr
        .lines()
        // Chromium's own pages (chrome://) log on their consoles too; only the page's count.
        .filter(|l| l.contains(":CONSOLE") && !l.contains("source: chrome://"))
        .collect();
    assert!(console.is_empty(), "console: {console:#?}");
    assert!(
        shot.metadata().unwrap().len() > 10_000,
        "{}",
        shot.display()
    );
}

#[test]
fn html_is_self_contained_and_opens_in_headless_chromium() {
    let Some(chromium) = dane_testenv::require_tool("chromium", "chromium") else {
        return;
    };
    let shots = root().join("target/picture-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    for (name, file, extra, code) in cases() {
        let mut args: Vec<&str> = extra.iter().map(String::as_str).collect();
        args.extend(["--format", "html"]);
        let r = verify(file, &args);
        assert_eq!(r.code, code, "{name}: {r:?}");
        let html = &r.stdout;
        assert!(html.contains(dane_render_csp()), "{name}");
        for banned in ["<script", "src=", "href=", "url(", "@import", "<link"] {
            assert!(!html.contains(banned), "{name}: {banned}");
        }
        assert!(html.contains("<svg") && html.contains("<details"), "{name}");
        open_in_chromium(&chromium, html, &shots.join(format!("{name}.png")));
    }
}

fn dane_render_csp() -> &'static str {
    "default-src &#39;none&#39;; style-src &#39;unsafe-inline&#39;; img-src data:"
}

/// Two MX hosts: the HTML has the whole check and a page per host, each host's picture
/// holding its own lookups only.
#[test]
fn html_has_a_page_per_host() {
    let r = verify("twomx.test", &["--format", "html"]);
    assert_eq!(r.code, 1, "{r:?}");
    let sections: Vec<&str> = r
        .stdout
        .split("<section class=\"picture\">")
        .skip(1)
        .collect();
    assert_eq!(sections.len(), 3, "{}", r.stdout);
    assert!(sections[0].contains("<h2>the whole check</h2>"));
    assert!(sections[1].contains("<h2>mx1.twomx.test.</h2>"));
    let mx1 = svg_text(sections[1]);
    assert!(mx1.contains("mx1.twomx.test./A") && !mx1.contains("mx2.twomx.test./A"));
    assert!(r.stdout.contains("break-after: page"));
}

/// `dane dnssec --evidence FILE`: a question of a saved `dane verify` run validated offline
/// (and drawn), at the run's time or `--at`; a question the run did not ask is a one-line
/// error.
#[test]
fn dnssec_replays_a_saved_run_and_draws_it() {
    let file = evidence("twomx.test");
    let dnssec = |extra: &[&str]| {
        let mut args = vec![
            "dnssec",
            "_25._tcp.mx1.twomx.test",
            "TLSA",
            "--evidence",
            file.as_str(),
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    let r = dnssec(&[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains(";; verdict: secure: records"),
        "{}",
        r.stdout
    );
    let later = dnssec(&["--at", "2040-01-01"]);
    assert_eq!(later.code, 1, "{later:?}");
    assert!(
        later.stdout.contains("signature-expired"),
        "{}",
        later.stdout
    );
    let dot = dnssec(&["--format", "dot"]);
    assert_eq!(dot.code, 0, "{dot:?}");
    assert!(
        dot.stdout
            .contains("\"DNSKEY twomx.test. 13 56417\" -> \"RRset _25._tcp.mx1.twomx.test. TLSA\""),
        "{}",
        dot.stdout
    );
    let json = dnssec(&["--json"]);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(doc["verdict"], "secure");
    let missing = run(&["dnssec", "www.example.com", "--evidence", file.as_str()]);
    assert_eq!(missing.code, 2, "{missing:?}");
    assert_eq!(missing.stdout, "");
    assert_eq!(missing.stderr.lines().count(), 1, "{}", missing.stderr);
    assert!(missing.stderr.contains("no answer for www.example.com. A"));
}
