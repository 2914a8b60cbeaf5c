//! `dane zone check ZONEFILE`: a signed zone file checked offline at a given time, before it
//! is published (dane-zone does the checks; this reads the files and renders the report).

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::bail;
use dane_zone::{CheckOptions, Finding, Name, ParseLimits, Report, Severity, type_name};
use serde::Serialize;

use crate::clock::format_time;
use crate::input::{io_reason, read_bounded};
use crate::term::{paint, sanitize};
use crate::{Context, Exit};

/// Most bytes read for one zone, all `$INCLUDE`d files together.
pub const MAX_ZONE_BYTES: u64 = 1 << 30;

/// `dane zone` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Check a signed zone file offline before it is published: every RRSIG verifies with
    /// an apex DNSKEY and is valid at --at, every authoritative RRset is signed by every
    /// algorithm of the DNSKEY RRset, no signatures on glue, the DNSKEY RRset signed by a
    /// SEP key, the NSEC or NSEC3 chain, TLSA records usable and matching --cert/--chain/--key.
    Check(Args),
}

/// `dane zone check` arguments.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: 0 no errors (warnings are printed), 1 errors: the zone \
must not be published, 4 warnings only and --strict, 2 usage or input error (unreadable file, \
a master-file line that does not parse, a bad --tsig-key), 3 the zone could not be \
transferred (--axfr, --nsd-verifier: refused, unauthenticated, timed out).

Examples:
  dane zone check db.example.com.signed --expire-within 7d --strict
  dane zone check db.example.com.signed --ds parent.ds --cert /etc/ssl/mail/fullchain.pem
  dane zone check - --origin example.com < db.example.com.signed
  dane zone check --axfr 192.0.2.53 --tsig-key /etc/knot/transfer.key --origin example.com"
)]
pub struct Args {
    /// The zone file (master-file format, as BIND, NSD and Knot write it), or `-` for
    /// standard input. `$INCLUDE` paths are relative to the including file's directory.
    #[arg(required_unless_present_any = ["axfr", "nsd_verifier"], conflicts_with_all = ["axfr", "nsd_verifier"])]
    pub zonefile: Option<PathBuf>,

    /// Transfer the zone (AXFR over TCP, RFC 5936) from SERVER (ADDR or ADDR:PORT) instead
    /// of reading a file; the zone's name is --origin.
    #[arg(long, value_name = "SERVER", requires = "origin")]
    pub axfr: Option<String>,

    /// Sign the AXFR query with this TSIG key and require every answer to be signed with it
    /// (RFC 8945 5.3.1): Knot `keymgr -t` output, a BIND `key "NAME" {...};` file, or
    /// ALG:NAME:SECRET.
    #[arg(long, value_name = "FILE")]
    pub tsig_key: Option<PathBuf>,

    /// The key to use when the --tsig-key file defines several.
    #[arg(long, value_name = "NAME", requires = "tsig_key")]
    pub tsig_key_name: Option<String>,

    /// Run as NSD's `verifier:`: the zone named by $VERIFY_ZONE, read from standard input
    /// when $VERIFY_ZONE_ON_STDIN is yes, else transferred from the address NSD serves it on
    /// for verification ($VERIFY_IP_ADDRESSES, $VERIFY_PORT).
    #[arg(long)]
    pub nsd_verifier: bool,

    /// Give up a transfer (--axfr, --nsd-verifier) after this long (e.g. 50s; below NSD's
    /// verifier-timeout so the verdict is ours). Default 300s.
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,

    /// The zone's name (the initial $ORIGIN). Default: $VERIFY_ZONE when NSD runs this as
    /// a `verifier:` (zone on stdin: `dane zone check -`), else the owner of the first
    /// record, which must be the SOA.
    #[arg(long, value_name = "NAME")]
    pub origin: Option<String>,

    /// Judge signature validity as of this time (RFC 3339, YYYY-MM-DD or @SECONDS).
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,

    /// Warn about signatures valid now that expire within this duration (e.g. 7d, 36h).
    #[arg(long, value_name = "DURATION")]
    pub expire_within: Option<String>,

