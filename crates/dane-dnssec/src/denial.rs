//! Authenticated denial of existence: NSEC (RFC 4035 5.4, RFC 4034 4) and NSEC3 (RFC 5155
//! section 8), with wildcards, empty non-terminals, opt-out and insecure delegations.

use std::cmp::Ordering;

use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::rr::{Name, RData, RecordType, RecordTypeSet};

use crate::crypto;
use crate::evidence::Response;
use crate::validate::{Denial, Engine, Halt, Key, R, Used, ancestor, label_count};
use crate::verdict::{Reason, ReasonCode as C, StepKind, Verdict};
use crate::wire::{self, canonical_cmp, name_wire};

struct Nsec {
    owner: Name,
    next: Name,
    types: RecordTypeSet,
}

struct Nsec3 {
    owner: Name,
    hash: Vec<u8>,
    next: Vec<u8>,
    opt_out: bool,
    iterations: u16,
    salt: Vec<u8>,
    types: RecordTypeSet,
}

/// An NSEC3 parameter set: salt and iterations.
type Params = (Vec<u8>, u16);

/// The NSEC3 records of one parameter set (RFC 5155 7.1: a zone uses one), with it.
struct Set<'a> {
    n3: &'a [&'a Nsec3],
    salt: &'a [u8],
    iterations: u16,
}

/// An NSEC3 hash as it appears in owner names (base32hex, lowercase).
fn b32(h: &[u8]) -> String {
    data_encoding::BASE32HEX_NOPAD
        .encode(h)
        .to_ascii_lowercase()
}

fn types_text(t: &RecordTypeSet) -> String {
    let v: Vec<String> = t.iter().map(|t| t.to_string()).collect();
    if v.is_empty() {
        "no types".into()
    } else {
        v.join(" ")
    }
}

/// RFC 4034 4.1 / RFC 4035 5.4: the NSEC at `owner` with next name `next` covers `name`
/// (owner < name < next in canonical order; the last NSEC wraps to the apex).
fn nsec_covers(n: &Nsec, name: &Name) -> bool {
    let after_owner = canonical_cmp(&n.owner, name) == Ordering::Less;
    let before_next = canonical_cmp(name, &n.next) == Ordering::Less;
    if canonical_cmp(&n.owner, &n.next) == Ordering::Less {
        after_owner && before_next
    } else {
        after_owner || before_next
    }
}

/// An NSEC at a delegation point (NS without SOA) or DNAME above `name` says nothing about
/// names below it (RFC 4035 5.4, RFC 6672 5.3.4).
/// Why an existing wildcard `wild` (an NSEC or NSEC3 record matches it, with `types`)
/// cannot prove wildcard NODATA for `name`/`rtype`: the response claimed NXDOMAIN, or the
/// wildcard has the type (or a CNAME) and the answer should have been synthesised.
fn wildcard_nodata_refuted(
    nx: bool,
    name: &Name,
    wild: &Name,
    types: &RecordTypeSet,
    rtype: RecordType,
) -> Option<Reason> {
    if nx {
        return Some(Reason::new(
            C::BadResponse,
            format!("NXDOMAIN for {name}, but the wildcard {wild} exists"),
        ));
    }
    if types.contains(rtype) || types.contains(RecordType::CNAME) {
        return Some(Reason::new(
            C::BadWildcard,
            format!(
                "the wildcard {wild} has {rtype} or CNAME: the answer should have been synthesised"
            ),
        ));
    }
    None
}

fn above_cut(types: &RecordTypeSet, owner: &Name, name: &Name) -> bool {
    owner != name
        && owner.zone_of(name)
        && ((types.contains(RecordType::NS) && !types.contains(RecordType::SOA))
            || types.contains(RecordType::DNAME))
}

/// RFC 4035 5.2 and RFC 6840 4.4: the parent's NSEC at a delegation point (NS, neither DS
/// nor SOA) proves that the child at `n.owner` is unsigned, so everything at and below it is
/// insecure, though it proves nothing about the child's types. It applies to `name` at or
/// below the cut; for a DS question only strictly below (the NSEC at the name itself is the
/// ordinary no-DS proof, RFC 4035 5.4). An apex NSEC (SOA, or the signing zone's own) or one
/// with DS (a signed child) proves no unsigned cut. (Unbound: val_nsec_proves_insecuredelegation.)
fn proves_unsigned_cut(n: &Nsec, name: &Name, rtype: RecordType, zone: &Name) -> bool {
    let t = &n.types;
    let at_or_below = if rtype == RecordType::DS {
        &n.owner != name && n.owner.zone_of(name)
    } else {
        n.owner.zone_of(name)
    };
    &n.owner != zone
        && zone.zone_of(&n.owner)
        && at_or_below
        && t.contains(RecordType::NS)
        && !t.contains(RecordType::DS)
        && !t.contains(RecordType::SOA)
}

