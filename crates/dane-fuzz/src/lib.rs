//! The bodies of the fuzz targets: one function per parser that takes data from the
//! network or from a file, each taking the fuzzer's bytes.
//!
//! `fuzz/fuzz_targets/<name>.rs` (cargo-fuzz, libFuzzer, nightly) calls the function of the
//! same name in [`TARGETS`]; `tests/corpus.rs` (plain `cargo test`, stable) runs every file of
//! `fuzz/corpus/<name>/` and `fuzz/artifacts/<name>/` through the same function, so every
//! committed seed and every crash ever found is checked on any machine.
//!
//! ```
//! for (name, run) in dane_fuzz::TARGETS {
//!     run(b""); // the empty input is a valid test case for every target
//!     assert!(!name.is_empty());
//! }
//! ```
//!
//! # Invariants
//!
//! - A body never panics on its own account: a panic is a finding (an `assert!` below names
//!   the invariant it checks, beyond "no panic").
//! - Each body drives the parser as its real caller does (the same limits, the same
//!   UTF-8 and size checks first), so a finding is reachable from a real input.
//! - Bodies are deterministic: a fixed `now` ([`NOW`]), no I/O, no clock.
//!
//! # Limitations
//!
//! - `serve_query` covers the `/probe` request target (path, query, parameters), not the
//!   HTTP head around it: the head parser is being replaced by hyper (issue 13).
//! - `scan_line` covers the line parser, not the streaming reader around it (which checks
//!   length and UTF-8 first, as this body does).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::sync::Arc;

use dane_check::evidence::{Bundle, ReplayDns, ReplayProber};
use dane_check::query::{parse_line, parse_request_target, probe_query};
use dane_dnssec::{Evidence, Limits, Question, Step, TrustAnchors, validate};
use dane_probe::{Action, Dialogue, DialogueConfig, Protocol, Transcript};
use dane_tlsa::{
    CertUsage, MatchOptions, MatchingType, Selector, Source, Spki, TlsaRecord, Verdict,
};
use hickory_proto::op::{Header, Query};
use hickory_proto::serialize::binary::{BinDecodable as _, BinDecoder};
use rustls_pki_types::UnixTime;

/// A fuzz target's body: takes the fuzzer's bytes.
pub type Body = fn(&[u8]);

/// Every target: its name (the file in `fuzz/fuzz_targets/` and the corpus directory) and
/// its body.
pub const TARGETS: &[(&str, Body)] = &[
    ("dnssec_messages", dnssec_messages),
    ("tlsa_zone", tlsa_zone),
    ("trust_anchor", trust_anchor),
    ("certificate", certificate),
    ("key", key),
    ("csr", csr),
    ("smtp", smtp),
    ("imap", imap),
    ("pop3", pop3),
    ("xmpp", xmpp),
    ("serve_query", serve_query),
    ("evidence_json", evidence_json),
    ("scan_line", scan_line),
    ("rollover_state", rollover_state),
    ("tsig_key", tsig_key),
    ("zone_file", zone_file),
    ("ca_families", ca_families),
    ("axfr_messages", axfr_messages),
    ("exclude_list", exclude_list),
];

/// The time every body evaluates at: 2026-06-01T00:00:00Z, inside the validity of the
/// DNSSEC and PKI fixtures the seeds come from.
pub const NOW: u64 = 1_780_272_000;

fn now() -> UnixTime {
    UnixTime::since_unix_epoch(std::time::Duration::from_secs(NOW))
}

/// The trust anchor of the DNSSEC fixtures (`fixtures/dns/anchors/root.ds`).
const FIXTURE_ANCHOR: &str = include_str!("../../../fixtures/dns/anchors/root.ds");

/// How many questions a lookup may ask (the resolver's default `max_queries`).
const MAX_QUERIES: usize = 200;

/// Splits `[u16 length][message]...` frames; a trailing partial frame is dropped.
fn frames(mut data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while let [hi, lo, rest @ ..] = data {
        let len = usize::from(u16::from_be_bytes([*hi, *lo]));
        let Some((frame, tail)) = rest.split_at_checked(len) else {
            break;
        };
        out.push(frame);
        data = tail;
    }
    out
}

