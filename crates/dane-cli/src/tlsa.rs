//! `dane tlsa`: generate TLSA records and match them against certificate chains, offline.
//!
//! All parsing, selection, hashing and matching is in `dane-tlsa`; this module reads files,
//! turns flags into library calls, and renders zone lines, tables and JSON.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::{ArgGroup, Args, Subcommand, ValueEnum};
use dane_tlsa::{
    CertUsage, MatchOptions, MatchReport, MatchingType, Proto, RecordStatus, Selector, Source,
    TlsaRecord, Verdict,
};
use serde::Serialize;

use crate::{Context, Exit, clock, term};

/// Largest input file read (certificates, keys, record files): far above any real one.
const MAX_INPUT: u64 = 8 * 1024 * 1024;

/// `dane tlsa ...`
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print TLSA records for certificates, public keys, private keys or CSRs.
    #[command(after_help = GENERATE_HELP)]
    Generate(GenerateArgs),
    /// Check TLSA records against a certificate chain (exit 0: authenticated, 1: not).
    #[command(name = "match", after_help = MATCH_HELP)]
    Match(MatchArgs),
}

const GENERATE_HELP: &str = "\
Inputs are PEM or DER. Several inputs give several records, in the order --cert, --pubkey,
--key, --csr. For --cert, end-entity usages (1, 3) use the first certificate in the file;
CA usages (0, 2) use the second one (the leaf's issuer) when the file holds a chain, else
the only one. --key and --csr give the public key only, so they need selector SPKI (1).
Without --name only the record data is printed.

Examples:
  dane tlsa generate --cert /etc/ssl/mx1.pem
      3 1 1 6C5B...
  dane tlsa generate --recommended --cert chain.pem --name mx1.example.com --ttl 3600
      _25._tcp.mx1.example.com. 3600 IN TLSA 3 1 1 ...   (the leaf)
      _25._tcp.mx1.example.com. 3600 IN TLSA 2 1 1 ...   (its issuer)
  dane tlsa generate --csr next.csr --name mx1.example.com     (publish the next key first)
  dane tlsa generate --key key.pem --usage DANE-EE --selector SPKI --mtype SHA2-512
  dane tlsa generate --cert cert.pem --name www.example.com --port 443 --format generic";

const MATCH_HELP: &str = "\
Records come from --record (repeatable) and/or --records FILE ('-' for stdin): bare record
data, full RR lines or a zone-file fragment (comments, parentheses, $ORIGIN, $TTL; other RR
types such as RRSIG are skipped). They are numbered in RFC 4034 6.3 canonical order (by
RDATA), duplicates removed; the matched record is shown whole, the others by a prefix of
their data unique within the set. A --record must be a well-formed, usable record (a wrong
digest length or an unknown parameter there is an input error, exit 2); in a --records file
such a record is reported as unusable and the others still count (RFC 7671 4.1).

DANE-EE (3) records match the leaf only, with no name or date checks. DANE-TA (2) records
must match an issuer in the chain (or, for 2 1 0, a key that signs it); the leaf must chain
to it by signature, the certificates below it must be valid at --at (default: now), and the
leaf's names must match a --name. PKIX usages (0, 1) need a PKIX verdict: with --ca-file
FILE (PEM anchors) or --system-roots (the operating system's CA bundle) the chain is
validated offline for the first --name at --at, and a 0 or 1 record counts only when that
validation passes (RFC 6698 2.1.1); without either they are reported unusable. With --smtp
they are unusable anyway (RFC 7672 3.1.3). DEPTH is the place in the chain (0 = leaf) of
the certificate or key the record matched; for a key or CA certificate the server does not
send, the place it would take above the certificate it signs.

Exit status: 0 the records authenticate the chain, 1 they do not, 2 bad input.

Examples:
  dane tlsa match --chain chain.pem --record '3 1 1 6C5B...'
  dane tlsa match --chain chain.pem --records zone.fragment --name mx1.example.com
  dig +short TLSA _25._tcp.mx1.example.com | dane tlsa match --chain chain.pem --records - --json
  dane tlsa match --chain old.pem --record '2 1 1 AB12...' --name mx1.example.com --at 2027-01-01";

/// `dane tlsa generate`
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("input").required(true).multiple(true).args(["cert", "pubkey", "key", "csr"])))]
pub struct GenerateArgs {
    /// Certificate or chain (leaf first), PEM or DER.
    #[arg(long, value_name = "FILE")]
    cert: Vec<PathBuf>,
    /// Public key (SubjectPublicKeyInfo PEM/DER, or PKCS#1 RSA PUBLIC KEY).
    #[arg(long, value_name = "FILE")]
    pubkey: Vec<PathBuf>,
    /// Private key (PKCS#8, PKCS#1 RSA or SEC1 EC; PEM or DER): its public key is used.
    #[arg(long, value_name = "FILE")]
    key: Vec<PathBuf>,
    /// Certificate signing request (PKCS#10): publish the next key before its certificate.
    #[arg(long, value_name = "FILE")]
    csr: Vec<PathBuf>,
    /// Certificate usage: 0-255 or PKIX-TA, PKIX-EE, DANE-TA, DANE-EE, PrivCert.
    #[arg(long, value_name = "U", value_parser = crate::docs::Names::usages(), default_value = "3")]
    usage: String,
    /// Selector: 0-255 or Cert, SPKI, PrivSel.
    #[arg(long, value_name = "S", value_parser = crate::docs::Names::selectors(), default_value = "1")]
    selector: String,
    /// Matching type: 0-255 or Full, SHA2-256, SHA2-512, PrivMatch.
    #[arg(long, value_name = "M", value_parser = crate::docs::Names::matching_types(), default_value = "1")]
    mtype: String,
    /// 3 1 1 for each leaf, plus 2 1 1 for its issuer when a --cert file holds a chain.
    #[arg(long, conflicts_with_all = ["usage", "selector", "mtype"])]
    recommended: bool,
    /// Host name for the owner `_PORT._PROTO.HOST.` (IDN allowed); without it only the
    /// record data is printed.
    #[arg(long, value_name = "HOST")]
    name: Option<String>,
    /// Port for the owner name.
    #[arg(long, value_name = "N", default_value_t = 25)]
    port: u16,
    /// Protocol for the owner name.
    #[arg(long, value_enum, default_value = "tcp")]
    proto: ProtoArg,
    /// TTL to print on zone lines.
    #[arg(long, value_name = "N")]
    ttl: Option<u32>,
    /// Output: zone (presentation), generic (RFC 3597 `TYPE52 \# ...`) or json.
    #[arg(long, value_enum, default_value = "zone")]
    format: Format,
    /// The issuer-family list (JSON, format 1) used instead of the one built in: a DANE-TA
    /// record for one intermediate of a CA that rotates among several comes with the
    /// records of the others (docs/issuer-families.md).
    #[arg(long, value_name = "FILE")]
    ca_families: Option<PathBuf>,
    /// The time that decides which generation of an issuer family is current (RFC 3339,
    /// YYYY-MM-DD or @SECONDS; default: now).
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ProtoArg {
    Tcp,
    Udp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Zone,
    Generic,
    Json,
}

/// `dane tlsa match`
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("records_in").required(true).multiple(true).args(["record", "records"])))]
pub struct MatchArgs {
    /// The presented certificate chain, leaf first (PEM or DER).
    #[arg(long, value_name = "FILE")]
    chain: PathBuf,
    /// One TLSA record: "U S M HEX" (numbers or mnemonics); repeatable.
    #[arg(long, value_name = "\"U S M HEX\"")]
    record: Vec<String>,
    /// TLSA records from a file or zone fragment; '-' reads stdin.
    #[arg(long, value_name = "FILE|-")]
    records: Option<PathBuf>,
    /// Of a --records file with records of several owners, match those of OWNER only
    /// (e.g. _25._tcp.mx1.example.com).
    #[arg(long, value_name = "OWNER", requires = "records")]
    owner: Option<String>,
    /// Reference identifier for DANE-TA name checks (repeatable), e.g. the MX host name.
    #[arg(long, value_name = "REFERENCE-ID")]
    name: Vec<String>,
    /// Check dates at TIME instead of now: RFC 3339, YYYY-MM-DD, or @SECONDS.
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
    /// SMTP rules (RFC 7672 3.1.3): PKIX usages 0 and 1 are unusable.
    #[arg(long)]
    smtp: bool,
    /// Trust anchors (PEM) for PKIX validation, so usages 0 and 1 can be checked offline.
    #[arg(long, value_name = "FILE", conflicts_with = "system_roots")]
    ca_file: Option<PathBuf>,
    /// PKIX validation against the operating system's CA bundle (the first of
    /// /etc/ssl/certs/ca-certificates.crt, /etc/pki/tls/certs/ca-bundle.crt, /etc/ssl/cert.pem).
    #[arg(long)]
    system_roots: bool,
    /// One JSON document instead of the table.
    #[arg(long)]
    json: bool,
}

