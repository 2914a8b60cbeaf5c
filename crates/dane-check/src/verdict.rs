//! Verdicts: what one endpoint, host or domain came to, always with a reason.

use serde::Serialize;

/// The outcome classes, shared by endpoints, hosts and domains. They map one-to-one onto
/// the CLI's exit codes (README, "Exit codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// DANE applies and the TLSA records authenticate what the server presented.
    Verified,
    /// A definite failure: senders that do DANE will not deliver here (mismatch, bogus
    /// DNSSEC, STARTTLS missing or failing under TLSA, no such domain or host).
    Failed,
    /// No secure decision could be reached: timeouts, SERVFAIL, unreachable servers, a
    /// server the prober cannot negotiate with.
    Indeterminate,
    /// DANE does not protect this: DNSSEC-insecure, or securely no TLSA records.
    NotProtected,
    /// Secure TLSA records, none usable: senders require TLS but cannot authenticate it.
    UnauthenticatedTls,
}

impl Status {
    /// How bad the status is when statuses are combined (higher is worse): a definite
    /// failure outweighs an indeterminate result, which outweighs "not protected".
    pub fn severity(self) -> u8 {
        match self {
            Status::Verified => 0,
            Status::NotProtected => 1,
            Status::UnauthenticatedTls => 2,
            Status::Indeterminate => 3,
            Status::Failed => 4,
        }
    }

    /// The worse of two statuses.
    pub fn worst(self, other: Status) -> Status {
        if other.severity() > self.severity() {
            other
        } else {
            self
        }
    }
}

/// A status with the sentence that explains it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// The outcome class.
    pub status: Status,
    /// Why, in one sentence a user can act on.
    pub reason: String,
}

impl Verdict {
    /// Builds a verdict.
    pub fn new(status: Status, reason: impl Into<String>) -> Verdict {
        Verdict {
            status,
            reason: reason.into(),
        }
    }
}

/// Combines per-part verdicts: the worst status, with the reason of the first part that
/// has it (parts come in report order). `None` for no parts.
pub fn combine<'a>(parts: impl IntoIterator<Item = &'a Verdict>) -> Option<Verdict> {
    let mut worst: Option<&Verdict> = None;
    for v in parts {
        match worst {
            Some(w) if v.status.severity() <= w.status.severity() => {}
            _ => worst = Some(v),
        }
    }
    worst.cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_order() {
        use Status::*;
        let table = [
            (Verified, NotProtected, NotProtected),
            (NotProtected, UnauthenticatedTls, UnauthenticatedTls),
            (UnauthenticatedTls, Indeterminate, Indeterminate),
            (NotProtected, Indeterminate, Indeterminate),
            (Indeterminate, Failed, Failed),
            (Failed, Verified, Failed),
            (Verified, Verified, Verified),
        ];
        for (a, b, expected) in table {
            assert_eq!(a.worst(b), expected, "{a:?} {b:?}");
            assert_eq!(b.worst(a), expected, "{b:?} {a:?}");
        }
    }

    #[test]
    fn combine_keeps_the_first_worst_reason() {
        let parts = [
            Verdict::new(Status::Verified, "a"),
            Verdict::new(Status::Indeterminate, "b"),
            Verdict::new(Status::Failed, "c"),
            Verdict::new(Status::Failed, "d"),
        ];
        assert_eq!(combine(&parts), Some(Verdict::new(Status::Failed, "c")));
        assert_eq!(combine(&[]), None);
    }
}
