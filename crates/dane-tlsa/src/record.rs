//! The TLSA record and its three typed parameters (RFC 6698 section 2.1, RFC 7218 names).

use std::fmt;

use serde::Serialize;

/// TLSA certificate usage (RFC 6698 2.1.1; IANA registry order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CertUsage {
    /// 0, PKIX-TA: CA constraint, with PKIX validation.
    PkixTa,
    /// 1, PKIX-EE: service certificate constraint, with PKIX validation.
    PkixEe,
    /// 2, DANE-TA: trust anchor assertion.
    DaneTa,
    /// 3, DANE-EE: domain-issued certificate.
    DaneEe,
    /// 255, PrivCert: private use.
    PrivCert,
    /// Any other value (unassigned): representable, never usable.
    Unassigned(u8),
}

/// TLSA selector (RFC 6698 2.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Selector {
    /// 0, Cert: the full DER certificate.
    Cert,
    /// 1, SPKI: the DER SubjectPublicKeyInfo.
    Spki,
    /// 255, PrivSel: private use.
    PrivSel,
    /// Any other value (unassigned).
    Unassigned(u8),
}

/// TLSA matching type (RFC 6698 2.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MatchingType {
    /// 0, Full: the selected content itself.
    Full,
    /// 1, SHA2-256 (32 octets).
    Sha256,
    /// 2, SHA2-512 (64 octets).
    Sha512,
    /// 255, PrivMatch: private use.
    PrivMatch,
    /// Any other value (unassigned).
    Unassigned(u8),
}

macro_rules! registry {
    ($ty:ident, $what:literal, [$(($variant:ident, $num:literal, $name:literal)),*], $private:ident, $pnum:literal, $pname:literal) => {
        impl $ty {
            /// The wire value.
            pub fn value(self) -> u8 {
                match self {
                    $($ty::$variant => $num,)*
                    $ty::$private => $pnum,
                    $ty::Unassigned(v) => v,
                }
            }

            /// The RFC 7218 mnemonic, if the value has one.
            pub fn mnemonic(self) -> Option<&'static str> {
                match self {
                    $($ty::$variant => Some($name),)*
                    $ty::$private => Some($pname),
                    $ty::Unassigned(_) => None,
                }
            }

            /// Parses a number (0-255) or an RFC 7218 mnemonic, case-insensitively.
            pub fn parse(text: &str) -> Result<Self, String> {
                if let Ok(v) = text.parse::<u8>() {
                    return Ok(Self::from(v));
                }
                $(if text.eq_ignore_ascii_case($name) { return Ok($ty::$variant); })*
                if text.eq_ignore_ascii_case($pname) { return Ok($ty::$private); }
                Err(format!(
                    concat!("unknown ", $what, " {:?} (expected 0-255 or one of {})"),
                    text,
                    [$($name,)* $pname].join(", ")
                ))
            }
        }

        impl From<u8> for $ty {
            fn from(v: u8) -> Self {
                match v {
                    $($num => $ty::$variant,)*
                    $pnum => $ty::$private,
                    other => $ty::Unassigned(other),
                }
            }
        }

        impl fmt::Display for $ty {
            /// `DANE-EE(3)` style: mnemonic and number, or just the number.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.mnemonic() {
                    Some(name) => write!(f, "{name}({})", self.value()),
                    None => write!(f, "{}", self.value()),
                }
            }
        }

        impl Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_u8(self.value())
            }
        }
    };
}

registry!(
    CertUsage,
    "certificate usage",
    [
        (PkixTa, 0, "PKIX-TA"),
        (PkixEe, 1, "PKIX-EE"),
        (DaneTa, 2, "DANE-TA"),
        (DaneEe, 3, "DANE-EE")
    ],
    PrivCert,
    255,
    "PrivCert"
);
registry!(
    Selector,
    "selector",
    [(Cert, 0, "Cert"), (Spki, 1, "SPKI")],
    PrivSel,
    255,
    "PrivSel"
);
registry!(
    MatchingType,
    "matching type",
    [
        (Full, 0, "Full"),
        (Sha256, 1, "SHA2-256"),
        (Sha512, 2, "SHA2-512")
    ],
    PrivMatch,
    255,
    "PrivMatch"
);