/// The question of a DNS message (header, then the first question).
fn question(wire: &[u8]) -> Option<Question> {
    let mut d = BinDecoder::new(wire);
    let header = Header::read(&mut d).ok()?;
    if header.counts.queries == 0 {
        return None;
    }
    let q = Query::read(&mut d).ok()?;
    Some(Question::new(q.name(), q.query_type()))
}

/// DNS messages through the validator, as the resolver feeds them: the input is
/// length-prefixed wire messages (`[u16 big-endian length][message]`, the TCP framing of
/// RFC 1035 4.2.2), each stored as the answer to its own question; the first message's
/// question is the lookup. The validator runs with the fixture trust anchor at [`NOW`],
/// each question it asks that the input has no answer for recorded as failed, as the
/// resolver does. Checks: it never asks for a question it already has (the resolver's loop
/// relies on that) and ends within the resolver's question budget.
pub fn dnssec_messages(data: &[u8]) {
    if let Some(outcome) = dnssec_outcome(data) {
        let _ = format!("{outcome:?}");
    }
}

fn dnssec_outcome(data: &[u8]) -> Option<dane_dnssec::Outcome> {
    // The fixture file is committed and parsed by the dane-dnssec tests too.
    let anchors = TrustAnchors::parse(FIXTURE_ANCHOR).ok()?;
    let mut evidence = Evidence::new();
    let mut lookup = None;
    for wire in frames(data) {
        let Some(q) = question(wire) else { continue };
        lookup.get_or_insert_with(|| q.clone());
        if let Err(e) = evidence.insert_wire(q.clone(), wire.to_vec()) {
            evidence.insert_failure(q, e.to_string());
        }
    }
    let lookup = lookup?;
    for _ in 0..MAX_QUERIES {
        match validate(
            &evidence,
            &anchors,
            &lookup.name,
            lookup.rtype,
            now(),
            &Limits::default(),
        ) {
            Step::Done(outcome) => return Some(*outcome),
            Step::Need(q) => {
                assert!(
                    !evidence.contains(&q),
                    "the validator asked again for {} {}, which it has",
                    q.name,
                    q.rtype
                );
                evidence.insert_failure(q, "not in the fuzz input");
            }
        }
    }
    panic!("the validator asked more than {MAX_QUERIES} questions");
}

/// TLSA records in text: a zone-file fragment (`dane tlsa match --records`, `dane verify
/// --tlsa`) and a single record (`--record`). Checks that every record read prints and
/// reads back to itself in presentation form, in RFC 3597 generic form and as wire RDATA.
pub fn tlsa_zone(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return; // the CLI reads these files as UTF-8 text
    };
    let _ = TlsaRecord::parse(text);
    let Ok(fragment) = dane_tlsa::parse_zone(text) else {
        return;
    };
    for entry in &fragment.entries {
        let r = &entry.record;
        let _ = r.usability();
        for printed in [r.presentation(), r.generic()] {
            match TlsaRecord::parse(&printed) {
                Ok(back) => assert_eq!(&back, r, "{printed:?} reads back differently"),
                Err(e) => panic!("{r:?} prints as {printed:?}, which does not parse: {e}"),
            }
        }
        match TlsaRecord::from_rdata(&r.to_rdata()) {
            Ok(back) => assert_eq!(&back, r, "the wire RDATA reads back differently"),
            Err(e) => panic!("{r:?}: its own RDATA does not parse: {e}"),
        }
    }
}

/// Trust-anchor files (`--trust-anchor FILE`): DS and DNSKEY lines, BIND `trust-anchors`.
pub fn trust_anchor(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return; // read with read_to_string
    };
    if let Ok(anchors) = TrustAnchors::parse(text) {
        assert!(!anchors.anchors().is_empty(), "Ok with no anchor");
        for a in anchors.anchors() {
            let _ = a.zone().to_string();
        }
    }
}