/// RFC 5155 9.2: what the NSEC3 records prove about `name` (`proven`), and that its next
/// closer name lies in an opt-out span, where an unsigned delegation may exist: insecure.
fn opt_out_denial(name: &Name, proven: &str) -> Denial {
    Denial::OptOut(Reason::new(
        C::OptOut,
        format!(
            "{name}: {proven}, but its next closer name is covered by an opt-out NSEC3: an unsigned delegation may exist there (RFC 5155 9.2)"
        ),
    ))
}

fn common_ancestor(a: &Name, b: &Name) -> Name {
    let la: Vec<&[u8]> = a.iter().collect();
    let lb: Vec<&[u8]> = b.iter().collect();
    let n = la
        .iter()
        .rev()
        .zip(lb.iter().rev())
        .take_while(|(x, y)| x.eq_ignore_ascii_case(y))
        .count();
    ancestor(a, n)
}

fn wildcard_of(ce: &Name) -> Option<Name> {
    let mut w = ce.prepend_label("*").ok()?;
    w.set_fqdn(true);
    Some(w)
}

fn hash_covers(owner: &[u8], next: &[u8], h: &[u8]) -> bool {
    if owner < next {
        owner < h && h < next
    } else {
        // The last NSEC3 in hash order wraps around (RFC 5155 8.3).
        h > owner || h < next
    }
}

impl Engine<'_, '_> {
    /// The NSEC and NSEC3 RRsets of the authority section that verify with `zone`'s keys.
    fn denial_records(
        &mut self,
        resp: &Response,
        zone: &Name,
        keys: &[Key],
    ) -> R<(Vec<Nsec>, Vec<Nsec3>, Option<Reason>)> {
        let mut nsecs = Vec::new();
        let mut nsec3s = Vec::new();
        let mut failure = None;
        for set in &resp.authority {
            if !matches!(set.rtype, RecordType::NSEC | RecordType::NSEC3)
                || !zone.zone_of(&set.name)
            {
                continue;
            }
            match self.verify_rrset(set, zone, keys)? {
                // RFC 4035 5.3.4 / RFC 4592 4.5: a denial record expanded from a wildcard
                // proves nothing about the name it was expanded to.
                Ok(Used {
                    wildcard_labels: Some(_),
                }) => {
                    failure.get_or_insert(Reason::new(
                        C::BadDenial,
                        format!("{} {} is a wildcard expansion", set.name, set.rtype),
                    ));
                    continue;
                }
                Ok(_) => {}
                Err(r) => {
                    failure.get_or_insert(r);
                    continue;
                }
            }
            for rd in &set.rdatas {
                match wire::typed(set.rtype, rd) {
                    Ok(RData::DNSSEC(DNSSECRData::NSEC(n))) => nsecs.push(Nsec {
                        owner: set.name.clone(),
                        next: n.next_domain_name().to_lowercase(),
                        types: n.type_set().clone(),
                    }),
                    Ok(RData::DNSSEC(DNSSECRData::NSEC3(n))) => {
                        // RFC 5155 8.2: only hash algorithm 1 and flags 0 or 1 are usable.
                        if u8::from(n.hash_algorithm()) != 1 || n.flags() & !1 != 0 {
                            continue;
                        }
                        // RFC 5155 8.2: the owner is base32hex(hash).zone, directly below the zone.
                        let Some(first) = set.name.iter().next() else {
                            continue;
                        };
                        let Ok(hash) =
                            data_encoding::BASE32HEX_NOPAD.decode(&first.to_ascii_uppercase())
                        else {
                            continue;
                        };
                        // Checked: an owner of one label (the zone is the root) leaves zero.
                        let Some(up) = label_count(&set.name).checked_sub(1) else {
                            continue;
                        };
                        if ancestor(&set.name, up) != *zone {
                            continue;
                        }
                        nsec3s.push(Nsec3 {
                            owner: set.name.clone(),
                            hash,
                            next: n.next_hashed_owner_name().to_vec(),
                            opt_out: n.opt_out(),
                            iterations: n.iterations(),
                            salt: n.salt().to_vec(),
                            types: n.type_set().clone(),
                        });
                    }
                    _ => {}
                }
            }
        }
        Ok((nsecs, nsec3s, failure))
    }

    /// Unbound and BIND answer SERVFAIL when any signed RRset of a negative answer's
    /// authority section fails to validate, even beside a good proof: the SOA (RFC 4035
    /// 3.1.3 requires it signed) and every other RRset signed by `zone` must verify. The
    /// NSEC/NSEC3 records are checked by `denial_records`. `Some(reason)` for the first
    /// that does not.
    fn authority_unverified(
        &mut self,
        resp: &Response,
        zone: &Name,
        keys: &[Key],
    ) -> R<Option<Reason>> {
        for set in &resp.authority {
            if matches!(set.rtype, RecordType::NSEC | RecordType::NSEC3) || !zone.zone_of(&set.name)
            {
                continue;
            }
            let by_zone = set.sigs.iter().any(|s| &s.signer == zone);
            if !by_zone && set.rtype != RecordType::SOA {
                continue;
            }
            if let Err(r) = self.verify_rrset(set, zone, keys)? {
                return Ok(Some(Reason::new(
                    r.code,
                    format!(
                        "the negative answer's {} {} does not validate: {}",
                        set.name, set.rtype, r.detail
                    ),
                )));
            }
        }
        Ok(None)
    }