/// Runs `dane tlsa ...`.
pub fn run(cmd: &Command, ctx: &Context) -> anyhow::Result<Exit> {
    match cmd {
        Command::Generate(args) => generate(args, ctx),
        Command::Match(args) => match_records(args, ctx),
    }
}

/// Reads a whole input file (or stdin for `-` when allowed), bounded, non-empty.
pub(crate) fn read_input(flag: &str, path: &Path, stdin_ok: bool) -> anyhow::Result<Vec<u8>> {
    let label = path.display();
    let mut buf = Vec::new();
    if stdin_ok && path == Path::new("-") {
        std::io::stdin()
            .take(MAX_INPUT + 1)
            .read_to_end(&mut buf)
            .with_context(|| format!("{flag} -: cannot read stdin"))?;
    } else {
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_INPUT + 1).read_to_end(&mut buf))
            .with_context(|| format!("{flag} {label}: cannot read"))?;
    }
    if buf.len() as u64 > MAX_INPUT {
        bail!("{flag} {label}: larger than {MAX_INPUT} bytes");
    }
    if buf.iter().all(u8::is_ascii_whitespace) {
        bail!("{flag} {label}: empty file");
    }
    Ok(buf)
}

fn param<T>(flag: &str, text: &str, parse: fn(&str) -> Result<T, String>) -> anyhow::Result<T> {
    parse(text).map_err(|e| anyhow::anyhow!("{flag} {text:?}: {e}"))
}

