//! DNS lookup results in the policy's vocabulary: what the validating resolver concluded
//! about one RRset (its DNSSEC status and its answer), nothing about how it got there.

use serde::Serialize;

/// The DNSSEC status of one lookup (RFC 4033 section 5, RFC 4035 section 4.3), as the
/// validating resolver reported it. For a CNAME chain it is the weakest link's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Security {
    /// Validated from the trust anchor: the answer (or the denial) is authentic.
    Secure,
    /// Proven unsigned: an insecure delegation lies between the anchor and the name.
    Insecure,
    /// Validation failed: signatures, keys or denial do not check out.
    Bogus {
        /// Why, from the validator.
        reason: String,
    },
    /// No answer could be had (SERVFAIL, timeout, unreachable servers).
    Indeterminate {
        /// Why, from the resolver.
        reason: String,
    },
}

impl Security {
    /// Whether the status is [`Security::Secure`].
    pub fn is_secure(&self) -> bool {
        matches!(self, Security::Secure)
    }

    /// Whether no secure decision can be made from this lookup (bogus or indeterminate).
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            Security::Bogus { .. } | Security::Indeterminate { .. }
        )
    }

    /// A short phrase for messages: `secure`, `insecure`, `bogus (why)`, `indeterminate (why)`.
    pub fn describe(&self) -> String {
        match self {
            Security::Secure => "secure".to_owned(),
            Security::Insecure => "insecure (unsigned)".to_owned(),
            Security::Bogus { reason } => format!("bogus ({reason})"),
            Security::Indeterminate { reason } => format!("indeterminate ({reason})"),
        }
    }
}

/// What a lookup returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "records", rename_all = "kebab-case")]
pub enum Answer<T> {
    /// The RRset (never empty: an empty set is [`Answer::NoData`]).
    Records(Vec<T>),
    /// The name exists but has no records of the type.
    NoData,
    /// The name does not exist.
    NxDomain,
}

/// One lookup: the name asked, where its CNAME chain ended, the status and the answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lookup<T> {
    /// The name queried, lowercase, with the trailing dot.
    pub name: String,
    /// The name at the end of the CNAME (and DNAME) chain; equal to `name` when there was
    /// none.
    pub canonical: String,
    /// The DNSSEC status of the answer and of every link of the chain (the weakest).
    pub security: Security,
    /// The answer at the end of the chain. Meaningless when `security` is a failure.
    pub answer: Answer<T>,
    /// The earliest expiration (seconds since the Unix epoch) of the RRSIGs the verdict
    /// rests on, along the whole chain of trust (DS, DNSKEY, CNAME links, the answer or its
    /// denial): for a bogus answer whose signatures expired, when they expired (in the
    /// past); `None` when nothing was signed or the lookup is indeterminate.
    pub expires: Option<u64>,
    /// The inception (seconds since the Unix epoch) of the signature that expires at
    /// `expires`, when it verified: with `expires`, that signature's own validity period
    /// (the default warning threshold is a fifth of it). Omitted from JSON when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inception: Option<u64>,
    /// What validated but deserves attention along the chain (`weak-key`: an RSA key under
    /// 1024 bits verified a signature); omitted from JSON when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dnssec_warnings: Vec<dane_dnssec::Warning>,
}

impl<T> Lookup<T> {
    /// The records, when there are any and the lookup did not fail.
    pub fn records(&self) -> &[T] {
        match (&self.answer, self.security.is_failure()) {
            (Answer::Records(r), false) => r,
            _ => &[],
        }
    }

    /// Whether the lookup is a secure proof that the name or the type does not exist.
    pub fn is_secure_denial(&self) -> bool {
        self.security.is_secure() && !matches!(self.answer, Answer::Records(_))
    }
}

/// An MX record (RFC 5321 section 5.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mx {
    /// The preference: lower is tried first.
    pub preference: u16,
    /// The exchange host name, lowercase with the trailing dot (`.` for a null MX).
    pub exchange: String,
}

impl std::fmt::Display for Mx {
    /// The presentation form of the RDATA: `10 mx1.example.`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.preference, self.exchange)
    }
}

/// An SRV record (RFC 2782).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Srv {
    /// Lower is tried first.
    pub priority: u16,
    /// Load share within a priority.
    pub weight: u16,
    /// The port of the service at the target.
    pub port: u16,
    /// The target host, lowercase with the trailing dot (`.`: service not offered).
    pub target: String,
}

/// How a run's DNS answers were obtained (issue 11): through the configured resolver, or
/// iteratively from the root servers, and why. The answers are validated the same way on
/// either path; this says only where they came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Resolution {
    /// `resolver` or `iterative`.
    pub mode: String,
    /// Why this path: the unsuitable-resolver line when the resolver failed the check,
    /// `--iterate`, ...; absent for a resolver used as configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The configured resolver failed the capability check and iteration was off
    /// (`--no-iterate`): nothing could be looked up, the verdict is indeterminate.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unsuitable: bool,
}

/// Lowercases a DNS name and gives it a trailing dot, for comparisons and TLSA owners.
pub fn fqdn(name: &str) -> String {
    let mut n = name.trim().to_ascii_lowercase();
    if !n.ends_with('.') {
        n.push('.');
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised() {
        for (input, expected) in [
            ("Example.COM", "example.com."),
            ("mx1.example.com.", "mx1.example.com."),
            (".", "."),
        ] {
            assert_eq!(fqdn(input), expected, "{input}");
        }
    }

    #[test]
    fn records_of_failed_lookups_are_not_used() {
        let bogus = Lookup {
            name: "a.".into(),
            canonical: "a.".into(),
            security: Security::Bogus { reason: "x".into() },
            answer: Answer::Records(vec![1]),
            expires: None,
            inception: None,
            dnssec_warnings: Vec::new(),
        };
        assert!(bogus.records().is_empty());
        assert!(!bogus.is_secure_denial());
        let denial = Lookup::<u8> {
            security: Security::Secure,
            answer: Answer::NxDomain,
            ..Lookup {
                name: "a.".into(),
                canonical: "a.".into(),
                security: Security::Insecure,
                answer: Answer::NoData,
                expires: None,
                inception: None,
                dnssec_warnings: Vec::new(),
            }
        };
        assert!(denial.is_secure_denial());
    }
}
