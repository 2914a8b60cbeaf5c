//! Every authoritative server of the zones a delivery depends on, judged (`dane verify`,
//! issue 23): the zone of each TLSA owner, of the domain's MX RRset and of each MX host's
//! address RRsets.
//!
//! A sender's resolver asks any one of the zone's servers, so a check through one
//! validating path sees only one view. A lagging secondary that still serves the old TLSA
//! RRset (or the old MX set, or a host's old address), a server that answers NOTIMP or
//! SERVFAIL to TLSA queries, or one whose signatures have expired fails a share of the
//! senders while the check says verified. [`judge`] compares what each server address
//! serves with the validated RRset and, where it differs, asks the caller's `effect` what
//! the senders whose resolver asks that server would meet: for a TLSA RRset, whether it
//! would still authenticate every chain the host presented (the same RFC 7672 / RFC 7671
//! matching as the endpoint verdicts); for an MX RRset, whether every host it names was
//! verified; for an address RRset, whether every address it holds presents a chain the
//! validated TLSA RRset authenticates.
//!
//! The decision, per server:
//! - serves the validated RRset: fine (`ns-rrsig-expires` when its signatures are due);
//! - serves another secure answer (records or a denial) that `effect` calls harmless:
//!   `ns-stale`;
//! - serves another secure answer that `effect` says makes senders fail: a failure (some
//!   senders fail: the domain is `partial` when others succeed);
//! - serves an insecure answer: `ns-stale` (senders whose resolver asks it cannot
//!   authenticate it and deliver without DANE authentication, RFC 7672 2.2);
//! - its answer is bogus: `ns-rrsig-expires` (validating resolvers retry another server,
//!   RFC 4035 5.5; the signatures must still be fixed);
//! - answers an error rcode (REFUSED, NOTIMP, SERVFAIL, FORMERR): `ns-refuses-tlsa` for a
//!   TLSA question, `ns-refuses` for the others;
//! - no usable answer (timeout, unreachable, not authoritative, no address):
//!   `ns-unreachable`. Servers the bounds left out, or a zone whose servers could not be
//!   found or trusted: `ns-not-asked`.
//!
//! Pure: no I/O, the time comes in as `now`.

use dane_tlsa::TlsaRecord;
use serde::Serialize;

use std::net::IpAddr;

use crate::dns::{Answer, Lookup, Mx, Security};
use crate::threshold::{Period, Threshold};
use crate::verdict::{Status, Verdict};

/// What one server address said about the RRset (TLSA by default; MX, A or AAAA).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerAnswer<T = TlsaRecord> {
    /// An authoritative answer, validated like the normal path's (its DS and DNSKEY from
    /// the normal path, the answer from this server).
    Answered(Lookup<T>),
    /// An error response: the server is there but will not say.
    Rcode {
        /// The rcode (1 FORMERR, 2 SERVFAIL, 4 NOTIMP, 5 REFUSED, ...).
        rcode: u8,
        /// What it said, for the report.
        detail: String,
    },
    /// No usable response (timeout, unreachable, not authoritative, no address).
    NoAnswer(String),
}

/// One address of one name server, as the DNS source saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerView<T = TlsaRecord> {
    /// The name server (from the zone's NS RRset).
    pub ns: String,
    /// The address asked (`192.0.2.1:53`).
    pub address: String,
    /// The zone's SOA serial it serves (not validated: shown), when it gave one.
    pub serial: Option<u32>,
    /// What it said.
    pub answer: ServerAnswer<T>,
}

/// Every server of the zone holding an RRset, as the DNS source saw them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerViews<T = TlsaRecord> {
    /// The zone.
    pub zone: String,
    /// One view per address, in NS RRset order.
    pub servers: Vec<ServerView<T>>,
    /// Servers and addresses the bounds left out (never asked), named.
    pub left_out: Vec<String>,
    /// Why the zone's NS RRset cannot be trusted (not secure in a signed zone), if so.
    pub untrusted: Option<String>,
}

