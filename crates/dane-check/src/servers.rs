//! Every authoritative server of a TLSA owner's zone, judged (`dane verify`, issue 23).
//!
//! A sender's resolver asks any one of the zone's servers, so a check through one
//! validating path sees only one view. A lagging secondary that still serves the old TLSA
//! RRset, a server that answers NOTIMP or SERVFAIL to TLSA queries, or one whose
//! signatures have expired fails a share of the senders while the check says verified.
//! [`judge`] compares what each server address serves with the validated RRset and, where
//! it differs, asks whether that RRset would still authenticate every chain the host
//! presented (the caller's `authenticates`, which applies the same RFC 7672 / RFC 7671
//! matching as the endpoint verdicts).
//!
//! The decision, per server:
//! - serves the validated RRset: fine (`ns-rrsig-expires` when its signatures are due);
//! - serves another secure RRset that authenticates every presented chain: `ns-stale`;
//! - serves another secure RRset that would not authenticate a presented chain: a failure
//!   of the host (some senders fail: the domain is `partial` when others succeed);
//! - serves a secure denial or an insecure answer: `ns-stale` (senders whose resolver asks
//!   it see no TLSA records and deliver without DANE authentication, RFC 7672 2.2);
//! - its answer is bogus: `ns-rrsig-expires` (validating resolvers retry another server,
//!   RFC 4035 5.5; the signatures must still be fixed);
//! - answers an error rcode (REFUSED, NOTIMP, SERVFAIL, FORMERR): `ns-refuses-tlsa`;
//! - no usable answer (timeout, unreachable, not authoritative, no address):
//!   `ns-unreachable`. Servers the bounds left out, or a zone whose servers could not be
//!   found or trusted: `ns-not-asked`.
//!
//! Pure: no I/O, the time comes in as `now`.

use dane_tlsa::TlsaRecord;
use serde::Serialize;

use crate::dns::{Answer, Lookup, Security};
use crate::threshold::{Period, Threshold};
use crate::verdict::{Status, Verdict};

/// What one server address said about the TLSA RRset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerAnswer {
    /// An authoritative answer, validated like the normal path's (its DS and DNSKEY from
    /// the normal path, the answer from this server).
    Answered(Lookup<TlsaRecord>),
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
pub struct ServerView {
    /// The name server (from the zone's NS RRset).
    pub ns: String,
    /// The address asked (`192.0.2.1:53`).
    pub address: String,
    /// The zone's SOA serial it serves (not validated: shown), when it gave one.
    pub serial: Option<u32>,
    /// What it said.
    pub answer: ServerAnswer,
}

/// Every server of the zone holding a TLSA owner, as the DNS source saw them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerViews {
    /// The zone.
    pub zone: String,
    /// One view per address, in NS RRset order.
    pub servers: Vec<ServerView>,
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
    /// Serves another secure RRset that still authenticates every presented chain, or a
    /// denial or an insecure answer (senders asking it do not use DANE).
    Stale,
    /// Serves another secure RRset that would not authenticate a presented chain.
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

/// Every server of one TLSA owner's zone, judged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerCheck {
    /// The TLSA owner asked about.
    pub owner: String,
    /// The zone holding it, when the servers were found.
    pub zone: Option<String>,
    /// One row per server address.
    pub servers: Vec<ServerRow>,
    /// Servers and addresses never asked (the bounds), or why none could be asked.
    pub not_asked: Vec<String>,
    /// The failures of the host these servers cause (one per `fails` row): each a failed
    /// verdict naming the server and the endpoint that would not authenticate.
    pub failures: Vec<Verdict>,
}