/// Issuer-family lists (`--ca-families FILE`, JSON). A list that parses answers every
/// question about itself: each member is found by its own digests and record, and the
/// advice for a set pinning one member never names that member again (bounded work: the
/// parser caps families and members).
pub fn ca_families(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return; // read as UTF-8 text
    };
    let Ok(list) = dane_tlsa::CaFamilies::parse(text) else {
        return;
    };
    for f in list.families() {
        let current = list.current(f, NOW);
        assert!(current.members.len() <= dane_tlsa::MAX_FAMILY_MEMBERS);
        for m in &f.members {
            let found = list.by_spki(&m.spki_sha256).map(|(_, f)| f.spki_sha256);
            assert_eq!(found, Some(m.spki_sha256), "member not found by its SPKI");
            let record = m.record(dane_tlsa::Selector::Spki);
            for advice in list.advise(std::slice::from_ref(&record), &[], NOW) {
                assert!(
                    !advice.missing.contains(&record),
                    "advice repeats the pinned record"
                );
                let _ = advice.to_string();
            }
        }
    }
}

/// Certificates and chains, PEM or DER (`--cert`, `--chain`), and the chain a server
/// presents (the prober's summary of each certificate). Checks that a `3 1 1` record made
/// from the leaf authenticates the chain (DANE-EE looks at nothing else, RFC 7671 5.1).
pub fn certificate(data: &[u8]) {
    let Ok(chain) = dane_tlsa::parse_certificates(data) else {
        return;
    };
    for cert in &chain {
        let _ = dane_probe::CertSummary::from_der(cert);
        let _ = dane_tlsa::certificate_spki(cert);
    }
    let _ = dane_tlsa::recommended(&chain);
    let Some(leaf) = chain.first() else { return };
    let Ok(record) = dane_tlsa::generate(
        &Source::Certificate(leaf.clone()),
        CertUsage::DaneEe,
        Selector::Spki,
        MatchingType::Sha256,
    ) else {
        return;
    };
    let options = MatchOptions {
        reference_ids: vec!["mx.example.test".into()],
        ..MatchOptions::default()
    };
    if let Ok(report) = dane_tlsa::match_chain(&[record], &chain, &options, now()) {
        assert_eq!(
            report.verdict,
            Verdict::Authenticated,
            "the leaf's own 3 1 1 record: {}",
            report.reason
        );
    }
}

/// Public and private keys, PEM or DER (`--key`): the SubjectPublicKeyInfo found must be
/// valid DER, and a `3 1 1` record made from it must match it.
pub fn key(data: &[u8]) {
    for spki in [
        dane_tlsa::parse_public_key(data),
        dane_tlsa::parse_private_key(data),
    ]
    .into_iter()
    .flatten()
    {
        spki_checks(&spki);
    }
}

/// PKCS#10 CSRs, PEM or DER (`--csr`): as [`key`] for the request's key.
pub fn csr(data: &[u8]) {
    if let Ok(spki) = dane_tlsa::parse_csr(data) {
        spki_checks(&spki);
    }
}

fn spki_checks(spki: &Spki) {
    if let Err(e) = Spki::from_der(spki.as_der()) {
        panic!("the SubjectPublicKeyInfo built is not valid DER: {e}");
    }
    let Ok(record) = dane_tlsa::generate(
        &Source::PublicKey(spki.clone()),
        CertUsage::DaneEe,
        Selector::Spki,
        MatchingType::Sha256,
    ) else {
        return;
    };
    if let Ok(report) = dane_tlsa::match_key(&[record], spki, &MatchOptions::default()) {
        assert_eq!(report.verdict, Verdict::Authenticated, "{}", report.reason);
    }
}

