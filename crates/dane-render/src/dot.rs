//! `--format dot`: one picture of the whole check, as a Graphviz DOT document.
//!
//! The DNS part speaks DNSViz's visual grammar, which DNS operators read without a legend:
//! each zone a box (cluster), stacked from the trust anchor down (root above TLD above
//! domain); DNSKEYs as ellipses labelled with algorithm and key tag (a trust anchor
//! double-bordered, a SEP key filled, a revoked key thick); DS records as ellipses in the
//! parent with their digest edges to the child's keys; RRSIGs as edges from the signing key
//! to the RRset, to the DS nodes (the parent's key) and to the NSEC/NSEC3 proofs; the
//! proofs as boxes in the zone that signed them, leading to the NXDOMAIN/NODATA they prove
//! (opt-out marked); CNAME/DNAME edges between
//! names. Secure is blue, insecure black, bogus red, indeterminate dashed. A KSK's edge to
//! a key that its DS already reaches, and a key's edge to itself, are left out (redundant).
//!
//! Then what DNSViz does not draw: MX -> host -> addresses, each TLSA record of a host as
//! a node of its own, per endpoint (address, and key algorithm when the server holds
//! several chains) the presented chain by depth, and an edge from each record to the
//! certificate it matched at its depth: matched green, not matched grey, unusable dashed,
//! rejected red with the reason; the candidate (`--cert`, `--key`, `--csr`, `--tlsa`) in
//! orange. The verdict and its reason are the caption. Every node and edge has a tooltip.
//!
//! The DNS part is drawn from [`dane_dnssec::Outcome::facts`] of the run's lookups
//! (kept by `dane_check::chain::Chains`); a report alone still gives the DANE part.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use dane_check::Status;
use dane_check::report::{EndpointReport, HostReport, Report};
use dane_dnssec::{AnswerKind, DsStatus, Fact, Link, Outcome, ReasonCode, StepKind, Verdict};
use dane_tlsa::{RecordStatus, TlsaRecord};

use crate::text::verdict_word;
use crate::{sanitize, shown_data};

/// A quoted DOT string: untrusted text sanitised (no control characters), then `\` and
/// `"` escaped, so nothing in it can end the string or start a DOT escape sequence.
pub fn quote(text: &str) -> String {
    let clean = sanitize(text);
    let mut out = String::with_capacity(clean.len() + 2);
    out.push('"');
    for c in clean.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A label of several lines: each line quoted-escaped, joined with DOT's `\n`.
fn lines(parts: &[String]) -> String {
    let quoted: Vec<String> = parts
        .iter()
        .map(|p| {
            let q = quote(p);
            q[1..q.len() - 1].to_owned()
        })
        .collect();
    format!("\"{}\"", quoted.join("\\n"))
}

/// At most `max` characters of `text`, with `...` when cut.
fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(max).collect();
        format!("{cut}...")
    }
}

/// Text wrapped at spaces into lines of about `width` characters.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut out: Vec<String> = vec![String::new()];
    for word in text.split(' ') {
        let last = out.last_mut().map_or(0, |l| l.chars().count());
        if last > 0 && last + word.chars().count() > width {
            out.push(String::new());
        }
        if let Some(l) = out.last_mut() {
            if !l.is_empty() {
                l.push(' ');
            }
            l.push_str(word);
        }
    }
    out
}

// DNSViz's colours: secure blue, insecure black, bogus red; indeterminate dashed.
const SECURE: &str = "#0a25a0";
const INSECURE: &str = "black";
const BOGUS: &str = "#d01010";
const MATCHED: &str = "#138a13";
const GREY: &str = "#8a8a8a";
const CANDIDATE: &str = "#e07000";

/// The DNSSEC status of something drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Sec {
    Secure,
    Insecure,
    Indeterminate,
    Bogus,
}

impl Sec {
    fn of(v: &Verdict) -> Sec {
        match v {
            Verdict::Secure => Sec::Secure,
            Verdict::Insecure(_) => Sec::Insecure,
            Verdict::Indeterminate(_) => Sec::Indeterminate,
            Verdict::Bogus(_) => Sec::Bogus,
        }
    }

    fn word(self) -> &'static str {
        match self {
            Sec::Secure => "secure",
            Sec::Insecure => "insecure",
            Sec::Indeterminate => "indeterminate",
            Sec::Bogus => "bogus",
        }
    }

    /// `color` and `style` attributes (without the closing bracket).
    fn attrs(self) -> String {
        match self {
            Sec::Secure => format!("color=\"{SECURE}\", fontcolor=\"{SECURE}\""),
            Sec::Insecure => format!("color=\"{INSECURE}\""),
            Sec::Indeterminate => format!("color=\"{INSECURE}\", style=dashed"),
            Sec::Bogus => format!("color=\"{BOGUS}\", fontcolor=\"{BOGUS}\""),
        }
    }
}

fn status_attrs(s: Status) -> String {
    match s {
        Status::Verified => format!("color=\"{MATCHED}\", fontcolor=\"{MATCHED}\""),
        Status::Failed => format!("color=\"{BOGUS}\", fontcolor=\"{BOGUS}\""),
        Status::Indeterminate => "color=black, style=dashed".to_owned(),
        Status::NotProtected | Status::UnauthenticatedTls => "color=black".to_owned(),
    }
}

fn status_name(s: Status) -> &'static str {
    match s {
        Status::Verified => "verified",
        Status::Failed => "failed",
        Status::Indeterminate => "indeterminate",
        Status::NotProtected => "not-protected",
        Status::UnauthenticatedTls => "unauthenticated-tls",
    }
}

/// A picture being drawn: nodes are declared once (by id), in clusters or not; each node,
/// edge and cluster keeps its attributes as DOT text (`key=value, ...`). [`Picture::dot`]
/// writes them as they are, [`Picture::svg`] reads them back ([`crate::svg`]), so the two
/// formats cannot draw different things.
#[derive(Default, Clone)]
pub(crate) struct Graph {
    /// Cluster name -> (attributes, its nodes' indices in `nodes`), in first-use order.
    pub(crate) clusters: Vec<(String, String, Vec<usize>)>,
    /// Every node: (id, attributes, its cluster's index), in declaration order.
    pub(crate) nodes: Vec<(String, String, Option<usize>)>,
    /// Every edge: (from id, to id, attributes), in declaration order.
    pub(crate) edges: Vec<(String, String, String)>,
    /// Node ids declared.
    declared: std::collections::BTreeSet<String>,
    /// Edges declared (from, to, kind), to draw each once.
    edge_keys: std::collections::BTreeSet<(String, String, String)>,
}

impl Graph {
    fn cluster(&mut self, name: &str, attrs: String) {
        if !self.clusters.iter().any(|c| c.0 == name) {
            self.clusters.push((name.to_owned(), attrs, Vec::new()));
        }
    }

    /// Declares node `id` (once) in `cluster` (or outside when `None`).
    fn node(&mut self, cluster: Option<&str>, id: &str, attrs: String) {
        if !self.declared.insert(id.to_owned()) {
            return;
        }
        let index = self.nodes.len();
        let c = cluster.and_then(|c| self.clusters.iter().position(|x| x.0 == c));
        if let Some(c) = c {
            self.clusters[c].2.push(index);
        }
        self.nodes.push((id.to_owned(), attrs, c));
    }

    fn edge(&mut self, from: &str, to: &str, kind: &str, attrs: String) {
        let key = (from.to_owned(), to.to_owned(), kind.to_owned());
        if self.edge_keys.insert(key) {
            self.edges.push((from.to_owned(), to.to_owned(), attrs));
        }
    }