    /// An NSEC3 hash, counted once per lookup against `Limits::max_nsec3_hashes`
    /// (CVE-2023-50868); repeats in this or a later pass of the lookup come from the budget.
    fn nsec3_hash(&mut self, name: &Name, salt: &[u8], iterations: u16) -> R<Vec<u8>> {
        let key = (name_wire(name), salt.to_vec(), iterations);
        if let Some(h) = self.budget.nsec3.get(&key) {
            return Ok(h.to_vec());
        }
        if self.budget.hashes >= self.limits.max_nsec3_hashes {
            return Err(Halt::Budget(Reason::new(
                C::BudgetExceeded,
                format!(
                    "more than {} NSEC3 hashes in one lookup (Limits::max_nsec3_hashes)",
                    self.limits.max_nsec3_hashes
                ),
            )));
        }
        self.budget.hashes += 1;
        self.budget.sha1_runs += u64::from(iterations) + 1;
        let h = crypto::nsec3_hash(&key.0, salt, iterations);
        self.budget.nsec3.insert(key, h);
        Ok(h.to_vec())
    }

    /// The NSEC3 parameter sets (salt, iterations) present, those within the insecure cap
    /// first (fewest iterations first), then those over it.
    fn nsec3_params(&self, all: &[Nsec3]) -> (Vec<Params>, Vec<Params>) {
        let mut sets: Vec<Params> = Vec::new();
        for n in all {
            if !sets.iter().any(|(s, i)| *s == n.salt && *i == n.iterations) {
                sets.push((n.salt.clone(), n.iterations));
            }
        }
        sets.sort_by_key(|(_, i)| *i);
        sets.into_iter()
            .partition(|(_, i)| *i <= self.limits.nsec3_iterations_insecure)
    }

    /// What the authority section of `resp` proves about `name`/`rtype` (NXDOMAIN when the
    /// rcode says so, else NODATA), with the records of `zone`.
    pub(crate) fn deny(
        &mut self,
        resp: &Response,
        name: &Name,
        rtype: RecordType,
        zone: &Name,
        keys: &[Key],
    ) -> R<Denial> {
        let (nsecs, nsec3s, failure) = self.denial_records(resp, zone, keys)?;
        let nx = resp.rcode == 3;
        let d = if let Some(r) = self.authority_unverified(resp, zone, keys)? {
            Denial::Failed(r)
        } else if !nsecs.is_empty() {
            self.nsec_denial(name, rtype, zone, &nsecs, nx)
        } else if !nsec3s.is_empty() {
            self.nsec3_denial(name, rtype, zone, &nsec3s, nx)?
        } else {
            let detail = match failure {
                Some(r) => format!(
                    "no usable NSEC/NSEC3 records for {name} {rtype}: {}",
                    r.detail
                ),
                None => format!("no NSEC or NSEC3 records signed by {zone} for {name} {rtype}"),
            };
            Denial::Failed(Reason::new(C::BadDenial, detail))
        };
        if let Denial::Failed(r) = &d {
            self.step(StepKind::Failure, name, r.detail.clone());
        }
        Ok(d)
    }

    /// `cut`, a delegation of `zone` without DS (proven by `how`, a verified record of
    /// `zone`), makes the answer at `name` at or below it insecure (RFC 4035 5.2, RFC 6840
    /// 4.4); the record says nothing of the child's own types.
    fn unsigned_cut(
        &mut self,
        name: &Name,
        rtype: RecordType,
        cut: &Name,
        zone: &Name,
        how: &str,
    ) -> Denial {
        let r = Reason::new(
            C::InsecureDelegation,
            format!(
                "{zone} proves {cut} is a delegation without DS ({how}): the zone below is unsigned, so {name} {rtype} is insecure (that record cannot prove what the child holds)"
            ),
        );
        self.step(StepKind::Insecure, name, r.detail.clone());
        Denial::NotSecure(Verdict::Insecure(r))
    }