/// Runs one dialogue over what a server sent. The first byte picks how the bytes arrive:
/// 0 splits the stream at every 0xFF byte (one chunk per server reply, as a server that
/// answers each command; 0xFF never occurs in these ASCII protocols), N > 0 in chunks of N
/// bytes. The second byte picks the limits (odd: small ones, so that the size limits are
/// reached by short inputs). The rest is the server's byte stream, the part after a
/// STARTTLS being what arrives inside TLS (the driver hands it over decrypted).
fn run_dialogue(protocol: Protocol, data: &[u8]) -> Result<Action, String> {
    let [chunk, limits, stream @ ..] = data else {
        return Ok(Action::Receive);
    };
    let mut limits_used = dane_probe::Limits::default();
    if limits & 1 == 1 {
        limits_used.max_line = 64;
        limits_used.max_reply_lines = 8;
        limits_used.max_plaintext = 1024;
        limits_used.max_transcript = 16;
    }
    let config = DialogueConfig::new("probe.example", "example.org", &limits_used);
    let mut transcript = Transcript::new(limits_used.max_transcript);
    let mut machine: Box<dyn Dialogue> = dane_probe::dialogue(protocol, &config);
    let mut action = machine.start(&mut transcript);
    let mut chunks: Box<dyn Iterator<Item = &[u8]>> = if *chunk == 0 {
        Box::new(stream.split(|&b| b == 0xff))
    } else {
        Box::new(stream.chunks(usize::from(*chunk)))
    };
    loop {
        if action == Action::StartTls {
            action = machine.tls_established(&mut transcript);
        }
        if action == Action::Done {
            break;
        }
        let Some(bytes) = chunks.next() else { break };
        match machine.receive(bytes, &mut transcript) {
            Ok(next) => action = next,
            Err(outcome) => {
                let message = outcome.to_string();
                assert!(!message.is_empty(), "an outcome without a message");
                return Err(message);
            }
        }
        let _ = machine.phase();
    }
    let _ = (machine.capabilities(), machine.capabilities_after_tls());
    assert!(
        transcript.entries().len() <= limits_used.max_transcript,
        "the transcript outgrew its limit"
    );
    Ok(action)
}

/// The SMTP STARTTLS dialogue (RFC 3207) fed a server's bytes.
pub fn smtp(data: &[u8]) {
    let _ = run_dialogue(Protocol::Smtp, data);
}

/// The IMAP STARTTLS dialogue (RFC 3501 6.2.1, RFC 9051) fed a server's bytes.
pub fn imap(data: &[u8]) {
    let _ = run_dialogue(Protocol::Imap, data);
}

/// The POP3 STLS dialogue (RFC 2595 4) fed a server's bytes.
pub fn pop3(data: &[u8]) {
    let _ = run_dialogue(Protocol::Pop3, data);
}

/// The XMPP STARTTLS dialogue (RFC 6120 5), client-to-server and server-to-server, fed a
/// server's bytes.
pub fn xmpp(data: &[u8]) {
    let _ = run_dialogue(Protocol::XmppClient, data);
    let _ = run_dialogue(Protocol::XmppServer, data);
}

/// The request target of a `dane serve-metrics` request (`/probe?target=...&service=...`,
/// `port`/`starttls`): parsing, percent-decoding and parameter validation. Checks that
/// `--allow-ports` only widens what is accepted, and that the domain is normalised.
pub fn serve_query(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return; // the request head must be UTF-8
    };
    let Ok(target) = parse_request_target(text) else {
        return;
    };
    let strict = probe_query(&target.params, false);
    let open = probe_query(&target.params, true);
    if let Ok(q) = &strict {
        assert_eq!(
            open.as_ref(),
            Ok(q),
            "--allow-ports refused what is allowed without it"
        );
    }
    if let Ok(q) = open {
        assert_eq!(
            dane_tlsa::normalize_host(&q.domain).ok().as_deref(),
            Some(q.domain.as_str()),
            "the domain is not normalised"
        );
    }
}

/// Evidence files (`dane verify --evidence FILE`): the JSON bundle, its DNS messages
/// validated again and its probe results matched again, as the CLI's replay does.
pub fn evidence_json(data: &[u8]) {
    if let Some(report) = evidence_report(data) {
        if let Err(e) = serde_json::to_string(&report) {
            panic!("the report does not serialise: {e}");
        }
    }
}