    /// The caption and tooltip are kept sanitised (no control characters), as every
    /// attribute is by [`quote`]: the SVG writer draws them as they are stored.
    fn finish(self, caption: &[String], tooltip: &str) -> Picture {
        Picture {
            graph: self,
            caption: caption.iter().map(|l| sanitize(l).into_owned()).collect(),
            tooltip: sanitize(tooltip).into_owned(),
        }
    }
}

/// One picture of a check: the model both writers draw, [`Picture::dot`] (Graphviz DOT)
/// and [`Picture::svg`] (laid out and drawn in-process, docs/picture.md).
#[derive(Clone)]
pub struct Picture {
    pub(crate) graph: Graph,
    /// The caption's lines (the verdict and its reason), below the picture.
    pub(crate) caption: Vec<String>,
    /// The whole picture's tooltip.
    pub(crate) tooltip: String,
}

impl Picture {
    /// The picture as a Graphviz DOT document.
    pub fn dot(&self) -> String {
        let g = &self.graph;
        let mut o = String::new();
        let _ = writeln!(o, "digraph dane {{");
        let _ = writeln!(
            o,
            "  graph [rankdir=TB, newrank=true, compound=true, nodesep=0.25, ranksep=0.45, fontname=\"Helvetica\", fontsize=12, labelloc=b, label={}, tooltip={}];",
            lines(&self.caption),
            quote(&self.tooltip)
        );
        let _ = writeln!(o, "  node [fontname=\"Helvetica\", fontsize=10];");
        let _ = writeln!(o, "  edge [fontname=\"Helvetica\", fontsize=9];");
        let node = |i: usize| format!("{} [{}];", quote(&g.nodes[i].0), g.nodes[i].1);
        for (i, (_, attrs, nodes)) in g.clusters.iter().enumerate() {
            let _ = writeln!(o, "  subgraph cluster_{i} {{");
            let _ = writeln!(o, "    graph [{attrs}];");
            for &n in nodes {
                let _ = writeln!(o, "    {}", node(n));
            }
            let _ = writeln!(o, "  }}");
        }
        for (i, n) in g.nodes.iter().enumerate() {
            if n.2.is_none() {
                let _ = writeln!(o, "  {}", node(i));
            }
        }
        for (from, to, attrs) in &g.edges {
            let _ = writeln!(o, "  {} -> {} [{attrs}];", quote(from), quote(to));
        }
        let _ = writeln!(o, "}}");
        o
    }

    /// The picture as an SVG document, laid out and drawn in-process ([`crate::svg`]).
    pub fn svg(&self) -> String {
        crate::svg::render(self, true)
    }

    /// The picture as an `<svg>` element to inline in HTML (no XML declaration).
    pub fn svg_element(&self) -> String {
        crate::svg::render(self, false)
    }
}

/// The picture of a `dane verify` report; `outcomes` are its lookups' chains of trust
/// (`dane_check::chain::Chains::outcomes`), empty when they could not be had.
pub fn verify(report: &Report, outcomes: &[Outcome]) -> Picture {
    let mut g = Graph::default();
    let dns = dns_part(&mut g, outcomes);
    let domain = report.domain.as_str();
    let mx_node = dns
        .first_node(domain, "MX")
        .or_else(|| dns.first_node(domain, "SRV"));
    for h in &report.hosts {
        host_part(&mut g, &dns, h, mx_node.as_deref());
    }
    let head = format!("{}: {}", report.domain, verdict_word(report.verdict));
    let mut caption = vec![head.clone()];
    caption.extend(wrap(&report.reason, 110));
    g.finish(&caption, &format!("{head}: {}", report.reason))
}

/// The picture of one host of a report (its page of the HTML report): the report cut down
/// to that host, and only the chains of trust of its lookups (and the MX or SRV lookup).
pub fn verify_host(report: &Report, outcomes: &[Outcome], index: usize) -> Option<Picture> {
    let host = report.hosts.get(index)?;
    let mut one = report.clone();
    one.hosts = vec![host.clone()];
    let asked = dane_check::chain::questions(&one);
    let mine: Vec<Outcome> = outcomes
        .iter()
        .filter(|o| {
            asked
                .iter()
                .any(|(n, t)| n.eq_ignore_ascii_case(&o.name) && t.to_string() == o.rtype)
        })
        .cloned()
        .collect();
    Some(verify(&one, &mine))
}

/// The picture of one `dane dnssec` lookup: the DNS part only.
pub fn dnssec(outcome: &Outcome, checked_at: &str) -> Picture {
    let mut g = Graph::default();
    dns_part(&mut g, std::slice::from_ref(outcome));
    let reason = outcome.reason.as_ref().map(|r| r.detail.clone());
    let head = format!(
        "{} {}: {} (signatures checked at {checked_at})",
        outcome.name,
        outcome.rtype,
        outcome.verdict.as_str()
    );
    let mut caption = vec![head.clone()];
    if let Some(r) = &reason {
        caption.extend(wrap(r, 110));
    }
    g.finish(&caption, &format!("{head}: {}", reason.unwrap_or_default()))
}

/// A picture with nothing but its caption (a lookup that could not be made).
pub fn note(caption: &str) -> Picture {
    let g = Graph::default();
    g.finish(&wrap(caption, 110), caption)
}

/// What the DNS part drew, for the DANE part to attach to.
#[derive(Default)]
struct Dns {
    /// (question name, type) -> (first link's node, last link's node).
    lookups: BTreeMap<(String, String), (String, String)>,
    /// (NSEC or NSEC3 owner in lower case, type) -> the proof nodes drawn from it, for the
    /// RRSIG edges over them.
    proofs: BTreeMap<(String, String), Vec<String>>,
    /// The unsigned zones drawn ([`insecure_zones`]).
    unsigned: Vec<String>,
}

impl Dns {
    fn first_node(&self, name: &str, rtype: &str) -> Option<String> {
        self.lookups
            .get(&(name.to_owned(), rtype.to_owned()))
            .map(|l| l.0.clone())
    }

    fn last_node(&self, name: &str, rtype: &str) -> Option<String> {
        self.lookups
            .get(&(name.to_owned(), rtype.to_owned()))
            .map(|l| l.1.clone())
    }
}

fn labels(name: &str) -> usize {
    name.trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
        .count()
}

/// The zone of `name` among `zones`: the deepest one at or above it.
fn zone_of<'a>(zones: &'a [String], name: &str) -> Option<&'a String> {
    let name = name.to_ascii_lowercase();
    zones
        .iter()
        .filter(|z| {
            let z = z.to_ascii_lowercase();
            z == "." || name == z || name.ends_with(&format!(".{z}"))
        })
        .max_by_key(|z| labels(z))
}

fn key_id(zone: &str, tag: u16, alg: u8) -> String {
    format!("DNSKEY {zone} {alg} {tag}")
}

fn ds_id(zone: &str, algorithm: u8, tag: u16, digest_type: u8) -> String {
    format!("DS {zone} {algorithm} {tag} {digest_type}")
}

fn rrset_id(name: &str, rtype: &str) -> String {
    format!("RRset {name} {rtype}")
}

