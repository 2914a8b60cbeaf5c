//! The address policy (ARCHITECTURE.md invariant 9): which addresses a name on the Internet
//! may make us send to. Pure: an address in, a decision out; no I/O.
//!
//! Iteration learns where to send queries from referrals (glue, name server addresses) and
//! the checker learns where to connect from MX, SRV and A/AAAA records: all of them chosen
//! by whoever controls a zone. Without a policy, a hostile zone points them at the checker's
//! own network (loopback, RFC 1918, link-local cloud metadata at 169.254.169.254, CGNAT),
//! and a long-running exporter becomes a scanner of its own network. By default
//! ([`AddressPolicy::PublicOnly`]) such addresses are refused: the IANA special-purpose
//! registries' ranges that are not globally reachable (RFC 6890 and its updates), plus
//! documentation and benchmarking ranges, and for IPv6 anything outside global unicast
//! `2000::/3`. What the operator configures (`--resolver`, the system resolver,
//! `--root-hints`, `--host`) is not subject to it; `--allow-private`
//! ([`AddressPolicy::AllowAll`]) turns it off (test environments live on such addresses).
//!
//! Unbound does the same for loopback only by default (`do-not-query-localhost: yes`) and
//! leaves private ranges to `private-address` (off by default); we refuse them all by default
//! because a checker that connects (not only queries) is a more useful tool for a scraper to
//! aim.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Whether addresses that the DNS hands us may be special-purpose ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AddressPolicy {
    /// Only globally reachable unicast addresses (the default).
    #[default]
    PublicOnly,
    /// Every address (`--allow-private`: test environments, private networks).
    AllowAll,
}

/// A special-purpose range an address fell into: why it was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpecialRange {
    /// The range (`127.0.0.0/8`).
    pub prefix: &'static str,
    /// What it is for (`loopback`).
    pub purpose: &'static str,
}

impl std::fmt::Display for SpecialRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.prefix, self.purpose)
    }
}

/// An address the policy refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "{address} is in {range}: a name on the Internet may not send us there (--allow-private allows it)"
)]
pub struct Refused {
    /// The address.
    pub address: IpAddr,
    /// The range it is in.
    pub range: SpecialRange,
}

impl AddressPolicy {
    /// `Ok` when `address` may be queried or probed; else the range that refused it.
    pub fn check(self, address: IpAddr) -> Result<(), Refused> {
        match (self, special_range(address)) {
            (AddressPolicy::PublicOnly, Some(range)) => Err(Refused { address, range }),
            _ => Ok(()),
        }
    }

    /// Whether `address` is allowed.
    pub fn allows(self, address: IpAddr) -> bool {
        self.check(address).is_ok()
    }
}

/// IPv4 ranges not to be reached through names on the Internet: (network, prefix length,
/// prefix text, purpose). From the IANA IPv4 Special-Purpose Address Registry (RFC 6890),
/// the entries not globally reachable, and the documentation and benchmarking blocks.
const V4: &[(u32, u8, &str, &str)] = &[
    (
        0x0000_0000,
        8,
        "0.0.0.0/8",
        "this network, unspecified, RFC 791",
    ),
    (0x0a00_0000, 8, "10.0.0.0/8", "private, RFC 1918"),
    (
        0x6440_0000,
        10,
        "100.64.0.0/10",
        "shared address space, CGNAT, RFC 6598",
    ),
    (0x7f00_0000, 8, "127.0.0.0/8", "loopback, RFC 1122"),
    (0xa9fe_0000, 16, "169.254.0.0/16", "link-local, RFC 3927"),
    (0xac10_0000, 12, "172.16.0.0/12", "private, RFC 1918"),
    (
        0xc000_0000,
        24,
        "192.0.0.0/24",
        "IETF protocol assignments, RFC 6890",
    ),
    (0xc000_0200, 24, "192.0.2.0/24", "documentation, RFC 5737"),
    (
        0xc058_6300,
        24,
        "192.88.99.0/24",
        "deprecated 6to4 relay anycast, RFC 7526",
    ),
    (0xc0a8_0000, 16, "192.168.0.0/16", "private, RFC 1918"),
    (0xc612_0000, 15, "198.18.0.0/15", "benchmarking, RFC 2544"),
    (
        0xc633_6400,
        24,
        "198.51.100.0/24",
        "documentation, RFC 5737",
    ),
    (0xcb00_7100, 24, "203.0.113.0/24", "documentation, RFC 5737"),
    (0xe000_0000, 4, "224.0.0.0/4", "multicast, RFC 5771"),
    (
        0xf000_0000,
        4,
        "240.0.0.0/4",
        "reserved and broadcast, RFC 1112 and RFC 919",
    ),
];