/// A library function turning key-ish input bytes into a SubjectPublicKeyInfo.
type DecodeKey = fn(&[u8]) -> Result<dane_tlsa::Spki, dane_tlsa::Error>;

/// One generated record with where it came from.
#[derive(Debug, Serialize)]
struct Generated {
    source: String,
    owner: Option<String>,
    ttl: Option<u32>,
    #[serde(flatten)]
    record: TlsaRecord,
    presentation: String,
    generic: String,
    /// For a record added because its certificate's issuer rotates among a family's
    /// intermediates: the family's id (docs/issuer-families.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    issuer_family: Option<String>,
}

#[derive(Debug, Serialize)]
struct GenerateDoc<'a> {
    version: u32,
    records: &'a [Generated],
}

fn generate(args: &GenerateArgs, ctx: &Context) -> anyhow::Result<Exit> {
    let usage = param("--usage", &args.usage, CertUsage::parse)?;
    let selector = param("--selector", &args.selector, Selector::parse)?;
    let mtype = param("--mtype", &args.mtype, MatchingType::parse)?;
    let owner = args
        .name
        .as_deref()
        .map(|host| {
            let proto = match args.proto {
                ProtoArg::Tcp => Proto::Tcp,
                ProtoArg::Udp => Proto::Udp,
            };
            dane_tlsa::tlsa_owner(args.port, proto, host)
                .with_context(|| format!("--name {host:?}"))
        })
        .transpose()?;

    let families = crate::families::load(args.ca_families.as_deref())?;
    let now = ctx.now(args.at.as_deref())?.as_secs();
    // Everything is computed before anything is printed: an error leaves stdout empty.
    // (source, record, the issuer family it was added for)
    let mut out: Vec<(String, TlsaRecord, Option<String>)> = Vec::new();
    // Why --recommended printed no `2 1 1` for an input, said on stderr.
    let mut notes: Vec<String> = Vec::new();
    let make = |source: &Source, label: &str| {
        dane_tlsa::generate(source, usage, selector, mtype).with_context(|| label.to_owned())
    };
    for path in &args.cert {
        out.extend(cert_records(
            args,
            path,
            (usage, selector, mtype),
            (&families, now),
            &mut notes,
        )?);
    }
    let keyed: [(&str, &Vec<PathBuf>, DecodeKey); 3] = [
        ("--pubkey", &args.pubkey, dane_tlsa::parse_public_key),
        ("--key", &args.key, dane_tlsa::parse_private_key),
        ("--csr", &args.csr, dane_tlsa::parse_csr),
    ];
    for (flag, paths, decode) in keyed {
        for path in paths {
            let label = format!("{flag} {}", path.display());
            let bytes = read_input(flag, path, false)?;
            let spki = decode(&bytes).with_context(|| label.clone())?;
            let source = Source::PublicKey(spki);
            let record = if args.recommended {
                notes.push(format!(
                    "{label}: no 2 1 1 record: a key names no issuer; give the certificate chain with --cert for the issuer's record"
                ));
                dane_tlsa::generate(
                    &source,
                    CertUsage::DaneEe,
                    Selector::Spki,
                    MatchingType::Sha256,
                )
                .with_context(|| label.clone())?
            } else {
                make(&source, &label)?
            };
            out.push((label, record, None));
        }
    }

    let generated: Vec<Generated> = out
        .into_iter()
        .map(|(source, record, issuer_family)| Generated {
            issuer_family,
            source,
            owner: owner.clone(),
            ttl: args.ttl,
            presentation: record.presentation(),
            generic: record.generic(),
            record,
        })
        .collect();
    for note in &notes {
        eprintln!("dane: note: {}", term::sanitize(note));
    }
    let mut stdout = std::io::stdout().lock();
    if args.format == Format::Json {
        // Serialise first, then write: a broken pipe stays an io::Error (quiet exit).
        let doc = GenerateDoc {
            version: 1,
            records: &generated,
        };
        writeln!(stdout, "{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(Exit::Ok);
    }
    for g in &generated {
        let (rtype, rdata) = match args.format {
            Format::Generic => ("TYPE52", &g.generic),
            _ => ("TLSA", &g.presentation),
        };
        match (&g.owner, g.ttl) {
            (Some(o), Some(ttl)) => writeln!(stdout, "{o} {ttl} IN {rtype} {rdata}")?,
            (Some(o), None) => writeln!(stdout, "{o} IN {rtype} {rdata}")?,
            (None, _) => writeln!(stdout, "{rdata}")?,
        }
    }
    Ok(Exit::Ok)
}

/// The records of one `--cert` file: `--recommended`'s pair, or the one record asked for
/// (from the leaf, or from the issuer for CA usages); each DANE-TA record for a member of
/// an issuer family is followed by the records of the other members ([`family_records`]).
fn cert_records(
    args: &GenerateArgs,
    path: &Path,
    (usage, selector, mtype): (CertUsage, Selector, MatchingType),
    (families, now): (&dane_tlsa::CaFamilies, u64),
    notes: &mut Vec<String>,
) -> anyhow::Result<Vec<(String, TlsaRecord, Option<String>)>> {
    let label = format!("--cert {}", path.display());
    let bytes = read_input("--cert", path, false)?;
    let chain = dane_tlsa::parse_certificates(&bytes).with_context(|| label.clone())?;
    // (record, the certificate it designates when it is a CA's)
    let mut made: Vec<(
        TlsaRecord,
        Option<rustls_pki_types::CertificateDer<'static>>,
    )> = Vec::new();
    if args.recommended {
        let records = dane_tlsa::recommended(&chain).with_context(|| label.clone())?;
        if records.len() < 2 {
            notes.push(format!(
                "{label}: no 2 1 1 record: the file holds only the leaf certificate, so its issuer is unknown; give the chain (leaf, then the intermediate CA) for the issuer's record"
            ));
        }
        // The issuer's record is the second: chain[1] (checked by `recommended`).
        for (i, r) in records.into_iter().enumerate() {
            made.push((r, (i == 1).then(|| chain[1].clone())));
        }
    } else {
        let ca_usage = matches!(usage, CertUsage::PkixTa | CertUsage::DaneTa);
        let issuer = if ca_usage {
            dane_tlsa::issuer(&chain).with_context(|| label.clone())?
        } else {
            None
        };
        let cert = issuer.unwrap_or_else(|| chain[0].clone());
        let record =
            dane_tlsa::generate(&Source::Certificate(cert.clone()), usage, selector, mtype)
                .with_context(|| label.clone())?;
        made.push((record, Some(cert)));
    }
    let mut out = Vec::new();
    for (record, cert) in made {
        let family = match &cert {
            Some(ca) => family_records(families, ca, &record, now, &label, notes),
            None => Vec::new(),
        };
        out.push((label.clone(), record, None));
        out.extend(
            family
                .into_iter()
                .map(|(f, id)| (label.clone(), f, Some(id))),
        );
    }
    Ok(out)
}

/// The records of the other members of `ca`'s issuer family (the family current at `now`)
/// when `record` is a DANE-TA record for a member, with a note saying so: a record for one
/// intermediate of a CA that issues from several at random breaks at a later renewal
/// (docs/issuer-families.md). Empty for anything else.
fn family_records(
    families: &dane_tlsa::CaFamilies,
    ca: &rustls_pki_types::CertificateDer<'_>,
    record: &TlsaRecord,
    now: u64,
    label: &str,
    notes: &mut Vec<String>,
) -> Vec<(TlsaRecord, String)> {
    if record.usage != CertUsage::DaneTa {
        return Vec::new();
    }
    // Found by the record's data, or by the certificate for digests the list lacks.
    let spki = dane_tlsa::certificate_spki(ca.as_ref())
        .ok()
        .and_then(|k| dane_tlsa::associate(&k, MatchingType::Sha256))
        .and_then(|d| <[u8; 32]>::try_from(d.as_slice()).ok());
    let advice = families.advise(std::slice::from_ref(record), spki.as_slice(), now);
    let Some(advice) = advice.into_iter().next() else {
        return Vec::new();
    };
    let mut note = format!(
        "{label}: {advice}; printing their records as well (issuer-family list {})",
        families.version()
    );
    if advice.missing.iter().any(|r| r.selector != record.selector)
        || record.matching_type != MatchingType::Sha256
    {
        note.push_str(
            "; the family's records are 2 1 1: a CA can have several certificates for one key, and the list holds SHA-256 digests",
        );
    }
    notes.push(note);
    let id = advice.current.id.clone();
    advice
        .missing
        .into_iter()
        .map(|r| (r, id.clone()))
        .collect()
}

/// Strips the "line 1: " of a single-record syntax error: the flag already says where.
fn single_record_error(e: dane_tlsa::Error) -> String {
    match e {
        dane_tlsa::Error::RecordSyntax { reason, .. } => reason,
        other => other.to_string(),
    }
}

fn load_records(args: &MatchArgs) -> anyhow::Result<Vec<TlsaRecord>> {
    let mut records = Vec::new();
    for text in &args.record {
        let shown = term::sanitize(text);
        let r = TlsaRecord::parse(text)
            .map_err(|e| anyhow::anyhow!("--record {shown:?}: {}", single_record_error(e)))?;
        if let Err(why) = r.usability() {
            bail!(
                "--record {shown:?}: {why} (records given with --record must be usable; \
                 a --records file reports such records as unusable instead)"
            );
        }
        records.push(r);
    }
    if let Some(path) = &args.records {
        let fragment = read_zone_fragment("--records", path)?;
        records.extend(records_of_owner(
            &fragment,
            args.owner.as_deref(),
            &path.display().to_string(),
        )?);
    }
    // RFC 4034 6.3: the set in canonical order, as `dane verify` reports it, so a record
    // has the same number whichever order it was given in.
    dane_check::records::canonical_order(&mut records);
    Ok(records)
}

/// The records of a fragment to match: those of `owner` when given (an error if it has
/// none), else all of them, with a warning on stderr when they belong to several owners
/// (one chain is served at one owner: a set spanning owners is rarely what is meant).
fn records_of_owner(
    fragment: &dane_tlsa::ZoneFragment,
    owner: Option<&str>,
    label: &str,
) -> anyhow::Result<Vec<TlsaRecord>> {
    let fq = |o: &str| dane_check::dns::fqdn(o);
    let mut owners: Vec<String> = fragment
        .entries
        .iter()
        .filter_map(|e| e.owner.as_deref().map(fq))
        .collect();
    owners.sort();
    owners.dedup();
    if let Some(wanted) = owner {
        let wanted = fq(wanted);
        let picked: Vec<TlsaRecord> = fragment
            .entries
            .iter()
            .filter(|e| e.owner.as_deref().map(fq).as_deref() == Some(wanted.as_str()))
            .map(|e| e.record.clone())
            .collect();
        if picked.is_empty() {
            bail!(
                "--owner {}: no record of {label} has this owner (owners: {})",
                term::sanitize(&wanted),
                term::sanitize(&owners.join(", "))
            );
        }
        return Ok(picked);
    }
    if owners.len() > 1 {
        eprintln!(
            "dane: warning: --records {label}: records of {} owners ({}) are matched as one set; pick one with --owner",
            owners.len(),
            term::sanitize(&owners.join(", "))
        );
    }
    Ok(fragment.records())
}

/// Reads a zone-file fragment of TLSA records (`-` is stdin): an error when the file
/// cannot be read, is not UTF-8, does not parse, or holds no TLSA record.
pub(crate) fn read_zone_fragment(
    flag: &str,
    path: &Path,
) -> anyhow::Result<dane_tlsa::ZoneFragment> {
    let bytes = read_input(flag, path, true)?;
    let label = path.display();
    let text = std::str::from_utf8(&bytes)
        .map_err(|e| anyhow::anyhow!("{flag} {label}: not UTF-8 text: {e}"))?;
    let fragment = dane_tlsa::parse_zone(text).with_context(|| format!("{flag} {label}"))?;
    if fragment.entries.is_empty() {
        bail!("{flag} {label}: no TLSA records found");
    }
    Ok(fragment)
}

#[derive(Debug, Serialize)]
struct MatchDoc<'a> {
    version: u32,
    at: String,
    reference_ids: &'a [String],
    #[serde(flatten)]
    report: &'a MatchReport,
}