    /// A certificate about to be deployed at every --for OWNER (PEM or DER; its first
    /// certificate): the TLSA RRset there must match it (RFC 7671, as `dane tlsa match`).
    /// Repeat it (and --chain, --key) for a server that offers several (RSA and ECDSA):
    /// each must match.
    #[arg(long, value_name = "FILE", requires = "for_owner")]
    pub cert: Vec<PathBuf>,

    /// A chain about to be deployed at every --for OWNER, leaf first (PEM or DER).
    #[arg(long, value_name = "FILE", requires = "for_owner")]
    pub chain: Vec<PathBuf>,

    /// A private key about to be deployed at every --for OWNER (its certificate not issued
    /// yet): only DANE-EE SPKI records (3 1 x) can be decided.
    #[arg(long, value_name = "FILE", requires = "for_owner")]
    pub key: Vec<PathBuf>,

    /// A TLSA owner the --cert, --chain and --key files are checked at, e.g.
    /// _25._tcp.mx.example.com. Repeat it for every service the same certificates serve
    /// (_25._tcp, _465._tcp, _587._tcp; several MX hosts).
    #[arg(long = "for", value_name = "OWNER")]
    pub for_owner: Vec<String>,

    /// The parent's DS RRset for the zone (zone-file lines): one must match a key that
    /// signs the DNSKEY RRset, or validators find the zone bogus.
    #[arg(long, value_name = "FILE")]
    pub ds: Option<PathBuf>,

    /// Warn about signatures that became valid less than this long ago (e.g. 1h): resolvers
    /// whose clock lags reject them.
    #[arg(long, value_name = "DURATION")]
    pub inception_margin: Option<String>,

    /// The issuer-family list (JSON, format 1) used instead of the one built in: a DANE-TA
    /// record pinning one intermediate of a CA that rotates among several is a warning
    /// (issuer-family, docs/issuer-families.md).
    #[arg(long, value_name = "FILE")]
    pub ca_families: Option<PathBuf>,

    /// Exit 4 when there are warnings but no errors.
    #[arg(long)]
    pub strict: bool,