/// One server's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServerState {
    /// Serves the validated RRset.
    Same,
    /// Serves another secure RRset or a denial that still lets every sender asking it
    /// deliver with DANE (a TLSA RRset that authenticates every presented chain, an MX set
    /// of verified hosts, addresses that were verified), or an insecure answer (senders
    /// asking it do not use DANE).
    Stale,
    /// Serves another secure RRset or a denial that makes the senders asking it fail (a
    /// TLSA RRset that would not authenticate a presented chain, an MX set naming a host
    /// not verified, an address whose server does not authenticate).
    Fails,
    /// Its answer does not validate.
    Bogus,
    /// Answers the TLSA question with an error rcode.
    Refuses,
    /// No usable answer.
    Unreachable,
}

/// One server's row in the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerRow {
    /// The name server.
    pub ns: String,
    /// Its address.
    pub address: String,
    /// The zone's SOA serial it serves (not validated), when it gave one.
    pub serial: Option<u32>,
    /// Its state.
    pub state: ServerState,
    /// Whether it serves the validated RRset (`None` when it gave no validated answer).
    pub same_as_validated: Option<bool>,
    /// The records it serves (presentation form, canonical order), when it answered.
    pub records: Vec<String>,
    /// The earliest expiry of the signatures its answer rests on, when signed.
    pub expires: Option<u64>,
    /// The warning code the row calls for, if any (`ns-stale`, `ns-unreachable`,
    /// `ns-refuses-tlsa`, `ns-rrsig-expires`); a `fails` row is a failure, not a warning.
    pub warning: Option<&'static str>,
    /// Why, in one sentence.
    pub detail: String,
}

/// Every server of one RRset's zone, judged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerCheck {
    /// The owner asked about.
    pub owner: String,
    /// The type asked about (`TLSA`, `MX`, `A`, `AAAA`).
    #[serde(rename = "type")]
    pub rtype: &'static str,
    /// The zone holding it, when the servers were found.
    pub zone: Option<String>,
    /// One row per server address.
    pub servers: Vec<ServerRow>,
    /// Servers and addresses never asked (the bounds), or why none could be asked.
    pub not_asked: Vec<String>,
    /// The failures these servers cause (one per `fails` row): each a failed verdict
    /// naming the server and what the senders asking it would meet.
    pub failures: Vec<Verdict>,
}

/// What the senders whose resolver asks one server meet, when it serves another secure
/// answer than the validated one (the caller's rules: [`judge`]'s `effect`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// They still deliver (with DANE, or as the validated answer lets them): the clause
    /// says why, for an `ns-stale` warning.
    Stale(String),
    /// Some of them fail: why (the endpoint or host they would meet, and its failure).
    Fails(String),
}

/// What a server's other TLSA answer means. RFC 7672 2.2 / RFC 7671 5: the senders asking
/// it match the presented chains against its RRset: `authenticates(records)` is `None` when
/// `records` authenticate every chain the host presented, else the reason of the first
/// endpoint that would fail. A secure denial leaves them without TLSA records: they
/// deliver without DANE authentication (a downgrade, not a failure).
pub fn tlsa_effect(
    answer: &Answer<TlsaRecord>,
    authenticates: impl Fn(&[TlsaRecord]) -> Option<String>,
) -> Effect {
    match answer {
        Answer::Records(set) => match authenticates(set) {
            None => Effect::Stale(
                "it still authenticates every presented chain, but the zone's servers disagree"
                    .into(),
            ),
            Some(why) => Effect::Fails(why),
        },
        Answer::NoData | Answer::NxDomain => Effect::Stale(
            "senders whose resolver asks it see no TLSA records and deliver without DANE authentication"
                .into(),
        ),
    }
}