pub(crate) use dane_render::shown_data;

fn match_records(args: &MatchArgs, ctx: &Context) -> anyhow::Result<Exit> {
    let now = ctx.now(args.at.as_deref())?;
    for name in &args.name {
        dane_tlsa::normalize_host(name).with_context(|| format!("--name {name:?}"))?;
    }
    let records = load_records(args)?;
    let chain_bytes = read_input("--chain", &args.chain, false)?;
    let chain = dane_tlsa::parse_certificates(&chain_bytes)
        .with_context(|| format!("--chain {}", args.chain.display()))?;
    let options = MatchOptions {
        reference_ids: args.name.clone(),
        smtp: args.smtp,
        pkix: pkix_verdict(args, &chain, now)?,
    };
    let report = dane_tlsa::match_chain(&records, &chain, &options, now)
        .with_context(|| format!("--chain {}", args.chain.display()))?;
    let exit = match report.verdict {
        Verdict::Authenticated => Exit::Ok,
        Verdict::NotAuthenticated => Exit::Failure,
    };
    let mut stdout = std::io::stdout().lock();
    if args.json {
        let doc = MatchDoc {
            version: 1,
            at: clock::format_time(now),
            reference_ids: &args.name,
            report: &report,
        };
        writeln!(stdout, "{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(exit);
    }
    let set: Vec<TlsaRecord> = report.records.iter().map(|o| o.record.clone()).collect();
    let shown = shown_data(&set, |i| report.records[i].status == RecordStatus::Matched);
    let rows: Vec<[String; 5]> = report
        .records
        .iter()
        .zip(shown)
        .map(|(o, data)| {
            let r = &o.record;
            [
                (o.index + 1).to_string(),
                format!(
                    "{} {} {} {data}",
                    r.usage.value(),
                    r.selector.value(),
                    r.matching_type.value(),
                ),
                status_word(o.status).to_owned(),
                o.depth.map_or_else(|| "-".to_owned(), |d| d.to_string()),
                term::sanitize(&o.detail).into_owned(),
            ]
        })
        .collect();
    let header = ["#", "RECORD", "STATUS", "DEPTH", "DETAIL"];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    writeln!(
        stdout,
        "{:<w0$}  {:<w1$}  {:<w2$}  {:<w3$}  {}",
        header[0],
        header[1],
        header[2],
        header[3],
        header[4],
        w0 = widths[0],
        w1 = widths[1],
        w2 = widths[2],
        w3 = widths[3]
    )?;
    for (row, o) in rows.iter().zip(&report.records) {
        let status = format!("{:<w$}", row[2], w = widths[2]);
        writeln!(
            stdout,
            "{:<w0$}  {:<w1$}  {}  {:<w3$}  {}",
            row[0],
            row[1],
            term::paint(ctx.color, status_colour(o.status), &status),
            row[3],
            row[4],
            w0 = widths[0],
            w1 = widths[1],
            w3 = widths[3]
        )?;
    }
    let verdict = match report.verdict {
        Verdict::Authenticated => term::paint(ctx.color, "32", "authenticated"),
        Verdict::NotAuthenticated => term::paint(ctx.color, "31", "NOT authenticated"),
    };
    writeln!(stdout, "{verdict}: {}", term::sanitize(&report.reason))?;
    Ok(exit)
}

/// The operating system CA bundles `--system-roots` looks for, in order (Debian and
/// derivatives, Fedora and RHEL, BSDs and macOS).
const SYSTEM_BUNDLES: [&str; 3] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
];