fn evidence_report(data: &[u8]) -> Option<dane_check::report::Report> {
    // Read with read_to_string.
    let text = std::str::from_utf8(data).ok()?;
    let bundle = Bundle::from_json(text).ok()?;
    let service = match (bundle.service.as_str(), bundle.port, &bundle.protocol) {
        ("custom", Some(port), Some(p)) => {
            dane_check::service::custom(port, dane_check::evidence::protocol_named(p)?)
        }
        (name, _, _) => dane_check::service::by_name(name)?,
    };
    let anchors = match &bundle.anchors {
        Some(text) => TrustAnchors::parse(text).ok()?,
        None => TrustAnchors::iana_root(),
    };
    let evidence = bundle.evidence().ok()?;
    let now = UnixTime::since_unix_epoch(std::time::Duration::from_secs(bundle.at));
    let mut options = dane_check::engine::Options::new(now);
    options.host.clone_from(&bundle.host);
    // A replay connects nowhere, so the address policy has nothing to protect (as
    // `dane verify --evidence` replays).
    options.address_policy = dane_resolver::AddressPolicy::AllowAll;
    // As `dane verify --evidence` does: restricted offers only when they were recorded.
    options.all_certs = bundle.all_certs();
    let dns = Arc::new(ReplayDns::new(evidence, anchors, now));
    let prober = Arc::new(ReplayProber::new(bundle.probes));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    Some(runtime.block_on(dane_check::engine::verify(
        dns,
        prober,
        &bundle.domain,
        &service,
        &options,
    )))
}

/// `dane scan` input: lines as the reader hands them over (at most 1024 bytes, UTF-8, CR
/// trimmed). Checks that a target's key (what `--resume` matches) reads back to the same
/// target.
pub fn scan_line(data: &[u8]) {
    for line in data.split(|&b| b == b'\n') {
        if line.len() > 1024 {
            continue;
        }
        let Ok(text) = std::str::from_utf8(line) else {
            continue;
        };
        let Ok(Some(target)) = parse_line(text.trim_end_matches('\r')) else {
            continue;
        };
        match parse_line(&target.key) {
            Ok(Some(back)) => assert_eq!(back, target, "the key {:?} reads back", target.key),
            other => panic!("the key {:?} reads back as {other:?}", target.key),
        }
    }
}

/// `dane scan --exclude FILE` (`dane_check::survey::Exclusions::parse`), after the CLI's
/// UTF-8 check: an error names a line of the input; every name a parsed list holds is
/// excluded by it, and so is every name under it.
pub fn exclude_list(data: &[u8]) {
    use dane_check::survey::Exclusions;
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Exclusions::parse(text) {
        Err(e) => assert!(
            e.line >= 1 && e.line <= text.lines().count(),
            "line {} of {}",
            e.line,
            text.lines().count()
        ),
        Ok(list) => {
            for raw in text.lines() {
                let name = raw.split('#').next().unwrap_or("").trim();
                if name.is_empty() || name.starts_with('.') || name.starts_with("*.") {
                    continue;
                }
                assert!(list.excludes(name), "{name:?} is listed but not excluded");
                assert!(list.excludes(&format!("sub.{name}")), "under {name:?}");
            }
        }
    }
}

/// `dane rollover`'s state file (`dane_check::rollover::state::State::from_json`): a
/// document that reads writes back to one that reads the same.
pub fn rollover_state(data: &[u8]) {
    use dane_check::rollover::state::State;
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(state) = State::from_json(text) {
        let again = State::from_json(&state.to_json());
        assert_eq!(again.as_ref(), Ok(&state), "a state document reads back");
    }
}

/// TSIG key files for `--update` (`dane_resolver::tsig::parse_keys`: Knot, BIND,
/// `[ALG:]NAME:SECRET`): a key that parses has a fully qualified name and a supported
/// algorithm, so a signer can be made from it; each is found by its name; a file with
/// several keys never gives one without a name.
pub fn tsig_key(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(keys) = dane_resolver::tsig::parse_keys(&text) else {
        assert!(dane_resolver::update::TsigKey::parse(&text).is_err());
        return;
    };
    assert!(!keys.is_empty() && keys.len() <= dane_resolver::tsig::MAX_KEYS);
    for key in &keys {
        assert!(key.name.is_fqdn(), "{:?}", key.name);
        assert!(key.algorithm.supported(), "{:?}", key.algorithm);
        assert!(key.signer().is_ok());
        // Every key is reachable by its name (the first of that name).
        let named = dane_resolver::update::TsigKey::parse_named(&text, Some(&key.name.to_ascii()));
        assert!(named.is_ok_and(|k| k.name == key.name));
    }
    // One key: taken without a name; several: never guessed.
    let only = dane_resolver::update::TsigKey::parse(&text);
    assert_eq!(only.is_ok(), keys.len() == 1);
}

