//! Issuer families: public CAs that issue from several intermediates at random and move to
//! a new generation every few years (Let's Encrypt's `E5`-`E9`/`R10`-`R14`, then `YE1`-`YE3`/
//! `YR1`-`YR3` since 2026-05-13). A DANE-TA record (RFC 7671 5.2) that pins one member
//! authenticates only the certificates that member issues: the next renewal, issued by a
//! sibling or by the next generation, fails every DANE sender.
//!
//! The list is data (`data/ca-families.json`, format 1, embedded as the default; a newer
//! file can replace it): each family's members with their SPKI and certificate SHA-256 and
//! where each certificate was taken from. This module parses it (strictly: unknown fields,
//! bad digests or dates, duplicate members and dangling `replaces` are errors) and answers
//! two questions: which member does a record or certificate pin, and what should a TLSA
//! RRset hold instead. No I/O, no clock: `now` is a parameter.

use std::fmt;
use std::sync::OnceLock;

use ring::digest;
use serde::Deserialize;

use crate::error::Error;
use crate::record::{CertUsage, MatchingType, Selector, TlsaRecord};

/// The list shipped with this build (`data/ca-families.json`).
pub(crate) const EMBEDDED: &str = include_str!("../../../data/ca-families.json");

/// The format this build reads (the file's `format`).
pub const CA_FAMILIES_FORMAT: u32 = 1;

/// Most families in one file (hostile-input bound).
pub const MAX_CA_FAMILIES: usize = 256;

/// Most members in one family.
pub const MAX_FAMILY_MEMBERS: usize = 64;

/// Longest text field, in characters.
const MAX_TEXT: usize = 1024;

/// The CA families a TLSA RRset is judged against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaFamilies {
    version: String,
    families: Vec<Family>,
}

/// One family: the intermediates a CA issues from at random, for one key type, in one
/// generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Family {
    /// Stable identifier, e.g. `letsencrypt-y-ecdsa`.
    pub id: String,
    /// The CA, e.g. `Let's Encrypt`.
    pub ca: String,
    /// The generation, e.g. `Generation Y (ECDSA)`.
    pub generation: String,
    /// The members' key type, e.g. `ECDSA P-384`.
    pub key_type: String,
    /// Which subscriber certificates it issues, e.g. `ECDSA subscriber keys`.
    pub issues_for: String,
    /// When the CA began issuing from it (seconds since the epoch), when known.
    pub since: Option<u64>,
    /// The family it took over from (that family is no longer current from `since`).
    pub replaces: Option<String>,
    /// Where the family and its dates come from.
    pub source: String,
    /// The intermediates.
    pub members: Vec<Member>,
}

/// One intermediate CA certificate of a family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Short name, e.g. `YE1`.
    pub name: String,
    /// Subject DN.
    pub subject: String,
    /// notBefore, seconds since the epoch.
    pub not_before: u64,
    /// notAfter, seconds since the epoch.
    pub not_after: u64,
    /// SHA-256 of the SubjectPublicKeyInfo (the data of `2 1 1`).
    pub spki_sha256: [u8; 32],
    /// SHA-256 of the DER certificate (the data of `2 0 1`).
    pub cert_sha256: [u8; 32],
    /// The PEM file under `data/ca-families/` holding the certificate, when shipped.
    pub file: Option<String>,
    /// Where the certificate was taken from.
    pub source: String,
    /// Other certificates for the same key and name (cross-signatures, e.g. E5 by ISRG
    /// Root X1 beside E5 by ISRG Root X2): a `2 0 x` of any of them pins the member.
    pub other_certificates: Vec<OtherCertificate>,
}

/// Another certificate of a member: same subject and key, another issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherCertificate {
    /// Its issuer DN.
    pub issuer: String,
    /// SHA-256 of the DER certificate.
    pub cert_sha256: [u8; 32],
    /// The PEM file under `data/ca-families/`, when shipped.
    pub file: Option<String>,
    /// Where it was taken from.
    pub source: String,
}

/// Most other certificates of one member.
const MAX_OTHER_CERTIFICATES: usize = 8;

impl Member {
    /// Whether `digest` is the SHA-256 of one of the member's certificates.
    pub fn has_certificate(&self, digest: &[u8]) -> bool {
        self.cert_sha256.as_slice() == digest
            || self
                .other_certificates
                .iter()
                .any(|o| o.cert_sha256.as_slice() == digest)
    }

    /// Whether the certificate is within its validity period at `now`.
    pub fn valid_at(&self, now: u64) -> bool {
        self.not_before <= now && now <= self.not_after
    }

    /// The DANE-TA record for this member with `selector` and SHA2-256: `2 1 1 <SPKI digest>`
    /// or `2 0 1 <certificate digest>`.
    pub fn record(&self, selector: Selector) -> TlsaRecord {
        let data = match selector {
            Selector::Cert => self.cert_sha256,
            _ => self.spki_sha256,
        };
        let selector = match selector {
            Selector::Cert => Selector::Cert,
            _ => Selector::Spki,
        };
        TlsaRecord::new(
            CertUsage::DaneTa,
            selector,
            MatchingType::Sha256,
            data.to_vec(),
        )
    }
}

