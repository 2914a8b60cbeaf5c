//! The replay suite: `fixtures/dns/replay/scenarios/*.scenario` (format in
//! `fixtures/dns/replay/README.md`). Each scenario names a question, the zones it was
//! recorded from, edits to make to the recorded answers (a corrupted signature, a changed
//! signer, ...), and the expected verdict, reason code, answer kind and warnings. The
//! answers are committed wire messages recorded from NSD serving ldns-signzone-signed zones,
//! so plain `cargo test` replays them with no server and no network. Re-record with
//! `DANE_RECORD_REPLAY=1 cargo test -p dane-dnssec --test replay` (needs NSD and Unbound:
//! scripts/install-test-deps); recording also asks Unbound, in front of the same NSD, for
//! its verdict on unedited scenarios, and the replay checks we agree.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)] // test code
#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // fixtures, NSD on loopback

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use dane_dnssec::{
    Budget, Evidence, Limits, Outcome, Question, Step, TrustAnchors, validate, validate_with,
};
use dane_testenv::fixtures_dir;
use hickory_proto::rr::{Name, RecordType};
use rustls_pki_types::UnixTime;

/// 2026-06-01T00:00:00Z, the default validation time.
const PINNED: u64 = 1_780_272_000;

/// A recorded answer: question name, type mnemonic, wire message or failure.
type Item = (String, String, Result<Vec<u8>, String>);

#[derive(Debug, Clone)]
struct Scenario {
    path: PathBuf,
    name: Name,
    rtype: RecordType,
    verdict: String,
    reason: Option<String>,
    answer: Option<String>,
    zones: String,
    anchor: Option<String>,
    at: u64,
    limits: Limits,
    warnings: Vec<String>,
    edits: Vec<Vec<String>>,
    answers: Vec<Item>,
    unbound: Option<String>,
    differs: Option<String>,
    /// Every line but the recorded ones, to write back when recording.
    head: Vec<String>,
}

fn scenario_dir() -> PathBuf {
    fixtures_dir().join("replay/scenarios")
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

fn parse(path: &Path) -> Scenario {
    let text = std::fs::read_to_string(path).unwrap();
    let mut s = Scenario {
        path: path.to_path_buf(),
        name: Name::root(),
        rtype: RecordType::A,
        verdict: String::new(),
        reason: None,
        answer: None,
        zones: "replay".into(),
        anchor: None,
        at: PINNED,
        limits: Limits::default(),
        warnings: Vec::new(),
        edits: Vec::new(),
        answers: Vec::new(),
        unbound: None,
        differs: None,
        head: Vec::new(),
    };
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let bad = || -> ! { panic!("{}: bad line {line:?}", path.display()) };
        match f.first().copied() {
            Some("answer") => {
                let g: Vec<&str> = line.splitn(5, ['\t', ' ']).collect();
                let item = match g.get(3).copied() {
                    Some("ok") => Ok(hex(g[4])),
                    Some("failed") => Err(g.get(4).unwrap_or(&"").to_string()),
                    _ => bad(),
                };
                s.answers.push((g[1].into(), g[2].into(), item));
                continue;
            }
            Some("unbound") => {
                s.unbound = Some(f.get(1).unwrap_or_else(|| bad()).to_string());
                continue;
            }
            _ => {}
        }
        s.head.push(line.to_string());
        match f.as_slice() {
            [] => {}
            [c, ..] if c.starts_with('#') => {}
            ["query", n, t] => {
                s.name = Name::from_str(n).unwrap();
                s.rtype = RecordType::from_str(t).unwrap();
            }
            ["expect", v, rest @ ..] => {
                s.verdict = (*v).into();
                s.reason = rest.first().filter(|r| **r != "-").map(|r| r.to_string());
                s.answer = rest.get(1).filter(|a| **a != "-").map(|a| a.to_string());
            }
            ["zones", z] => s.zones = (*z).into(),
            ["anchor", a @ ..] => s.anchor = Some(a.join(" ")),
            ["at", t] => s.at = t.parse().unwrap(),
            ["warning", w] => s.warnings.push((*w).into()),
            ["differs", why @ ..] => s.differs = Some(why.join(" ")),
            ["limit", k, v] => {
                let v: u32 = v.parse().unwrap();
                match *k {
                    "max_signatures" => s.limits.max_signatures = v,
                    "max_nsec3_hashes" => s.limits.max_nsec3_hashes = v,
                    "max_keys_per_signature" => s.limits.max_keys_per_signature = v,
                    _ => bad(),
                }
            }
            ["edit", rest @ ..] => s.edits.push(rest.iter().map(|x| x.to_string()).collect()),
            _ => bad(),
        }
    }
    assert!(!s.verdict.is_empty(), "{}: no expect line", path.display());
    s
}