/// IPv6 ranges inside global unicast `2000::/3` that are not to be reached (IANA IPv6
/// Special-Purpose Address Registry); everything outside `2000::/3` is refused as a whole,
/// except the NAT64 well-known prefix, judged by the IPv4 address it embeds.
const V6: &[(u128, u8, &str, &str)] = &[
    (0x2001_0000 << 96, 32, "2001::/32", "Teredo, RFC 4380"),
    (
        0x2001_0002 << 96,
        48,
        "2001:2::/48",
        "benchmarking, RFC 5180",
    ),
    (
        0x2001_0010 << 96,
        28,
        "2001:10::/28",
        "deprecated ORCHID, RFC 4843",
    ),
    (
        0x2001_0db8 << 96,
        32,
        "2001:db8::/32",
        "documentation, RFC 3849",
    ),
    (
        0x3fff_0000 << 96,
        20,
        "3fff::/20",
        "documentation, RFC 9637",
    ),
];

/// The special-purpose range `address` is in, if any.
pub fn special_range(address: IpAddr) -> Option<SpecialRange> {
    match address {
        IpAddr::V4(a) => special_v4(a),
        IpAddr::V6(a) => special_v6(a),
    }
}

fn special_v4(a: Ipv4Addr) -> Option<SpecialRange> {
    let bits = u32::from(a);
    V4.iter()
        .find(|(net, len, ..)| bits >> (32 - len) == net >> (32 - len))
        .map(|&(_, _, prefix, purpose)| SpecialRange { prefix, purpose })
}

fn special_v6(a: Ipv6Addr) -> Option<SpecialRange> {
    let bits = u128::from(a);
    // RFC 6052 2.1: the well-known NAT64 prefix carries an IPv4 address in its last 32 bits;
    // it may not embed a non-global one (RFC 6052 3.1), and if it does we judge that one.
    if bits >> 32 == 0x0064_ff9b_0000_0000_0000_0000 {
        return special_v4(Ipv4Addr::from(bits as u32));
    }
    // 6to4 (RFC 3056): 2002:V4ADDR::/48 leads to that IPv4 address.
    if bits >> 112 == 0x2002 {
        return special_v4(Ipv4Addr::from((bits >> 80) as u32));
    }
    if bits >> 125 != 0b001 {
        return Some(SpecialRange {
            prefix: outside_prefix(bits),
            purpose: outside_purpose(bits),
        });
    }
    V6.iter()
        .find(|(net, len, ..)| bits >> (128 - len) == net >> (128 - len))
        .map(|&(_, _, prefix, purpose)| SpecialRange { prefix, purpose })
}

/// The best-known name of a range outside `2000::/3`.
fn outside_prefix(bits: u128) -> &'static str {
    match bits {
        0 => "::/128",
        1 => "::1/128",
        b if b >> 32 == 0xffff => "::ffff:0:0/96",
        b if b >> 121 == 0x7e => "fc00::/7",
        b if b >> 118 == 0x3fa => "fe80::/10",
        b if b >> 120 == 0xff => "ff00::/8",
        _ => "outside 2000::/3",
    }
}