impl MatchingType {
    /// The association data length this matching type requires, if fixed.
    pub fn digest_len(self) -> Option<usize> {
        match self {
            MatchingType::Sha256 => Some(32),
            MatchingType::Sha512 => Some(64),
            _ => None,
        }
    }

    /// Strength for digest agility (RFC 7671 section 9): higher is preferred; `None` for
    /// Full and for types this crate does not implement.
    pub(crate) fn agility_rank(self) -> Option<u8> {
        match self {
            MatchingType::Sha256 => Some(1),
            MatchingType::Sha512 => Some(2),
            _ => None,
        }
    }
}

/// Why a TLSA record cannot be used (it is skipped; the rest of the RRset still counts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Unusable {
    /// RFC 6698 2.1.1 / RFC 7671 4.1: usage value not assigned.
    UnassignedUsage {
        /// The value.
        value: u8,
    },
    /// Private-use usage (255): meaningless without a private agreement.
    PrivateUsage,
    /// Selector value not assigned.
    UnassignedSelector {
        /// The value.
        value: u8,
    },
    /// Private-use selector (255).
    PrivateSelector,
    /// Matching type value not assigned.
    UnassignedMatchingType {
        /// The value.
        value: u8,
    },
    /// Private-use matching type (255).
    PrivateMatchingType,
    /// RFC 6698 2.1.3: a digest of the wrong length can never match.
    WrongDigestLength {
        /// The matching type.
        matching_type: u8,
        /// Octets required.
        expected: usize,
        /// Octets present.
        actual: usize,
    },
    /// Full (0) with no data: matches nothing.
    EmptyData,
    /// RFC 7672 3.1.3: PKIX-TA(0) and PKIX-EE(1) are not used for SMTP.
    PkixUsageInSmtp,
    /// PKIX usages need a PKIX verdict, and the caller did not evaluate one.
    PkixNotEvaluated,
}

impl fmt::Display for Unusable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unusable::UnassignedUsage { value } => {
                write!(f, "certificate usage {value} is unassigned")
            }
            Unusable::PrivateUsage => f.write_str("certificate usage PrivCert(255) is private use"),
            Unusable::UnassignedSelector { value } => write!(f, "selector {value} is unassigned"),
            Unusable::PrivateSelector => f.write_str("selector PrivSel(255) is private use"),
            Unusable::UnassignedMatchingType { value } => {
                write!(f, "matching type {value} is unassigned")
            }
            Unusable::PrivateMatchingType => {
                f.write_str("matching type PrivMatch(255) is private use")
            }
            Unusable::WrongDigestLength {
                matching_type,
                expected,
                actual,
            } => write!(
                f,
                "matching type {matching_type} needs {expected} octets of data, the record has {actual}"
            ),
            Unusable::EmptyData => f.write_str("empty certificate association data"),
            Unusable::PkixUsageInSmtp => {
                f.write_str("PKIX usages (0, 1) are not used for SMTP (RFC 7672 3.1.3)")
            }
            Unusable::PkixNotEvaluated => {
                f.write_str("PKIX usage, and no PKIX validation was performed")
            }
        }
    }
}

/// One TLSA record's RDATA: usage, selector, matching type, certificate association data.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TlsaRecord {
    /// Certificate usage.
    pub usage: CertUsage,
    /// Selector.
    pub selector: Selector,
    /// Matching type.
    pub matching_type: MatchingType,
    /// Certificate association data (a digest, or the full DER for matching type 0).
    pub data: Vec<u8>,
}

impl TlsaRecord {
    /// A record from its parts.
    pub fn new(
        usage: CertUsage,
        selector: Selector,
        matching_type: MatchingType,
        data: Vec<u8>,
    ) -> Self {
        TlsaRecord {
            usage,
            selector,
            matching_type,
            data,
        }
    }