fn anchors(s: &Scenario) -> TrustAnchors {
    match &s.anchor {
        Some(a) if a.contains(" DS ") || a.contains(" DNSKEY ") => TrustAnchors::parse(a).unwrap(),
        Some(file) => {
            TrustAnchors::parse(&std::fs::read_to_string(fixtures_dir().join(file)).unwrap())
                .unwrap()
        }
        None => TrustAnchors::parse(&std::fs::read_to_string(anchor_file(s)).unwrap()).unwrap(),
    }
}

fn anchor_file(s: &Scenario) -> PathBuf {
    match (&s.anchor, s.zones.as_str()) {
        (Some(a), _) if !a.contains(' ') => fixtures_dir().join(a),
        (_, "fixtures") => fixtures_dir().join("anchors/root.ds"),
        _ => fixtures_dir().join("replay/anchor.ds"),
    }
}

// --- DNS messages as decompressed record lists, and the edits ----------------------------

struct Rr {
    owner: Vec<u8>,
    rtype: u16,
    class: u16,
    ttl: u32,
    rdata: Vec<u8>,
}

struct Msg {
    header: [u8; 12],
    question: Vec<u8>,
    sections: [Vec<Rr>; 2],
}

/// An uncompressed name at `pos` and the offset after it (as found in the message).
fn name_at(msg: &[u8], mut pos: usize) -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    let mut end = None;
    loop {
        let len = msg[pos] as usize;
        if len & 0xc0 == 0xc0 {
            end.get_or_insert(pos + 2);
            pos = ((len & 0x3f) << 8) | msg[pos + 1] as usize;
            continue;
        }
        out.extend_from_slice(&msg[pos..pos + 1 + len]);
        pos += 1 + len;
        if len == 0 {
            return (out, end.unwrap_or(pos));
        }
    }
}

fn name_text(wire: &[u8]) -> String {
    let mut labels = Vec::new();
    let mut p = 0;
    while wire[p] != 0 {
        let l = wire[p] as usize;
        labels.push(String::from_utf8_lossy(&wire[p + 1..p + 1 + l]).to_ascii_lowercase());
        p += 1 + l;
    }
    format!("{}.", labels.join("."))
}

fn name_wire(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for l in text
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
        out.push(l.len() as u8);
        out.extend_from_slice(l.as_bytes());
    }
    out.push(0);
    out
}

/// RDATA with its embedded names decompressed (the types whose names servers compress,
/// and the DNSSEC ones, whose names are never compressed, for safety).
fn rdata_at(msg: &[u8], rtype: u16, start: usize, len: usize) -> Vec<u8> {
    let end = start + len;
    let names = |pos: usize, count: usize| {
        let mut out = Vec::new();
        let mut p = pos;
        for _ in 0..count {
            let (n, next) = name_at(msg, p);
            out.extend(n);
            p = next;
        }
        (out, p)
    };
    match rtype {
        2 | 5 | 12 | 39 => names(start, 1).0,
        15 => {
            let mut out = msg[start..start + 2].to_vec();
            out.extend(names(start + 2, 1).0);
            out
        }
        6 => {
            let (mut out, p) = names(start, 2);
            out.extend_from_slice(&msg[p..end]);
            out
        }
        46 => {
            let mut out = msg[start..start + 18].to_vec();
            let (n, p) = names(start + 18, 1);
            out.extend(n);
            out.extend_from_slice(&msg[p..end]);
            out
        }
        _ => msg[start..end].to_vec(),
    }
}