/// The canonical presentation of a record set, for comparison and display.
fn presentation(records: &[TlsaRecord]) -> Vec<String> {
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

/// Judges every server of `owner`'s zone against the validated RRset `validated` at `now`.
/// `authenticates(records)` is `None` when `records` authenticate every chain the host
/// presented, else the reason of the first endpoint that would fail. `views` is `Err`
/// when the servers could not be found.
pub fn judge(
    owner: &str,
    validated: &[TlsaRecord],
    views: &Result<ServerViews, String>,
    now: u64,
    threshold: Threshold,
    authenticates: impl Fn(&[TlsaRecord]) -> Option<String>,
) -> ServerCheck {
    let mut check = ServerCheck {
        owner: owner.to_owned(),
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
    for v in &views.servers {
        let row = row(owner, &want, v, now, threshold, &authenticates);
        if row.state == ServerState::Fails {
            check
                .failures
                .push(Verdict::new(Status::Failed, row.detail.clone()));
        }
        check.servers.push(row);
    }
    check
}

/// One server's row (see the module docs for the rules).
fn row(
    owner: &str,
    want: &[String],
    v: &ServerView,
    now: u64,
    threshold: Threshold,
    authenticates: &impl Fn(&[TlsaRecord]) -> Option<String>,
) -> ServerRow {
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
                "{who}: no usable answer to {owner} TLSA ({why}); resolvers that ask it wait, then try another server"
            );
            return r;
        }
        ServerAnswer::Rcode { rcode, detail } => {
            r.state = ServerState::Refuses;
            r.warning = Some("ns-refuses-tlsa");
            r.detail = format!(
                "{who} answers {} to {owner} TLSA ({detail}); resolvers that ask it must try another server, and some senders defer",
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
                format!("{who}: its answer to {owner} TLSA could not be validated ({reason})");
            return r;
        }
        // RFC 4035 5.5: a validator that gets a bogus answer may retry other servers; the
        // senders still see a SERVFAIL when every retry lands on a bogus one.
        Security::Bogus { reason } => {
            r.state = ServerState::Bogus;
            r.warning = Some("ns-rrsig-expires");
            r.detail = format!(
                "{who}{serial} serves {owner} TLSA with signatures that do not validate ({reason}); resolvers that ask it retry another server or fail"
            );
            return r;
        }
        Security::Secure | Security::Insecure => {}
    }
    let served = match (&lookup.security, &lookup.answer) {
        (Security::Secure, Answer::Records(records)) => records,
        (security, answer) => {
            r.state = ServerState::Stale;
            r.same_as_validated = Some(false);
            r.warning = Some("ns-stale");
            let what = match (security, answer) {
                (Security::Insecure, _) => "an unsigned (insecure) answer",
                (_, Answer::NxDomain) => "a secure NXDOMAIN",
                _ => "a secure NODATA (no TLSA records)",
            };
            r.detail = format!(
                "{who}{serial} serves {what} for {owner}: senders whose resolver asks it see no TLSA records and deliver without DANE authentication"
            );
            return r;
        }
    };
    r.records = presentation(served);
    let same = r.records == want;
    r.same_as_validated = Some(same);
    if same {
        r.state = ServerState::Same;
        r.warning = None;
        r.detail = format!("{who}{serial} serves the validated TLSA RRset");
        rrsig_due(&mut r, &who, owner, lookup, now, threshold);
        return r;
    }
    match authenticates(served) {
        None => {
            r.state = ServerState::Stale;
            r.warning = Some("ns-stale");
            r.detail = format!(
                "{who}{serial} serves a different TLSA RRset for {owner} ({}); it still authenticates every presented chain, but the zone's servers disagree",
                r.records.join(", ")
            );
        }
        Some(why) => {
            r.state = ServerState::Fails;
            r.warning = None;
            r.detail = format!(
                "{who}{serial} serves a different TLSA RRset for {owner} ({}), and senders whose resolver asks it fail: {why}",
                r.records.join(", ")
            );
        }
    }
    r
}

/// `ns-rrsig-expires` on a row that serves the validated RRset, when the signatures its
/// answer rests on are within the threshold.
fn rrsig_due(
    r: &mut ServerRow,
    who: &str,
    owner: &str,
    lookup: &Lookup<TlsaRecord>,
    now: u64,
    threshold: Threshold,
) {
    let Some(end) = lookup.expires else { return };
    let period = Period {
        start: lookup.inception,
        end,
    };
    if threshold.due(period, now) {
        r.warning = Some("ns-rrsig-expires");
        r.detail = format!(
            "{who}: a signature its answer for {owner} TLSA rests on expires at {} ({}): re-sign the zone, or fix the transfer to this server",
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
    fn authenticates(records: &[TlsaRecord]) -> Option<String> {
        if records.contains(&rec(NEW)) {
            None
        } else {
            Some("mx.example. 192.0.2.10:25: no TLSA record matches the chain".into())
        }
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

    #[test]
    fn servers_not_found_or_left_out_are_named() {
        let c = judge(
            OWNER,
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
