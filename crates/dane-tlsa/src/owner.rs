//! TLSA owner names (RFC 6698 section 3) and DNS name normalisation.

use std::fmt;

use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};
use serde::Serialize;

use crate::error::Error;

/// Transport protocol label of a TLSA owner name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    /// `_tcp`
    Tcp,
    /// `_udp`
    Udp,
    /// `_sctp`
    Sctp,
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Sctp => "sctp",
        })
    }
}

/// Normalises a host name to its DNS form: IDN labels to A-labels (UTS #46, STD3 rules),
/// lowercase, without the trailing dot. Rejects empty labels, `*`, and over-long names.
pub fn normalize_host(name: &str) -> Result<String, Error> {
    let err = |reason: &str| Error::DnsName {
        name: name.to_owned(),
        reason: reason.to_owned(),
    };
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    if trimmed.is_empty() {
        return Err(err("empty name"));
    }
    if trimmed.split('.').any(str::is_empty) {
        return Err(err("empty label"));
    }
    let ascii = Uts46::new()
        .to_ascii(
            trimmed.as_bytes(),
            AsciiDenyList::STD3,
            Hyphens::CheckFirstLast,
            DnsLength::Verify,
        )
        .map_err(|_| err("not a valid host name (IDNA/STD3: letters, digits, hyphens)"))?;
    Ok(ascii.to_ascii_lowercase())
}

/// The TLSA owner name `_<port>._<proto>.<host>.` (RFC 6698 section 3), host normalised by
/// [`normalize_host`]: `tlsa_owner(25, Proto::Tcp, "MX1.Example.")` is
/// `_25._tcp.mx1.example.`.
pub fn tlsa_owner(port: u16, proto: Proto, host: &str) -> Result<String, Error> {
    let host = normalize_host(host)?;
    let owner = format!("_{port}._{proto}.{host}.");
    // RFC 1035 2.3.4: 255 octets on the wire, i.e. 253 characters without the root dot.
    if owner.len() > 254 {
        return Err(Error::DnsName {
            name: owner,
            reason: "longer than 253 characters".into(),
        });
    }
    Ok(owner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_names() {
        fn check(port: u16, proto: Proto, host: &str, expected: Result<&str, &str>) {
            match (tlsa_owner(port, proto, host), expected) {
                (Ok(got), Ok(want)) => assert_eq!(got, want),
                (Err(e), Err(part)) => assert!(e.to_string().contains(part), "{e}"),
                (got, want) => panic!("{host}: {got:?} vs {want:?}"),
            }
        }
        check(
            25,
            Proto::Tcp,
            "mx1.example.test",
            Ok("_25._tcp.mx1.example.test."),
        );
        check(
            25,
            Proto::Tcp,
            "MX1.Example.TEST.",
            Ok("_25._tcp.mx1.example.test."),
        );
        check(
            443,
            Proto::Udp,
            "bücher.example",
            Ok("_443._udp.xn--bcher-kva.example."),
        );
        check(
            5061,
            Proto::Sctp,
            "ÉXAMPLE.test",
            Ok("_5061._sctp.xn--xample-9ua.test."),
        );
        check(25, Proto::Tcp, "", Err("empty name"));
        check(25, Proto::Tcp, "a..b", Err("empty label"));
        check(25, Proto::Tcp, "*.example", Err("not a valid host name"));
        check(25, Proto::Tcp, "a b.example", Err("not a valid host name"));
        check(25, Proto::Tcp, "-bad.example", Err("not a valid host name"));
        let long = format!("{}.example", "a".repeat(63)).repeat(4);
        check(25, Proto::Tcp, &long, Err(""));
    }
}