    fn nsec_denial(
        &mut self,
        name: &Name,
        rtype: RecordType,
        zone: &Name,
        nsecs: &[Nsec],
        nx: bool,
    ) -> Denial {
        let fail = |code, s: String| Denial::Failed(Reason::new(code, s));
        // RFC 4035 5.2, RFC 6840 4.4: the parent's NSEC at an unsigned cut at or above the
        // name (a referral to the child, or what a CNAME into it carries): insecure.
        if let Some(c) = nsecs
            .iter()
            .find(|n| proves_unsigned_cut(n, name, rtype, zone))
        {
            let how = format!(
                "NSEC {} -> {} has {}",
                c.owner,
                c.next,
                types_text(&c.types)
            );
            return self.unsigned_cut(name, rtype, &c.owner, zone, &how);
        }
        // NODATA: an NSEC at the name whose bitmap lacks the type and CNAME (RFC 4035 5.4).
        if let Some(m) = nsecs.iter().find(|n| &n.owner == name) {
            if nx {
                return fail(
                    C::BadResponse,
                    format!("NXDOMAIN for {name}, but an NSEC shows the name exists"),
                );
            }
            if m.types.contains(rtype) || m.types.contains(RecordType::CNAME) {
                return fail(
                    C::BadDenial,
                    format!(
                        "the NSEC at {name} lists {} (including {rtype} or CNAME)",
                        types_text(&m.types)
                    ),
                );
            }
            let delegation = m.types.contains(RecordType::NS) && !m.types.contains(RecordType::SOA);
            if rtype == RecordType::DS && m.types.contains(RecordType::SOA) && !name.is_root() {
                // RFC 6840 4.4: the child's apex NSEC cannot deny a DS, which lives in the parent.
                return fail(
                    C::BadDenial,
                    format!("the NSEC at {name} is the child zone's apex: it cannot deny DS"),
                );
            }
            if rtype != RecordType::DS && delegation {
                return fail(
                    C::BadDenial,
                    format!(
                        "the NSEC at {name} is the parent side of a delegation: it cannot deny {rtype}"
                    ),
                );
            }
            self.step(
                StepKind::Denial,
                name,
                format!(
                    "NSEC {name} -> {} has types {}: no {rtype}, no CNAME (NODATA)",
                    m.next,
                    types_text(&m.types)
                ),
            );
            return Denial::Nodata { delegation };
        }
        let Some(c) = nsecs
            .iter()
            .find(|n| nsec_covers(n, name) && !above_cut(&n.types, &n.owner, name))
        else {
            return fail(C::BadDenial, format!("no NSEC from {zone} covers {name}"));
        };
        // Empty non-terminal: the next name is below the name (RFC 4035 3.1.3.2 and 5.4).
        if name.zone_of(&c.next) && &c.next != name {
            if nx {
                return fail(
                    C::BadResponse,
                    format!(
                        "NXDOMAIN for {name}, but NSEC {} -> {} shows it is an empty non-terminal",
                        c.owner, c.next
                    ),
                );
            }
            self.step(
                StepKind::Denial,
                name,
                format!(
                    "NSEC {} -> {} shows {name} is an empty non-terminal (NODATA)",
                    c.owner, c.next
                ),
            );
            return Denial::Nodata { delegation: false };
        }
        self.step(
            StepKind::Denial,
            name,
            format!(
                "NSEC {} -> {} covers {name}: the name does not exist",
                c.owner, c.next
            ),
        );
        // Closest encloser: the longest ancestor shared with the owner or the next name.
        let a = common_ancestor(name, &c.owner);
        let b = common_ancestor(name, &c.next);
        let ce = if a.num_labels() >= b.num_labels() {
            a
        } else {
            b
        };
        if !zone.zone_of(&ce) {
            return fail(
                C::BadDenial,
                format!("the closest encloser {ce} of {name} is outside {zone}"),
            );
        }
        let Some(wild) = wildcard_of(&ce) else {
            return fail(C::BadDenial, format!("no wildcard name under {ce}"));
        };
        if let Some(w) = nsecs.iter().find(|n| n.owner == wild) {
            // Wildcard NODATA (RFC 4035 3.1.3.4).
            if let Some(r) = wildcard_nodata_refuted(nx, name, &wild, &w.types, rtype) {
                return Denial::Failed(r);
            }
            self.step(
                StepKind::Denial,
                &wild,
                format!(
                    "NSEC at the wildcard {wild} has types {}: no {rtype} (wildcard NODATA)",
                    types_text(&w.types)
                ),
            );
            return Denial::Nodata { delegation: false };
        }
        if let Some(w) = nsecs.iter().find(|n| nsec_covers(n, &wild)) {
            self.step(
                StepKind::Denial,
                &wild,
                format!(
                    "NSEC {} -> {} covers the wildcard {wild}: no wildcard (NXDOMAIN)",
                    w.owner, w.next
                ),
            );
            if !nx {
                return fail(
                    C::BadResponse,
                    format!("NOERROR for {name}, but the NSEC records prove it does not exist"),
                );
            }
            return Denial::Nxdomain;
        }
        fail(
            C::BadDenial,
            format!("no NSEC proves that the wildcard {wild} does not exist"),
        )
    }

    /// RFC 9276 3.2: the verdict when the proof would need NSEC3 records over the caps
    /// (`over`: their parameter sets), decided before any hashing: the lowest iteration
    /// count among them decides (the records a proof would use share one set).
    fn nsec3_iterations(&mut self, name: &Name, over: &[Params]) -> Option<Verdict> {
        let max = over.iter().map(|(_, i)| *i).min()?;
        if max > self.limits.nsec3_iterations_bogus {
            let r = Reason::new(
                C::Nsec3IterationsBogus,
                format!(
                    "NSEC3 with {max} iterations, over the bogus cap of {} (RFC 9276 3.2, Limits::nsec3_iterations_bogus)",
                    self.limits.nsec3_iterations_bogus
                ),
            );
            self.step(StepKind::Failure, name, r.detail.clone());
            return Some(Verdict::Bogus(r));
        }
        if max > self.limits.nsec3_iterations_insecure {
            let r = Reason::new(
                C::Nsec3IterationsInsecure,
                format!(
                    "NSEC3 with {max} iterations, over the insecure cap of {} (RFC 9276 3.2, Limits::nsec3_iterations_insecure)",
                    self.limits.nsec3_iterations_insecure
                ),
            );
            self.step(StepKind::Insecure, name, r.detail.clone());
            return Some(Verdict::Insecure(r));
        }
        None
    }