/// Every zone's keys, DS records and signatures; every link of every lookup.
fn dns_part(g: &mut Graph, outcomes: &[Outcome]) -> Dns {
    // Each lookup's facts repeat the chain above it (the root's and the TLD's keys, DS and
    // signatures): each fact once, in first-seen order, so that nothing below is built
    // again for a node or an edge already drawn.
    let mut facts: Vec<&Fact> = Vec::new();
    for f in outcomes.iter().flat_map(|o| &o.facts) {
        if !facts.contains(&f) {
            facts.push(f);
        }
    }
    let mut zones: Vec<String> = facts
        .iter()
        .map(|f| match f {
            Fact::Keys { zone, .. } | Fact::Anchor { zone, .. } | Fact::Ds { zone, .. } => {
                zone.clone()
            }
            Fact::Signature { zone, .. } => zone.clone(),
        })
        .collect();
    let signed = zones.clone();
    let unsigned: Vec<String> = insecure_zones(outcomes)
        .into_iter()
        .filter(|z| !signed.contains(z))
        .collect();
    zones.extend(unsigned.iter().cloned());
    zones.sort_by_key(|z| (labels(z), z.clone()));
    zones.dedup();
    let mut status = zone_status(&zones, &facts);
    for z in &unsigned {
        status.insert(z.clone(), Sec::Insecure);
    }
    for z in &zones {
        let s = status.get(z).copied().unwrap_or(Sec::Indeterminate);
        g.cluster(
            z,
            format!(
                "label={}, tooltip={}, labeljust=l, {}",
                quote(z),
                quote(&format!("zone {z}: {}", s.word())),
                s.attrs()
            ),
        );
    }
    keys(g, &zones, &facts, &status);
    ds_records(g, &zones, &facts);
    let mut dns = Dns {
        unsigned,
        ..Dns::default()
    };
    for o in outcomes {
        links(g, &zones, &facts, o, &mut dns);
    }
    signatures(g, &facts, &dns);
    dns
}

/// The unsigned zones below a delegation without DS (RFC 4035 4.3): a lookup made
/// insecure by one names it in its trace. Drawn as boxes of their own (black), holding
/// their RRsets, as DNSViz does.
fn insecure_zones(outcomes: &[Outcome]) -> Vec<String> {
    let mut out: Vec<String> = outcomes
        .iter()
        .filter(|o| {
            o.links.iter().any(|l| {
                matches!(&l.verdict, Verdict::Insecure(r) if r.code == ReasonCode::InsecureDelegation)
            })
        })
        .flat_map(|o| o.trace.iter().filter(|s| s.kind == StepKind::Insecure))
        .map(|s| s.name.clone())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// A zone is secure when a DS (or an anchor) validated one of its keys and a signature by
/// one of those verified its DNSKEY RRset; bogus when it has keys but not that.
fn zone_status(zones: &[String], facts: &[&Fact]) -> BTreeMap<String, Sec> {
    let mut out = BTreeMap::new();
    for z in zones {
        let ds_ok = facts.iter().any(|f| {
            matches!(f, Fact::Ds { zone, status: DsStatus::Valid, .. } if zone == z)
                || matches!(f, Fact::Anchor { zone, digest_type: None, .. } if zone == z)
        });
        let keys_signed = facts.iter().any(|f| {
            matches!(f, Fact::Signature { owner, rtype, zone, problem: None, .. }
                if zone == z && owner == z && rtype == "DNSKEY")
        });
        let has_keys = facts
            .iter()
            .any(|f| matches!(f, Fact::Keys { zone, .. } if zone == z));
        let s = match (ds_ok && keys_signed, has_keys) {
            (true, _) => Sec::Secure,
            (false, true) => Sec::Bogus,
            (false, false) => Sec::Indeterminate,
        };
        out.insert(z.clone(), s);
    }
    out
}

fn keys(g: &mut Graph, zones: &[String], facts: &[&Fact], status: &BTreeMap<String, Sec>) {
    for f in facts {
        let Fact::Keys { zone, keys } = f else {
            continue;
        };
        let s = status.get(zone).copied().unwrap_or(Sec::Indeterminate);
        for k in keys {
            let anchor = facts.iter().any(|a| match a {
                Fact::Anchor {
                    zone: az,
                    tag,
                    algorithm,
                    ..
                } => az == zone && *tag == k.tag && *algorithm == k.algorithm,
                _ => false,
            });
            let sep = k.flags & 1 == 1;
            let revoked = k.flags & 0x80 != 0;
            let mut attrs = format!(
                "shape=ellipse, label={}, tooltip={}, {}",
                lines(&[
                    "DNSKEY".to_owned(),
                    format!("alg={}, id={}", k.algorithm, k.tag)
                ]),
                quote(&format!(
                    "DNSKEY {zone} flags {} algorithm {} ({}) key tag {}{}{}{}: {}",
                    k.flags,
                    k.algorithm,
                    dane_dnssec::algorithm_name(k.algorithm),
                    k.tag,
                    if sep { ", SEP" } else { "" },
                    if revoked { ", REVOKED" } else { "" },
                    if anchor { ", trust anchor" } else { "" },
                    s.word()
                )),
                s.attrs()
            );
            if anchor {
                attrs.push_str(", peripheries=2");
            }
            if sep {
                attrs.push_str(", style=filled, fillcolor=\"#e8e8f0\"");
            }
            if revoked {
                attrs.push_str(", penwidth=4");
            }
            let z = zone_of(zones, zone).map(String::as_str);
            g.node(z, &key_id(zone, k.tag, k.algorithm), attrs);
        }
    }
}

fn parent_zone<'a>(zones: &'a [String], zone: &str) -> Option<&'a String> {
    if zone == "." {
        return None;
    }
    let parent = match zone.split_once('.') {
        Some((_, p)) if !p.is_empty() => p,
        _ => ".",
    };
    zone_of(zones, parent)
}

/// DS nodes (in the parent's box) with their digest edges to the child's keys; a DS from
/// a trust anchor has no parent to sit in, and its key is drawn double-bordered instead.
fn ds_records(g: &mut Graph, zones: &[String], facts: &[&Fact]) {
    for f in facts {
        let Fact::Ds {
            zone,
            tag,
            algorithm,
            digest_type,
            status,
        } = f
        else {
            continue;
        };
        let from_anchor = facts.iter().any(|a| {
            matches!(a, Fact::Anchor { zone: az, tag: at, digest_type: Some(d), .. }
                if az == zone && at == tag && d == digest_type)
        });
        if from_anchor {
            continue;
        }
        let id = ds_id(zone, *algorithm, *tag, *digest_type);
        let (word, edge, node_sec) = ds_style(*status);
        let tip = format!("DS {zone} {tag} {algorithm} {digest_type}: {word}");
        g.node(
            parent_zone(zones, zone).map(String::as_str),
            &id,
            format!(
                "shape=ellipse, label={}, tooltip={}, {}",
                lines(&[
                    "DS".to_owned(),
                    format!("digest alg={digest_type}"),
                    format!("alg={algorithm}, id={tag}")
                ]),
                quote(&tip),
                node_sec.attrs()
            ),
        );
        let key = key_id(zone, *tag, *algorithm);
        if *status == DsStatus::NoKey {
            missing_key(g, zones, zone, *tag, *algorithm);
        }
        g.edge(
            &id,
            &key,
            "digest",
            format!("{edge}, tooltip={}", quote(&tip)),
        );
    }
}

/// How a DS is drawn: what its status means, its digest edge's style, its node's colour.
fn ds_style(status: DsStatus) -> (&'static str, String, Sec) {
    let (word, edge) = match status {
        DsStatus::Valid => ("valid", format!("color=\"{SECURE}\"")),
        DsStatus::BadDigest => ("the digest matches no key", format!("color=\"{BOGUS}\"")),
        DsStatus::NoKey => (
            "no key has its tag and algorithm",
            format!("color=\"{BOGUS}\", style=dashed"),
        ),
        DsStatus::Unsupported => (
            "algorithm or digest type not supported: ignored",
            "color=black, style=dashed".to_owned(),
        ),
        DsStatus::Ignored => (
            "SHA-1 ignored for a stronger digest (RFC 4509 3)",
            format!("color=\"{GREY}\", style=dotted"),
        ),
    };
    let node = match status {
        DsStatus::Valid => Sec::Secure,
        DsStatus::BadDigest | DsStatus::NoKey => Sec::Bogus,
        DsStatus::Unsupported | DsStatus::Ignored => Sec::Insecure,
    };
    (word, edge, node)
}

