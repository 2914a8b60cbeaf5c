//! Services other than SMTP-to-MX: the table of known services (port, STARTTLS dialogue,
//! SRV label), and what an SRV lookup means (RFC 7673, RFC 2782).

use dane_probe::Protocol;
use serde::Serialize;

use crate::dns::{Answer, Lookup, Security, Srv, fqdn};
use crate::host::failure_status;
use crate::verdict::{Status, Verdict};

/// A service `dane verify` can check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Service {
    /// The name used on the command line and in reports.
    pub name: &'static str,
    /// The default port (also the TLSA port for the fallback host).
    pub port: u16,
    /// The dialogue before TLS (or implicit TLS), as the prober speaks it.
    pub protocol: Protocol,
    /// The SRV label (`_xmpp-client._tcp`) when the service is found through SRV
    /// (RFC 2782, RFC 6186, RFC 6120); `None` when it is not.
    pub srv: Option<&'static str>,
    /// SMTP to MX hosts (RFC 7672).
    pub mx: bool,
}

/// SMTP to the MX hosts of a domain (the default service).
pub const SMTP: Service = Service {
    name: "smtp",
    port: 25,
    protocol: Protocol::Smtp,
    srv: None,
    mx: true,
};

/// Every named service, in the order the help text lists them.
pub const SERVICES: &[Service] = &[
    SMTP,
    Service {
        name: "submission",
        port: 587,
        protocol: Protocol::Smtp,
        srv: Some("_submission._tcp"),
        mx: false,
    },
    Service {
        name: "smtps",
        port: 465,
        protocol: Protocol::Smtps,
        srv: Some("_submissions._tcp"),
        mx: false,
    },
    Service {
        name: "imap",
        port: 143,
        protocol: Protocol::Imap,
        srv: Some("_imap._tcp"),
        mx: false,
    },
    Service {
        name: "imaps",
        port: 993,
        protocol: Protocol::Imaps,
        srv: Some("_imaps._tcp"),
        mx: false,
    },
    Service {
        name: "pop3",
        port: 110,
        protocol: Protocol::Pop3,
        srv: Some("_pop3._tcp"),
        mx: false,
    },
    Service {
        name: "pop3s",
        port: 995,
        protocol: Protocol::Pop3s,
        srv: Some("_pop3s._tcp"),
        mx: false,
    },
    Service {
        name: "xmpp-client",
        port: 5222,
        protocol: Protocol::XmppClient,
        srv: Some("_xmpp-client._tcp"),
        mx: false,
    },
    Service {
        name: "xmpp-server",
        port: 5269,
        protocol: Protocol::XmppServer,
        srv: Some("_xmpp-server._tcp"),
        mx: false,
    },
    Service {
        name: "https",
        port: 443,
        protocol: Protocol::Https,
        srv: None,
        mx: false,
    },
];

/// The named service.
pub fn by_name(name: &str) -> Option<Service> {
    SERVICES
        .iter()
        .find(|s| s.name.eq_ignore_ascii_case(name))
        .copied()
}

/// A port and dialogue given on the command line (`--port N --starttls P`): no SRV, no MX.
pub fn custom(port: u16, protocol: Protocol) -> Service {
    Service {
        name: "custom",
        port,
        protocol,
        srv: None,
        mx: false,
    }
}

/// What the SRV lookup of a service domain means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SrvPlan {
    /// Connect to these targets, in priority order (weights only spread load: RFC 2782).
    Targets {
        /// Whether the SRV RRset is secure; when it is not, DANE applies to no target
        /// (RFC 7673 section 3.1: an insecure SRV target could be an attacker's).
        secure: bool,
        /// The targets.
        targets: Vec<Srv>,
    },
    /// No SRV records: the service host is the domain itself, at the default port.
    Fallback {
        /// Whether the denial is secure.
        secure: bool,
    },
    /// A single SRV target `.`: the service is decidedly not available (RFC 2782).
    NotOffered,
    /// No secure decision is possible (bogus or indeterminate SRV lookup).
    Failed {
        /// The lookup's status.
        security: Security,
    },
}