fn decode(msg: &[u8]) -> Msg {
    let mut header = [0u8; 12];
    header.copy_from_slice(&msg[..12]);
    let count = |i: usize| u16::from_be_bytes([msg[4 + 2 * i], msg[5 + 2 * i]]) as usize;
    let (_, qend) = name_at(msg, 12);
    let question = msg[12..qend + 4].to_vec();
    let mut pos = qend + 4;
    let mut sections: [Vec<Rr>; 2] = [Vec::new(), Vec::new()];
    for (i, section) in sections.iter_mut().enumerate() {
        for _ in 0..count(i + 1) {
            let (owner, p) = name_at(msg, pos);
            let rtype = u16::from_be_bytes([msg[p], msg[p + 1]]);
            let class = u16::from_be_bytes([msg[p + 2], msg[p + 3]]);
            let ttl = u32::from_be_bytes([msg[p + 4], msg[p + 5], msg[p + 6], msg[p + 7]]);
            let len = u16::from_be_bytes([msg[p + 8], msg[p + 9]]) as usize;
            let rdata = rdata_at(msg, rtype, p + 10, len);
            section.push(Rr {
                owner,
                rtype,
                class,
                ttl,
                rdata,
            });
            pos = p + 10 + len;
        }
    }
    Msg {
        header,
        question,
        sections,
    }
}

/// The message again, uncompressed, without its additional section.
fn encode(m: &Msg) -> Vec<u8> {
    let mut out = m.header.to_vec();
    out[6..8].copy_from_slice(&(m.sections[0].len() as u16).to_be_bytes());
    out[8..10].copy_from_slice(&(m.sections[1].len() as u16).to_be_bytes());
    out[10..12].copy_from_slice(&[0, 0]);
    out.extend_from_slice(&m.question);
    for rr in m.sections.iter().flatten() {
        out.extend_from_slice(&rr.owner);
        out.extend_from_slice(&rr.rtype.to_be_bytes());
        out.extend_from_slice(&rr.class.to_be_bytes());
        out.extend_from_slice(&rr.ttl.to_be_bytes());
        out.extend_from_slice(&(rr.rdata.len() as u16).to_be_bytes());
        out.extend_from_slice(&rr.rdata);
    }
    out
}

fn type_code(t: &str) -> u16 {
    u16::from(RecordType::from_str(t).unwrap())
}

/// Records in RFC 3597 generic form, one per line (`owner TTL IN TYPEnn \\# LEN HEX`, as
/// `ldns-read-zone -u TYPE` prints them), as wire records.
fn records_from_file(path: &Path) -> Vec<Rr> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with(';'))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert!(f.len() >= 7 && f[4] == "\\#", "{}: {l}", path.display());
            Rr {
                owner: name_wire(f[0]),
                rtype: f[3].trim_start_matches("TYPE").parse().unwrap(),
                class: 1,
                ttl: f[1].parse().unwrap(),
                rdata: hex(&f[6..].concat()),
            }
        })
        .collect()
}

/// Applies the scenario's edits for question `name`/`rtype` to `wire`.
fn edit(s: &Scenario, name: &str, rtype: &str, wire: &[u8]) -> Vec<u8> {
    let mine: Vec<&Vec<String>> = s
        .edits
        .iter()
        .filter(|e| e.len() >= 3 && e[1].eq_ignore_ascii_case(name) && e[2] == rtype)
        .collect();
    if mine.is_empty() {
        return wire.to_vec();
    }
    let mut m = decode(wire);
    for e in mine {
        let op = e[0].as_str();
        if op == "rcode" {
            m.header[3] = (m.header[3] & 0xf0) | e[3].parse::<u8>().unwrap();
            continue;
        }
        let section = match e[3].as_str() {
            "answer" => 0,
            "authority" => 1,
            other => panic!("{}: section {other}", s.path.display()),
        };
        if op == "add" {
            let extra = records_from_file(&fixtures_dir().join(&e[4]));
            m.sections[section].extend(extra);
            continue;
        }
        let owner = e[4].to_ascii_lowercase();
        let t = type_code(&e[5]);
        let rrs = &mut m.sections[section];
        let is_sig_over =
            |rr: &Rr| rr.rtype == 46 && u16::from_be_bytes([rr.rdata[0], rr.rdata[1]]) == t;
        let at = |rr: &Rr| name_text(&rr.owner) == owner;
        let before = rrs.len();
        let mut touched = 0;
        match op {
            "drop" => rrs.retain(|rr| !(at(rr) && rr.rtype == t)),
            "drop-sigs" => rrs.retain(|rr| !(at(rr) && is_sig_over(rr))),
            _ => {
                for rr in rrs.iter_mut().filter(|rr| at(rr)) {
                    let sig = is_sig_over(rr);
                    match op {
                        "corrupt-sig" if sig => {
                            let last = rr.rdata.len() - 1;
                            rr.rdata[last] ^= 0x01;
                        }
                        "set-signer" if sig => {
                            let (_, p) = name_at(&rr.rdata, 18);
                            let mut rd = rr.rdata[..18].to_vec();
                            rd.extend(name_wire(&e[6]));
                            rd.extend_from_slice(&rr.rdata[p..]);
                            rr.rdata = rd;
                        }
                        "set-labels" if sig => rr.rdata[3] = e[6].parse().unwrap(),
                        "set-original-ttl" if sig => {
                            let v: u32 = e[6].parse().unwrap();
                            rr.rdata[4..8].copy_from_slice(&v.to_be_bytes());
                        }
                        "set-ttl" if rr.rtype == t => rr.ttl = e[6].parse().unwrap(),
                        "set-target" if rr.rtype == t => rr.rdata = name_wire(&e[6]),
                        _ => continue,
                    }
                    touched += 1;
                }
            }
        }
        assert!(
            touched > 0 || rrs.len() < before,
            "{}: edit {e:?} matched nothing",
            s.path.display()
        );
    }
    encode(&m)
}