    /// One JSON document (versioned) instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs a `dane zone` subcommand.
pub fn run(cmd: &Command, ctx: &Context) -> anyhow::Result<Exit> {
    match cmd {
        Command::Check(args) => check(args, ctx),
    }
}

fn check(args: &Args, ctx: &Context) -> anyhow::Result<Exit> {
    let now = ctx.now(args.at.as_deref())?;
    let expire_within = match &args.expire_within {
        Some(t) => crate::rollover::parse_duration("--expire-within", t)?,
        None => 0,
    };
    let source = source(args)?;
    if matches!(source, Source::File(_)) && (args.tsig_key.is_some() || args.timeout.is_some()) {
        bail!("--tsig-key and --timeout apply to a transfer: --axfr SERVER or --nsd-verifier");
    }
    let (label, records, apex) = match source {
        Source::File(path) => {
            let (label, text) = read_top(&path)?;
            let records = parse(args, &label, &text)?;
            let apex = apex(args, &records)?;
            (label, records, apex)
        }
        Source::Axfr(server) => match crate::zone_axfr::transfer(args, server)? {
            Ok(t) => t,
            Err(e) => {
                eprintln!("dane: {}", sanitize(&format!("{e:#}")));
                return Ok(Exit::Indeterminate);
            }
        },
    };
    let inception_margin = match &args.inception_margin {
        Some(t) => crate::rollover::parse_duration("--inception-margin", t)?,
        None => 0,
    };
    let opts = CheckOptions {
        expire_within,
        inception_margin,
        parent_ds: parent_ds(args, &apex)?,
        ca_families: crate::families::load(args.ca_families.as_deref())?,
        ..CheckOptions::at(now.as_secs())
    };
    let mut report = dane_zone::check_zone(&records, &apex, &opts);
    report.add(deployed_findings(args, &records, now.as_secs())?);
    let out = if args.json {
        json(&label, &apex, &format_time(now), &report)?
    } else {
        text_report(&apex, &format_time(now), &report, ctx.color)
    };
    crate::output::emit(None, &out)?;
    Ok(if report.has_errors() {
        Exit::Failure
    } else if args.strict && report.has_warnings() {
        Exit::NotProtected
    } else {
        Exit::Ok
    })
}

/// Where the zone comes from.
enum Source {
    /// A file, or `-` (standard input).
    File(PathBuf),
    /// A zone transfer from this server.
    Axfr(std::net::SocketAddr),
}

/// The zone's source: the file, `--axfr SERVER`, or what NSD's verifier environment says.
fn source(args: &Args) -> anyhow::Result<Source> {
    if let Some(server) = &args.axfr {
        return Ok(Source::Axfr(dane_resolver::parse_server(server).map_err(
            |e| anyhow::anyhow!("--axfr {:?}: {e}", sanitize(server)),
        )?));
    }
    if args.nsd_verifier {
        let var = |n: &str| std::env::var(n).ok().filter(|v| !v.trim().is_empty());
        if var("VERIFY_ZONE").is_none() {
            bail!("--nsd-verifier: $VERIFY_ZONE is not set (run by NSD's verifier: only)");
        }
        if var("VERIFY_ZONE_ON_STDIN").is_some_and(|v| v.trim() == "yes") {
            return Ok(Source::File(PathBuf::from("-")));
        }
        let Some(ips) = var("VERIFY_IP_ADDRESSES") else {
            bail!(
                "--nsd-verifier: neither the zone on stdin ($VERIFY_ZONE_ON_STDIN) nor $VERIFY_IP_ADDRESSES"
            );
        };
        // The first address, written ADDR@PORT by NSD (or ADDR, the port in $VERIFY_PORT).
        let first = ips.split_whitespace().next().unwrap_or_default();
        let (ip, port) = match first.rsplit_once('@') {
            Some((ip, port)) => (ip.to_string(), port.to_string()),
            None => (first.to_string(), var("VERIFY_PORT").unwrap_or_default()),
        };
        let addr = ip
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .map_err(|e| anyhow::anyhow!("$VERIFY_IP_ADDRESSES {:?}: {e}", sanitize(first)))?;
        let port = port.trim().parse::<u16>().map_err(|e| {
            anyhow::anyhow!("$VERIFY_IP_ADDRESSES {:?}: port: {e}", sanitize(first))
        })?;
        return Ok(Source::Axfr(std::net::SocketAddr::new(addr, port)));
    }
    match &args.zonefile {
        Some(p) => Ok(Source::File(p.clone())),
        None => bail!("give a zone file, - (standard input), --axfr SERVER or --nsd-verifier"),
    }
}

/// The top file (or stdin) as text, and its label for messages.
fn read_top(path: &Path) -> anyhow::Result<(String, String)> {
    if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .lock()
            .take(MAX_ZONE_BYTES + 1)
            .read_to_end(&mut buf)?;
        if buf.len() as u64 > MAX_ZONE_BYTES {
            bail!("standard input: more than the {MAX_ZONE_BYTES} bytes accepted");
        }
        let Ok(text) = String::from_utf8(buf) else {
            bail!("standard input: not UTF-8 text");
        };
        return Ok(("-".into(), text));
    }
    let label = path.display().to_string();
    let text = read_bounded(&label, path, MAX_ZONE_BYTES)?;
    Ok((label, text))
}

/// Parses the zone; `$INCLUDE` paths are read relative to the including file, within the
/// byte budget left, and named by their canonical path (so a loop is seen).
fn parse(args: &Args, label: &str, text: &str) -> anyhow::Result<Vec<dane_zone::Record>> {
    let initial = match origin_arg(args) {
        Some(o) => parse_origin(&o)?,
        None => Name::root(),
    };
    let mut budget = MAX_ZONE_BYTES.saturating_sub(text.len() as u64);
    let mut include = |path: &str, from: &str| -> dane_zone::IncludeResult {
        let base = if from == "-" {
            PathBuf::from(".")
        } else {
            Path::new(from)
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default()
        };
        let full = base.join(path);
        let canon = std::fs::canonicalize(&full).map_err(|e| io_reason(&e))?;
        let name = canon.display().to_string();
        let text = read_bounded(&name, &canon, budget).map_err(|e| format!("{e:#}"))?;
        budget = budget.saturating_sub(text.len() as u64);
        Ok((name, text))
    };
    let top = if label == "-" {
        label.to_string()
    } else {
        std::fs::canonicalize(label).map_or_else(|_| label.to_string(), |p| p.display().to_string())
    };
    let records =
        dane_zone::parse_master(&top, text, &initial, ParseLimits::default(), &mut include)
            .map_err(|e| anyhow::anyhow!("{}", sanitize(&e.to_string())))?;
    Ok(records)
}