/// A node for a key that a DS or RRSIG names but the zone does not have.
fn missing_key(g: &mut Graph, zones: &[String], zone: &str, tag: u16, alg: u8) {
    g.node(
        zone_of(zones, zone).map(String::as_str),
        &key_id(zone, tag, alg),
        format!(
            "shape=ellipse, style=dashed, color=\"{GREY}\", fontcolor=\"{GREY}\", label={}, tooltip={}",
            lines(&["DNSKEY".to_owned(), format!("alg={alg}, id={tag}"), "(missing)".to_owned()]),
            quote(&format!("no DNSKEY of {zone} has key tag {tag} and algorithm {alg}"))
        ),
    );
}

fn problem_words(p: Option<ReasonCode>) -> (&'static str, String) {
    match p {
        None => ("valid", format!("color=\"{SECURE}\"")),
        Some(ReasonCode::SignatureExpired) => {
            ("expired", format!("color=\"{BOGUS}\", style=dashed"))
        }
        Some(ReasonCode::SignatureNotYetValid) => {
            ("not yet valid", format!("color=\"{BOGUS}\", style=dashed"))
        }
        Some(ReasonCode::NoMatchingKey) => {
            ("no such key", format!("color=\"{BOGUS}\", style=dotted"))
        }
        Some(ReasonCode::UnsupportedAlgorithm) => (
            "algorithm not supported",
            "color=black, style=dashed".to_owned(),
        ),
        Some(c) => (c.as_str(), format!("color=\"{BOGUS}\"")),
    }
}

/// RRSIG edges from the signing key to the RRset; a DNSKEY RRset's signature goes to each
/// other key of the zone, but not to a key its DS already reaches (redundant), nor to
/// itself; a DS RRset's (in the parent) to each DS node of the child zone, and an NSEC or
/// NSEC3 RRset's to each proof drawn from it. So, as in DNSViz, trust runs down from the
/// anchor: parent key -> DS -> child key -> RRset or proof, and the zones stack top-down.
fn signatures(g: &mut Graph, facts: &[&Fact], dns: &Dns) {
    let zones: Vec<String> = g.clusters.iter().map(|c| c.0.clone()).collect();
    for f in facts {
        let Fact::Signature {
            owner,
            rtype,
            zone,
            signer,
            tag,
            algorithm,
            problem,
        } = f
        else {
            continue;
        };
        let (word, style) = problem_words(*problem);
        let key = key_id(zone, *tag, *algorithm);
        if !g.declared.contains(&key) {
            missing_key(g, &zones, zone, *tag, *algorithm);
        }
        let tip =
            format!("RRSIG {owner} {rtype} by {signer} alg {algorithm} key tag {tag}: {word}");
        let targets: Vec<String> = if rtype == "DNSKEY" {
            let reached = |t: u16, a: u8| {
                facts.iter().any(|x| {
                    matches!(x, Fact::Ds { zone: z, tag: dt, algorithm: da, status: DsStatus::Valid, .. }
                        if z == zone && *dt == t && *da == a)
                })
            };
            facts
                .iter()
                .filter_map(|x| match x {
                    Fact::Keys { zone: z, keys } if z == zone => Some(keys),
                    _ => None,
                })
                .flatten()
                .filter(|k| !(k.tag == *tag && k.algorithm == *algorithm))
                .filter(|k| !reached(k.tag, k.algorithm))
                .map(|k| key_id(zone, k.tag, k.algorithm))
                .collect()
        } else if rtype == "DS" {
            facts
                .iter()
                .filter_map(|x| match x {
                    Fact::Ds {
                        zone: z,
                        tag,
                        algorithm,
                        digest_type,
                        ..
                    } if z.eq_ignore_ascii_case(owner) => {
                        Some(ds_id(z, *algorithm, *tag, *digest_type))
                    }
                    _ => None,
                })
                .collect()
        } else if rtype == "NSEC" || rtype == "NSEC3" {
            dns.proofs
                .get(&(owner.to_ascii_lowercase(), rtype.clone()))
                .cloned()
                .unwrap_or_default()
        } else {
            vec![rrset_id(owner, rtype)]
        };
        for t in targets {
            if g.declared.contains(&t) {
                g.edge(
                    &key,
                    &t,
                    &format!("rrsig {tag} {word}"),
                    format!("{style}, tooltip={}", quote(&tip)),
                );
            }
        }
    }
}

/// One node per link (RRset, NXDOMAIN or NODATA), CNAME/DNAME edges between the links of
/// a lookup, and the NSEC/NSEC3 proofs of a denial.
fn links(g: &mut Graph, zones: &[String], facts: &[&Fact], o: &Outcome, dns: &mut Dns) {
    let mut ids = Vec::new();
    for l in &o.links {
        let id = rrset_id(&l.name, &l.rtype);
        link_node(g, zones, &dns.unsigned, l, &id);
        ids.push(id);
    }
    for (i, pair) in o.links.windows(2).enumerate() {
        let kind = if pair[0].rtype == "DNAME" {
            "DNAME"
        } else {
            "CNAME"
        };
        let tip = format!("{} {kind} -> {}", pair[0].name, pair[1].name);
        g.edge(
            &ids[i],
            &ids[i + 1],
            kind,
            format!("label={kind}, style=bold, tooltip={}", quote(&tip)),
        );
    }
    if let (Some(first), Some(last)) = (ids.first(), ids.last()) {
        dns.lookups.insert(
            (o.name.clone(), o.rtype.clone()),
            (first.clone(), last.clone()),
        );
    }
    if let Some(target) = ids.last() {
        denial_proofs(g, zones, facts, o, target, dns);
    }
}

/// The NSEC or NSEC3 record a denial step of the trace rests on: its type and owner
/// (`NSEC3 OWNER matches ...`, `NSEC OWNER -> NEXT covers ...`, `NSEC at the wildcard
/// OWNER ...`).
fn proof_record(detail: &str) -> Option<(&str, &str)> {
    let mut words = detail.split(' ');
    let rtype = words.next().filter(|t| *t == "NSEC" || *t == "NSEC3")?;
    let owner = match words.next()? {
        "at" => words.nth(2)?,
        owner => owner,
    };
    Some((rtype, owner.trim_end_matches(':')))
}