    /// Whether this crate can use the record, and if not, why (RFC 7671 section 4.1: such
    /// records are ignored, not fatal). PKIX usages are usable here; the matcher decides
    /// about them with the caller's PKIX verdict and SMTP mode.
    pub fn usability(&self) -> Result<(), Unusable> {
        match self.usage {
            CertUsage::Unassigned(value) => return Err(Unusable::UnassignedUsage { value }),
            CertUsage::PrivCert => return Err(Unusable::PrivateUsage),
            _ => {}
        }
        match self.selector {
            Selector::Unassigned(value) => return Err(Unusable::UnassignedSelector { value }),
            Selector::PrivSel => return Err(Unusable::PrivateSelector),
            _ => {}
        }
        match self.matching_type {
            MatchingType::Unassigned(value) => {
                return Err(Unusable::UnassignedMatchingType { value });
            }
            MatchingType::PrivMatch => return Err(Unusable::PrivateMatchingType),
            _ => {}
        }
        // RFC 6698 2.1.3: SHA2-256 data is 32 octets, SHA2-512 64 octets.
        if let Some(expected) = self.matching_type.digest_len() {
            if self.data.len() != expected {
                return Err(Unusable::WrongDigestLength {
                    matching_type: self.matching_type.value(),
                    expected,
                    actual: self.data.len(),
                });
            }
        } else if self.data.is_empty() {
            return Err(Unusable::EmptyData);
        }
        Ok(())
    }

    /// Wire RDATA (RFC 6698 2.1): three octets then the data.
    pub fn to_rdata(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(3 + self.data.len());
        out.extend([
            self.usage.value(),
            self.selector.value(),
            self.matching_type.value(),
        ]);
        out.extend_from_slice(&self.data);
        out
    }

    /// The association data as upper-case hex (the canonical presentation).
    pub fn data_hex(&self) -> String {
        data_encoding::HEXUPPER.encode(&self.data)
    }

    /// Canonical presentation RDATA: `3 1 1 <HEX>` (numbers, upper-case hex, one line);
    /// the RFC 3597 generic form `\# 3 030101` when the data is empty.
    pub fn presentation(&self) -> String {
        self.to_string()
    }

    /// RFC 3597 generic RDATA: `\# <len> <hex>`.
    pub fn generic(&self) -> String {
        let rdata = self.to_rdata();
        format!(
            "\\# {} {}",
            rdata.len(),
            data_encoding::HEXUPPER.encode(&rdata)
        )
    }

    /// Short form for tables: parameters with mnemonics, e.g. `DANE-EE(3) SPKI(1) SHA2-256(1)`.
    pub fn parameters(&self) -> String {
        format!("{} {} {}", self.usage, self.selector, self.matching_type)
    }
}

impl fmt::Display for TlsaRecord {
    /// Canonical presentation RDATA, e.g. `3 1 1 0A1B...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // RFC 6698 2.2 writes the data as hex, which has no form for zero octets (`3 1 1 `
        // would read back as a record without data); the wire allows it, so such a record
        // (unusable anyway) is written in the RFC 3597 generic form, valid for any type.
        if self.data.is_empty() {
            return f.write_str(&self.generic());
        }
        write!(
            f,
            "{} {} {} {}",
            self.usage.value(),
            self.selector.value(),
            self.matching_type.value(),
            self.data_hex()
        )
    }
}

