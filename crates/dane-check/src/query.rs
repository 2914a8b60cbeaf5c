//! What a caller asks dane to check, as text from outside: a line of a `dane scan` input
//! file, and the request target of a `dane serve-metrics` `/probe` request (path and query
//! parameters). Both end in a normalised domain and a [`Service`].
//!
//! These parsers take untrusted text (a file, the network): they never panic and every
//! error is a one-line reason. Error messages quote the offending text with `{:?}`; the
//! CLI still sanitises them before they reach a terminal.

use dane_probe::Protocol;

use crate::service::{self, Service};

/// One target of a `dane scan` input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The domain (or host, for `host:port`), normalised, without the trailing dot.
    pub domain: String,
    /// The service.
    pub service: Service,
    /// The target as written back: `domain service` or `host:port service`.
    pub key: String,
}

/// Parses one `dane scan` input line: `DOMAIN`, `DOMAIN SERVICE` or `HOST:PORT SERVICE`,
/// `#` comments; `Ok(None)` for blank lines and comments.
pub fn parse_line(line: &str) -> Result<Option<Target>, String> {
    let content = line.split('#').next().unwrap_or("");
    let words: Vec<&str> = content.split_whitespace().collect();
    let (first, service_word) = match words.as_slice() {
        [] => return Ok(None),
        [first] => (*first, None),
        [first, service] => (*first, Some(*service)),
        _ => {
            return Err(format!(
                "expected `DOMAIN [SERVICE]` or `HOST:PORT SERVICE`, found {} words",
                words.len()
            ));
        }
    };
    let named = |word: &str| {
        service::by_name(word).ok_or_else(|| {
            let names: Vec<&str> = service::SERVICES.iter().map(|s| s.name).collect();
            format!("unknown service {word:?} (one of {})", names.join(", "))
        })
    };
    let host = |word: &str| dane_tlsa::normalize_host(word).map_err(|e| e.to_string());
    if let Some((h, port)) = first.rsplit_once(':') {
        let port: u16 = port
            .parse()
            .ok()
            .filter(|&p| p != 0)
            .ok_or_else(|| format!("{port:?}: not a port (1-65535)"))?;
        let Some(word) = service_word else {
            return Err(format!(
                "{first:?}: HOST:PORT needs a SERVICE (the protocol to speak)"
            ));
        };
        let named = named(word)?;
        let domain = host(h)?;
        return Ok(Some(Target {
            key: format!("{domain}:{port} {}", named.name),
            domain,
            service: service::custom(port, named.protocol),
        }));
    }
    let service = named(service_word.unwrap_or("smtp"))?;
    let domain = host(first)?;
    Ok(Some(Target {
        key: format!("{domain} {}", service.name),
        domain,
        service,
    }))
}

/// An HTTP request target in origin form (RFC 9112 3.2.1): the path and the decoded
/// query parameters, each name at most once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestTarget {
    /// The path (`/probe`), as sent.
    pub path: String,
    /// The query parameters, percent-decoded, in order.
    pub params: Vec<(String, String)>,
}

/// Most query parameters accepted (the documented ones number four).
pub const MAX_PARAMS: usize = 16;

/// Strict percent-decoding (RFC 3986 2.1) of a query component, `+` as space (HTML form
/// encoding, which Prometheus uses); the result must be UTF-8.
fn decode(component: &str) -> Result<String, String> {
    let bytes = component.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit()))
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or("bad percent-encoding")?;
                out.push(hex);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| "a parameter is not UTF-8 once decoded".to_owned())
}

/// Checks an HTTP request-target (what `dane serve-metrics` is asked for) and splits it
/// into the path and the decoded query parameters. Origin form only (RFC 9112 3.2.1): absolute
/// URLs (proxy requests), authority form and `*` are refused. A parameter given twice is
/// refused rather than guessed at.
pub fn parse_request_target(target: &str) -> Result<RequestTarget, String> {
    if !target.starts_with('/') {
        return Err("the request target must be a path".into());
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    // RFC 3986 3.5: a fragment is never sent; one here is a malformed target.
    if target.contains('#') {
        return Err("the request target has a fragment".into());
    }
    let mut params: Vec<(String, String)> = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        if params.len() == MAX_PARAMS {
            return Err("too many parameters".into());
        }
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (decode(k)?, decode(v)?);
        if params.iter().any(|(seen, _)| *seen == k) {
            return Err(format!("parameter {k:?} given twice"));
        }
        params.push((k, v));
    }
    Ok(RequestTarget {
        path: path.to_owned(),
        params,
    })
}