fn evidence(s: &Scenario, answers: &[Item]) -> Evidence {
    let edited: Vec<Item> = answers
        .iter()
        .map(|(n, t, a)| {
            (
                n.clone(),
                t.clone(),
                a.as_ref().map(|w| edit(s, n, t, w)).map_err(Clone::clone),
            )
        })
        .collect();
    Evidence::from_wire(edited.iter().map(|(n, t, a)| {
        (
            n.as_str(),
            t.as_str(),
            a.as_ref().map(Vec::as_slice).map_err(String::as_str),
        )
    }))
    .unwrap_or_else(|e| panic!("{}: {e}", s.path.display()))
}

fn at(secs: u64) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(secs))
}

/// One pass of a multi-pass lookup of the scenario's question over `answers`, with the
/// lookup's `budget`, as the resolver runs it.
fn pass(s: &Scenario, answers: &[Item], anchors: &TrustAnchors, budget: &mut Budget) -> Step {
    validate_with(
        &evidence(s, answers),
        anchors,
        &s.name,
        s.rtype,
        at(s.at),
        &s.limits,
        None,
        budget,
    )
}

fn outcome(s: &Scenario) -> Outcome {
    match validate(
        &evidence(s, &s.answers),
        &anchors(s),
        &s.name,
        s.rtype,
        at(s.at),
        &s.limits,
    ) {
        Step::Done(o) => *o,
        Step::Need(q) => panic!(
            "{}: the recorded answers lack {} {}: re-record with DANE_RECORD_REPLAY=1 cargo test -p dane-dnssec --test replay",
            s.path.display(),
            q.name,
            q.rtype
        ),
    }
}

/// Checks one scenario's expectations; `Err` lists what differs.
fn check(s: &Scenario) -> Result<Outcome, String> {
    let o = outcome(s);
    let mut wrong = Vec::new();
    if o.verdict.as_str() != s.verdict {
        wrong.push(format!(
            "verdict {} (want {})",
            o.verdict.as_str(),
            s.verdict
        ));
    }
    let code = o.reason.as_ref().map(|r| r.code.as_str().to_string());
    if code != s.reason {
        wrong.push(format!("reason {code:?} (want {:?})", s.reason));
    }
    if let Some(a) = &s.answer {
        if o.answer.as_str() != a {
            wrong.push(format!("answer {} (want {a})", o.answer.as_str()));
        }
    }
    let warnings: Vec<&str> = o.warnings.iter().map(|w| w.code.as_str()).collect();
    if warnings != s.warnings {
        wrong.push(format!("warnings {warnings:?} (want {:?})", s.warnings));
    }
    // Agreement with Unbound (recorded for unedited scenarios), unless documented.
    if let (Some(u), None) = (&s.unbound, &s.differs) {
        let ours = match o.verdict.as_str() {
            "indeterminate" => "insecure", // Unbound answers without AD for unanchored names
            v => v,
        };
        if ours != u {
            wrong.push(format!("Unbound says {u}, we say {}", o.verdict.as_str()));
        }
    }
    if wrong.is_empty() {
        Ok(o)
    } else {
        Err(format!(
            "{}: {}\n  reason: {:?}\n  trace: {:#?}",
            s.path.display(),
            wrong.join("; "),
            o.reason,
            o.trace
        ))
    }
}