/// `--origin`, else `$VERIFY_ZONE` (set by NSD for its `verifier:` commands).
pub(crate) fn origin_arg(args: &Args) -> Option<String> {
    args.origin.clone().or_else(|| {
        std::env::var("VERIFY_ZONE")
            .ok()
            .filter(|z| !z.trim().is_empty())
    })
}

pub(crate) fn parse_origin(text: &str) -> anyhow::Result<Name> {
    let t = text.trim();
    let abs = if t.ends_with('.') {
        t.to_string()
    } else {
        format!("{t}.")
    };
    Name::parse(&abs, &Name::root()).map_err(|e| anyhow::anyhow!("--origin {:?}: {e}", sanitize(t)))
}

/// The apex: `--origin`, else the owner of the first record, which must be an SOA.
fn apex(args: &Args, records: &[dane_zone::Record]) -> anyhow::Result<Name> {
    if let Some(o) = origin_arg(args) {
        return parse_origin(&o);
    }
    match records.first() {
        Some(r) if r.rtype == 6 => Ok(r.owner.clone()),
        Some(r) => bail!(
            "{}:{}: the first record is not an SOA; give the zone's name with --origin",
            sanitize(&r.file),
            r.line
        ),
        None => bail!("no records"),
    }
}

/// `--ds FILE`: the DS records at the apex, as RDATA (other lines are an error).
fn parent_ds(args: &Args, apex: &Name) -> anyhow::Result<Option<Vec<Vec<u8>>>> {
    let Some(path) = &args.ds else {
        return Ok(None);
    };
    let label = format!("--ds {}", path.display());
    let text = read_bounded(&label, path, 1 << 20)?;
    let mut no_include = |p: &str, _: &str| -> dane_zone::IncludeResult {
        Err(format!("{p}: $INCLUDE is not allowed in a DS file"))
    };
    let records =
        dane_zone::parse_master(&label, &text, apex, ParseLimits::default(), &mut no_include)
            .map_err(|e| anyhow::anyhow!("{}", sanitize(&e.to_string())))?;
    let mut out = Vec::new();
    for r in records {
        if r.rtype != 43 || r.owner != *apex {
            bail!("{label}:{}: not a DS record of {apex}", r.line);
        }
        out.push(r.rdata);
    }
    if out.is_empty() {
        bail!("{label}: no DS record");
    }
    Ok(Some(out))
}

