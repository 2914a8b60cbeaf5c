//! `dane dnssec NAME [TYPE]`: look a name up with DNSSEC validation of our own, from the
//! trust anchors down, and show the answer, the verdict and every step of the chain.

use std::path::PathBuf;
use std::str::FromStr;

use anyhow::{Context as _, bail};
use dane_dnssec::{Outcome, Verdict};
use hickory_proto::rr::{Name, RecordType};

use crate::clock::format_time;
use crate::term::sanitize;
use crate::{Context, Exit};

/// `dane dnssec` arguments.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: 0 secure (also a secure proof of non-existence), \
1 bogus, 3 indeterminate (no answer, SERVFAIL, no trust anchor), 4 insecure, 2 usage or input error.

Examples:
  dane dnssec example.com MX
  dane dnssec _25._tcp.mx1.example.com TLSA --json
  dane dnssec example.com DNSKEY --at 2026-06-01T00:00:00Z --iterate"
)]
pub struct Args {
    /// The name to look up (absolute or not; `example.com` means `example.com.`).
    pub name: String,

    /// The record type (A, AAAA, MX, TLSA, DS, DNSKEY, TXT, ...).
    #[arg(default_value = "A")]
    pub rtype: String,

    /// A recursive resolver to ask (repeatable; tried in order). Default: /etc/resolv.conf.
    #[arg(long = "resolver", value_name = "ADDR[:PORT]")]
    pub resolvers: Vec<String>,

    /// Trust anchors replacing the built-in IANA root anchors: DS or DNSKEY lines in
    /// zone-file syntax, or a BIND `trust-anchors { };` clause.
    #[arg(long, value_name = "FILE")]
    pub trust_anchor: Option<PathBuf>,

    /// --iterate, --no-iterate, --root-hints.
    #[command(flatten)]
    pub resolution: crate::resolve::ResolutionOpts,

    /// Validate signatures as of this time (RFC 3339, YYYY-MM-DD or @SECONDS).
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,

    /// Validate from a saved run (`dane verify --save-evidence FILE`) instead of asking:
    /// offline, with the run's anchors (or --trust-anchor) at the run's time (or --at).
    /// NAME and TYPE must be a question that run asked.
    #[arg(long, value_name = "FILE", conflicts_with = "resolvers")]
    pub evidence: Option<PathBuf>,

    /// Output: text, json (one document with the full trace), or a picture of the chain of
    /// trust: dot (Graphviz DOT), svg or html (drawn by dane itself, no Graphviz needed).
    #[arg(long, value_enum, value_name = "FORMAT", default_value = "text")]
    pub format: Format,

    /// One JSON document with the full trace (the same as --format json).
    #[arg(long, conflicts_with = "format")]
    pub json: bool,

    /// Write the result to FILE instead of stdout, atomically (a temporary file in its
    /// directory, renamed over it) whatever the verdict; an error (exit 2) leaves FILE as
    /// it was.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

use dane_render::json::DnssecDoc as Doc;

/// `dane dnssec --format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// One JSON document with the full trace.
    Json,
    /// The chain of trust as a Graphviz DOT document (docs/picture.md).
    Dot,
    /// The picture laid out and drawn as SVG by dane itself.
    Svg,
    /// One self-contained HTML file: the picture, the text and the JSON document.
    Html,
}

impl Args {
    fn format(&self) -> Format {
        if self.json { Format::Json } else { self.format }
    }
}

fn parse_name(text: &str) -> anyhow::Result<Name> {
    let t = text.trim();
    if t.is_empty() {
        bail!("empty name");
    }
    let mut name =
        Name::from_utf8(t).with_context(|| format!("name {t:?} is not a valid DNS name"))?;
    name.set_fqdn(true);
    Ok(name)
}

fn parse_type(text: &str) -> anyhow::Result<RecordType> {
    let upper = text.trim().to_ascii_uppercase();
    let rtype = if let Some(n) = upper.strip_prefix("TYPE") {
        RecordType::from(
            n.parse::<u16>()
                .with_context(|| format!("record type {text:?}"))?,
        )
    } else {
        RecordType::from_str(&upper).map_err(|_| {
            anyhow::anyhow!(
                "unknown record type {text:?} (try A, AAAA, MX, TLSA, DS, DNSKEY, TXT or TYPEnnn)"
            )
        })?
    };
    if matches!(
        rtype,
        RecordType::ANY | RecordType::AXFR | RecordType::IXFR | RecordType::OPT | RecordType::RRSIG
    ) {
        bail!("record type {rtype} cannot be validated as an RRset");
    }
    Ok(rtype)
}