/// The NSEC/NSEC3 records of a denial, each a node (in the box of the zone that signed it)
/// leading to the NXDOMAIN or NODATA (`target`) it proves, or to the RRset whose
/// insecure delegation it proves; opt-out marked (RFC 5155 9.2: it proves only an unsigned
/// delegation may exist). The same proof in several lookups is one node.
fn denial_proofs(
    g: &mut Graph,
    zones: &[String],
    facts: &[&Fact],
    o: &Outcome,
    target: &str,
    dns: &mut Dns,
) {
    let Some(last) = o.links.last() else { return };
    let opt_out = o
        .reason
        .as_ref()
        .is_some_and(|r| r.code == ReasonCode::OptOut);
    for step in o.trace.iter().filter(|s| s.kind == StepKind::Denial) {
        let nsec3 = step.detail.starts_with("NSEC3");
        let marked = opt_out || step.detail.contains("opt-out");
        let id = format!("proof {}", step.detail);
        let record = proof_record(&step.detail);
        // The zone whose key signed the record, else the zone of the denied name.
        let signed_in = record.and_then(|(rtype, owner)| {
            facts.iter().find_map(|f| match f {
                Fact::Signature {
                    owner: o,
                    rtype: t,
                    zone,
                    ..
                } if t == rtype && o.eq_ignore_ascii_case(owner) => Some(zone.as_str()),
                _ => None,
            })
        });
        if let Some((rtype, owner)) = record {
            let ids = dns
                .proofs
                .entry((owner.to_ascii_lowercase(), rtype.to_owned()))
                .or_default();
            if !ids.contains(&id) {
                ids.push(id.clone());
            }
        }
        let mut label = vec![
            if nsec3 { "NSEC3" } else { "NSEC" }.to_owned(),
            short(&step.name, 40),
        ];
        if marked {
            label.push("opt-out".to_owned());
        }
        // A proof that made a lookup insecure (no DS: an unsigned delegation) validated:
        // secure, as DNSViz draws it; bogus or indeterminate as the lookup was.
        let s = match Sec::of(&last.verdict) {
            Sec::Insecure => Sec::Secure,
            s => s,
        };
        g.node(
            signed_in
                .or(last.zone.as_deref())
                .and_then(|z| zone_of(zones, z))
                .map(String::as_str),
            &id,
            format!(
                "shape=box, label={}, tooltip={}, {}{}",
                lines(&label),
                quote(&step.detail),
                s.attrs(),
                if marked { ", peripheries=2" } else { "" }
            ),
        );
        g.edge(
            &id,
            target,
            "proof",
            format!("{}, tooltip={}", s.attrs(), quote(&step.detail)),
        );
    }
}

/// The node of one link, in its zone's box (an insecure link in its unsigned zone's).
fn link_node(g: &mut Graph, zones: &[String], unsigned: &[String], l: &Link, id: &str) {
    let s = Sec::of(&l.verdict);
    let what = match l.answer {
        AnswerKind::Records => None,
        AnswerKind::Nxdomain => Some("NXDOMAIN"),
        AnswerKind::Nodata => Some("NODATA"),
        AnswerKind::Unknown => Some("no answer"),
    };
    let mut label = vec![format!("{}/{}", short(&l.name, 48), l.rtype)];
    if let Some(w) = what {
        label.push(w.to_owned());
    }
    let mut tip = vec![format!("{} {}: {}", l.name, l.rtype, s.word())];
    if let Some(r) = &l.reason {
        tip[0].push_str(&format!(": {}", r.detail));
    }
    tip.extend(l.records.iter().take(8).cloned());
    let cluster = match (&l.zone, &l.verdict) {
        (Some(z), _) => zone_of(zones, z),
        (None, Verdict::Insecure(_)) => zone_of(unsigned, &l.name),
        (None, _) => None,
    }
    .map(String::as_str);
    g.node(
        cluster,
        id,
        format!(
            "shape={}, label={}, tooltip={}, {}",
            if what.is_some() {
                "octagon"
            } else {
                "rectangle"
            },
            lines(&label),
            lines(&tip),
            s.attrs()
        ),
    );
}

/// A host, its addresses, its TLSA records, each endpoint's chain and the record edges.
fn host_part(g: &mut Graph, dns: &Dns, h: &HostReport, mx: Option<&str>) {
    let host_id = format!("host {} {}", h.name, h.port);
    let pref = h.preference.map(|p| format!("preference {p}"));
    let mut label = vec![short(&h.name, 48), format!("port {}", h.port)];
    label.extend(pref);
    label.push(status_name(h.verdict.status).to_owned());
    g.node(
        None,
        &host_id,
        format!(
            "shape=box, style=\"rounded,bold\", label={}, tooltip={}, {}",
            lines(&label),
            quote(&format!(
                "{} port {}: {}: {}",
                h.name,
                h.port,
                status_name(h.verdict.status),
                h.verdict.reason
            )),
            status_attrs(h.verdict.status)
        ),
    );
    if let Some(mx) = mx {
        g.edge(
            mx,
            &host_id,
            "mx",
            format!("tooltip={}", quote(&format!("exchange {}", h.name))),
        );
    }
    addresses(g, dns, h, &host_id);
    let records = tlsa_records(g, dns, h, &host_id);
    for e in &h.endpoints {
        endpoint(g, h, e, &records);
    }
    candidate(g, h, &records);
}

/// The host's address lookups (into the DNS part) and one node per address.
fn addresses(g: &mut Graph, dns: &Dns, h: &HostReport, host_id: &str) {
    for a in &h.addresses {
        let first = dns.first_node(&a.lookup.name, a.rtype);
        if let Some(first) = &first {
            g.edge(
                host_id,
                first,
                "addr",
                format!(
                    "style=dotted, tooltip={}",
                    quote(&format!("{} {}", a.lookup.name, a.rtype))
                ),
            );
        }
        let from = dns
            .last_node(&a.lookup.name, a.rtype)
            .unwrap_or_else(|| host_id.to_owned());
        for ip in a.lookup.records() {
            let id = format!("address {ip}");
            g.node(
                None,
                &id,
                format!(
                    "shape=plaintext, label={}, tooltip={}",
                    quote(&ip.to_string()),
                    quote(&format!("{} {} {ip}", a.lookup.canonical, a.rtype))
                ),
            );
            g.edge(
                &from,
                &id,
                "ip",
                format!(
                    "arrowhead=none, tooltip={}",
                    quote(&format!("{} {ip}", a.rtype))
                ),
            );
        }
    }
}

/// The host's TLSA records, one node each; returns their ids in RRset order.
fn tlsa_records(g: &mut Graph, dns: &Dns, h: &HostReport, host_id: &str) -> Vec<String> {
    let Some(t) = &h.tlsa else { return Vec::new() };
    let Some(lookup) = t.lookups.last() else {
        return Vec::new();
    };
    // Bogus records too (drawn red): the report uses none of them, the picture shows what
    // was served.
    let set: &[TlsaRecord] = match &lookup.answer {
        dane_check::dns::Answer::Records(r) => r,
        _ => &[],
    };
    let shown = shown_data(set, |_| false);
    let from = tlsa_rrset(g, dns, &lookup.name, host_id);
    let source = if t.source == "file" {
        " (--tlsa, a candidate set)"
    } else {
        ""
    };
    let colour = if t.source == "file" {
        format!("color=\"{CANDIDATE}\", fontcolor=\"{CANDIDATE}\"")
    } else {
        Sec::of_security(&lookup.security).attrs()
    };
    let mut ids = Vec::new();
    for (i, (r, data)) in set.iter().zip(shown).enumerate() {
        let id = format!("TLSA {} {i}", lookup.name);
        g.node(
            None,
            &id,
            format!(
                "shape=note, label={}, tooltip={}, {colour}",
                lines(&[format!("[{}] {}", i + 1, r.parameters()), short(&data, 16)]),
                quote(&format!(
                    "{} TLSA {} {}{source}",
                    lookup.name,
                    r.parameters(),
                    r.data_hex()
                ))
            ),
        );
        g.edge(
            &from,
            &id,
            "record",
            format!(
                "arrowhead=none, color=\"#b0b0b0\", tooltip={}",
                quote(&format!("record {} of {}", i + 1, lookup.name))
            ),
        );
        ids.push(id);
    }
    ids
}