impl Serialize for TlsaRecord {
    /// JSON: numbers, RFC 7218 mnemonics where defined, lower-case hex data.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut st = s.serialize_struct("TlsaRecord", 7)?;
        st.serialize_field("usage", &self.usage.value())?;
        st.serialize_field("selector", &self.selector.value())?;
        st.serialize_field("matching_type", &self.matching_type.value())?;
        st.serialize_field("usage_name", &self.usage.mnemonic())?;
        st.serialize_field("selector_name", &self.selector.mnemonic())?;
        st.serialize_field("matching_type_name", &self.matching_type.mnemonic())?;
        st.serialize_field("data", &data_encoding::HEXLOWER.encode(&self.data))?;
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_round_trips_every_value() {
        for v in 0..=255u8 {
            assert_eq!(CertUsage::from(v).value(), v);
            assert_eq!(Selector::from(v).value(), v);
            assert_eq!(MatchingType::from(v).value(), v);
        }
        assert_eq!(CertUsage::from(3), CertUsage::DaneEe);
        assert_eq!(CertUsage::from(255), CertUsage::PrivCert);
        assert_eq!(CertUsage::from(4), CertUsage::Unassigned(4));
        assert_eq!(MatchingType::from(2), MatchingType::Sha512);
    }

    #[test]
    fn mnemonics_parse_case_insensitively() {
        fn check(text: &str, expected: Option<CertUsage>) {
            assert_eq!(CertUsage::parse(text).ok(), expected, "{text}");
        }
        check("DANE-EE", Some(CertUsage::DaneEe));
        check("dane-ta", Some(CertUsage::DaneTa));
        check("PKIX-TA", Some(CertUsage::PkixTa));
        check("privcert", Some(CertUsage::PrivCert));
        check("3", Some(CertUsage::DaneEe));
        check("77", Some(CertUsage::Unassigned(77)));
        check("256", None);
        check("DANE_EE", None);
        check("", None);
        assert_eq!(Selector::parse("spki"), Ok(Selector::Spki));
        assert_eq!(MatchingType::parse("sha2-512"), Ok(MatchingType::Sha512));
        assert!(MatchingType::parse("SHA256").is_err());
    }

    fn rec(u: u8, s: u8, m: u8, len: usize) -> TlsaRecord {
        TlsaRecord::new(u.into(), s.into(), m.into(), vec![0xab; len])
    }

    #[test]
    fn usability_table() {
        fn check(r: TlsaRecord, expected: Result<(), Unusable>) {
            assert_eq!(r.usability(), expected, "{r}");
        }
        check(rec(3, 1, 1, 32), Ok(()));
        check(rec(2, 0, 2, 64), Ok(()));
        check(rec(0, 1, 0, 10), Ok(()));
        check(
            rec(4, 1, 1, 32),
            Err(Unusable::UnassignedUsage { value: 4 }),
        );
        check(rec(255, 1, 1, 32), Err(Unusable::PrivateUsage));
        check(
            rec(3, 2, 1, 32),
            Err(Unusable::UnassignedSelector { value: 2 }),
        );
        check(rec(3, 255, 1, 32), Err(Unusable::PrivateSelector));
        check(
            rec(3, 1, 3, 32),
            Err(Unusable::UnassignedMatchingType { value: 3 }),
        );
        check(rec(3, 1, 255, 32), Err(Unusable::PrivateMatchingType));
        check(
            rec(3, 1, 1, 31),
            Err(Unusable::WrongDigestLength {
                matching_type: 1,
                expected: 32,
                actual: 31,
            }),
        );
        check(
            rec(3, 1, 2, 32),
            Err(Unusable::WrongDigestLength {
                matching_type: 2,
                expected: 64,
                actual: 32,
            }),
        );
        check(rec(3, 1, 0, 0), Err(Unusable::EmptyData));
    }

    #[test]
    fn printing_forms() {
        let r = TlsaRecord::new(
            CertUsage::DaneEe,
            Selector::Spki,
            MatchingType::Sha256,
            vec![0x0a, 0xbc],
        );
        assert_eq!(r.presentation(), "3 1 1 0ABC");
        assert_eq!(r.generic(), "\\# 5 0301010ABC");
        assert_eq!(r.to_rdata(), vec![3, 1, 1, 0x0a, 0xbc]);
        assert_eq!(r.parameters(), "DANE-EE(3) SPKI(1) SHA2-256(1)");
        assert_eq!(rec(9, 1, 1, 0).parameters(), "9 SPKI(1) SHA2-256(1)");
    }
}