    /// RFC 5155 8: the NSEC3 proof, from the records of one parameter set at a time (all
    /// NSEC3 of a zone share one, RFC 5155 7.1). RFC 9276 3.2: the iteration caps apply to
    /// the records the proof uses: a set over the cap decides only when no set within it
    /// proves the denial (an irrelevant NSEC3 with many iterations changes nothing).
    fn nsec3_denial(
        &mut self,
        name: &Name,
        rtype: RecordType,
        zone: &Name,
        all: &[Nsec3],
        nx: bool,
    ) -> R<Denial> {
        let (within, over) = self.nsec3_params(all);
        let mut first_failure = None;
        for (salt, iterations) in within {
            let n3: Vec<&Nsec3> = all
                .iter()
                .filter(|n| n.salt == salt && n.iterations == iterations)
                .collect();
            let set = Set {
                n3: &n3,
                salt: &salt,
                iterations,
            };
            match self.nsec3_proof(name, rtype, zone, &set, nx)? {
                Denial::Failed(r) => {
                    first_failure.get_or_insert(r);
                }
                d => return Ok(d),
            }
        }
        if let Some(v) = self.nsec3_iterations(name, &over) {
            return Ok(Denial::NotSecure(v));
        }
        Ok(Denial::Failed(first_failure.unwrap_or_else(|| {
            Reason::new(C::BadDenial, format!("no usable NSEC3 for {name}"))
        })))
    }

    /// RFC 5155 8: the proof from the NSEC3 records of one parameter set.
    fn nsec3_proof(
        &mut self,
        name: &Name,
        rtype: RecordType,
        zone: &Name,
        set: &Set<'_>,
        nx: bool,
    ) -> R<Denial> {
        let hn = self.nsec3_hash(name, set.salt, set.iterations)?;
        if let Some(m) = set.n3.iter().find(|n| n.hash == hn) {
            return Ok(self.nsec3_match(name, rtype, zone, m, nx));
        }
        match self.closest_encloser(name, rtype, zone, set, nx)? {
            Ok((ce, opt_out)) => self.beyond_encloser(name, rtype, &ce, opt_out, set, nx),
            Err(d) => Ok(d),
        }
    }

    /// RFC 5155 8.5 / 8.6: NODATA from the NSEC3 matching `name` itself.
    fn nsec3_match(
        &mut self,
        name: &Name,
        rtype: RecordType,
        zone: &Name,
        m: &Nsec3,
        nx: bool,
    ) -> Denial {
        let fail = |code, s: String| Denial::Failed(Reason::new(code, s));
        if nx {
            return fail(
                C::BadResponse,
                format!("NXDOMAIN for {name}, but an NSEC3 matches it"),
            );
        }
        if m.types.contains(rtype) || m.types.contains(RecordType::CNAME) {
            return fail(
                C::BadDenial,
                format!("the NSEC3 matching {name} lists {}", types_text(&m.types)),
            );
        }
        if rtype == RecordType::DS && m.types.contains(RecordType::SOA) && !name.is_root() {
            return fail(
                C::BadDenial,
                format!("the NSEC3 matching {name} is the child zone's apex: it cannot deny DS"),
            );
        }
        let delegation = m.types.contains(RecordType::NS) && !m.types.contains(RecordType::SOA);
        if rtype != RecordType::DS && delegation {
            // RFC 4035 5.2, RFC 6840 4.4: the parent's NSEC3 at a delegation without DS
            // proves the child unsigned (though not that it lacks the type): insecure.
            if !m.types.contains(RecordType::DS) {
                return self.unsigned_cut(name, rtype, name, zone, "the NSEC3 matching it");
            }
            return fail(
                C::BadDenial,
                format!(
                    "the NSEC3 matching {name} is the parent side of a signed delegation: it cannot deny {rtype}"
                ),
            );
        }
        self.step(
            StepKind::Denial,
            name,
            format!(
                "NSEC3 {} matches {name} with types {}: no {rtype}, no CNAME (NODATA)",
                m.owner,
                types_text(&m.types)
            ),
        );
        Denial::Nodata { delegation }
    }