/// The node the TLSA records hang from: the TLSA RRset of the DNS part (tied to the host
/// with a dotted edge), or the host itself for a `--tlsa` set.
fn tlsa_rrset(g: &mut Graph, dns: &Dns, owner: &str, host_id: &str) -> String {
    let Some(last) = dns.last_node(owner, "TLSA") else {
        return host_id.to_owned();
    };
    let first = dns
        .first_node(owner, "TLSA")
        .unwrap_or_else(|| last.clone());
    g.edge(
        host_id,
        &first,
        "tlsa",
        format!("style=dotted, tooltip={}", quote(&format!("TLSA {owner}"))),
    );
    last
}

impl Sec {
    fn of_security(s: &dane_check::dns::Security) -> Sec {
        use dane_check::dns::Security;
        match s {
            Security::Secure => Sec::Secure,
            Security::Insecure => Sec::Insecure,
            Security::Bogus { .. } => Sec::Bogus,
            Security::Indeterminate { .. } => Sec::Indeterminate,
        }
    }
}

fn endpoint_name(e: &EndpointReport) -> String {
    let addr = match e.address {
        std::net::IpAddr::V4(a) => format!("{a}:{}", e.port),
        std::net::IpAddr::V6(a) => format!("[{a}]:{}", e.port),
    };
    match &e.algorithm {
        Some(alg) if e.offered.is_some() || !e.other_offers.is_empty() => format!("{addr} {alg}"),
        _ => addr,
    }
}

/// One endpoint: a box with the presented chain by depth, the record edges into it.
fn endpoint(g: &mut Graph, h: &HostReport, e: &EndpointReport, records: &[String]) {
    let name = endpoint_name(e);
    let cluster = format!("endpoint {} {name}", h.name);
    g.cluster(
        &cluster,
        format!(
            "label={}, tooltip={}, labeljust=l, style=rounded, {}",
            quote(&name),
            quote(&format!(
                "{} {name}: {}: {}",
                h.name,
                status_name(e.verdict.status),
                e.verdict.reason
            )),
            status_attrs(e.verdict.status)
        ),
    );
    let certs = chain_nodes(g, &cluster, e);
    // Declared by the host's address lookups, unless the endpoint came another way.
    let address = format!("address {}", e.address);
    g.node(
        None,
        &address,
        format!(
            "shape=plaintext, label={}, tooltip={}",
            quote(&e.address.to_string()),
            quote(&e.address.to_string())
        ),
    );
    if let Some(leaf) = certs.first() {
        g.edge(
            &address,
            leaf,
            "endpoint",
            format!(
                "lhead={}, tooltip={}",
                quote(&cluster_id(g, &cluster)),
                quote(&name)
            ),
        );
    }
    if let Some(m) = &e.tlsa_match {
        record_edges(g, m, records, &certs, "");
    }
}

/// The presented chain as certificate nodes by depth in the endpoint's box (a note when
/// there is none); returns their ids, leaf first.
fn chain_nodes(g: &mut Graph, cluster: &str, e: &EndpointReport) -> Vec<String> {
    let mut certs: Vec<String> = Vec::new();
    for (depth, c) in e.chain.iter().enumerate() {
        let id = format!("{cluster} cert {depth}");
        let until = crate::format_time(rustls_pki_types::UnixTime::since_unix_epoch(
            std::time::Duration::from_secs(u64::try_from(c.not_after).unwrap_or(0)),
        ));
        g.node(
            Some(cluster),
            &id,
            format!(
                "shape=box, label={}, tooltip={}",
                lines(&[
                    format!("[{depth}] {}", short(&c.subject, 40)),
                    short(&c.key, 40),
                    format!("until {until}")
                ]),
                quote(&format!(
                    "depth {depth}: {} issued by {}, key {}, until {until}",
                    c.subject, c.issuer, c.key
                ))
            ),
        );
        if let Some(prev) = certs.last() {
            g.edge(
                prev,
                &id,
                "issuer",
                format!(
                    "color=\"{GREY}\", arrowhead=empty, tooltip={}",
                    quote("issued by")
                ),
            );
        }
        certs.push(id);
    }
    if certs.is_empty() {
        let id = format!("{cluster} no chain");
        g.node(
            Some(cluster),
            &id,
            format!(
                "shape=plaintext, label={}, tooltip={}",
                quote("no chain"),
                quote(&e.verdict.reason)
            ),
        );
        certs.push(id);
    }
    certs
}

/// The `cluster_N` name Graphviz knows a cluster by (for `lhead`).
fn cluster_id(g: &Graph, name: &str) -> String {
    let i = g.clusters.iter().position(|c| c.0 == name).unwrap_or(0);
    format!("cluster_{i}")
}

/// An edge from each record to the certificate (by depth) it matched or was judged on.
fn record_edges(
    g: &mut Graph,
    m: &dane_tlsa::MatchReport,
    records: &[String],
    certs: &[String],
    what: &str,
) {
    for r in &m.records {
        let Some(from) = records.get(r.index) else {
            continue;
        };
        // Trust-anchor usages are about the top of the chain when they matched nothing.
        let ta = matches!(
            r.record.usage,
            dane_tlsa::CertUsage::PkixTa | dane_tlsa::CertUsage::DaneTa
        );
        let depth = r
            .depth
            .unwrap_or(if ta { certs.len().saturating_sub(1) } else { 0 });
        let Some(to) = certs.get(depth).or(certs.last()) else {
            continue;
        };
        let (word, attrs) = match r.status {
            RecordStatus::Matched => ("matched", format!("color=\"{MATCHED}\", penwidth=2")),
            RecordStatus::Rejected => (
                "rejected",
                format!("color=\"{BOGUS}\", label={}", quote(&short(&r.detail, 40))),
            ),
            RecordStatus::NotMatched => ("not matched", format!("color=\"{GREY}\"")),
            RecordStatus::Unusable => ("unusable", format!("color=\"{GREY}\", style=dashed")),
            RecordStatus::Superseded => ("superseded", format!("color=\"{GREY}\", style=dotted")),
            RecordStatus::NotEvaluated => {
                ("not evaluated", format!("color=\"{GREY}\", style=dotted"))
            }
        };
        let tip = format!(
            "[{}] {}{what}: {word}: {}",
            r.index + 1,
            r.record.parameters(),
            r.detail
        );
        g.edge(
            from,
            to,
            &format!("match {word}"),
            format!("{attrs}, tooltip={}", quote(&tip)),
        );
    }
}