/// What a server's other MX answer for `domain` means. RFC 7672 2.2.1: the senders asking
/// it deliver to the hosts it names (RFC 5321 5.1: the domain itself for a secure NODATA);
/// a host that was not checked (`checked(host)` false) is one this check cannot call
/// verified, so they are counted as failing; a null MX (RFC 7505) or an NXDOMAIN makes
/// them bounce the mail.
pub fn mx_effect(domain: &str, answer: &Answer<Mx>, checked: impl Fn(&str) -> bool) -> Effect {
    let hosts: Vec<&str> = match answer {
        Answer::NxDomain => {
            return Effect::Fails(format!(
                "{domain} does not exist for them (NXDOMAIN): they bounce the mail"
            ));
        }
        Answer::NoData => vec![domain],
        Answer::Records(set) => set.iter().map(|m| m.exchange.as_str()).collect(),
    };
    if hosts.contains(&".") {
        return Effect::Fails(format!(
            "a null MX (RFC 7505): {domain} accepts no mail for them, they bounce it"
        ));
    }
    if let Some(h) = hosts.iter().find(|h| !checked(h)) {
        return Effect::Fails(format!(
            "they deliver to {h}, which the validated MX RRset does not name: this check did not verify it"
        ));
    }
    Effect::Stale(
        "senders whose resolver asks it deliver only to hosts this check verified, but the zone's servers disagree"
            .into(),
    )
}

/// What a server's other address answer for `host` means. RFC 7672 2.2.2: the senders
/// asking it connect to the addresses it serves and match what each presents against the
/// host's TLSA RRset: `fails(address)` is `None` when every chain at that address
/// authenticates, else why not (its endpoint's failure, or why it could not be probed). A
/// secure NODATA leaves them the host's other family and the other MX hosts; an NXDOMAIN
/// removes the host for them (they try another MX host or defer the mail).
pub fn address_effect(
    host: &str,
    rtype: &str,
    answer: &Answer<IpAddr>,
    fails: impl Fn(IpAddr) -> Option<String>,
) -> Effect {
    match answer {
        Answer::Records(set) => match set.iter().find_map(|a| fails(*a)) {
            Some(why) => Effect::Fails(why),
            None => Effect::Stale(
                "every address it serves presents chains the validated TLSA RRset authenticates, but the zone's servers disagree"
                    .into(),
            ),
        },
        Answer::NoData => Effect::Stale(format!(
            "senders whose resolver asks it find no {rtype} address for {host} and use its other addresses or the other MX hosts"
        )),
        Answer::NxDomain => Effect::Fails(format!(
            "{host} does not exist for them (NXDOMAIN): they try another MX host or defer the mail"
        )),
    }
}

/// The canonical presentation of a record set, for comparison and display.
fn presentation<T: ToString>(records: &[T]) -> Vec<String> {
    let mut out: Vec<String> = records.iter().map(ToString::to_string).collect();
    out.sort();
    out.dedup();
    out
}

fn rcode_name(rcode: u8) -> String {
    match rcode {
        1 => "FORMERR".into(),
        2 => "SERVFAIL".into(),
        4 => "NOTIMP".into(),
        5 => "REFUSED".into(),
        r => format!("rcode {r}"),
    }
}

/// Judges every server of `owner`'s zone against the validated `rtype` RRset `validated`
/// at `now`. `effect(answer)` says what the senders asking a server that serves another
/// secure `answer` (records or a denial) would meet. `views` is `Err` when the servers
/// could not be found.
pub fn judge<T: ToString>(
    owner: &str,
    rtype: &'static str,
    validated: &[T],
    views: &Result<ServerViews<T>, String>,
    now: u64,
    threshold: Threshold,
    effect: impl Fn(&Answer<T>) -> Effect,
) -> ServerCheck {
    let mut check = ServerCheck {
        owner: owner.to_owned(),
        rtype,
        zone: None,
        servers: Vec::new(),
        not_asked: Vec::new(),
        failures: Vec::new(),
    };
    let views = match views {
        Ok(v) => v,
        Err(e) => {
            check.not_asked.push(format!("the servers of {owner}: {e}"));
            return check;
        }
    };
    check.zone = Some(views.zone.clone());
    check.not_asked.extend(views.left_out.iter().cloned());
    check.not_asked.extend(views.untrusted.iter().cloned());
    let want = presentation(validated);
    let q = Question { owner, rtype };
    for v in &views.servers {
        let row = row(q, &want, v, now, threshold, &effect);
        if row.state == ServerState::Fails {
            check
                .failures
                .push(Verdict::new(Status::Failed, row.detail.clone()));
        }
        check.servers.push(row);
    }
    check
}