fn all() -> Vec<Scenario> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(scenario_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "scenario"))
        .collect();
    paths.sort();
    paths.iter().map(|p| parse(p)).collect()
}

fn scenario(file: &str) -> Scenario {
    parse(&scenario_dir().join(format!("{file}.scenario")))
}

// --- recording ----------------------------------------------------------------------------

/// One question over TCP: DO=1, and CD=1 to an authoritative server (`recursive` false) or
/// RD=1 to a resolver.
fn ask(server: std::net::SocketAddr, name: &Name, rtype: RecordType, recursive: bool) -> Vec<u8> {
    let (rd, cd) = if recursive {
        (0x01, 0x00)
    } else {
        (0x00, 0x10)
    };
    let mut q = vec![0, 0, rd, cd, 0, 1, 0, 0, 0, 0, 0, 1];
    q.extend(name_wire(&name.to_lowercase().to_ascii()));
    q.extend_from_slice(&u16::from(rtype).to_be_bytes());
    q.extend_from_slice(&[0, 1]);
    // OPT: root owner, type 41, payload 4096, DO bit.
    q.extend_from_slice(&[0, 0, 41, 0x10, 0, 0, 0, 0x80, 0, 0, 0]);
    let mut tcp = std::net::TcpStream::connect_timeout(&server, Duration::from_secs(5)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut framed = (q.len() as u16).to_be_bytes().to_vec();
    framed.extend(q);
    tcp.write_all(&framed).unwrap();
    let mut len = [0u8; 2];
    tcp.read_exact(&mut len).unwrap();
    let mut resp = vec![0u8; u16::from_be_bytes(len) as usize];
    tcp.read_exact(&mut resp).unwrap();
    resp
}

fn serve_dir(s: &Scenario) -> PathBuf {
    match s.zones.as_str() {
        "fixtures" => fixtures_dir().join("zones"),
        _ => fixtures_dir().join("replay/zones"),
    }
}

fn record(s: &Scenario, nsd: &dane_testenv::Nsd, unbound: Option<&dane_testenv::Unbound>) {
    let mut answers: Vec<Item> = Vec::new();
    for _ in 0..300 {
        let step = validate(
            &evidence(s, &answers),
            &anchors(s),
            &s.name,
            s.rtype,
            at(s.at),
            &s.limits,
        );
        match step {
            Step::Done(_) => break,
            Step::Need(q) => {
                let wire = ask(nsd.addr(), &q.name, q.rtype, false);
                answers.push((q.name.to_string(), q.rtype.to_string(), Ok(wire)));
            }
        }
    }
    let mut text = s.head.join("\n");
    text.push('\n');
    if let (Some(u), true) = (unbound, s.edits.is_empty()) {
        let resp = ask(u.addr(), &s.name, s.rtype, true);
        let verdict = match (resp[3] & 0x0f, resp[3] & 0x20 != 0) {
            (2, _) => "bogus",
            (0 | 3, true) => "secure",
            (0 | 3, false) => "insecure",
            _ => "indeterminate",
        };
        text.push_str(&format!("unbound {verdict}\n"));
    }
    for (n, t, a) in &answers {
        let w = a.as_ref().unwrap();
        let h: String = w.iter().map(|b| format!("{b:02x}")).collect();
        text.push_str(&format!("answer\t{n}\t{t}\tok\t{h}\n"));
    }
    std::fs::write(&s.path, text).unwrap();
}

/// Runs every scenario (recording first with `DANE_RECORD_REPLAY=1`), and fails listing
/// every one whose outcome differs from what it expects.
#[test]
fn every_scenario() {
    if std::env::var_os("DANE_RECORD_REPLAY").is_some_and(|v| v == "1") {
        let scenarios = all();
        for zones in ["fixtures", "replay"] {
            let mine: Vec<&Scenario> = scenarios.iter().filter(|s| s.zones == zones).collect();
            let Some(first) = mine.first() else { continue };
            let nsd = dane_testenv::Nsd::start(&serve_dir(first)).expect("start nsd");
            // Unbound only where NSD serves the root: with the replay zones alone, a
            // question outside them would send Unbound to the real root servers.
            let unbound = (zones == "fixtures")
                .then(|| {
                    dane_testenv::Unbound::start_with_anchor(&nsd, &anchor_file(first))
                        .map_err(|e| eprintln!("no Unbound comparison: {e}"))
                        .ok()
                })
                .flatten();
            for s in mine {
                if s.anchor.is_none() {
                    record(s, &nsd, unbound.as_ref());
                    continue;
                }
                // A scenario with an anchor file of its own (fixture zones only) gets an
                // Unbound of its own with that file; an inline DS line gets none.
                let own = (zones == "fixtures"
                    && !s.anchor.as_ref().is_some_and(|a| a.contains(' ')))
                .then(|| {
                    dane_testenv::Unbound::start_with_anchor(&nsd, &anchor_file(s))
                        .map_err(|e| eprintln!("no Unbound comparison: {e}"))
                        .ok()
                })
                .flatten();
                record(s, &nsd, own.as_ref());
            }
        }
    }
    let scenarios = all();
    assert!(scenarios.len() >= 30, "{} scenarios", scenarios.len());
    let wrong: Vec<String> = scenarios.iter().filter_map(|s| check(s).err()).collect();
    assert!(
        wrong.is_empty(),
        "{} of {} scenarios wrong:\n{}",
        wrong.len(),
        scenarios.len(),
        wrong.join("\n")
    );
}

// --- named regressions (each fails without its fix) ---------------------------------------

fn expect(file: &str) -> Outcome {
    check(&scenario(file)).unwrap_or_else(|e| panic!("{e}"))
}

/// Issue 10 defect 1: a wildcard answer whose next closer name is covered by an opt-out
/// NSEC3 was secure.
#[test]
fn wildcard_under_nsec3_opt_out_is_insecure() {
    expect("wildcard-optout");
}

/// Defect 2: a CNAME question below a DNAME, and the DS walk meeting a DNAME.
#[test]
fn names_below_a_dname_validate() {
    expect("dname-cname-question");
    expect("dname-dname-question");
    expect("dname-wrong-synthesis");
}

/// Defect 3: DS at the trust anchor's own name is outside every anchor.
#[test]
fn ds_at_the_anchor_is_not_judged_by_the_child() {
    expect("ds-at-anchor");
}

/// Defect 4: a bad SOA signature beside a good denial proof.
#[test]
fn bad_soa_signature_beside_a_good_proof_is_bogus() {
    expect("nodata-bad-soa-sig");
    expect("nxdomain-bad-soa-sig");
}

/// Defect 5: RSA under 1024 bits validates, with a weak-key warning naming zone, tag, size.
#[test]
fn rsa_512_validates_with_a_weak_key_warning() {
    let o = expect("rsa512");
    let w = &o.warnings[0];
    assert_eq!(w.zone, "rsa512.replay.");
    assert_eq!(w.key_bits, 512);
    assert!(w.detail.contains(&w.key_tag.to_string()) && w.detail.contains("512-bit"));
}

/// Defect 6: an irrelevant NSEC3 over the RFC 9276 cap beside the proof changes nothing.
#[test]
fn iteration_cap_only_on_the_nsec3_the_proof_uses() {
    expect("nsec3-irrelevant-high-iterations");
}

/// Defect 7: SHA-1 DS ignored beside a SHA-256 DS for the same key.
#[test]
fn sha1_ds_is_ignored_beside_sha256() {
    expect("ds-sha1-wrong-sha256-right");
    expect("ds-sha256-wrong-sha1-right");
}

/// KeyTrap (CVE-2023-50387): many keys with one tag, many signatures: the typed outcome
/// comes after at most the budget's verifications, counted over a whole multi-pass lookup.
#[test]
fn keytrap_ends_within_the_budget() {
    let s = scenario("keytrap");
    let o = expect("keytrap");
    assert!(o.signatures_checked <= s.limits.max_signatures);
    // As the resolver does: one pass per answer added, one budget for the lookup.
    let anchors = anchors(&s);
    let mut budget = Budget::new();
    let mut passes = 0;
    for n in 0..=s.answers.len() {
        passes += 1;
        let step = pass(&s, &s.answers[..n], &anchors, &mut budget);
        if let Step::Done(o) = step {
            assert_eq!(o.reason.unwrap().code.as_str(), "budget-exceeded");
            break;
        }
    }
    assert!(passes > 3, "a multi-pass lookup ({passes} passes)");
    assert!(
        budget.verifications() <= s.limits.max_signatures,
        "{} verifications over {passes} passes",
        budget.verifications()
    );
    assert!(budget.crypto_verifications() <= s.limits.max_signatures);
}

/// CVE-2023-50868: NSEC3 hashing is counted per lookup and capped.
#[test]
fn nsec3_hashing_has_a_budget() {
    let mut s = scenario("nsec3-nxdomain");
    let o = expect("nsec3-nxdomain");
    assert!(o.nsec3_hashes > 0 && o.nsec3_hashes <= s.limits.max_nsec3_hashes);
    s.limits.max_nsec3_hashes = o.nsec3_hashes - 1;
    let o = outcome(&s);
    assert_eq!(
        (o.verdict.as_str(), o.reason.map(|r| r.code.as_str())),
        ("bogus", Some("budget-exceeded"))
    );
    // Over a multi-pass lookup each name is hashed once, not once per pass.
    let s = scenario("nsec3-nxdomain");
    let mut budget = Budget::new();
    for n in 0..=s.answers.len() {
        let ev = evidence(&s, &s.answers[..n]);
        let _ = validate_with(
            &ev,
            &anchors(&s),
            &s.name,
            s.rtype,
            at(s.at),
            &s.limits,
            None,
            &mut budget,
        );
    }
    assert_eq!(budget.nsec3_hashes(), o_hashes(&s));
}

fn o_hashes(s: &Scenario) -> u32 {
    outcome(s).nsec3_hashes
}

/// The question type for which the evidence has no answer is asked for (sanity of the
/// scenario machinery: an empty answer list needs the question itself first).
#[test]
fn an_empty_scenario_asks_for_the_question() {
    let s = scenario("rsa512");
    let step = validate(
        &evidence(&s, &[]),
        &anchors(&s),
        &s.name,
        s.rtype,
        at(s.at),
        &s.limits,
    );
    assert!(matches!(step, Step::Need(q) if q == Question::new(&s.name, s.rtype)));
}

/// One budget per lookup: a lookup validated pass by pass, as the resolver does (one pass
/// per answer added), counts each signature check once, exactly as many as one pass over
/// the complete evidence (before, every pass started from zero and repeated the checks).
#[test]
fn a_multi_pass_lookup_counts_each_check_once() {
    for file in ["nsec3-nxdomain", "dname-weak-link", "cname-bogus-link"] {
        let s = scenario(file);
        let single = outcome(&s).signatures_checked;
        let mut budget = Budget::new();
        let mut done = None;
        for n in 0..=s.answers.len() {
            let ev = evidence(&s, &s.answers[..n]);
            let step = validate_with(
                &ev,
                &anchors(&s),
                &s.name,
                s.rtype,
                at(s.at),
                &s.limits,
                None,
                &mut budget,
            );
            if let Step::Done(o) = step {
                done = Some(*o);
                break;
            }
        }
        let o = done.expect("the lookup ends");
        assert!(s.answers.len() > 3, "{file}: a multi-pass lookup");
        assert_eq!(budget.verifications(), single, "{file}");
        assert_eq!(o.signatures_checked, single, "{file}");
        assert_eq!(budget.crypto_verifications(), single, "{file}");
    }
}

/// Failed verifications are remembered too: the KeyTrap zone's junk signatures cost ring
/// once per run, not once per lookup.
#[test]
fn failed_verifications_are_memoised_across_lookups() {
    let s = scenario("keytrap");
    let memo = dane_dnssec::SignatureMemo::new(10_000);
    let mut crypto = Vec::new();
    for _ in 0..2 {
        let mut budget = Budget::new();
        let step = validate_with(
            &evidence(&s, &s.answers),
            &anchors(&s),
            &s.name,
            s.rtype,
            at(s.at),
            &s.limits,
            Some(&memo),
            &mut budget,
        );
        assert!(matches!(step, Step::Done(ref o) if o.verdict.as_str() == "bogus"));
        crypto.push(budget.crypto_verifications());
    }
    assert!(crypto[0] > 100, "{crypto:?}");
    assert_eq!(crypto[1], 0, "{crypto:?}");
}

/// Issue 23 (c): a trust anchor for a name that securely does not exist. The parent's
/// NXDOMAIN, signed above the anchor, is judged from the anchor above its signer, as Unbound
/// does ("trust anchor NXDOMAIN by signed parent"); any other answer signed by a zone above
/// the anchor that covers the name cannot chain to it and is bogus (Unbound primes the
/// anchor, finds no DNSKEY there, and fails). Each scenario carries Unbound's recorded verdict.
#[test]
fn nxdomain_from_above_a_trust_anchor_is_judged_from_the_signers_anchor() {
    for file in [
        "anchor-nonexistent-nxdomain",
        "anchor-nonexistent-nsec3-nxdomain",
        "anchor-nonexistent-dnskey",
        "anchor-nonexistent-tlsa",
        "anchor-not-a-zone-nxdomain-below",
        "anchor-existing-zone",
    ] {
        let s = scenario(file);
        assert_eq!(s.unbound.as_deref(), Some("secure"), "{file}");
        expect(file);
    }
    for file in [
        "anchor-not-a-zone-positive",
        "anchor-not-a-zone-nodata",
        "anchor-not-a-zone-positive-below",
    ] {
        let s = scenario(file);
        assert_eq!(s.unbound.as_deref(), Some("bogus"), "{file}");
        expect(file);
    }
}

/// Issue 23 (a): an NSEC3 NXDOMAIN without the record covering the wildcard at the closest
/// encloser is bogus, opt-out or not (RFC 5155 8.4); opt-out only makes a complete proof
/// insecure (RFC 5155 9.2), and without opt-out a complete proof is secure.
#[test]
fn nsec3_nxdomain_without_the_wildcard_proof_is_bogus_even_under_opt_out() {
    expect("optout-nxdomain-no-wildcard-proof");
    expect("nsec3-nxdomain-no-wildcard-proof");
    let complete = expect("optout-nxdomain");
    assert_eq!(complete.verdict.as_str(), "insecure");
    assert_eq!(
        scenario("optout-nxdomain").unbound.as_deref(),
        Some("insecure")
    );
    assert_eq!(expect("nsec3-nxdomain").verdict.as_str(), "secure");
}

/// Issue 23 (b): the parent's signed NSEC (or NSEC3) at a delegation without DS proves the
/// child unsigned, so a CNAME target below it is insecure (RFC 4035 5.2, RFC 6840 4.4); an
/// NSEC with the DS bit, or the child's own apex NSEC, proves no such thing.
#[test]
fn an_unsigned_cut_proven_by_the_parent_makes_the_answer_insecure() {
    let o = expect("cname-into-unsigned-cut");
    let reason = o.reason.unwrap();
    assert!(reason.detail.contains("insecure.test."), "{reason}");
    expect("nsec3-referral-unsigned-cut");
    expect("cname-into-signed-cut");
    expect("cname-target-apex-nsec");
}

/// Issue 27: a later pass of a lookup replays the zone walks and the zone cuts' DS checks an
/// earlier pass finished (their trace, facts, warnings and expirations) instead of checking
/// them again. A lookup
/// validated as the resolver does it, one pass per answer it asks for, must end exactly as
/// one pass over the same evidence: the same outcome in every field, for every scenario
/// (expired and not-yet-valid signatures, weak keys, budgets, aliases, denials).
#[test]
fn a_lookup_pass_by_pass_ends_as_one_pass_over_its_evidence() {
    let mut multi = 0;
    for s in all() {
        let single = outcome(&s);
        let anchors = anchors(&s);
        let mut budget = Budget::new();
        let mut asked: Vec<Item> = Vec::new();
        let mut passes = 0;
        let done = loop {
            passes += 1;
            let step = pass(&s, &asked, &anchors, &mut budget);
            match step {
                Step::Done(o) => break *o,
                Step::Need(q) => {
                    let item = s
                        .answers
                        .iter()
                        .find(|(n, t, _)| {
                            Question::new(
                                &Name::from_str(n).unwrap(),
                                RecordType::from_str(t).unwrap(),
                            ) == q
                        })
                        .unwrap_or_else(|| panic!("{}: no answer for {q:?}", s.path.display()));
                    asked.push(item.clone());
                }
            }
            assert!(passes <= s.answers.len() + 1, "{}", s.path.display());
        };
        assert_eq!(done, single, "{}", s.path.display());
        if passes > 3 {
            multi += 1;
        }
    }
    assert!(multi > 10, "{multi} multi-pass scenarios");
}