/// Runs `dane dnssec`.
pub fn run(args: &Args, ctx: &Context) -> anyhow::Result<Exit> {
    crate::output::check_path(args.output.as_deref())?;
    let name = parse_name(&args.name)?;
    let rtype = parse_type(&args.rtype)?;
    if let Some(path) = &args.evidence {
        return replay(args, ctx, path, &name, rtype);
    }
    let now = ctx.now(args.at.as_deref())?;
    // 2 s per exchange, 24 s per lookup (the resolver's defaults for an interactive run).
    let resolver = crate::resolve::resolver(
        &args.resolvers,
        args.trust_anchor.as_deref(),
        std::time::Duration::from_secs(8),
        &args.resolution,
    )?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    // The resolver capability check, once, before the lookup.
    let path = (*runtime.block_on(resolver.resolution(now))).clone();
    let resolution = dane_check::live::resolution(&path);
    let servers = match &path {
        dane_resolver::Resolution::Resolver { servers, .. } => servers.clone(),
        _ => resolver.config().servers.clone(),
    };
    let doc = |outcome, verdict, reason| Doc {
        version: 1,
        checked_at: format_time(now),
        servers: servers.iter().map(ToString::to_string).collect(),
        resolution: resolution.clone(),
        outcome,
        verdict,
        reason,
    };
    // A local fault (an unsuitable resolver, a budget or deadline hit) is indeterminate,
    // never bogus (issue 11), and is published like any verdict.
    let indeterminate = |why: String| -> anyhow::Result<String> {
        let text = format!(";; verdict: indeterminate: {}\n", sanitize(&why));
        match args.format() {
            Format::Json => json(&doc(None, Some("indeterminate"), Some(why))),
            Format::Text => Ok(text),
            f => {
                let json = json(&doc(None, Some("indeterminate"), Some(why.clone())))?;
                let dot = dane_render::dot::note(&format!("{name} {rtype}: indeterminate: {why}"));
                picture(
                    f,
                    &dot,
                    &format!("{name} {rtype}: indeterminate"),
                    &why,
                    &text,
                    &json,
                )
            }
        }
    };
    if let dane_resolver::Resolution::Unsuitable(u) = &path {
        crate::output::emit(args.output.as_deref(), &indeterminate(u.to_string())?)?;
        return Ok(Exit::Indeterminate);
    }
    let lookup = match runtime.block_on(resolver.lookup(&name, rtype, now)) {
        Ok(l) => l,
        Err(
            e @ (dane_resolver::Error::TooManyQueries { .. }
            | dane_resolver::Error::Deadline { .. }),
        ) => {
            let text = indeterminate(e.to_string())?;
            eprintln!("dane: {}", sanitize(&e.to_string()));
            crate::output::emit(args.output.as_deref(), &text)?;
            return Ok(Exit::Indeterminate);
        }
        Err(e) => return Err(e.into()),
    };
    let iterative = match &path {
        dane_resolver::Resolution::Iterative { reason } => Some(reason.as_str()),
        _ => None,
    };
    let text = outcome_text(args, ctx, &lookup.outcome, now, &doc, iterative)?;
    crate::output::emit(args.output.as_deref(), &text)?;
    Ok(exit_for(&lookup.outcome))
}

/// The exit code of a verdict.
fn exit_for(o: &Outcome) -> Exit {
    match o.verdict {
        Verdict::Secure => Exit::Ok,
        Verdict::Bogus(_) => Exit::Failure,
        Verdict::Indeterminate(_) => Exit::Indeterminate,
        Verdict::Insecure(_) => Exit::NotProtected,
    }
}

/// The outcome in the chosen format; `doc` makes the JSON document, `iterative` is why
/// the names were resolved from the root servers, when they were.
fn outcome_text<'a>(
    args: &Args,
    ctx: &Context,
    o: &'a Outcome,
    now: rustls_pki_types::UnixTime,
    doc: &dyn Fn(Option<&'a Outcome>, Option<&'static str>, Option<String>) -> Doc<'a>,
    iterative: Option<&str>,
) -> anyhow::Result<String> {
    // Serialise first, then write: a broken pipe stays an io::Error (quiet exit).
    let readable = |color: bool| {
        let mut text = dane_render::text::dnssec(o, &format_time(now), color);
        if let Some(reason) = iterative {
            text.push_str(&format!(
                ";; resolution: iterative from the root servers ({})\n",
                sanitize(reason)
            ));
        }
        text
    };
    Ok(match args.format() {
        Format::Json => json(&doc(Some(o), None, None))?,
        Format::Text => readable(ctx.color && args.output.is_none()),
        f => {
            let dot = dane_render::dot::dnssec(o, &format_time(now));
            let reason = o
                .reason
                .as_ref()
                .map(|r| r.detail.clone())
                .unwrap_or_default();
            picture(
                f,
                &dot,
                &format!("{} {}: {}", o.name, o.rtype, o.verdict.as_str()),
                &reason,
                &readable(false),
                &json(&doc(Some(o), None, None))?,
            )?
        }
    })
}