/// The question the servers were asked.
#[derive(Debug, Clone, Copy)]
struct Question<'a> {
    owner: &'a str,
    rtype: &'static str,
}

/// One server's row (see the module docs for the rules).
fn row<T: ToString>(
    q: Question<'_>,
    want: &[String],
    v: &ServerView<T>,
    now: u64,
    threshold: Threshold,
    effect: &impl Fn(&Answer<T>) -> Effect,
) -> ServerRow {
    let Question { owner, rtype } = q;
    let who = format!("name server {} ({})", v.ns, v.address);
    let serial = v
        .serial
        .map_or_else(String::new, |s| format!(", SOA serial {s}"));
    let mut r = ServerRow {
        ns: v.ns.clone(),
        address: v.address.clone(),
        serial: v.serial,
        state: ServerState::Unreachable,
        same_as_validated: None,
        records: Vec::new(),
        expires: None,
        warning: Some("ns-unreachable"),
        detail: String::new(),
    };
    let lookup = match &v.answer {
        ServerAnswer::NoAnswer(why) => {
            r.detail = format!(
                "{who}: no usable answer to {owner} {rtype} ({why}); resolvers that ask it wait, then try another server"
            );
            return r;
        }
        ServerAnswer::Rcode { rcode, detail } => {
            r.state = ServerState::Refuses;
            r.warning = Some(if rtype == "TLSA" {
                "ns-refuses-tlsa"
            } else {
                "ns-refuses"
            });
            r.detail = format!(
                "{who} answers {} to {owner} {rtype} ({detail}); resolvers that ask it must try another server, and some senders defer",
                rcode_name(*rcode)
            );
            return r;
        }
        ServerAnswer::Answered(l) => l,
    };
    r.expires = lookup.expires;
    match &lookup.security {
        Security::Indeterminate { reason } => {
            r.detail =
                format!("{who}: its answer to {owner} {rtype} could not be validated ({reason})");
            return r;
        }
        // RFC 4035 5.5: a validator that gets a bogus answer may retry other servers; the
        // senders still see a SERVFAIL when every retry lands on a bogus one.
        Security::Bogus { reason } => {
            r.state = ServerState::Bogus;
            r.warning = Some("ns-rrsig-expires");
            r.detail = format!(
                "{who}{serial} serves {owner} {rtype} with signatures that do not validate ({reason}); resolvers that ask it retry another server or fail"
            );
            return r;
        }
        Security::Secure | Security::Insecure => {}
    }
    if lookup.security == Security::Insecure {
        r.state = ServerState::Stale;
        r.same_as_validated = Some(false);
        r.warning = Some("ns-stale");
        r.detail = format!(
            "{who}{serial} serves an unsigned (insecure) answer for {owner} {rtype}: senders whose resolver asks it cannot authenticate it and deliver without DANE authentication"
        );
        return r;
    }
    let what = match &lookup.answer {
        Answer::Records(served) => {
            r.records = presentation(served);
            if r.records == want {
                r.state = ServerState::Same;
                r.same_as_validated = Some(true);
                r.warning = None;
                r.detail = format!("{who}{serial} serves the validated {rtype} RRset");
                rrsig_due(&mut r, &who, q, lookup, now, threshold);
                return r;
            }
            format!(
                "a different {rtype} RRset for {owner} ({})",
                r.records.join(", ")
            )
        }
        Answer::NxDomain => format!("a secure NXDOMAIN for {owner} {rtype}"),
        Answer::NoData => format!("a secure NODATA (no {rtype} records) for {owner}"),
    };
    r.same_as_validated = Some(false);
    match effect(&lookup.answer) {
        Effect::Stale(clause) => {
            r.state = ServerState::Stale;
            r.warning = Some("ns-stale");
            r.detail = format!("{who}{serial} serves {what}; {clause}");
        }
        Effect::Fails(why) => {
            r.state = ServerState::Fails;
            r.warning = None;
            r.detail = format!(
                "{who}{serial} serves {what}, and senders whose resolver asks it fail: {why}"
            );
        }
    }
    r
}