fn outside_purpose(bits: u128) -> &'static str {
    match outside_prefix(bits) {
        "::/128" => "unspecified, RFC 4291",
        "::1/128" => "loopback, RFC 4291",
        "::ffff:0:0/96" => "IPv4-mapped, RFC 4291",
        "fc00::/7" => "unique local, RFC 4193",
        "fe80::/10" => "link-local, RFC 4291",
        "ff00::/8" => "multicast, RFC 4291",
        _ => "not global unicast, RFC 4291 2.4",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(address: &str, refused_in: Option<&str>) {
        let ip: IpAddr = address.parse().unwrap();
        let got = AddressPolicy::PublicOnly
            .check(ip)
            .err()
            .map(|r| r.range.prefix);
        assert_eq!(got, refused_in, "{address}");
        assert!(AddressPolicy::AllowAll.allows(ip), "{address}");
    }

    #[test]
    fn special_purpose_ranges_are_refused_by_default() {
        for (address, range) in [
            ("0.0.0.0", "0.0.0.0/8"),
            ("10.1.2.3", "10.0.0.0/8"),
            ("100.64.0.1", "100.64.0.0/10"),
            ("100.127.255.255", "100.64.0.0/10"),
            ("127.0.0.1", "127.0.0.0/8"),
            ("127.255.0.9", "127.0.0.0/8"),
            ("169.254.169.254", "169.254.0.0/16"),
            ("172.16.0.1", "172.16.0.0/12"),
            ("172.31.255.255", "172.16.0.0/12"),
            ("192.0.0.8", "192.0.0.0/24"),
            ("192.0.2.25", "192.0.2.0/24"),
            ("192.88.99.1", "192.88.99.0/24"),
            ("192.168.1.1", "192.168.0.0/16"),
            ("198.18.0.1", "198.18.0.0/15"),
            ("198.19.255.1", "198.18.0.0/15"),
            ("198.51.100.7", "198.51.100.0/24"),
            ("203.0.113.9", "203.0.113.0/24"),
            ("224.0.0.251", "224.0.0.0/4"),
            ("239.255.255.250", "224.0.0.0/4"),
            ("255.255.255.255", "240.0.0.0/4"),
            ("::", "::/128"),
            ("::1", "::1/128"),
            ("::ffff:8.8.8.8", "::ffff:0:0/96"),
            ("::ffff:127.0.0.1", "::ffff:0:0/96"),
            ("fd00::1", "fc00::/7"),
            ("fc12::1", "fc00::/7"),
            ("fe80::1", "fe80::/10"),
            ("febf::1", "fe80::/10"),
            ("ff02::1", "ff00::/8"),
            ("100::1", "outside 2000::/3"),
            ("fec0::1", "outside 2000::/3"),
            ("2001:db8::53", "2001:db8::/32"),
            ("2001::1", "2001::/32"),
            ("2001:2::1", "2001:2::/48"),
            ("3fff::1", "3fff::/20"),
            // The IPv4 address inside NAT64 and 6to4 addresses decides.
            ("64:ff9b::7f00:1", "127.0.0.0/8"),
            ("64:ff9b::a9fe:a9fe", "169.254.0.0/16"),
            ("2002:c0a8:0101::1", "192.168.0.0/16"),
        ] {
            check(address, Some(range));
        }
    }

    #[test]
    fn public_addresses_are_allowed() {
        for address in [
            "1.1.1.1",
            "8.8.8.8",
            "9.255.255.255",
            "11.0.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.0.1.255",
            "192.0.3.0",
            "193.0.14.129",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
            "2001:500:2f::f",
            "2a00:1450:4001::1",
            "2001:db9::1",
            "64:ff9b::808:808",
            "2002:0808:0808::1",
        ] {
            check(address, None);
        }
    }

    #[test]
    fn the_refusal_names_the_address_the_range_and_the_switch() {
        let e = AddressPolicy::PublicOnly
            .check("169.254.169.254".parse().unwrap())
            .unwrap_err()
            .to_string();
        for part in [
            "169.254.169.254",
            "169.254.0.0/16",
            "link-local",
            "--allow-private",
        ] {
            assert!(e.contains(part), "{part}: {e}");
        }
    }
}
