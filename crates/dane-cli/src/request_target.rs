//! The request-target of a `dane serve-metrics` request, checked and split into a path and
//! decoded query parameters. A plain function of a string (std only, no HTTP library), so
//! that it can be fuzzed on its own; hyper has already parsed the request line around it.

/// A request-target in origin form: the path and the decoded query parameters, in order.
#[derive(Debug, PartialEq, Eq)]
pub struct RequestTarget {
    /// The path, as sent (not decoded: only exact paths are served).
    pub path: String,
    /// The query parameters, percent-decoded; each name at most once.
    pub params: Vec<(String, String)>,
}

/// Why a request-target is refused: the HTTP status and a one-line reason.
#[derive(Debug, PartialEq, Eq)]
pub struct Refused {
    /// The status to answer with (400).
    pub status: u16,
    /// What is wrong, for the response body.
    pub reason: String,
}

fn bad(reason: impl Into<String>) -> Refused {
    Refused {
        status: 400,
        reason: reason.into(),
    }
}

/// Most query parameters accepted (the documented ones number four).
pub const MAX_PARAMS: usize = 16;

/// Strict percent-decoding (RFC 3986 2.1) of a query component, `+` as space (HTML form
/// encoding, which Prometheus uses); the result must be UTF-8.
fn decode(component: &str) -> Result<String, Refused> {
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
                    .ok_or_else(|| bad("bad percent-encoding"))?;
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
    String::from_utf8(out).map_err(|_| bad("a parameter is not UTF-8 once decoded"))
}

/// Checks a request-target and splits it. Origin form only (RFC 9112 3.2.1): absolute
/// URLs (proxy requests), authority form and `*` are refused. A parameter given twice is
/// refused rather than guessed at.
pub fn parse(target: &str) -> Result<RequestTarget, Refused> {
    if !target.starts_with('/') {
        return Err(bad("the request target must be a path"));
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    // RFC 3986 3.5: a fragment is never sent; one here is a malformed target.
    if target.contains('#') {
        return Err(bad("the request target has a fragment"));
    }
    let mut params: Vec<(String, String)> = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        if params.len() == MAX_PARAMS {
            return Err(bad("too many parameters"));
        }
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (decode(k)?, decode(v)?);
        if params.iter().any(|(seen, _)| *seen == k) {
            return Err(bad(format!("parameter {k:?} given twice")));
        }
        params.push((k, v));
    }
    Ok(RequestTarget {
        path: path.to_owned(),
        params,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The path and parameters expected, or what the refusal says.
    type Expected<'a> = Result<(&'a str, &'a [(&'a str, &'a str)]), &'a str>;

    fn check(target: &str, expected: Expected<'_>) {
        let got = parse(target);
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
                assert_eq!(e.status, 400, "{target}");
                assert!(e.reason.contains(says), "{target}: {}", e.reason);
            }
        }
    }

    #[test]
    fn targets() {
        check("/", Ok(("/", &[])));
        check("/metrics", Ok(("/metrics", &[])));
        check(
            "/probe?target=nx%2Etest&module=smtp",
            Ok(("/probe", &[("target", "nx.test"), ("module", "smtp")])),
        );
        check("/probe?a+b=c+d&&", Ok(("/probe", &[("a b", "c d")])));
        check("/probe?flag", Ok(("/probe", &[("flag", "")])));
        check("/probe?x=%C3%BC", Ok(("/probe", &[("x", "ü")])));
        check("http://evil.example/probe", Err("must be a path"));
        check("*", Err("must be a path"));
        check("evil.example:443", Err("must be a path"));
        check("", Err("must be a path"));
        check("/probe?target=x#frag", Err("fragment"));
        check("/probe?target=%zz", Err("bad percent-encoding"));
        check("/probe?target=%4", Err("bad percent-encoding"));
        check("/probe?target=%+4", Err("bad percent-encoding"));
        check("/probe?target=%-1", Err("bad percent-encoding"));
        check("/probe?target=%ff%fe", Err("not UTF-8"));
        check("/probe?target=a&target=b", Err("given twice"));
        check("/probe?target=a&targe%74=b", Err("given twice"));
        let many: String = (0..17).map(|i| format!("p{i}=v&")).collect();
        check(&format!("/probe?{many}"), Err("too many parameters"));
    }
}