/// `ns-rrsig-expires` on a row that serves the validated RRset, when the signatures its
/// answer rests on are within the threshold.
fn rrsig_due<T>(
    r: &mut ServerRow,
    who: &str,
    q: Question<'_>,
    lookup: &Lookup<T>,
    now: u64,
    threshold: Threshold,
) {
    let Question { owner, rtype } = q;
    let Some(end) = lookup.expires else { return };
    let period = Period {
        start: lookup.inception,
        end,
    };
    if threshold.due(period, now) {
        r.warning = Some("ns-rrsig-expires");
        r.detail = format!(
            "{who}: a signature its answer for {owner} {rtype} rests on expires at {} ({}): re-sign the zone, or fix the transfer to this server",
            crate::report::fmt_time(end),
            threshold.describe(period)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWNER: &str = "_25._tcp.mx.example.";
    const NOW: u64 = 1_800_000_000;

    fn rec(s: &str) -> TlsaRecord {
        s.parse().expect("record")
    }

    fn answered(
        security: Security,
        answer: Answer<TlsaRecord>,
        expires: Option<u64>,
    ) -> ServerAnswer {
        ServerAnswer::Answered(Lookup {
            name: OWNER.into(),
            canonical: OWNER.into(),
            security,
            answer,
            expires,
            inception: expires.map(|e| e - 30 * 86_400),
            dnssec_warnings: Vec::new(),
        })
    }

    fn records(list: &[&str]) -> Answer<TlsaRecord> {
        Answer::Records(list.iter().map(|s| rec(s)).collect())
    }

    const OLD: &str = "3 1 1 0000000000000000000000000000000000000000000000000000000000000000";
    const NEW: &str = "3 1 1 1111111111111111111111111111111111111111111111111111111111111111";
    const SPARE: &str = "3 1 1 2222222222222222222222222222222222222222222222222222222222222222";

    /// The presented chain matches `NEW` only (the fake of the caller's matching).
    fn authenticates(answer: &Answer<TlsaRecord>) -> Effect {
        tlsa_effect(answer, |records| {
            if records.contains(&rec(NEW)) {
                None
            } else {
                Some("mx.example. 192.0.2.10:25: no TLSA record matches the chain".into())
            }
        })
    }

    fn check(
        answer: ServerAnswer,
        state: ServerState,
        warning: Option<&str>,
        fails: bool,
        phrase: &str,
    ) {
        let views = Ok(ServerViews {
            zone: "example.".into(),
            servers: vec![ServerView {
                ns: "ns2.example.".into(),
                address: "192.0.2.53:53".into(),
                serial: Some(7),
                answer,
            }],
            left_out: Vec::new(),
            untrusted: None,
        });
        let c = judge(
            OWNER,
            "TLSA",
            &[rec(NEW), rec(SPARE)],
            &views,
            NOW,
            Threshold::Days(7),
            authenticates,
        );
        let r = &c.servers[0];
        assert_eq!(r.state, state, "{r:?}");
        assert_eq!(r.warning, warning, "{r:?}");
        assert_eq!(c.failures.len(), usize::from(fails), "{c:?}");
        assert!(r.detail.contains(phrase), "{:?} lacks {phrase:?}", r.detail);
        assert!(
            r.detail.contains("ns2.example. (192.0.2.53:53)"),
            "{:?}",
            r.detail
        );
        if fails {
            assert_eq!(c.failures[0].status, Status::Failed);
            assert!(
                c.failures[0]
                    .reason
                    .contains("senders whose resolver asks it fail")
            );
        }
    }

    #[test]
    fn each_server_answer_is_classified() {
        let far = Some(NOW + 20 * 86_400);
        let soon = Some(NOW + 86_400);
        let table: Vec<(ServerAnswer, ServerState, Option<&str>, bool, &str)> = vec![
            // The validated RRset, in another order: the same set.
            (
                answered(Security::Secure, records(&[SPARE, NEW]), far),
                ServerState::Same,
                None,
                false,
                "serves the validated TLSA RRset",
            ),
            (
                answered(Security::Secure, records(&[NEW, SPARE]), soon),
                ServerState::Same,
                Some("ns-rrsig-expires"),
                false,
                "re-sign the zone",
            ),
            // A lagging secondary: still has the old record, and the chain matches it too.
            (
                answered(Security::Secure, records(&[NEW]), far),
                ServerState::Stale,
                Some("ns-stale"),
                false,
                "still authenticates",
            ),
            // A lagging secondary without the record the chain matches: some senders fail.
            (
                answered(Security::Secure, records(&[OLD]), far),
                ServerState::Fails,
                None,
                true,
                "no TLSA record matches",
            ),
            (
                answered(Security::Secure, Answer::NoData, far),
                ServerState::Stale,
                Some("ns-stale"),
                false,
                "without DANE authentication",
            ),
            (
                answered(Security::Secure, Answer::NxDomain, far),
                ServerState::Stale,
                Some("ns-stale"),
                false,
                "NXDOMAIN",
            ),
            (
                answered(Security::Insecure, records(&[NEW]), None),
                ServerState::Stale,
                Some("ns-stale"),
                false,
                "unsigned",
            ),
            (
                answered(
                    Security::Bogus {
                        reason: "RRSIG expired".into(),
                    },
                    records(&[NEW]),
                    None,
                ),
                ServerState::Bogus,
                Some("ns-rrsig-expires"),
                false,
                "RRSIG expired",
            ),
            (
                answered(
                    Security::Indeterminate { reason: "x".into() },
                    Answer::NoData,
                    None,
                ),
                ServerState::Unreachable,
                Some("ns-unreachable"),
                false,
                "could not be validated",
            ),
            (
                ServerAnswer::Rcode {
                    rcode: 4,
                    detail: "NOTIMP".into(),
                },
                ServerState::Refuses,
                Some("ns-refuses-tlsa"),
                false,
                "answers NOTIMP",
            ),
            (
                ServerAnswer::Rcode {
                    rcode: 5,
                    detail: "REFUSED".into(),
                },
                ServerState::Refuses,
                Some("ns-refuses-tlsa"),
                false,
                "answers REFUSED",
            ),
            (
                ServerAnswer::Rcode {
                    rcode: 2,
                    detail: "SERVFAIL".into(),
                },
                ServerState::Refuses,
                Some("ns-refuses-tlsa"),
                false,
                "answers SERVFAIL",
            ),
            (
                ServerAnswer::Rcode {
                    rcode: 1,
                    detail: "FORMERR".into(),
                },
                ServerState::Refuses,
                Some("ns-refuses-tlsa"),
                false,
                "answers FORMERR",
            ),
            (
                ServerAnswer::NoAnswer("timed out".into()),
                ServerState::Unreachable,
                Some("ns-unreachable"),
                false,
                "timed out",
            ),
        ];
        for (answer, state, warning, fails, phrase) in table {
            check(answer, state, warning, fails, phrase);
        }
    }

    fn mx(preference: u16, exchange: &str) -> Mx {
        Mx {
            preference,
            exchange: exchange.into(),
        }
    }

    /// RFC 7672 2.2.1 for a server's other MX answer: hosts this check verified are
    /// harmless, anything else makes the senders asking it fail.
    #[test]
    fn mx_effects() {
        let checked = |h: &str| ["mx1.example.", "mx2.example."].contains(&h);
        let table: Vec<(Answer<Mx>, bool, &str)> = vec![
            (
                Answer::Records(vec![mx(10, "mx1.example.")]),
                false,
                "only to hosts this check verified",
            ),
            (
                Answer::Records(vec![mx(10, "mx1.example."), mx(20, "old.example.")]),
                true,
                "they deliver to old.example.",
            ),
            (Answer::Records(vec![mx(0, ".")]), true, "null MX"),
            (Answer::NxDomain, true, "NXDOMAIN"),
            (Answer::NoData, true, "they deliver to example."),
        ];
        for (answer, fails, phrase) in table {
            let (got_fails, text) = match mx_effect("example.", &answer, checked) {
                Effect::Fails(t) => (true, t),
                Effect::Stale(t) => (false, t),
            };
            assert_eq!(got_fails, fails, "{answer:?}: {text}");
            assert!(text.contains(phrase), "{text:?} lacks {phrase:?}");
        }
        // The implicit MX of a domain that was itself checked (`--host`-like plans).
        assert!(matches!(
            mx_effect("mx1.example.", &Answer::NoData, checked),
            Effect::Stale(_)
        ));
    }

    /// RFC 7672 2.2.2 for a server's other address answer: each address it serves must
    /// present chains that authenticate.
    #[test]
    fn address_effects() {
        let good: IpAddr = "192.0.2.1".parse().unwrap();
        let bad: IpAddr = "192.0.2.9".parse().unwrap();
        let fails = |a: IpAddr| (a == bad).then(|| "mx.example. 192.0.2.9:25: no match".into());
        let table: Vec<(Answer<IpAddr>, bool, &str)> = vec![
            (
                Answer::Records(vec![good]),
                false,
                "every address it serves",
            ),
            (
                Answer::Records(vec![good, bad]),
                true,
                "192.0.2.9:25: no match",
            ),
            (Answer::NoData, false, "no A address for mx.example."),
            (Answer::NxDomain, true, "does not exist for them"),
        ];
        for (answer, want_fails, phrase) in table {
            let (got_fails, text) = match address_effect("mx.example.", "A", &answer, fails) {
                Effect::Fails(t) => (true, t),
                Effect::Stale(t) => (false, t),
            };
            assert_eq!(got_fails, want_fails, "{answer:?}: {text}");
            assert!(text.contains(phrase), "{text:?} lacks {phrase:?}");
        }
    }

    #[test]
    fn servers_not_found_or_left_out_are_named() {
        let c = judge(
            OWNER,
            "TLSA",
            &[rec(NEW)],
            &Err("SERVFAIL".into()),
            NOW,
            Threshold::Fifth,
            authenticates,
        );
        assert!(c.servers.is_empty() && c.failures.is_empty() && c.zone.is_none());
        assert_eq!(c.not_asked, [format!("the servers of {OWNER}: SERVFAIL")]);
        let views = Ok(ServerViews {
            zone: "example.".into(),
            servers: Vec::new(),
            left_out: vec!["ns17.example.".into()],
            untrusted: Some("the NS RRset of example. is bogus".into()),
        });
        let c = judge(
            OWNER,
            "TLSA",
            &[rec(NEW)],
            &views,
            NOW,
            Threshold::Fifth,
            authenticates,
        );
        assert_eq!(c.zone.as_deref(), Some("example."));
        assert_eq!(
            c.not_asked,
            ["ns17.example.", "the NS RRset of example. is bogus"]
        );
    }
}