/// What a `/probe` request asks to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeQuery {
    /// The domain, normalised.
    pub domain: String,
    /// The service (named, or a custom port and protocol).
    pub service: Service,
}

/// Validates the `/probe` parameters: `target`, `module` (the blackbox exporter's name) or
/// its synonym `service`, and with `allow_ports` also `port` and `starttls`.
pub fn probe_query(params: &[(String, String)], allow_ports: bool) -> Result<ProbeQuery, String> {
    let mut target = None;
    let mut module = None;
    let mut port = None;
    let mut starttls = None;
    for (k, v) in params {
        match k.as_str() {
            "target" => target = Some(v),
            "module" | "service" if module.is_some() => {
                return Err("give module or service, not both".into());
            }
            "module" | "service" => module = Some((k.as_str(), v)),
            "port" | "starttls" if !allow_ports => {
                return Err(format!("parameter {k:?} needs --allow-ports"));
            }
            "port" => port = Some(v),
            "starttls" => starttls = Some(v),
            other => {
                return Err(format!(
                    "unknown parameter {other:?} (target, module{})",
                    if allow_ports { ", port, starttls" } else { "" }
                ));
            }
        }
    }
    let target = target.ok_or("missing parameter \"target\"")?;
    let domain = dane_tlsa::normalize_host(target).map_err(|e| format!("target: {e}"))?;
    let service = match (port, starttls) {
        (None, None) => {
            let (param, name) = module.map_or(("module", "smtp"), |(k, v)| (k, v.as_str()));
            service::by_name(name).ok_or_else(|| {
                let names: Vec<&str> = service::SERVICES.iter().map(|s| s.name).collect();
                format!("unknown {param} {name:?} (one of {})", names.join(", "))
            })?
        }
        (Some(p), proto) => {
            if let Some((param, _)) = module {
                return Err(format!("give {param} or port, not both"));
            }
            let port: u16 = p
                .parse()
                .ok()
                .filter(|&p| p != 0)
                .ok_or_else(|| format!("port {p:?}: not 1-65535"))?;
            let protocol = match proto.map_or("none", String::as_str) {
                "smtp" => Protocol::Smtp,
                "imap" => Protocol::Imap,
                "pop3" => Protocol::Pop3,
                "xmpp-client" => Protocol::XmppClient,
                "xmpp-server" => Protocol::XmppServer,
                "none" => Protocol::Tls,
                other => return Err(format!("unknown starttls {other:?}")),
            };
            service::custom(port, protocol)
        }
        (None, Some(_)) => return Err("starttls needs port".into()),
    };
    Ok(ProbeQuery { domain, service })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(line: &str, expected: Result<Option<(&str, &str, u16, &str)>, &str>) {
        let got = parse_line(line);
        match (got, expected) {
            (Ok(None), Ok(None)) => {}
            (Ok(Some(t)), Ok(Some((domain, service, port, key)))) => {
                assert_eq!(
                    (
                        t.domain.as_str(),
                        t.service.name,
                        t.service.port,
                        t.key.as_str()
                    ),
                    (domain, service, port, key),
                    "{line:?}"
                );
            }
            (Err(e), Err(says)) => assert!(e.contains(says), "{line:?}: {e}"),
            (got, expected) => panic!("{line:?}: got {got:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn input_lines() {
        check("", Ok(None));
        check("   # only a comment", Ok(None));
        check(
            "Example.COM.",
            Ok(Some(("example.com", "smtp", 25, "example.com smtp"))),
        );
        check(
            "example.com xmpp-server # note",
            Ok(Some((
                "example.com",
                "xmpp-server",
                5269,
                "example.com xmpp-server",
            ))),
        );
        check(
            "mail.example.com:2525 smtp",
            Ok(Some((
                "mail.example.com",
                "custom",
                2525,
                "mail.example.com:2525 smtp",
            ))),
        );
        check(
            "\texample.com\t https ",
            Ok(Some(("example.com", "https", 443, "example.com https"))),
        );
        check("a b c", Err("found 3 words"));
        check("example.com gopher", Err("unknown service \"gopher\""));
        check(
            "example.com go\x1bpher",
            Err("unknown service \"go\\u{1b}pher\""),
        );
        check("mail.example.com:2525", Err("needs a SERVICE"));
        check("mail.example.com:0 smtp", Err("not a port"));
        check("mail.example.com:99999 smtp", Err("not a port"));
        check("bad..name", Err("empty label"));
        check("[2001:db8::1]:25 smtp", Err("invalid DNS name"));
    }

    fn probe(target: &str, allow_ports: bool) -> Result<(String, &'static str, u16), String> {
        let t = parse_request_target(target)?;
        assert_eq!(t.path, "/probe");
        let q = probe_query(&t.params, allow_ports)?;
        Ok((q.domain, q.service.name, q.service.port))
    }

    #[test]
    fn request_targets() {
        assert_eq!(
            probe("/probe?target=Example.COM.", false),
            Ok(("example.com".into(), "smtp", 25))
        );
        assert_eq!(
            probe("/probe?target=example.com&service=imap", false),
            Ok(("example.com".into(), "imap", 143))
        );
        assert_eq!(
            probe("/probe?target=h.example&port=2525&starttls=smtp", true),
            Ok(("h.example".into(), "custom", 2525))
        );
        assert_eq!(
            probe("/probe?target=%65xample.com&&", false),
            Ok(("example.com".into(), "smtp", 25))
        );
        for (target, allow, says) in [
            ("http://x/probe?target=a", false, "must be a path"),
            ("/probe?target=a%zz", false, "bad percent-encoding"),
            ("/probe?target=a%", false, "bad percent-encoding"),
            ("/probe?target=%ff", false, "not UTF-8"),
            ("/probe?target=a&target=b", false, "given twice"),
            ("/probe?service=smtp", false, "missing parameter"),
            ("/probe?target=a&x=1", false, "unknown parameter \"x\""),
            ("/probe?target=a&port=25", false, "needs --allow-ports"),
            ("/probe?target=a&port=0", true, "not 1-65535"),
            ("/probe?target=a&port=25&service=smtp", true, "not both"),
            (
                "/probe?target=a&module=smtp&service=smtp",
                false,
                "not both",
            ),
            ("/probe?target=a&starttls=smtp", true, "starttls needs port"),
            (
                "/probe?target=a&port=25&starttls=gopher",
                true,
                "unknown starttls",
            ),
            ("/probe?target=a&service=gopher", false, "unknown service"),
            ("/probe?target=bad..name", false, "target: "),
        ] {
            let e = probe(target, allow).unwrap_err();
            assert!(e.contains(says), "{target}: {e}");
        }
    }

    /// The path and parameters expected, or what the refusal says.
    type Expected<'a> = Result<(&'a str, &'a [(&'a str, &'a str)]), &'a str>;

    fn check_target(target: &str, expected: Expected<'_>) {
        let got = parse_request_target(target);
        match expected {
            Ok((path, params)) => {
                let got = got.unwrap_or_else(|e| panic!("{target}: {e:?}"));
                assert_eq!(got.path, path, "{target}");
                let params: Vec<(String, String)> = params
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect();
                assert_eq!(got.params, params, "{target}");
            }
            Err(says) => {
                let e = got.expect_err(target);
                assert!(e.contains(says), "{target}: {e}");
            }
        }
    }

    #[test]
    fn request_target_table() {
        check_target("/", Ok(("/", &[])));
        check_target("/metrics", Ok(("/metrics", &[])));
        check_target(
            "/probe?target=nx%2Etest&module=smtp",
            Ok(("/probe", &[("target", "nx.test"), ("module", "smtp")])),
        );
        check_target("/probe?a+b=c+d&&", Ok(("/probe", &[("a b", "c d")])));
        check_target("/probe?flag", Ok(("/probe", &[("flag", "")])));
        check_target("/probe?x=%C3%BC", Ok(("/probe", &[("x", "ü")])));
        check_target("http://evil.example/probe", Err("must be a path"));
        check_target("*", Err("must be a path"));
        check_target("evil.example:443", Err("must be a path"));
        check_target("", Err("must be a path"));
        check_target("/probe?target=x#frag", Err("fragment"));
        check_target("/probe?target=%zz", Err("bad percent-encoding"));
        check_target("/probe?target=%4", Err("bad percent-encoding"));
        check_target("/probe?target=%+4", Err("bad percent-encoding"));
        check_target("/probe?target=%-1", Err("bad percent-encoding"));
        check_target("/probe?target=%ff%fe", Err("not UTF-8"));
        check_target("/probe?target=a&target=b", Err("given twice"));
        check_target("/probe?target=a&targe%74=b", Err("given twice"));
        let many: String = (0..17).map(|i| format!("p{i}=v&")).collect();
        check_target(&format!("/probe?{many}"), Err("too many parameters"));
    }
}