/// The candidate (`--cert`, `--key`, `--csr`) in its own colour, with its record edges.
fn candidate(g: &mut Graph, h: &HostReport, records: &[String]) {
    let Some(c) = &h.candidate else { return };
    let id = format!("candidate {} {}", h.name, h.port);
    g.node(
        None,
        &id,
        format!(
            "shape=box, style=\"filled,rounded\", fillcolor=\"#ffe8cc\", color=\"{CANDIDATE}\", label={}, tooltip={}",
            lines(&["candidate".to_owned(), status_name(c.verdict.status).to_owned()]),
            quote(&format!("the candidate at {}: {}: {}", h.name, status_name(c.verdict.status), c.verdict.reason))
        ),
    );
    if let Some(m) = &c.tlsa_match {
        record_edges(g, m, records, std::slice::from_ref(&id), " (candidate)");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_cannot_break_out() {
        assert_eq!(quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(quote("x\ny"), "\"x\\\\ny\"");
        assert_eq!(lines(&["a\"".into(), "b".into()]), "\"a\\\"\\nb\"");
    }

    /// The ids a DOT line declares or joins: `"a" [..]` or `"a" -> "b" [..]`.
    fn ids(line: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = line.trim();
        while let Some(body) = rest.strip_prefix('"') {
            let mut end = 0;
            let mut escaped = false;
            for (i, c) in body.char_indices() {
                match c {
                    '\\' if !escaped => escaped = true,
                    '"' if !escaped => {
                        end = i;
                        break;
                    }
                    _ => escaped = false,
                }
            }
            out.push(body[..end].to_owned());
            rest = body[end + 1..].trim_start();
            match rest.strip_prefix("->") {
                Some(r) => rest = r.trim_start(),
                None => break,
            }
        }
        out
    }

    /// 4 MX hosts x 2 addresses x 2 certificates (RSA and ECDSA): a box per endpoint, each
    /// host's records drawn once with one edge per endpoint, every edge between declared
    /// nodes, and no label line too long to read.
    #[test]
    fn four_hosts_two_addresses_two_certificates_stay_readable() {
        let base = crate::summary::sample::single_record();
        let host = base.hosts[0].clone();
        let endpoint = host.endpoints[0].clone();
        let mut report = base.clone();
        report.hosts = (1..=4)
            .map(|i| {
                let mut h = host.clone();
                h.name = format!("mx{i}.example.test.");
                if let Some(t) = h.tlsa.as_mut() {
                    t.lookups[0].name = format!("_25._tcp.{}", h.name);
                }
                h.endpoints = Vec::new();
                for addr in [format!("192.0.2.{i}"), format!("2001:db8::{i}")] {
                    for alg in ["rsa", "ecdsa"] {
                        let mut e = endpoint.clone();
                        e.address = addr.parse().unwrap();
                        e.algorithm = Some(alg.to_owned());
                        e.offered = Some(alg.to_owned());
                        h.endpoints.push(e);
                    }
                }
                h
            })
            .collect();
        let dot = verify(&report, &[]).dot();
        assert_eq!(dot.matches("subgraph cluster_").count(), 16, "{dot}");
        let mut declared = std::collections::BTreeSet::new();
        let mut edges = Vec::new();
        for line in dot.lines() {
            let found = ids(line);
            match found.len() {
                1 => assert!(declared.insert(found[0].clone()), "twice: {line}"),
                2 => edges.push((found[0].clone(), found[1].clone())),
                _ => {}
            }
        }
        for (a, b) in &edges {
            assert!(declared.contains(a) && declared.contains(b), "{a} -> {b}");
        }
        let records: Vec<&String> = declared.iter().filter(|d| d.starts_with("TLSA ")).collect();
        assert_eq!(records.len(), 4, "{records:?}");
        let matched = edges.iter().filter(|(a, _)| a.starts_with("TLSA ")).count();
        assert_eq!(matched, 16);
        for line in dot.lines().filter(|l| l.contains("label=")) {
            let label = line.split("label=\"").nth(1).unwrap_or("");
            let label = label.split("\", ").next().unwrap_or("");
            for part in label.split("\\n") {
                assert!(part.chars().count() <= 60, "too long: {part}");
            }
        }
        assert!(dot.contains("rankdir=TB") && dot.contains("compound=true"));
    }

    /// A lookup of `name TLSA` in `child.test.` under `test.`, with `facts` and `verdict`.
    fn outcome(facts: Vec<Fact>, verdict: Verdict, answer: AnswerKind) -> Outcome {
        let reason = verdict.reason().cloned();
        Outcome {
            name: "_25._tcp.mx.child.test.".into(),
            rtype: "TLSA".into(),
            reason: reason.clone(),
            verdict: verdict.clone(),
            answer,
            links: vec![Link {
                name: "_25._tcp.mx.child.test.".into(),
                rtype: "TLSA".into(),
                answer,
                verdict,
                reason,
                zone: Some("child.test.".into()),
                records: vec![],
            }],
            trace: vec![dane_dnssec::TraceStep {
                kind: StepKind::Denial,
                name: "mx.child.test.".into(),
                detail: "NSEC3 abc -> def covers the next closer name mx.child.test. (opt-out)"
                    .into(),
            }],
            signatures_checked: 0,
            nsec3_hashes: 0,
            warnings: vec![],
            earliest_expiration: None,
            earliest_expiration_inception: None,
            facts,
        }
    }

    fn key(tag: u16, flags: u16) -> dane_dnssec::KeyFact {
        dane_dnssec::KeyFact {
            tag,
            algorithm: 13,
            flags,
        }
    }

    fn ds(zone: &str, tag: u16, status: DsStatus) -> Fact {
        Fact::Ds {
            zone: zone.into(),
            tag,
            algorithm: 13,
            digest_type: 2,
            status,
        }
    }

    /// The anchored zone `test.` (KSK 1, ZSK 2, its DNSKEY RRset signed by the KSK) the
    /// grammar tests start from.
    fn anchored_test_zone() -> Vec<Fact> {
        vec![
            Fact::Anchor {
                zone: "test.".into(),
                tag: 1,
                algorithm: 13,
                digest_type: None,
            },
            Fact::Keys {
                zone: "test.".into(),
                keys: vec![key(1, 257), key(2, 256)],
            },
            sig("test.", "DNSKEY", "test.", 1, None),
        ]
    }

    fn sig(owner: &str, rtype: &str, zone: &str, tag: u16, problem: Option<ReasonCode>) -> Fact {
        Fact::Signature {
            owner: owner.into(),
            rtype: rtype.into(),
            zone: zone.into(),
            signer: zone.into(),
            tag,
            algorithm: 13,
            problem,
        }
    }

    /// The line of `dot` that declares or joins `id` (and `to`), for its attributes.
    fn line<'a>(dot: &'a str, id: &str, to: Option<&str>) -> &'a str {
        let want = match to {
            Some(to) => format!("{} -> {} [", quote(id), quote(to)),
            None => format!("{} [", quote(id)),
        };
        dot.lines()
            .find(|l| l.trim_start().starts_with(&want))
            .unwrap_or_else(|| panic!("no {want} in\n{dot}"))
    }

    /// DNSViz's grammar for what the interop scenarios do not show: an anchor key double
    /// bordered, a revoked key thick, a DS whose digest matches no key red, a DS naming no
    /// key dashed to a missing key, an expired RRSIG red dashed, an opt-out NSEC3 proof
    /// marked, a bogus zone red, and the NXDOMAIN node.
    #[test]
    fn dnssec_grammar() {
        let mut facts = anchored_test_zone();
        facts.extend([
            Fact::Keys {
                zone: "child.test.".into(),
                keys: vec![key(10, 257), key(11, 256), key(12, 385)],
            },
            ds("child.test.", 10, DsStatus::BadDigest),
            ds("child.test.", 99, DsStatus::NoKey),
            sig("child.test.", "DNSKEY", "child.test.", 10, None),
            sig(
                "_25._tcp.mx.child.test.",
                "TLSA",
                "child.test.",
                11,
                Some(ReasonCode::SignatureExpired),
            ),
        ]);
        let bogus = Verdict::Bogus(dane_dnssec::Reason::new(ReasonCode::OptOut, "opt-out"));
        let dot = dnssec(&outcome(facts, bogus, AnswerKind::Nxdomain), "now").dot();
        let anchor = line(&dot, "DNSKEY test. 13 1", None);
        assert!(anchor.contains("peripheries=2") && anchor.contains("style=filled"));
        assert!(line(&dot, "DNSKEY child.test. 13 12", None).contains("penwidth=4"));
        // child.test. has no valid DS: bogus, red.
        assert!(line(&dot, "DNSKEY child.test. 13 11", None).contains(BOGUS));
        assert!(line(&dot, "DNSKEY test. 13 2", None).contains(SECURE));
        let bad = line(
            &dot,
            "DS child.test. 13 10 2",
            Some("DNSKEY child.test. 13 10"),
        );
        assert!(bad.contains(BOGUS) && bad.contains("the digest matches no key"));
        let none = line(
            &dot,
            "DS child.test. 13 99 2",
            Some("DNSKEY child.test. 13 99"),
        );
        assert!(none.contains("style=dashed"), "{none}");
        assert!(line(&dot, "DNSKEY child.test. 13 99", None).contains("(missing)"));
        // The DS sits in the parent's box: declared before the child's cluster starts.
        let ds_at = dot.find("\"DS child.test. 13 10 2\" [").unwrap();
        assert!(ds_at < dot.find("label=\"child.test.\"").unwrap());
        let expired = line(
            &dot,
            "DNSKEY child.test. 13 11",
            Some("RRset _25._tcp.mx.child.test. TLSA"),
        );
        assert!(expired.contains("style=dashed") && expired.contains("expired"));
        // The KSK's edge to the ZSK, none to itself; the SEP key 12 (revoked) still drawn.
        line(
            &dot,
            "DNSKEY child.test. 13 10",
            Some("DNSKEY child.test. 13 11"),
        );
        assert!(!dot.contains("\"DNSKEY child.test. 13 10\" -> \"DNSKEY child.test. 13 10\""));
        let proof = line(
            &dot,
            "proof NSEC3 abc -> def covers the next closer name mx.child.test. (opt-out)",
            None,
        );
        assert!(
            proof.contains("NSEC3") && proof.contains("opt-out") && proof.contains("peripheries=2")
        );
        assert!(line(&dot, "RRset _25._tcp.mx.child.test. TLSA", None).contains("NXDOMAIN"));
        // Every node and edge has a tooltip.
        for l in dot
            .lines()
            .filter(|l| l.trim_end().ends_with("];") && !l.contains("graph ["))
        {
            if l.trim_start().starts_with("node [") || l.trim_start().starts_with("edge [") {
                continue;
            }
            assert!(l.contains("tooltip="), "{l}");
        }
    }

    /// DNSViz's chain from the anchor down: the parent's key signs the DS RRset (an edge
    /// to each DS node), the zone's key signs the NSEC3 records, whose proof nodes sit in
    /// the box of the zone that signed them, one node for a proof two lookups share, secure
    /// when it proves an insecure delegation.
    #[test]
    fn signatures_over_ds_and_denial_records() {
        let mut facts = anchored_test_zone();
        facts.extend([
            sig("child.test.", "DS", "test.", 2, None),
            ds("child.test.", 10, DsStatus::Valid),
            Fact::Keys {
                zone: "child.test.".into(),
                keys: vec![key(10, 257), key(11, 256)],
            },
            sig("child.test.", "DNSKEY", "child.test.", 10, None),
            sig("ABC.child.test.", "NSEC3", "child.test.", 11, None),
        ]);
        let detail = "NSEC3 abc.child.test. -> def covers the next closer name _tcp.mx.child.test.";
        let mut tlsa = outcome(facts.clone(), Verdict::Secure, AnswerKind::Nxdomain);
        tlsa.trace[0].detail = detail.into();
        let mut other = tlsa.clone();
        other.name = "_443._tcp.mx.child.test.".into();
        other.links[0].name = other.name.clone();
        let insecure = Verdict::Insecure(dane_dnssec::Reason::new(
            ReasonCode::InsecureDelegation,
            "no DS",
        ));
        other.verdict = insecure.clone();
        other.links[0].verdict = insecure;
        let mut g = Graph::default();
        dns_part(&mut g, &[tlsa, other]);
        let dot = g.finish(&["caption".to_owned()], "caption").dot();
        let ds = line(&dot, "DNSKEY test. 13 2", Some("DS child.test. 13 10 2"));
        assert!(
            ds.contains(SECURE) && ds.contains("RRSIG child.test. DS"),
            "{ds}"
        );
        let proof = format!("proof {detail}");
        let declared = format!("{} [", quote(&proof));
        let declarations = dot
            .lines()
            .filter(|l| l.trim_start().starts_with(&declared));
        assert_eq!(declarations.count(), 1, "{dot}");
        assert!(line(&dot, &proof, None).contains(SECURE));
        let signed = line(&dot, "DNSKEY child.test. 13 11", Some(&proof));
        assert!(signed.contains("RRSIG ABC.child.test. NSEC3"), "{signed}");
        // In the box of child.test.: after its label, before the box closes.
        let start = dot.find("label=\"child.test.\"").unwrap();
        let end = start + dot[start..].find("\n  }").unwrap();
        let at = dot.find(&format!("    {declared}")).unwrap();
        assert!(start < at && at < end, "{dot}");
        // Each lookup's NXDOMAIN has its edge from the one proof.
        line(&dot, &proof, Some("RRset _25._tcp.mx.child.test. TLSA"));
        line(&dot, &proof, Some("RRset _443._tcp.mx.child.test. TLSA"));
    }

    /// Below a delegation without DS: the unsigned zone is a box of its own (black), and
    /// the insecure RRset sits in it.
    #[test]
    fn an_unsigned_zone_is_a_box_of_its_own() {
        let facts = vec![
            Fact::Keys {
                zone: "test.".into(),
                keys: vec![key(1, 257), key(2, 256)],
            },
            sig("test.", "DNSKEY", "test.", 1, None),
        ];
        let insecure = Verdict::Insecure(dane_dnssec::Reason::new(
            ReasonCode::InsecureDelegation,
            "test. proves child.test. is a delegation without DS",
        ));
        let mut o = outcome(facts, insecure, AnswerKind::Records);
        o.links[0].zone = None;
        o.trace.push(dane_dnssec::TraceStep {
            kind: StepKind::Insecure,
            name: "child.test.".into(),
            detail: "test. proves child.test. is a delegation without DS".into(),
        });
        let dot = dnssec(&o, "now").dot();
        let start = dot.find("label=\"child.test.\"").unwrap();
        assert!(
            dot[start..]
                .starts_with("label=\"child.test.\", tooltip=\"zone child.test.: insecure\"")
        );
        let end = start + dot[start..].find("\n  }").unwrap();
        let at = dot
            .find("    \"RRset _25._tcp.mx.child.test. TLSA\" [")
            .unwrap();
        assert!(start < at && at < end, "{dot}");
        // Not for a lookup that is insecure for another reason.
        let mut other = o.clone();
        let why = dane_dnssec::Reason::new(ReasonCode::OptOut, "opt-out");
        other.links[0].verdict = Verdict::Insecure(why);
        assert!(
            !dnssec(&other, "now")
                .dot()
                .contains("label=\"child.test.\"")
        );
    }

    #[test]
    fn the_record_a_denial_rests_on() {
        for (detail, want) in [
            (
                "NSEC3 q0.a.test. matches the closest encloser a.test.",
                Some(("NSEC3", "q0.a.test.")),
            ),
            (
                "NSEC a.test. -> c.test. covers b.test.: the name does not exist",
                Some(("NSEC", "a.test.")),
            ),
            (
                "NSEC at the wildcard *.a.test. has types A: no TLSA (wildcard NODATA)",
                Some(("NSEC", "*.a.test.")),
            ),
            ("CNAME a.test. -> b.test.", None),
            ("NSEC", None),
        ] {
            assert_eq!(proof_record(detail), want, "{detail}");
        }
    }

    #[test]
    fn wrapping() {
        assert_eq!(wrap("aa bb cc", 5), vec!["aa bb", "cc"]);
        assert_eq!(short("abcdef", 3), "abc...");
    }
}