    /// RFC 5155 8.3: the closest provable encloser of `name`, and whether the NSEC3 covering
    /// the next closer name has the opt-out flag; `Err(denial)` when there is none, or when
    /// it is an unsigned delegation (then everything below it is insecure).
    fn closest_encloser(
        &mut self,
        name: &Name,
        rtype: RecordType,
        zone: &Name,
        set: &Set<'_>,
        nx: bool,
    ) -> R<Result<(Name, bool), Denial>> {
        let fail = |code, s: String| Ok(Err(Denial::Failed(Reason::new(code, s))));
        for k in (label_count(zone)..label_count(name)).rev() {
            let cand = ancestor(name, k);
            let hc = self.nsec3_hash(&cand, set.salt, set.iterations)?;
            let Some(m) = set.n3.iter().find(|n| n.hash == hc) else {
                continue;
            };
            if let Some(d) = self.encloser_refuted(name, rtype, zone, &cand, &m.types, nx) {
                return Ok(Err(d));
            }
            let nc = ancestor(name, k + 1);
            let hnc = self.nsec3_hash(&nc, set.salt, set.iterations)?;
            let Some(cover) = set.n3.iter().find(|n| hash_covers(&n.hash, &n.next, &hnc)) else {
                return fail(
                    C::BadDenial,
                    format!(
                        "closest encloser {cand} proven, but no NSEC3 covers the next closer name {nc}"
                    ),
                );
            };
            self.step(
                StepKind::Denial,
                &cand,
                format!("NSEC3 {} matches the closest encloser {cand}", m.owner),
            );
            self.step(
                StepKind::Denial,
                &nc,
                format!(
                    "NSEC3 {} -> {} covers the next closer name {nc} ({}){}",
                    cover.owner,
                    b32(&cover.next),
                    b32(&hnc),
                    if cover.opt_out { ", opt-out" } else { "" }
                ),
            );
            return Ok(Ok((cand, cover.opt_out)));
        }
        fail(
            C::BadDenial,
            format!("no NSEC3 proves a closest encloser for {name} in {zone}"),
        )
    }

    /// RFC 5155 8.3: an encloser `cand` (with NSEC3 `types`) that is a delegation or DNAME
    /// proves nothing below it; but one at a delegation without DS is an unsigned cut, so
    /// what lies below is insecure (RFC 4035 5.2, RFC 6840 4.4; Unbound takes it so for a
    /// name error and a NODATA, not for a DS NODATA, which must come from the cut itself).
    fn encloser_refuted(
        &mut self,
        name: &Name,
        rtype: RecordType,
        zone: &Name,
        cand: &Name,
        t: &RecordTypeSet,
        nx: bool,
    ) -> Option<Denial> {
        let what = if t.contains(RecordType::NS) && !t.contains(RecordType::SOA) {
            if !t.contains(RecordType::DS) && (nx || rtype != RecordType::DS) {
                let how = "the NSEC3 matching its closest encloser";
                return Some(self.unsigned_cut(name, rtype, cand, zone, how));
            }
            "a delegation"
        } else if t.contains(RecordType::DNAME) {
            "a DNAME"
        } else {
            return None;
        };
        Some(Denial::Failed(Reason::new(
            C::BadDenial,
            format!(
                "the closest encloser {cand} is {what}: its NSEC3 proves nothing below it (RFC 5155 8.3)"
            ),
        )))
    }

    /// RFC 5155 8.7: wildcard NODATA from the NSEC3 `w` matching the wildcard `wild`
    /// (insecure when the next closer name lies in an opt-out span, RFC 5155 9.2).
    fn wildcard_nodata(
        &mut self,
        name: &Name,
        rtype: RecordType,
        wild: &Name,
        w: &Nsec3,
        opt_out: bool,
        nx: bool,
    ) -> Denial {
        if let Some(r) = wildcard_nodata_refuted(nx, name, wild, &w.types, rtype) {
            return Denial::Failed(r);
        }
        self.step(
            StepKind::Denial,
            wild,
            format!(
                "NSEC3 {} matches the wildcard {wild} with types {}: no {rtype} (wildcard NODATA)",
                w.owner,
                types_text(&w.types)
            ),
        );
        if opt_out {
            return opt_out_denial(name, "wildcard NODATA");
        }
        Denial::Nodata { delegation: false }
    }

