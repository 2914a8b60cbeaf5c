//! SMTP DANE (RFC 7672), the part before the hosts: what the next-hop domain's MX lookup
//! means for delivery. The per-host steps are in [`crate::host`], shared with the other
//! services.

use serde::Serialize;

use crate::dns::{Answer, Lookup, Mx, Security, fqdn};
use crate::host::failure_status;
use crate::verdict::{Status, Verdict};

/// The SMTP port: TLSA records live at `_25._tcp.<base>`.
pub const SMTP_PORT: u16 = 25;

/// What the MX lookup of the next-hop domain means for delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum MxPlan {
    /// Deliver to these hosts, in preference order (equal preferences keep their order).
    Hosts {
        /// Whether the MX RRset is secure; when it is not, DANE applies to none of them.
        secure: bool,
        /// The hosts.
        hosts: Vec<Mx>,
        /// MX records that were skipped, with why (a `.` exchange beside real hosts).
        ignored: Vec<String>,
    },
    /// No MX RRset: the domain itself is the host (RFC 5321 section 5.1, implicit MX).
    Implicit {
        /// Whether the denial of the MX RRset is secure.
        secure: bool,
    },
    /// `MX 0 .` (RFC 7505): the domain accepts no mail.
    NullMx,
    /// The domain does not exist.
    NoSuchDomain {
        /// Whether the NXDOMAIN is secure.
        secure: bool,
    },
    /// No secure delivery decision is possible: mail would be deferred (RFC 7672 2.1.1).
    Failed {
        /// The lookup's status (bogus or indeterminate).
        security: Security,
    },
}

/// RFC 7672 section 2.2.1: the MX lookup decides where mail goes and whether the hosts'
/// TLSA records can be trusted at all.
pub fn mx_plan(lookup: &Lookup<Mx>) -> MxPlan {
    // RFC 7672 2.1.1: a bogus or indeterminate MX lookup means no secure decision is
    // possible; the domain's mail is deferred, never sent as if DANE did not apply.
    if lookup.security.is_failure() {
        return MxPlan::Failed {
            security: lookup.security.clone(),
        };
    }
    let secure = lookup.security.is_secure();
    match &lookup.answer {
        Answer::NxDomain => MxPlan::NoSuchDomain { secure },
        Answer::NoData => MxPlan::Implicit { secure },
        Answer::Records(records) => {
            // RFC 7505 section 3: a null MX is the only MX of its domain.
            let null = |mx: &Mx| fqdn(&mx.exchange) == ".";
            if records.iter().all(null) {
                return MxPlan::NullMx;
            }
            let mut ignored = Vec::new();
            let mut hosts = Vec::new();
            for mx in records {
                if null(mx) {
                    ignored.push(format!(
                        "MX {} . ignored: a null MX must be the only MX record (RFC 7505 3)",
                        mx.preference
                    ));
                } else if !hosts.iter().any(|h: &Mx| h.exchange == fqdn(&mx.exchange)) {
                    hosts.push(Mx {
                        preference: mx.preference,
                        exchange: fqdn(&mx.exchange),
                    });
                }
            }
            hosts.sort_by_key(|mx| mx.preference);
            MxPlan::Hosts {
                secure,
                hosts,
                ignored,
            }
        }
    }
}

/// The domain-level verdict of a plan that has no hosts to check, or `None` when hosts
/// (or the implicit host) are to be checked.
pub fn plan_verdict(domain: &str, plan: &MxPlan) -> Option<Verdict> {
    let domain = fqdn(domain);
    match plan {
        MxPlan::Hosts { .. } | MxPlan::Implicit { .. } => None,
        MxPlan::NullMx => Some(Verdict::new(
            Status::NotProtected,
            format!("{domain} publishes a null MX (RFC 7505): it accepts no mail"),
        )),
        MxPlan::NoSuchDomain { secure: true } => Some(Verdict::new(
            Status::Failed,
            format!("{domain} does not exist (secure NXDOMAIN): mail to it bounces"),
        )),
        MxPlan::NoSuchDomain { secure: false } => Some(Verdict::new(
            Status::Failed,
            format!("{domain} does not exist (NXDOMAIN, not DNSSEC-signed): mail to it bounces"),
        )),
        MxPlan::Failed { security } => Some(Verdict::new(
            failure_status(security),
            format!(
                "MX lookup for {domain} is {}: senders that do DANE defer the mail (RFC 7672 2.1.1)",
                security.describe()
            ),
        )),
    }
}