/// Master files (`dane zone check ZONEFILE`) and the checks over them. The input is the top
/// file, then optionally a NUL and the text every `$INCLUDE` gets (under a label made from
/// its path, so includes nest until the depth bound or a loop). A zone that parses is
/// checked at [`NOW`] with the origin of its first record; every finding is one line.
pub fn zone_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return; // the CLI reads the file as UTF-8 text first
    };
    let (top, included) = text.split_once('\0').unwrap_or((text, ""));
    let mut include = |path: &str, from: &str| -> dane_zone::IncludeResult {
        if path.len() > 64 {
            return Err("path too long".into());
        }
        Ok((format!("{from}/{path}"), included.to_string()))
    };
    let root = dane_zone::Name::root();
    let limits = dane_zone::ParseLimits {
        include_depth: 4,
        max_records: 10_000,
    };
    let Ok(records) = dane_zone::parse_master("top", top, &root, limits, &mut include) else {
        return;
    };
    assert!(records.len() <= limits.max_records, "record bound exceeded");
    let Some(first) = records.first() else {
        return;
    };
    let apex = first.owner.clone();
    let report = dane_zone::check_zone(&records, &apex, &dane_zone::CheckOptions::at(NOW));
    for f in &report.findings {
        assert!(!f.to_string().contains('\n'), "finding on two lines: {f}");
    }
    assert!(report.signatures_valid <= report.signatures_checked);
}

/// The messages of a zone transfer as `[u16 length][message]...` frames (as they come over
/// TCP), through the TSIG chain (`dane_resolver::axfr::TsigChain`, a fixed key and request
/// MAC) and dane-zone's `AxfrCollector` for `example.test.`; a transfer that completes is
/// checked at [`NOW`]. Nothing may panic; the collector keeps its record bound.
pub fn axfr_messages(data: &[u8]) {
    use hickory_proto::rr::TSigner;
    use hickory_proto::rr::rdata::tsig::TsigAlgorithm;
    let Ok(key_name) = hickory_proto::rr::Name::from_ascii("xfr-key.") else {
        return;
    };
    let Ok(signer) = TSigner::new(vec![7; 32], TsigAlgorithm::HmacSha256, key_name, 300) else {
        return;
    };
    let Ok(mut chain) = dane_resolver::axfr::TsigChain::new(signer, vec![1; 32]) else {
        return;
    };
    let Ok(apex) = dane_zone::Name::parse("example.test.", &dane_zone::Name::root()) else {
        return;
    };
    let mut collector = dane_zone::AxfrCollector::new(&apex, "fuzz", 10_000);
    for (i, frame) in frames(data).into_iter().enumerate() {
        let _ = chain.take(frame, i == 0, NOW);
        match collector.push(frame) {
            Ok(true) | Err(_) => break,
            Ok(false) => {}
        }
    }
    if let Ok(records) = collector.finish() {
        assert!(records.len() <= 10_000, "record bound exceeded");
        let report = dane_zone::check_zone(&records, &apex, &dane_zone::CheckOptions::at(NOW));
        for f in &report.findings {
            assert!(!f.to_string().contains('\n'), "a finding spans lines");
        }
    }
}

#[cfg(test)]
mod tests {
    //! The bodies reach deep: the seeds built from the fixtures get the verdicts the
    //! fixtures' own tests expect, so the framing, the anchor and `now` are right and the
    //! fuzzer starts from inputs that exercise the whole parser, not its first error.

    use super::*;