    /// What the wildcard at the closest encloser `ce` adds: RFC 5155 8.4 (name error),
    /// 8.7 (wildcard NODATA), and 9.2 (`opt_out`: the next closer name lies in an opt-out
    /// span, where an unsigned delegation may exist, so even a complete proof is insecure).
    fn beyond_encloser(
        &mut self,
        name: &Name,
        rtype: RecordType,
        ce: &Name,
        opt_out: bool,
        set: &Set<'_>,
        nx: bool,
    ) -> R<Denial> {
        let fail = |code, s: String| Ok(Denial::Failed(Reason::new(code, s)));
        let Some(wild) = wildcard_of(ce) else {
            return fail(C::BadDenial, format!("no wildcard name under {ce}"));
        };
        let hw = self.nsec3_hash(&wild, set.salt, set.iterations)?;
        if let Some(w) = set.n3.iter().find(|n| n.hash == hw) {
            return Ok(self.wildcard_nodata(name, rtype, &wild, w, opt_out, nx));
        }
        if opt_out && !nx {
            // RFC 5155 8.6 (DS) and 9.2: a NODATA whose next closer name lies in an opt-out
            // span proves no more than that: insecure.
            return Ok(opt_out_denial(name, "no NSEC3 matches it"));
        }
        // RFC 5155 7.2.2 and 8.4: a name error needs, beside the closest encloser proof, the
        // NSEC3 covering the wildcard at the closest encloser, with opt-out as without: an
        // opt-out span makes a complete proof insecure, never an incomplete one secure or
        // insecure (Unbound's nsec3_prove_nameerror asks for it before looking at opt-out).
        let Some(w) = set.n3.iter().find(|n| hash_covers(&n.hash, &n.next, &hw)) else {
            return fail(
                C::BadDenial,
                format!(
                    "no NSEC3 covers the wildcard {wild} at the closest encloser: the proof that {name} does not exist is incomplete (RFC 5155 8.4)"
                ),
            );
        };
        self.step(
            StepKind::Denial,
            &wild,
            format!(
                "NSEC3 {} covers the wildcard {wild}: no wildcard (NXDOMAIN)",
                w.owner
            ),
        );
        if !nx {
            return fail(
                C::BadResponse,
                format!("NOERROR for {name}, but the NSEC3 records prove it does not exist"),
            );
        }
        if opt_out {
            let proven =
                "it does not exist (closest encloser, next closer name and wildcard proven)";
            return Ok(opt_out_denial(name, proven));
        }
        Ok(Denial::Nxdomain)
    }