/// RFC 7673 section 3.1, RFC 2782: the SRV lookup decides the targets and whether their
/// TLSA records can be trusted.
pub fn srv_plan(lookup: &Lookup<Srv>) -> SrvPlan {
    if lookup.security.is_failure() {
        return SrvPlan::Failed {
            security: lookup.security.clone(),
        };
    }
    let secure = lookup.security.is_secure();
    match &lookup.answer {
        Answer::NoData | Answer::NxDomain => SrvPlan::Fallback { secure },
        Answer::Records(records) => {
            let mut targets: Vec<Srv> = records
                .iter()
                .filter(|s| fqdn(&s.target) != ".")
                .map(|s| Srv {
                    target: fqdn(&s.target),
                    ..s.clone()
                })
                .collect();
            if targets.is_empty() {
                return SrvPlan::NotOffered;
            }
            // RFC 2782: lower priority first; higher weight first within a priority (the
            // random selection only spreads load; a checker visits every target).
            targets.sort_by_key(|s| (s.priority, std::cmp::Reverse(s.weight)));
            targets.dedup_by(|a, b| a.target == b.target && a.port == b.port);
            SrvPlan::Targets { secure, targets }
        }
    }
}

/// The domain-level verdict of an SRV plan with nothing to check, else `None`.
pub fn srv_plan_verdict(owner: &str, plan: &SrvPlan) -> Option<Verdict> {
    match plan {
        SrvPlan::Targets { .. } | SrvPlan::Fallback { .. } => None,
        SrvPlan::NotOffered => Some(Verdict::new(
            Status::NotProtected,
            format!("{owner} SRV has the target \".\": the service is not offered (RFC 2782)"),
        )),
        SrvPlan::Failed { security } => Some(Verdict::new(
            failure_status(security),
            format!(
                "SRV lookup for {owner} is {}: DANE clients cannot find the service securely",
                security.describe()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn srv(priority: u16, weight: u16, port: u16, target: &str) -> Srv {
        Srv {
            priority,
            weight,
            port,
            target: target.into(),
        }
    }

    fn lookup(security: Security, answer: Answer<Srv>) -> Lookup<Srv> {
        Lookup {
            name: "_xmpp-client._tcp.example.test.".into(),
            canonical: "_xmpp-client._tcp.example.test.".into(),
            security,
            answer,
            expires: None,
            inception: None,
            dnssec_warnings: Vec::new(),
        }
    }

    #[test]
    fn srv_plans() {
        assert_eq!(
            srv_plan(&lookup(
                Security::Secure,
                Answer::Records(vec![
                    srv(20, 0, 5222, "B.example.test"),
                    srv(10, 5, 5223, "a.example.test."),
                    srv(10, 50, 5222, "c.example.test."),
                ])
            )),
            SrvPlan::Targets {
                secure: true,
                targets: vec![
                    srv(10, 50, 5222, "c.example.test."),
                    srv(10, 5, 5223, "a.example.test."),
                    srv(20, 0, 5222, "b.example.test."),
                ]
            }
        );
        assert_eq!(
            srv_plan(&lookup(Security::Insecure, Answer::NxDomain)),
            SrvPlan::Fallback { secure: false }
        );
        assert_eq!(
            srv_plan(&lookup(
                Security::Secure,
                Answer::Records(vec![srv(0, 0, 0, ".")])
            )),
            SrvPlan::NotOffered
        );
        let bogus = Security::Bogus { reason: "x".into() };
        assert_eq!(
            srv_plan(&lookup(bogus.clone(), Answer::NoData)),
            SrvPlan::Failed { security: bogus }
        );
    }

    #[test]
    fn services_by_name() {
        assert_eq!(by_name("SMTP"), Some(SMTP));
        assert_eq!(by_name("xmpp-server").map(|s| s.port), Some(5269));
        assert_eq!(by_name("https").and_then(|s| s.srv), None);
        assert_eq!(by_name("gopher"), None);
        let names: std::collections::HashSet<_> = SERVICES.iter().map(|s| s.name).collect();
        assert_eq!(names.len(), SERVICES.len(), "names are unique");
    }
}