/// `--evidence FILE`: the question validated offline from a saved `dane verify` run.
fn replay(
    args: &Args,
    ctx: &Context,
    path: &std::path::Path,
    name: &Name,
    rtype: RecordType,
) -> anyhow::Result<Exit> {
    let label = format!("--evidence {}", path.display());
    let text = crate::input::read_bounded(&label, path, crate::verify::MAX_EVIDENCE)?;
    let bundle = dane_check::evidence::Bundle::from_json(&text)
        .map_err(|e| anyhow::anyhow!("{label}: {e}"))?;
    let now = match &args.at {
        Some(at) => crate::clock::parse_at(at)?,
        None => {
            rustls_pki_types::UnixTime::since_unix_epoch(std::time::Duration::from_secs(bundle.at))
        }
    };
    let anchors = match (&args.trust_anchor, &bundle.anchors) {
        (Some(p), _) => crate::input::read_anchors(p)?,
        (None, Some(text)) => dane_dnssec::TrustAnchors::parse(text)
            .map_err(|e| anyhow::anyhow!("{label}: the recorded trust anchors: {e}"))?,
        (None, None) => dane_dnssec::TrustAnchors::iana_root(),
    };
    let evidence = bundle
        .evidence()
        .map_err(|e| anyhow::anyhow!("{label}: {e}"))?;
    let limits = dane_dnssec::Limits::default();
    let outcome = match dane_dnssec::validate(&evidence, &anchors, name, rtype, now, &limits) {
        dane_dnssec::Step::Done(o) => *o,
        dane_dnssec::Step::Need(q) => bail!(
            "{label}: the recorded run has no answer for {} {} (it holds what `dane verify {}` asked)",
            q.name,
            q.rtype,
            sanitize(&bundle.domain)
        ),
    };
    let resolution = bundle
        .resolution
        .clone()
        .unwrap_or(dane_check::dns::Resolution {
            mode: "resolver".into(),
            reason: None,
            unsuitable: false,
        });
    let doc = |outcome, verdict, reason| Doc {
        version: 1,
        checked_at: format_time(now),
        servers: Vec::new(),
        resolution: resolution.clone(),
        outcome,
        verdict,
        reason,
    };
    let iterative =
        (resolution.mode == "iterative").then(|| resolution.reason.as_deref().unwrap_or(""));
    let text = outcome_text(args, ctx, &outcome, now, &doc, iterative)?;
    crate::output::emit(args.output.as_deref(), &text)?;
    Ok(exit_for(&outcome))
}

/// `--format dot|svg|html` of the picture `dot`: as DOT, or drawn in-process.
fn picture(
    format: Format,
    dot: &dane_render::dot::Picture,
    title: &str,
    reason: &str,
    text: &str,
    json: &str,
) -> anyhow::Result<String> {
    use dane_render::html;
    match format {
        Format::Svg => Ok(dot.svg()),
        Format::Html => {
            let svg = dot.svg_element();
            let pictures = [html::Picture {
                title: "the chain of trust".to_owned(),
                svg,
            }];
            Ok(html::page(title, reason, "", &pictures, text, json))
        }
        _ => Ok(dot.dot()),
    }
}

fn json(doc: &Doc<'_>) -> anyhow::Result<String> {
    Ok(dane_render::json::pretty(doc)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_types() {
        // hickory lowercases through IDNA (UTS 46) when reading UTF-8 names.
        assert_eq!(
            parse_name("Example.COM").unwrap().to_ascii(),
            "example.com."
        );
        assert_eq!(
            parse_name("b\u{fc}cher.example").unwrap().to_ascii(),
            "xn--bcher-kva.example."
        );
        assert!(parse_name("").is_err());
        assert!(parse_name("a..b").is_err());
        assert_eq!(parse_type("tlsa").unwrap(), RecordType::TLSA);
        assert_eq!(parse_type("TYPE52").unwrap(), RecordType::TLSA);
        assert!(parse_type("NOPE").is_err());
        assert!(parse_type("ANY").is_err());
        assert!(parse_type("TYPE99999").is_err());
    }
}