    fn seed(target: &str, name: &str) -> Vec<u8> {
        let path = format!(
            "{}/../../fuzz/corpus/{target}/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn axfr_seeds_are_whole_transfers_captured_from_nsd() {
        let apex = dane_zone::Name::parse("example.test.", &dane_zone::Name::root()).unwrap();
        for (name, records) in [("good-ldns", 51), ("good-nsec3", 0), ("good-mixed", 0)] {
            let data = seed("axfr_messages", name);
            let mut c = dane_zone::AxfrCollector::new(&apex, name, 10_000);
            let done = frames(&data).into_iter().map(|f| c.push(f).unwrap()).last();
            assert_eq!(done, Some(true), "{name}");
            let got = c.finish().unwrap();
            let report = dane_zone::check_zone(&got, &apex, &dane_zone::CheckOptions::at(NOW));
            assert!(!report.has_errors(), "{name}: {:?}", report.findings);
            if records > 0 {
                assert_eq!(got.len(), records, "{name}");
            }
        }
    }

    #[test]
    fn rollover_seeds_parse() {
        for name in [
            "bind-tsig-keygen.key",
            "knot-keymgr.yaml",
            "alg-name-secret.txt",
            "bind-one-line.key",
            "bind-ddns-confgen.key",
            "nsupdate-y.txt",
        ] {
            let text = String::from_utf8(seed("tsig_key", name)).unwrap();
            assert!(
                dane_resolver::update::TsigKey::parse(&text).is_ok(),
                "{name}"
            );
        }
        for name in ["two-servers.json", "empty.json", "promotion-pending.json"] {
            let text = String::from_utf8(seed("rollover_state", name)).unwrap();
            assert!(
                dane_check::rollover::state::State::from_json(&text).is_ok(),
                "{name}"
            );
        }
    }

    #[test]
    fn dnssec_seeds_validate() {
        for (name, verdict) in [
            ("www.alg8.test_A.frames", "secure"),
            ("nx.nsec3.test_A.frames", "secure"),
            ("www.tampered.test_A.frames", "bogus"),
            ("www.insecure.test_A.frames", "insecure"),
        ] {
            let outcome = dnssec_outcome(&seed("dnssec_messages", name)).unwrap();
            assert_eq!(outcome.verdict.as_str(), verdict, "{name}: {outcome:?}");
        }
    }

    #[test]
    fn evidence_seeds_replay() {
        for (name, verdict) in [
            ("ee311.test.json", "verified"),
            ("nomatch.test.json", "failed"),
            ("insecure.test.json", "not-protected"),
        ] {
            let report = evidence_report(&seed("evidence_json", name)).unwrap();
            let json = serde_json::to_value(&report).unwrap();
            assert_eq!(json["verdict"], verdict, "{name}");
        }
    }

    #[test]
    fn zone_seeds_reach_the_checks() {
        // The good seed parses and checks clean at NOW, so the body reaches check_zone.
        let data = seed("zone_file", "good-ldns.zone");
        let text = std::str::from_utf8(&data).unwrap();
        let root = dane_zone::Name::root();
        let recs = dane_zone::parse_master("top", text, &root, Default::default(), &mut |_, _| {
            Err("no".into())
        })
        .unwrap();
        let report =
            dane_zone::check_zone(&recs, &recs[0].owner, &dane_zone::CheckOptions::at(NOW));
        assert!(report.findings.is_empty(), "{:?}", report.findings);
        assert!(report.signatures_valid > 20);
        zone_file(&data);
        zone_file(&seed("zone_file", "include-loop"));
    }

    #[test]
    fn dialogue_seeds_finish() {
        for (target, protocol) in [
            ("smtp", Protocol::Smtp),
            ("imap", Protocol::Imap),
            ("pop3", Protocol::Pop3),
            ("xmpp", Protocol::XmppClient),
        ] {
            let name = match target {
                "smtp" => "postfix",
                "imap" | "pop3" => "dovecot",
                _ => "prosody",
            };
            for form in ["replies", "bytewise"] {
                let data = seed(target, &format!("{name}.{form}"));
                assert_eq!(
                    run_dialogue(protocol, &data),
                    Ok(Action::Done),
                    "{target} {name}.{form}"
                );
            }
        }
        let refused = seed("smtp", "starttls-refused.replies");
        assert!(run_dialogue(Protocol::Smtp, &refused).is_err());
    }
}