    /// RFC 4035 5.3.4 / RFC 5155 8.8: a wildcard expansion at `owner` (the RRSIG labels
    /// field is `labels`) needs proof that the next closer name does not exist.
    pub(crate) fn wildcard_proof(
        &mut self,
        resp: &Response,
        owner: &Name,
        labels: u8,
        zone: &Name,
        keys: &[Key],
    ) -> R<Result<(), Verdict>> {
        let (nsecs, nsec3s, failure) = self.denial_records(resp, zone, keys)?;
        let nc = ancestor(owner, usize::from(labels) + 1);
        let bad = |s: String| Verdict::Bogus(Reason::new(C::BadWildcard, s));
        if !nsecs.is_empty() {
            return Ok(
                match nsecs.iter().find(|n| {
                    nsec_covers(n, &nc)
                        && !nc.zone_of(&n.next)
                        && !above_cut(&n.types, &n.owner, &nc)
                }) {
                    Some(c) => {
                        self.step(StepKind::Denial, &nc, format!("NSEC {} -> {} covers the next closer name {nc}: the wildcard applies", c.owner, c.next));
                        Ok(())
                    }
                    None => Err(bad(format!(
                        "wildcard answer at {owner} without an NSEC covering {nc}"
                    ))),
                },
            );
        }
        if !nsec3s.is_empty() {
            // RFC 9276 3.2: only the records used count against the caps (see nsec3_denial).
            let (within, over) = self.nsec3_params(&nsec3s);
            for (salt, iterations) in within {
                let hnc = self.nsec3_hash(&nc, &salt, iterations)?;
                let Some(c) = nsec3s.iter().find(|n| {
                    n.salt == salt
                        && n.iterations == iterations
                        && hash_covers(&n.hash, &n.next, &hnc)
                }) else {
                    continue;
                };
                if c.opt_out {
                    // RFC 5155 8.8 and 9.2: an opt-out NSEC3 covering the next closer name
                    // does not prove it absent (an unsigned delegation may be there), so the
                    // wildcard answer is not proven: insecure, as the opt-out NXDOMAIN.
                    let r = Reason::new(
                        C::OptOut,
                        format!(
                            "wildcard answer at {owner}: the next closer name {nc} is covered by an opt-out NSEC3 ({}): an unsigned delegation may exist there (RFC 5155 8.8, 9.2)",
                            c.owner
                        ),
                    );
                    self.step(StepKind::Insecure, &nc, r.detail.clone());
                    return Ok(Err(Verdict::Insecure(r)));
                }
                self.step(
                    StepKind::Denial,
                    &nc,
                    format!(
                        "NSEC3 {} covers the next closer name {nc}: the wildcard applies",
                        c.owner
                    ),
                );
                return Ok(Ok(()));
            }
            if let Some(v) = self.nsec3_iterations(owner, &over) {
                return Ok(Err(v));
            }
            let v = bad(format!(
                "wildcard answer at {owner} without an NSEC3 covering {nc}"
            ));
            if let Some(r) = v.reason() {
                self.step(StepKind::Failure, owner, r.detail.clone());
            }
            return Ok(Err(v));
        }
        let why = failure.map_or_else(String::new, |r| format!(": {}", r.detail));
        let v = bad(format!(
            "wildcard answer at {owner} without NSEC/NSEC3 proof{why}"
        ));
        if let Some(r) = v.reason() {
            self.step(StepKind::Failure, owner, r.detail.clone());
        }
        Ok(Err(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn n(s: &str) -> Name {
        Name::from_str(s).unwrap()
    }

    fn set(types: &[RecordType]) -> RecordTypeSet {
        hickory_proto::dnssec::rdata::NSEC::new(Name::root(), types.iter().copied())
            .type_set()
            .clone()
    }

    /// RFC 4035 3.1.3.4 / RFC 5155 8.7: a matching wildcard proves NODATA only when it lacks
    /// the type and CNAME, and never goes with an NXDOMAIN.
    #[test]
    fn wildcard_nodata_is_refuted_by_the_type_a_cname_or_an_nxdomain() {
        let (name, wild) = (n("foo.wild.example."), n("*.wild.example."));
        let check = |nx, types: &[RecordType], rtype, expected: Option<C>| {
            let got = wildcard_nodata_refuted(nx, &name, &wild, &set(types), rtype);
            assert_eq!(
                got.as_ref().map(|r| r.code),
                expected,
                "{nx} {types:?} {rtype}"
            );
        };
        use RecordType::{A, CNAME, RRSIG, TXT};
        check(false, &[A, RRSIG], TXT, None);
        check(false, &[A, RRSIG], A, Some(C::BadWildcard));
        check(false, &[CNAME, RRSIG], TXT, Some(C::BadWildcard));
        check(true, &[A, RRSIG], TXT, Some(C::BadResponse));
    }

    fn nsec(owner: &str, next: &str) -> Nsec {
        Nsec {
            owner: n(owner),
            next: n(next),
            types: set(&[RecordType::A]),
        }
    }

    #[test]
    fn nsec_cover_including_wrap() {
        let c = nsec("a.example.", "d.example.");
        assert!(nsec_covers(&c, &n("b.example.")));
        assert!(nsec_covers(&c, &n("x.a.example.")));
        assert!(!nsec_covers(&c, &n("a.example.")));
        assert!(!nsec_covers(&c, &n("d.example.")));
        assert!(!nsec_covers(&c, &n("e.example.")));
        // The last NSEC wraps to the apex.
        let last = nsec("z.example.", "example.");
        assert!(nsec_covers(&last, &n("zz.example.")));
        assert!(!nsec_covers(&last, &n("b.example.")));
    }

    /// RFC 4035 5.2 / RFC 6840 4.4: only the parent's NSEC at a delegation without DS (no
    /// SOA: not an apex) proves an unsigned cut, for names at or below it (strictly below
    /// for DS, which the NSEC at the name itself denies the ordinary way).
    #[test]
    fn only_a_parent_nsec_without_ds_or_soa_proves_an_unsigned_cut() {
        use RecordType::{A, AAAA, DS, NS, NSEC, RRSIG, SOA};
        let zone = n("test.");
        let check = |owner: &str, types: &[RecordType], name: &str, rtype, expected: bool| {
            let nsec = Nsec {
                owner: n(owner),
                next: n("z.test."),
                types: set(types),
            };
            assert_eq!(
                proves_unsigned_cut(&nsec, &n(name), rtype, &zone),
                expected,
                "{owner} {types:?} {name} {rtype}"
            );
        };
        let cut = [NS, RRSIG, NSEC];
        check("child.test.", &cut, "www.child.test.", AAAA, true);
        check("child.test.", &cut, "child.test.", A, true);
        check("child.test.", &cut, "a.b.child.test.", DS, true);
        // The NSEC at the name is the no-DS proof of a DS question, not an unsigned cut.
        check("child.test.", &cut, "child.test.", DS, false);
        // A signed delegation (DS bit), an apex (SOA), no delegation at all (no NS).
        check(
            "child.test.",
            &[NS, DS, RRSIG, NSEC],
            "www.child.test.",
            A,
            false,
        );
        check(
            "child.test.",
            &[NS, SOA, RRSIG, NSEC],
            "www.child.test.",
            A,
            false,
        );
        check(
            "child.test.",
            &[A, RRSIG, NSEC],
            "www.child.test.",
            A,
            false,
        );
        // Not above the name; the signing zone's own apex.
        check("child.test.", &cut, "other.test.", A, false);
        check("test.", &cut, "www.test.", A, false);
    }

    #[test]
    fn hash_cover_including_wrap() {
        assert!(hash_covers(&[1], &[5], &[3]));
        assert!(!hash_covers(&[1], &[5], &[5]));
        assert!(hash_covers(&[9], &[2], &[1]));
        assert!(hash_covers(&[9], &[2], &[10]));
        assert!(!hash_covers(&[9], &[2], &[5]));
    }

    #[test]
    fn closest_encloser_helpers() {
        assert_eq!(
            common_ancestor(&n("a.b.example."), &n("c.b.Example.")),
            n("b.example.")
        );
        assert_eq!(wildcard_of(&n("example.")).unwrap(), n("*.example."));
        let types = set(&[RecordType::NS]);
        assert!(above_cut(&types, &n("d.example."), &n("x.d.example.")));
        assert!(!above_cut(&types, &n("d.example."), &n("d.example.")));
    }
}