/// What is about to be deployed: a chain (one certificate for `--cert`) or a key.
enum Material {
    Chain(Vec<rustls_pki_types::CertificateDer<'static>>),
    Key(dane_tlsa::Spki),
}

/// Every `--cert`, `--chain` and `--key` file, read, with its label (`--cert FILE`).
fn materials(args: &Args) -> anyhow::Result<Vec<(String, Material)>> {
    let read = |label: &str, path: &Path| crate::input::read_bounded_bytes(label, path, 1 << 20);
    let mut out = Vec::new();
    for (flag, paths) in [("--cert", &args.cert), ("--chain", &args.chain)] {
        for path in paths {
            let label = format!("{flag} {}", path.display());
            let mut chain = dane_tlsa::parse_certificates(&read(&label, path)?)
                .map_err(|e| anyhow::anyhow!("{label}: {e}"))?;
            if flag == "--cert" {
                chain.truncate(1);
            }
            out.push((label, Material::Chain(chain)));
        }
    }
    for path in &args.key {
        let label = format!("--key {}", path.display());
        let spki = dane_tlsa::parse_private_key(&read(&label, path)?)
            .map_err(|e| anyhow::anyhow!("{label}: {e}"))?;
        out.push((label, Material::Key(spki)));
    }
    Ok(out)
}

/// `--cert/--chain/--key FILE --for OWNER`: whether the TLSA RRset at every OWNER matches
/// every file. With several files, each finding names its file.
fn deployed_findings(
    args: &Args,
    records: &[dane_zone::Record],
    now: u64,
) -> anyhow::Result<Vec<Finding>> {
    if args.for_owner.is_empty() {
        return Ok(Vec::new());
    }
    let materials = materials(args)?;
    if materials.is_empty() {
        bail!("--for needs --cert, --chain or --key");
    }
    let mut out = Vec::new();
    for text in &args.for_owner {
        let owner = parse_origin(text).map_err(|e| anyhow::anyhow!("--for: {e:#}"))?;
        for (label, m) in &materials {
            let deployed = match m {
                Material::Chain(c) => dane_zone::Deployed::Chain(c),
                Material::Key(k) => dane_zone::Deployed::Key(k),
            };
            let mut found = dane_zone::tlsa_for(records, &owner, deployed, now);
            if materials.len() > 1 {
                for f in &mut found {
                    f.what = format!("{label}: {}", f.what);
                }
            }
            out.extend(found);
        }
    }
    Ok(out)
}

fn finding_line(f: &Finding) -> String {
    sanitize(&f.to_string()).into_owned()
}

fn text_report(apex: &Name, at: &str, report: &Report, color: bool) -> String {
    let mut out = String::new();
    for f in &report.findings {
        let line = finding_line(f);
        let sgr = if f.severity == Severity::Error {
            "31"
        } else {
            "33"
        };
        out.push_str(&paint(color, sgr, &line));
        out.push('\n');
    }
    let s = summary(report);
    let counts: Vec<String> = s.counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
    out.push_str(&format!(
        "zone {apex}: {} records, {} RRsets, {} signatures verified ({} valid) at {at}; {} errors, {} warnings{}\n",
        report.records,
        report.rrsets,
        report.signatures_checked,
        report.signatures_valid,
        s.errors,
        s.warnings,
        if counts.is_empty() { String::new() } else { format!(" ({})", counts.join(", ")) }
    ));
    out
}

#[derive(Serialize)]
struct Summary {
    records: usize,
    rrsets: usize,
    signatures_checked: usize,
    signatures_valid: usize,
    errors: usize,
    warnings: usize,
    /// Findings per code.
    counts: BTreeMap<&'static str, usize>,
}

fn summary(report: &Report) -> Summary {
    let mut counts = BTreeMap::new();
    for f in &report.findings {
        *counts.entry(f.code.as_str()).or_insert(0) += 1;
    }
    let errors = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    Summary {
        records: report.records,
        rrsets: report.rrsets,
        signatures_checked: report.signatures_checked,
        signatures_valid: report.signatures_valid,
        errors,
        warnings: report.findings.len() - errors,
        counts,
    }
}

#[derive(Serialize)]
struct JsonFinding {
    severity: &'static str,
    code: &'static str,
    owner: String,
    #[serde(rename = "type")]
    rtype: String,
    key_tag: Option<u16>,
    what: String,
    rfc: &'static str,
}

#[derive(Serialize)]
struct Doc {
    version: u32,
    file: String,
    zone: String,
    checked_at: String,
    findings: Vec<JsonFinding>,
    summary: Summary,
}

fn json(file: &str, apex: &Name, at: &str, report: &Report) -> anyhow::Result<String> {
    let findings = report
        .findings
        .iter()
        .map(|f| JsonFinding {
            severity: f.severity.as_str(),
            code: f.code.as_str(),
            owner: f.owner.to_string(),
            rtype: type_name(f.rtype),
            key_tag: f.key_tag,
            what: f.what.clone(),
            rfc: f.rfc,
        })
        .collect();
    let doc = Doc {
        version: 1,
        file: file.to_string(),
        zone: apex.to_string(),
        checked_at: at.to_string(),
        findings,
        summary: summary(report),
    };
    Ok(serde_json::to_string_pretty(&doc)? + "\n")
}
