//! Root hints (RFC 8109): the names and addresses of the root servers that iteration starts
//! from. The IANA hints are embedded (`named.root`); a hints file in the same zone-file form
//! replaces them (`--root-hints FILE`: a private root, as in the interop environment).

use std::net::IpAddr;
use std::str::FromStr as _;

use hickory_proto::rr::Name;

/// The IANA root hints file, as embedded.
pub const IANA_NAMED_ROOT: &str = include_str!("named.root");

/// Most root server addresses taken from a hints file (the IANA file has 26).
pub const MAX_ROOT_ADDRESSES: usize = 64;

/// The root servers to start iterating from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootHints {
    /// The servers' addresses, in file order.
    pub addresses: Vec<IpAddr>,
}

impl RootHints {
    /// The IANA root servers (13 names, an IPv4 and an IPv6 address each).
    pub fn iana() -> RootHints {
        // The embedded file is checked by a unit test; should it ever not parse, iteration
        // has no server to ask and says so (never a panic).
        RootHints::parse(IANA_NAMED_ROOT).unwrap_or(RootHints {
            addresses: Vec::new(),
        })
    }

    /// Reads a hints file: `.  NS name` lines and `name A|AAAA address` lines (TTL and
    /// class optional, `;` comments). Only addresses of names that `.` lists as NS count.
    pub fn parse(text: &str) -> Result<RootHints, String> {
        let mut ns: Vec<Name> = Vec::new();
        let mut addrs: Vec<(Name, IpAddr)> = Vec::new();
        for (n, raw) in text.lines().enumerate() {
            let line = raw.split(';').next().unwrap_or("").trim();
            if line.is_empty() || line.starts_with('$') {
                continue;
            }
            let fields: Vec<&str> = line.split_whitespace().collect();
            let bad = |what: &str| format!("line {}: {what}: {line:?}", n + 1);
            let owner = Name::from_str(fields[0]).map_err(|e| bad(&format!("owner name ({e})")))?;
            // owner [TTL] [IN] TYPE VALUE
            let mut rest = &fields[1..];
            if rest
                .first()
                .is_some_and(|f| f.chars().all(|c| c.is_ascii_digit()))
            {
                rest = &rest[1..];
            }
            if rest.first().is_some_and(|f| f.eq_ignore_ascii_case("IN")) {
                rest = &rest[1..];
            }
            let [rtype, value] = rest else {
                return Err(bad("expected OWNER [TTL] [IN] TYPE VALUE"));
            };
            match rtype.to_ascii_uppercase().as_str() {
                "NS" if owner.is_root() => {
                    ns.push(Name::from_str(value).map_err(|e| bad(&format!("NS name ({e})")))?)
                }
                "NS" => return Err(bad("an NS record for a name other than the root")),
                "A" | "AAAA" => {
                    let ip = IpAddr::from_str(value).map_err(|e| bad(&format!("address ({e})")))?;
                    if (rtype.eq_ignore_ascii_case("A")) != ip.is_ipv4() {
                        return Err(bad("the address is not of the record's family"));
                    }
                    addrs.push((owner, ip));
                }
                _ => return Err(bad("only NS, A and AAAA records belong in root hints")),
            }
        }
        let addresses: Vec<IpAddr> = addrs
            .into_iter()
            .filter(|(name, _)| ns.contains(name))
            .map(|(_, ip)| ip)
            .take(MAX_ROOT_ADDRESSES)
            .collect();
        if addresses.is_empty() {
            return Err("no address for any NS of the root".into());
        }
        Ok(RootHints { addresses })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_iana_hints_parse() {
        let h = RootHints::parse(IANA_NAMED_ROOT).unwrap();
        assert_eq!(h.addresses.len(), 26);
        assert_eq!(h.addresses.iter().filter(|a| a.is_ipv6()).count(), 13);
        assert_eq!(h.addresses[0], "198.41.0.4".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn hints_files() {
        let interop = ". 3600000 NS ns.test.\nns.test. 3600000 A 192.0.2.53\n";
        assert_eq!(
            RootHints::parse(interop).unwrap().addresses,
            vec!["192.0.2.53".parse::<IpAddr>().unwrap()]
        );
        let v6 = ". NS ns.test.\nns.test. IN AAAA 2001:db8::53 ; comment\n";
        assert_eq!(RootHints::parse(v6).unwrap().addresses.len(), 1);
        for (bad, why) in [
            ("", "no address"),
            (". NS ns.test.\nother.test. A 192.0.2.1\n", "no address"),
            (". NS ns.test.\nns.test. A 2001:db8::1\n", "family"),
            (". NS ns.test.\nns.test. MX 10 x.\n", "expected OWNER"),
            (". NS ns.test.\nns.test. TXT x\n", "only NS, A and AAAA"),
            ("test. NS ns.test.\n", "other than the root"),
            (". NS ns.test.\nns.test. A 999.1.1.1\n", "address"),
        ] {
            let e = RootHints::parse(bad).unwrap_err();
            assert!(e.contains(why), "{bad:?}: {e}");
        }
    }
}