impl Family {
    /// The members' names, e.g. `YE1, YE2, YE3`.
    pub fn names(&self) -> String {
        self.members
            .iter()
            .map(|m| m.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// What a TLSA RRset that pins members of a family should hold: the records of every
/// member of the family issuing at `now` that the RRset lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyAdvice<'a> {
    /// The family the RRset pins.
    pub pinned_family: &'a Family,
    /// The members it pins (by record data, or because a DANE-TA record matched them).
    pub pinned: Vec<&'a Member>,
    /// The family issuing at `now`: the pinned one, or the generation that replaced it.
    pub current: &'a Family,
    /// `2 1 1` records for the current family's members (valid at `now`) that the RRset
    /// lacks, in the family's order.
    pub missing: Vec<TlsaRecord>,
}

impl fmt::Display for FamilyAdvice<'_> {
    /// One sentence: what is pinned, why it breaks, what to publish.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pinned = self
            .pinned
            .iter()
            .map(|m| m.name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let fam = self.pinned_family;
        write!(
            f,
            "DANE-TA pins {pinned} of {}'s {} intermediates ({}), ",
            fam.ca,
            fam.generation,
            fam.names()
        )?;
        if std::ptr::eq(self.current, fam) {
            write!(f, "and {} issues each renewal from any of them: ", fam.ca)?;
        } else {
            let since = self.current.since.map(date).unwrap_or_default();
            write!(
                f,
                "which {} replaced{}{}: renewals come from {} ({}): ",
                self.current.generation,
                if since.is_empty() { "" } else { " on " },
                since,
                self.current.generation,
                self.current.names()
            )?;
        }
        write!(
            f,
            "publish the records of {} too, or use 3 1 1 (the server's own key) instead",
            self.missing
                .iter()
                .filter_map(|r| self
                    .current
                    .members
                    .iter()
                    .find(|m| m.record(r.selector) == *r))
                .map(|m| m.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

/// `YYYY-MM-DD` of seconds since the epoch.
fn date(secs: u64) -> String {
    i64::try_from(secs)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .map(|t| t.date().to_string())
        .unwrap_or_else(|| format!("@{secs}"))
}

impl CaFamilies {
    /// The list embedded in this build, parsed once.
    pub fn embedded() -> &'static CaFamilies {
        static EMBEDDED_FAMILIES: OnceLock<CaFamilies> = OnceLock::new();
        EMBEDDED_FAMILIES.get_or_init(|| {
            // Invariant: the embedded file parses; the test `embedded_list_parses_and_
            // matches_its_certificates` fails the build's tests otherwise. Should it ever
            // not, an empty list (no warnings) is safer than a panic in a checker.
            CaFamilies::parse(EMBEDDED).unwrap_or_else(|_| CaFamilies {
                version: String::new(),
                families: Vec::new(),
            })
        })
    }

    /// Parses a list (JSON, format [`CA_FAMILIES_FORMAT`]). Errors name the family or member at fault.
    pub fn parse(text: &str) -> Result<CaFamilies, Error> {
        let raw: RawFile = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        if raw.format != CA_FAMILIES_FORMAT {
            return Err(bad(format!(
                "format {} is not the format {CA_FAMILIES_FORMAT} this version reads",
                raw.format
            )));
        }
        text_field("version", &raw.version)?;
        if raw.families.len() > MAX_CA_FAMILIES {
            return Err(bad(format!(
                "{} families, more than the limit of {MAX_CA_FAMILIES}",
                raw.families.len()
            )));
        }
        let families = raw
            .families
            .into_iter()
            .map(RawFamily::check)
            .collect::<Result<Vec<_>, _>>()?;
        let out = CaFamilies {
            version: raw.version,
            families,
        };
        out.check_links()?;
        Ok(out)
    }

    /// Duplicate identifiers and members, and `replaces` that name no family or need a
    /// `since` to say when.
    fn check_links(&self) -> Result<(), Error> {
        let mut ids: Vec<&str> = Vec::new();
        let mut keys: Vec<&[u8; 32]> = Vec::new();
        for f in &self.families {
            if ids.contains(&f.id.as_str()) {
                return Err(bad(format!("family {:?} appears twice", f.id)));
            }
            ids.push(&f.id);
            for m in &f.members {
                if keys.contains(&&m.spki_sha256) || keys.contains(&&m.cert_sha256) {
                    return Err(bad(format!(
                        "family {:?}: member {:?} repeats a digest of another member",
                        f.id, m.name
                    )));
                }
                let others = m.other_certificates.iter().map(|o| &o.cert_sha256);
                if others
                    .clone()
                    .any(|d| keys.contains(&d) || d == &m.cert_sha256)
                {
                    return Err(bad(format!(
                        "family {:?}: member {:?} repeats a certificate digest",
                        f.id, m.name
                    )));
                }
                keys.push(&m.spki_sha256);
                keys.push(&m.cert_sha256);
                keys.extend(others);
            }
        }
        for f in &self.families {
            let Some(r) = &f.replaces else { continue };
            if !self.families.iter().any(|o| &o.id == r && o.id != f.id) {
                return Err(bad(format!(
                    "family {:?} replaces {r:?}, which is not in the file",
                    f.id
                )));
            }
            if f.since.is_none() {
                return Err(bad(format!(
                    "family {:?} replaces {r:?} but has no \"since\"",
                    f.id
                )));
            }
        }
        Ok(())
    }

    /// The file's `version` (a date by convention).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Every family, in file order.
    pub fn families(&self) -> &[Family] {
        &self.families
    }

    /// The member whose key has this SPKI SHA-256.
    pub fn by_spki(&self, spki_sha256: &[u8]) -> Option<(&Family, &Member)> {
        self.find(|m| m.spki_sha256.as_slice() == spki_sha256)
    }

    /// The member with this certificate, by its DER.
    pub fn by_certificate(&self, der: &[u8]) -> Option<(&Family, &Member)> {
        let cert = digest::digest(&digest::SHA256, der);
        if let Some(hit) = self.find(|m| m.has_certificate(cert.as_ref())) {
            return Some(hit);
        }
        let spki = crate::generate::certificate_spki(der).ok()?;
        self.by_spki(digest::digest(&digest::SHA256, &spki).as_ref())
    }

    /// The member a DANE-TA record pins by its data: `2 1 1` (SPKI digest), `2 0 1`
    /// (certificate digest), and `2 1 0` / `2 0 0` (the key or certificate itself). SHA2-512
    /// records are not recognised here (the list holds SHA-256 digests); a matched one is
    /// found through the certificate it matched ([`CaFamilies::by_certificate`]).
    pub fn by_record(&self, r: &TlsaRecord) -> Option<(&Family, &Member)> {
        if r.usage != CertUsage::DaneTa {
            return None;
        }
        let sha = |d: &[u8]| digest::digest(&digest::SHA256, d).as_ref().to_vec();
        match (r.selector, r.matching_type) {
            (Selector::Spki, MatchingType::Sha256) => self.by_spki(&r.data),
            (Selector::Cert, MatchingType::Sha256) => self.find(|m| m.has_certificate(&r.data)),
            (Selector::Spki, MatchingType::Full) => self.by_spki(&sha(&r.data)),
            (Selector::Cert, MatchingType::Full) => self.by_certificate(&r.data),
            _ => None,
        }
    }

    fn find(&self, hit: impl Fn(&Member) -> bool) -> Option<(&Family, &Member)> {
        self.families
            .iter()
            .find_map(|f| f.members.iter().find(|m| hit(m)).map(|m| (f, m)))
    }

    /// The family issuing at `now` in `family`'s line: `family` itself, or the latest
    /// family that replaced it (directly or in turn) whose `since` has come.
    pub fn current<'a>(&'a self, family: &'a Family, now: u64) -> &'a Family {
        let mut at = family;
        // Bounded: a line is at most as long as the list (and `parse` rejects self-links).
        for _ in 0..self.families.len() {
            let next = self.families.iter().find(|f| {
                f.replaces.as_deref() == Some(at.id.as_str()) && f.since.is_some_and(|s| s <= now)
            });
            match next {
                Some(n) => at = n,
                None => break,
            }
        }
        at
    }

    /// The members `records` pin by their data, then those `matched_spki` names, once each.
    fn pins(&self, records: &[TlsaRecord], matched_spki: &[[u8; 32]]) -> Vec<(&Family, &Member)> {
        let by_data = records.iter().filter_map(|r| self.by_record(r));
        let by_match = matched_spki.iter().filter_map(|k| self.by_spki(k));
        let mut pins: Vec<(&Family, &Member)> = Vec::new();
        for (f, m) in by_data.chain(by_match) {
            if !pins.iter().any(|(_, p)| std::ptr::eq(*p, m)) {
                pins.push((f, m));
            }
        }
        pins
    }

    /// What a TLSA RRset should add: for each family a DANE-TA record of `records` pins
    /// (by its data), or that `matched_spki` names (SPKI SHA-256 of certificates a DANE-TA
    /// record matched in a presented chain), the records of the members of the family
    /// issuing at `now` that the RRset lacks. Families the RRset fully covers give nothing.
    pub fn advise(
        &self,
        records: &[TlsaRecord],
        matched_spki: &[[u8; 32]],
        now: u64,
    ) -> Vec<FamilyAdvice<'_>> {
        let pins = self.pins(records, matched_spki);
        // One advice per family issuing now; pins of that family itself name it first (a
        // set with E5 and YE1 is told about YE2 and YE3 once, as a pin of YE1).
        let mut order: Vec<&(&Family, &Member)> = pins.iter().collect();
        order.sort_by_key(|(f, _)| !std::ptr::eq(self.current(f, now), *f));
        let mut done: Vec<&Family> = Vec::new();
        let mut out: Vec<FamilyAdvice<'_>> = Vec::new();
        for (family, _) in order {
            let current = self.current(family, now);
            if done.iter().any(|d| std::ptr::eq(*d, current)) {
                continue;
            }
            done.push(current);
            // RFC 7671 5.2 via the key: `2 1 1`, whatever the pinning records' selector. A CA
            // has several certificates for one key (Let's Encrypt's E5 issued by ISRG Root X2
            // and cross-signed by X1), and a `2 0 x` matches only the one the server sends.
            let missing: Vec<TlsaRecord> = current
                .members
                .iter()
                .filter(|m| m.valid_at(now))
                .filter(|m| !pins.iter().any(|(_, p)| std::ptr::eq(*p, *m)))
                .map(|m| m.record(Selector::Spki))
                .collect();
            if missing.is_empty() {
                continue;
            }
            out.push(FamilyAdvice {
                pinned_family: family,
                pinned: pins
                    .iter()
                    .filter(|(f, _)| std::ptr::eq(*f, *family))
                    .map(|(_, m)| *m)
                    .collect(),
                current,
                missing,
            });
        }
        out
    }
}

fn bad(reason: String) -> Error {
    Error::CaFamilies { reason }
}

/// The file as written: every field named, nothing else allowed.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    format: u32,
    version: String,
    families: Vec<RawFamily>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFamily {
    id: String,
    ca: String,
    generation: String,
    key_type: String,
    issues_for: String,
    #[serde(default)]
    since: Option<String>,
    #[serde(default)]
    replaces: Option<String>,
    source: String,
    members: Vec<RawMember>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMember {
    name: String,
    subject: String,
    not_before: String,
    not_after: String,
    spki_sha256: String,
    cert_sha256: String,
    #[serde(default)]
    file: Option<String>,
    source: String,
    #[serde(default)]
    other_certificates: Vec<RawOther>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOther {
    issuer: String,
    cert_sha256: String,
    #[serde(default)]
    file: Option<String>,
    source: String,
}

impl RawOther {
    fn check(self) -> Result<OtherCertificate, String> {
        for (name, value) in [("issuer", &self.issuer), ("source", &self.source)] {
            text_field(name, value).map_err(|e| e.to_string())?;
        }
        if let Some(file) = &self.file {
            text_field("file", file).map_err(|e| e.to_string())?;
        }
        Ok(OtherCertificate {
            cert_sha256: sha256_hex("cert_sha256", &self.cert_sha256)?,
            issuer: self.issuer,
            file: self.file,
            source: self.source,
        })
    }
}

impl RawFamily {
    fn check(self) -> Result<Family, Error> {
        let ctx = |what: &str| format!("family {:?}: {what}", self.id);
        for (name, value) in [
            ("id", &self.id),
            ("ca", &self.ca),
            ("generation", &self.generation),
            ("key_type", &self.key_type),
            ("issues_for", &self.issues_for),
            ("source", &self.source),
        ] {
            text_field(name, value).map_err(|e| bad(ctx(&e.to_string())))?;
        }
        if self.members.is_empty() || self.members.len() > MAX_FAMILY_MEMBERS {
            return Err(bad(ctx(&format!(
                "{} members; a family has 1 to {MAX_FAMILY_MEMBERS}",
                self.members.len()
            ))));
        }
        let since = self
            .since
            .as_deref()
            .map(|s| timestamp("since", s))
            .transpose()
            .map_err(|e| bad(ctx(&e)))?;
        if let Some(r) = &self.replaces {
            text_field("replaces", r).map_err(|e| bad(ctx(&e.to_string())))?;
        }
        let members = self
            .members
            .into_iter()
            .map(|m| {
                m.check()
                    .map_err(|e| bad(format!("family {:?}: {e}", self.id)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Family {
            id: self.id,
            ca: self.ca,
            generation: self.generation,
            key_type: self.key_type,
            issues_for: self.issues_for,
            since,
            replaces: self.replaces,
            source: self.source,
            members,
        })
    }
}

impl RawMember {
    fn check(self) -> Result<Member, String> {
        let ctx = |what: String| format!("member {:?}: {what}", self.name);
        for (name, value) in [
            ("name", &self.name),
            ("subject", &self.subject),
            ("source", &self.source),
        ] {
            text_field(name, value).map_err(|e| ctx(e.to_string()))?;
        }
        if let Some(file) = &self.file {
            text_field("file", file).map_err(|e| ctx(e.to_string()))?;
        }
        let not_before = timestamp("not_before", &self.not_before).map_err(ctx)?;
        let not_after = timestamp("not_after", &self.not_after).map_err(ctx)?;
        if not_after < not_before {
            return Err(ctx("not_after is before not_before".into()));
        }
        let spki_sha256 = sha256_hex("spki_sha256", &self.spki_sha256).map_err(ctx)?;
        let cert_sha256 = sha256_hex("cert_sha256", &self.cert_sha256).map_err(ctx)?;
        if self.other_certificates.len() > MAX_OTHER_CERTIFICATES {
            return Err(ctx(format!(
                "{} other certificates, more than {MAX_OTHER_CERTIFICATES}",
                self.other_certificates.len()
            )));
        }
        let other_certificates = self
            .other_certificates
            .into_iter()
            .map(|o| {
                o.check()
                    .map_err(|e| ctx(format!("other certificate: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Member {
            name: self.name,
            subject: self.subject,
            not_before,
            not_after,
            spki_sha256,
            cert_sha256,
            file: self.file,
            source: self.source,
            other_certificates,
        })
    }
}

/// A non-empty, bounded text without control characters (it reaches terminals and zone
/// files' comments).
fn text_field(name: &str, value: &str) -> Result<(), Error> {
    if value.is_empty() {
        return Err(bad(format!("{name} is empty")));
    }
    if value.chars().count() > MAX_TEXT {
        return Err(bad(format!("{name} is longer than {MAX_TEXT} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err(bad(format!("{name} contains a control character")));
    }
    Ok(())
}

/// An RFC 3339 time (`2026-05-13T00:00:00Z`) as seconds since the epoch, not before 1970.
fn timestamp(name: &str, value: &str) -> Result<u64, String> {
    let t = time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("{name} {value:?} is not an RFC 3339 time: {e}"))?;
    u64::try_from(t.unix_timestamp()).map_err(|_| format!("{name} {value:?} is before 1970"))
}

/// 64 hex digits.
fn sha256_hex(name: &str, value: &str) -> Result<[u8; 32], String> {
    let bytes = data_encoding::HEXLOWER_PERMISSIVE
        .decode(value.as_bytes())
        .map_err(|_| format!("{name} is not hex"))?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| format!("{name} has {} octets, not 32 (SHA-256)", bytes.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every certificate the embedded list names, as shipped under `data/ca-families/`.
    const PEMS: [(&str, &str); 21] = [
        (
            "letsencrypt/int-ye1.pem",
            include_str!("../../../data/ca-families/letsencrypt/int-ye1.pem"),
        ),
        (
            "letsencrypt/int-ye2.pem",
            include_str!("../../../data/ca-families/letsencrypt/int-ye2.pem"),
        ),
        (
            "letsencrypt/int-ye3.pem",
            include_str!("../../../data/ca-families/letsencrypt/int-ye3.pem"),
        ),
        (
            "letsencrypt/int-yr1.pem",
            include_str!("../../../data/ca-families/letsencrypt/int-yr1.pem"),
        ),
        (
            "letsencrypt/int-yr2.pem",
            include_str!("../../../data/ca-families/letsencrypt/int-yr2.pem"),
        ),
        (
            "letsencrypt/int-yr3.pem",
            include_str!("../../../data/ca-families/letsencrypt/int-yr3.pem"),
        ),
        (
            "letsencrypt/e5.pem",
            include_str!("../../../data/ca-families/letsencrypt/e5.pem"),
        ),
        (
            "letsencrypt/e6.pem",
            include_str!("../../../data/ca-families/letsencrypt/e6.pem"),
        ),
        (
            "letsencrypt/e7.pem",
            include_str!("../../../data/ca-families/letsencrypt/e7.pem"),
        ),
        (
            "letsencrypt/e8.pem",
            include_str!("../../../data/ca-families/letsencrypt/e8.pem"),
        ),
        (
            "letsencrypt/e9.pem",
            include_str!("../../../data/ca-families/letsencrypt/e9.pem"),
        ),
        (
            "letsencrypt/r10.pem",
            include_str!("../../../data/ca-families/letsencrypt/r10.pem"),
        ),
        (
            "letsencrypt/r11.pem",
            include_str!("../../../data/ca-families/letsencrypt/r11.pem"),
        ),
        (
            "letsencrypt/r12.pem",
            include_str!("../../../data/ca-families/letsencrypt/r12.pem"),
        ),
        (
            "letsencrypt/r13.pem",
            include_str!("../../../data/ca-families/letsencrypt/r13.pem"),
        ),
        (
            "letsencrypt/r14.pem",
            include_str!("../../../data/ca-families/letsencrypt/r14.pem"),
        ),
        (
            "letsencrypt/e5-cross.pem",
            include_str!("../../../data/ca-families/letsencrypt/e5-cross.pem"),
        ),
        (
            "letsencrypt/e6-cross.pem",
            include_str!("../../../data/ca-families/letsencrypt/e6-cross.pem"),
        ),
        (
            "letsencrypt/e7-cross.pem",
            include_str!("../../../data/ca-families/letsencrypt/e7-cross.pem"),
        ),
        (
            "letsencrypt/e8-cross.pem",
            include_str!("../../../data/ca-families/letsencrypt/e8-cross.pem"),
        ),
        (
            "letsencrypt/e9-cross.pem",
            include_str!("../../../data/ca-families/letsencrypt/e9-cross.pem"),
        ),
    ];

    /// The certificates that issued those of `PEMS`: ISRG Root X1 and X2 as Debian's
    /// ca-certificates ships them, and Let's Encrypt's Root YE and Root YR as
    /// cross-signed by X2 and X1 (data/ca-families/README.md says where each is from).
    const ISSUERS: [(&str, &str); 4] = [
        (
            "roots/isrg-root-x1.pem",
            include_str!("../../../data/ca-families/roots/isrg-root-x1.pem"),
        ),
        (
            "roots/isrg-root-x2.pem",
            include_str!("../../../data/ca-families/roots/isrg-root-x2.pem"),
        ),
        (
            "letsencrypt/root-ye-by-x2.pem",
            include_str!("../../../data/ca-families/letsencrypt/root-ye-by-x2.pem"),
        ),
        (
            "letsencrypt/root-yr-by-x1.pem",
            include_str!("../../../data/ca-families/letsencrypt/root-yr-by-x1.pem"),
        ),
    ];

    /// SHA-256 of the roots as `/usr/share/ca-certificates/mozilla/ISRG_Root_X{1,2}.crt`
    /// (Debian's ca-certificates 20230311+deb12u1): a copy that differs fails here.
    const ROOT_SHA256: [(&str, &str); 2] = [
        (
            "roots/isrg-root-x1.pem",
            "96bcec06264976f37460779acf28c5a7cfe8a3c0aae11a8ffcee05c0bddf08c6",
        ),
        (
            "roots/isrg-root-x2.pem",
            "69729b8e15a86efc177a57afb7171dfc64add28c2fca8cf1507e34453ccb1470",
        ),
    ];

    fn der_of(pem: &str) -> Vec<u8> {
        crate::parse_certificates(pem.as_bytes()).unwrap()[0]
            .as_ref()
            .to_vec()
    }

    /// Whether `issuer`'s key signed `cert` (its subject named as `cert`'s issuer), with
    /// the algorithms these CAs use (ECDSA P-256/P-384 with SHA-256/384, RSA PKCS#1 v1.5
    /// with SHA-256/384).
    fn signed_by(cert: &[u8], issuer: &[u8]) -> Result<(), String> {
        use ring::signature;
        let (_, c) = x509_parser::parse_x509_certificate(cert).map_err(|e| e.to_string())?;
        let (_, i) = x509_parser::parse_x509_certificate(issuer).map_err(|e| e.to_string())?;
        if c.issuer().as_raw() != i.subject().as_raw() {
            return Err(format!("issuer {} is not {}", c.issuer(), i.subject()));
        }
        let key = &i.public_key().subject_public_key.data;
        let curve = i
            .public_key()
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok())
            .map(|o| o.to_id_string());
        let algorithm: &dyn signature::VerificationAlgorithm = match (
            c.signature_algorithm.algorithm.to_id_string().as_str(),
            curve.as_deref(),
        ) {
            ("1.2.840.10045.4.3.2", Some("1.2.840.10045.3.1.7")) => {
                &signature::ECDSA_P256_SHA256_ASN1
            }
            ("1.2.840.10045.4.3.3", Some("1.3.132.0.34")) => &signature::ECDSA_P384_SHA384_ASN1,
            ("1.2.840.113549.1.1.11", _) => &signature::RSA_PKCS1_2048_8192_SHA256,
            ("1.2.840.113549.1.1.12", _) => &signature::RSA_PKCS1_2048_8192_SHA384,
            (other, curve) => return Err(format!("algorithm {other} with key {curve:?}")),
        };
        signature::UnparsedPublicKey::new(algorithm, key)
            .verify(c.tbs_certificate.as_ref(), &c.signature_value.data)
            .map_err(|_| "the signature does not verify".to_owned())
    }

    /// Every certificate of the list was issued by the CA it names: its signature verifies
    /// under the key of ISRG Root X1 or X2 (Debian's copies) or of Root YE or YR, whose
    /// cross-signatures verify under X2 and X1. A PEM that is not the CA's (altered, or
    /// issued by anyone else) fails here, as its digests fail the test above.
    #[test]
    fn every_certificate_verifies_under_its_issuing_root() {
        for (file, want) in ROOT_SHA256 {
            let (_, pem) = ISSUERS.iter().find(|(f, _)| *f == file).unwrap();
            let got = digest::digest(&digest::SHA256, &der_of(pem));
            assert_eq!(data_encoding::HEXLOWER.encode(got.as_ref()), want, "{file}");
        }
        let issuers: Vec<(&str, Vec<u8>)> = ISSUERS.iter().map(|(f, p)| (*f, der_of(p))).collect();
        let issuer_of = |der: &[u8]| -> Vec<&str> {
            issuers
                .iter()
                .filter(|(_, i)| signed_by(der, i).is_ok())
                .map(|(f, _)| *f)
                .collect()
        };
        for (file, pem) in PEMS.iter().chain(&ISSUERS[2..]) {
            let signers = issuer_of(&der_of(pem));
            assert_eq!(signers.len(), 1, "{file}: signed by {signers:?}");
        }
        assert_eq!(
            issuer_of(&cert("letsencrypt/int-ye1.pem")),
            ["letsencrypt/root-ye-by-x2.pem"]
        );
        assert_eq!(
            issuer_of(&cert("letsencrypt/e5-cross.pem")),
            ["roots/isrg-root-x1.pem"]
        );
        assert_eq!(
            issuer_of(&cert("letsencrypt/e5.pem")),
            ["roots/isrg-root-x2.pem"]
        );
        // The check can fail: one octet of the signature or of the signed part changed,
        // or the right name with another key.
        let mut e5 = cert("letsencrypt/e5.pem");
        let last = e5.len() - 1;
        e5[last] ^= 1;
        assert!(issuer_of(&e5).is_empty());
        let mut r10 = cert("letsencrypt/r10.pem");
        r10[200] ^= 1;
        assert!(issuer_of(&r10).is_empty());
        let x2 = &issuers[1].1;
        let err = signed_by(&cert("letsencrypt/e5-cross.pem"), x2).unwrap_err();
        assert!(err.contains("is not"), "{err}");
    }

    fn cert(file: &str) -> Vec<u8> {
        let (_, pem) = PEMS.iter().find(|(f, _)| *f == file).unwrap();
        crate::parse_certificates(pem.as_bytes()).unwrap()[0]
            .as_ref()
            .to_vec()
    }

    fn at(text: &str) -> u64 {
        timestamp("test", text).unwrap()
    }

    /// The data file cannot drift from the certificates: every member's digests, subject
    /// and dates are recomputed from the PEM it names.
    #[test]
    fn embedded_list_parses_and_matches_its_certificates() {
        let list = CaFamilies::parse(EMBEDDED).unwrap();
        assert_eq!(list.families().len(), 4);
        let mut checked = 0;
        for f in list.families() {
            for m in &f.members {
                let Some(file) = &m.file else { continue };
                let der = cert(file);
                let (_, x) = x509_parser::parse_x509_certificate(der.as_ref()).unwrap();
                let spki = crate::certificate_spki(der.as_ref()).unwrap();
                assert_eq!(
                    m.spki_sha256.as_slice(),
                    digest::digest(&digest::SHA256, &spki).as_ref(),
                    "{file} SPKI"
                );
                assert_eq!(
                    m.cert_sha256.as_slice(),
                    digest::digest(&digest::SHA256, der.as_ref()).as_ref(),
                    "{file} certificate"
                );
                assert_eq!(m.subject, x.subject().to_string(), "{file} subject");
                assert_eq!(
                    m.not_before as i64,
                    x.validity().not_before.timestamp(),
                    "{file}"
                );
                assert_eq!(
                    m.not_after as i64,
                    x.validity().not_after.timestamp(),
                    "{file}"
                );
                assert!(m.source.starts_with("https://"), "{file} source");
                checked += 1;
                for o in &m.other_certificates {
                    let file = o.file.as_deref().unwrap();
                    let der = cert(file);
                    let (_, x) = x509_parser::parse_x509_certificate(der.as_ref()).unwrap();
                    let spki = crate::certificate_spki(der.as_ref()).unwrap();
                    assert_eq!(
                        m.spki_sha256.as_slice(),
                        digest::digest(&digest::SHA256, &spki).as_ref(),
                        "{file}: not the member's key"
                    );
                    assert_eq!(
                        o.cert_sha256.as_slice(),
                        digest::digest(&digest::SHA256, der.as_ref()).as_ref(),
                        "{file} certificate"
                    );
                    assert_eq!(m.subject, x.subject().to_string(), "{file} subject");
                    assert_eq!(o.issuer, x.issuer().to_string(), "{file} issuer");
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, PEMS.len());
        assert_eq!(CaFamilies::embedded(), &list);
    }

    #[test]
    fn records_and_certificates_find_their_member() {
        let list = CaFamilies::embedded();
        let ye2 = cert("letsencrypt/int-ye2.pem");
        let (f, m) = list.by_certificate(&ye2).unwrap();
        assert_eq!(
            (f.id.as_str(), m.name.as_str()),
            ("letsencrypt-y-ecdsa", "YE2")
        );
        let source = crate::Source::Certificate(rustls_pki_types::CertificateDer::from(ye2));
        for (s, t) in [
            (Selector::Spki, MatchingType::Sha256),
            (Selector::Cert, MatchingType::Sha256),
            (Selector::Spki, MatchingType::Full),
            (Selector::Cert, MatchingType::Full),
        ] {
            let r = crate::generate(&source, CertUsage::DaneTa, s, t).unwrap();
            assert_eq!(
                list.by_record(&r).map(|(_, m)| m.name.as_str()),
                Some("YE2"),
                "{r}"
            );
        }
        // Not a DANE-TA record, a SHA2-512 digest, or another key: no member.
        for (u, s, t) in [
            (CertUsage::DaneEe, Selector::Spki, MatchingType::Sha256),
            (CertUsage::PkixTa, Selector::Spki, MatchingType::Sha256),
            (CertUsage::DaneTa, Selector::Spki, MatchingType::Sha512),
        ] {
            let r = crate::generate(&source, u, s, t).unwrap();
            assert_eq!(list.by_record(&r), None, "{r}");
        }
        let other = TlsaRecord::new(
            CertUsage::DaneTa,
            Selector::Spki,
            MatchingType::Sha256,
            vec![7; 32],
        );
        assert_eq!(list.by_record(&other), None);
    }

    /// E5 has two certificates (by ISRG Root X2, cross-signed by X1): a `2 0 1` of either,
    /// or either certificate itself, is E5.
    #[test]
    fn a_cross_signed_certificate_is_the_same_member() {
        let list = CaFamilies::embedded();
        let cross = cert("letsencrypt/e5-cross.pem");
        assert_eq!(list.by_certificate(&cross).unwrap().1.name, "E5");
        let source = crate::Source::Certificate(rustls_pki_types::CertificateDer::from(cross));
        let r = crate::generate(
            &source,
            CertUsage::DaneTa,
            Selector::Cert,
            MatchingType::Sha256,
        )
        .unwrap();
        assert_eq!(list.by_record(&r).unwrap().1.name, "E5");
        let advice = list.advise(&[r], &[], at("2026-01-01T00:00:00Z"));
        assert_eq!(names(&advice[0], list), ["E6", "E7", "E8", "E9"]);
    }

    fn names(advice: &FamilyAdvice<'_>, list: &CaFamilies) -> Vec<String> {
        advice
            .missing
            .iter()
            .map(|r| list.by_record(r).unwrap().1.name.clone())
            .collect()
    }

    #[test]
    fn one_pinned_member_asks_for_its_siblings() {
        let list = CaFamilies::embedded();
        let ye1 = list
            .by_certificate(&cert("letsencrypt/int-ye1.pem"))
            .unwrap()
            .1;
        let rrset = [ye1.record(Selector::Spki)];
        let advice = list.advise(&rrset, &[], at("2026-12-07T00:00:00Z"));
        assert_eq!(advice.len(), 1);
        assert_eq!(names(&advice[0], list), ["YE2", "YE3"]);
        assert_eq!(advice[0].missing[0].to_string().get(..6), Some("2 1 1 "));
        let text = advice[0].to_string();
        assert!(
            text.contains(
                "pins YE1 of Let's Encrypt's Generation Y (ECDSA) intermediates (YE1, YE2, YE3)"
            ),
            "{text}"
        );
        assert!(
            text.contains("publish the records of YE2, YE3 too, or use 3 1 1"),
            "{text}"
        );
        // 2 0 1 pins ask for 2 1 1 records (the key, whichever certificate is sent).
        let advice = list.advise(
            &[ye1.record(Selector::Cert)],
            &[],
            at("2026-12-07T00:00:00Z"),
        );
        assert_eq!(advice[0].missing[0].selector, Selector::Spki);
    }

    #[test]
    fn the_whole_family_is_enough() {
        let list = CaFamilies::embedded();
        let f = &list.families()[0];
        let rrset: Vec<_> = f.members.iter().map(|m| m.record(Selector::Spki)).collect();
        assert!(
            list.advise(&rrset, &[], at("2026-12-07T00:00:00Z"))
                .is_empty()
        );
        // A 3 1 1 or an unknown CA's 2 1 1: nothing to say.
        let other = [TlsaRecord::new(
            CertUsage::DaneTa,
            Selector::Spki,
            MatchingType::Sha256,
            vec![1; 32],
        )];
        assert!(
            list.advise(&other, &[], at("2026-12-07T00:00:00Z"))
                .is_empty()
        );
    }

    #[test]
    fn a_replaced_generation_asks_for_the_current_one() {
        let list = CaFamilies::embedded();
        let e5 = list.by_certificate(&cert("letsencrypt/e5.pem")).unwrap().1;
        let rrset = [e5.record(Selector::Spki)];
        let after = list.advise(&rrset, &[], at("2026-12-07T00:00:00Z"));
        assert_eq!(after[0].current.id, "letsencrypt-y-ecdsa");
        assert_eq!(names(&after[0], list), ["YE1", "YE2", "YE3"]);
        let text = after[0].to_string();
        assert!(
            text.contains("which Generation Y (ECDSA) replaced on 2026-05-13"),
            "{text}"
        );
        // Before the switch, the 2024 generation was current: E6-E9 were the siblings.
        let before = list.advise(&rrset, &[], at("2026-01-01T00:00:00Z"));
        assert_eq!(before[0].current.id, "letsencrypt-2024-ecdsa");
        assert_eq!(names(&before[0], list), ["E6", "E7", "E8", "E9"]);
        // After every member expired there is nothing left to publish.
        assert!(
            list.advise(&rrset, &[], at("2030-01-01T00:00:00Z"))
                .is_empty()
        );
    }

    /// A set pinning an old member and a current one gets one advice, about the current
    /// family, naming the current pin.
    #[test]
    fn old_and_new_pins_give_one_advice() {
        let list = CaFamilies::embedded();
        let e5 = list.by_certificate(&cert("letsencrypt/e5.pem")).unwrap().1;
        let ye1 = list
            .by_certificate(&cert("letsencrypt/int-ye1.pem"))
            .unwrap()
            .1;
        let rrset = [e5.record(Selector::Spki), ye1.record(Selector::Spki)];
        let advice = list.advise(&rrset, &[], at("2026-12-07T00:00:00Z"));
        assert_eq!(advice.len(), 1, "{advice:?}");
        assert_eq!(advice[0].pinned[0].name, "YE1");
        assert_eq!(names(&advice[0], list), ["YE2", "YE3"]);
    }

    #[test]
    fn a_matched_sha512_record_is_found_through_the_chain() {
        let list = CaFamilies::embedded();
        let yr2 = list
            .by_certificate(&cert("letsencrypt/int-yr2.pem"))
            .unwrap()
            .1;
        let sha512 = [TlsaRecord::new(
            CertUsage::DaneTa,
            Selector::Spki,
            MatchingType::Sha512,
            vec![0; 64],
        )];
        assert!(
            list.advise(&sha512, &[], at("2026-12-07T00:00:00Z"))
                .is_empty()
        );
        let advice = list.advise(&sha512, &[yr2.spki_sha256], at("2026-12-07T00:00:00Z"));
        assert_eq!(names(&advice[0], list), ["YR1", "YR3"]);
    }

    /// Bad files: one error each, naming what is wrong.
    #[test]
    fn bad_files() {
        let good = EMBEDDED;
        let check = |text: &str, expected: &str| {
            let err = CaFamilies::parse(text).unwrap_err().to_string();
            assert!(err.contains(expected), "{err} lacks {expected}");
            assert!(!err.contains('\n'), "{err}");
        };
        check("", "EOF");
        check("[]", "invalid length 0");
        check("7", "invalid type");
        check(
            &good.replacen("\"format\": 1", "\"format\": 2", 1),
            "format 2 is not the format 1",
        );
        check(
            &good.replacen("\"version\"", "\"versoin\"", 1),
            "unknown field `versoin`",
        );
        check(
            &good.replacen("6ebcefb4", "6ebcefb", 1),
            "spki_sha256 is not hex",
        );
        check(
            &good.replacen("6ebcefb4", "", 1),
            "spki_sha256 has 28 octets",
        );
        check(
            &good.replacen("2025-09-03T00:00:00Z", "2025-09-03", 1),
            "not_before \"2025-09-03\" is not an RFC 3339 time",
        );
        check(
            &good.replacen(
                "\"replaces\": \"letsencrypt-2024-ecdsa\"",
                "\"replaces\": \"nothing\"",
                1,
            ),
            "replaces \"nothing\", which is not in the file",
        );
        check(
            &good.replacen("\"since\": \"2026-05-13T00:00:00Z\",", "", 1),
            "has no \"since\"",
        );
        check(
            &good.replacen("\"ca\": \"Let's Encrypt\"", "\"ca\": \"\"", 1),
            "ca is empty",
        );
        check(
            &good.replacen("\"name\": \"YE1\"", "\"name\": \"YE\\u001b[2J\"", 1),
            "control character",
        );
        check(
            &good.replacen("2028-09-02T23:59:59Z", "2020-09-02T23:59:59Z", 1),
            "not_after is before not_before",
        );
        let twice = good.replacen(
            "\"id\": \"letsencrypt-y-rsa\"",
            "\"id\": \"letsencrypt-y-ecdsa\"",
            1,
        );
        check(&twice, "appears twice");
        let dup = good.replacen(
            "b3fb5d00e994cddf2cc9a4eea9f806bc5727e83cc0e4299bf956f2d524fe5376",
            "6ebcefb4210b088654a38b03fea3d7d1c711b4fb1ddc363a45f9b1a4e53da01e",
            1,
        );
        check(&dup, "repeats a digest");
        let dup = good.replacen(
            "76e9e288aafc0e37f4390cbf946aad997d5c1c901b3ce513d3d8fadbabe2ab85",
            "5dfdb3cf31b26f23d87c09f3a0cef642f64069a9fb7cfe29270bb5dc0f1e16bb",
            1,
        );
        check(&dup, "repeats a certificate digest");
        let extra = good.replacen("\"issuer\": \"C=US", "\"isuer\": \"C=US", 1);
        check(&extra, "unknown field `isuer`");
        let empty = r#"{"format":1,"version":"x","families":[{"id":"a","ca":"b","generation":"c","key_type":"d","issues_for":"e","source":"f","members":[]}]}"#;
        check(empty, "0 members");
    }
}