/// The PKIX verdict for usages 0 and 1 (`--ca-file`, `--system-roots`): dane-probe's
/// validation of the chain for the first `--name` at `now`; not evaluated without either.
fn pkix_verdict(
    args: &MatchArgs,
    chain: &[rustls_pki_types::CertificateDer<'static>],
    now: rustls_pki_types::UnixTime,
) -> anyhow::Result<dane_tlsa::Pkix> {
    let (flag, path) = match (&args.ca_file, args.system_roots) {
        (Some(path), _) => ("--ca-file", path.clone()),
        (None, true) => (
            "--system-roots",
            SYSTEM_BUNDLES
                .iter()
                .map(PathBuf::from)
                .find(|p| p.is_file())
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "--system-roots: no CA bundle found (looked for {}); use --ca-file FILE",
                        SYSTEM_BUNDLES.join(", ")
                    )
                })?,
        ),
        (None, false) => return Ok(dane_tlsa::Pkix::NotEvaluated),
    };
    let Some(name) = args.name.first() else {
        bail!("{flag} needs --name: PKIX validation checks the leaf against a name");
    };
    let server_name = rustls_pki_types::ServerName::try_from(name.clone())
        .map_err(|e| anyhow::anyhow!("--name {:?}: {e}", term::sanitize(name)))?;
    let store = dane_probe::TrustStore::from_pem_file(&path)
        .with_context(|| format!("{flag} {}", path.display()))?;
    Ok(
        match dane_probe::verify_chain(chain, &server_name, &store, now) {
            // An empty path means the presented chain: PKIX-TA records are matched against
            // the certificates it holds (dane_tlsa::Pkix).
            dane_probe::PkixVerdict::Valid { .. } => {
                dane_tlsa::Pkix::Validated { path: Vec::new() }
            }
            dane_probe::PkixVerdict::Invalid { reason, .. } => dane_tlsa::Pkix::Failed { reason },
        },
    )
}

fn status_word(s: RecordStatus) -> &'static str {
    match s {
        RecordStatus::Matched => "matched",
        RecordStatus::Rejected => "rejected",
        RecordStatus::NotMatched => "not-matched",
        RecordStatus::Superseded => "superseded",
        RecordStatus::Unusable => "unusable",
        RecordStatus::NotEvaluated => "not-evaluated",
    }
}

fn status_colour(s: RecordStatus) -> &'static str {
    match s {
        RecordStatus::Matched => "32",
        RecordStatus::Rejected => "31",
        RecordStatus::Unusable | RecordStatus::Superseded | RecordStatus::NotEvaluated => "33",
        RecordStatus::NotMatched => "0",
    }
}
