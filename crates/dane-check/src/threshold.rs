//! When an expiry deserves a warning: RRSIG expirations and certificate notAfter dates.
//!
//! By default the threshold is relative to the validity period itself: a warning once
//! less than a fifth of the period remains ([`Threshold::Fifth`]). One absolute number of
//! days cannot fit every signer and CA: 14-day RRSIGs (the default of Knot and of BIND's
//! `dnssec-policy`) re-signed 5-7 days before they expire would always be within a 30-day
//! horizon, while a 90-day certificate renewed at a third of its life (ACME clients' default)
//! leaves 30 days, a 45-day one 15 and a 6-day one 2 or 3. A fifth of each period (2.8, 18,
//! 9 and 1.2 days) warns only once the usual re-signing or renewal is overdue.
//! `--warn-rrsig-days` and `--warn-cert-days` (and `--warn-days` for both) replace it with
//! an absolute number of days ([`Threshold::Days`]).

/// Seconds in a day.
const DAY: u64 = 86_400;

/// The margin used under [`Threshold::Fifth`] when the start of the period is not known
/// (a signature that did not verify): this many days.
pub const UNKNOWN_START_DAYS: u32 = 3;

/// How close to its end a validity period warns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threshold {
    /// Less than a fifth of the period's own length remains (the default).
    Fifth,
    /// Fewer than this many days remain.
    Days(u32),
}

/// The thresholds of a run: one for signatures, one for certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// RRSIG expirations (the earliest along a lookup's chain of trust).
    pub rrsig: Threshold,
    /// Certificate notAfter dates.
    pub cert: Threshold,
}

impl Default for Thresholds {
    fn default() -> Thresholds {
        Thresholds {
            rrsig: Threshold::Fifth,
            cert: Threshold::Fifth,
        }
    }
}

/// A validity period in seconds since the Unix epoch: `start` (inception, notBefore) when
/// known, `end` (expiration, notAfter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// When it began, if known.
    pub start: Option<u64>,
    /// When it ends.
    pub end: u64,
}

impl Threshold {
    /// The margin before the end of `period` from which it warns, in seconds.
    pub fn margin(self, period: Period) -> u64 {
        match self {
            Threshold::Days(d) => u64::from(d) * DAY,
            Threshold::Fifth => match period.start {
                Some(start) if start < period.end => (period.end - start) / 5,
                _ => u64::from(UNKNOWN_START_DAYS) * DAY,
            },
        }
    }

    /// Whether `period` warns at `now`: it has ended, or less than the margin remains.
    pub fn due(self, period: Period, now: u64) -> bool {
        period.end <= now || period.end - now < self.margin(period)
    }

    /// The margin in days (for perfdata and messages).
    pub fn margin_days(self, period: Period) -> f64 {
        // Margins are far below 2^53 seconds: the conversion is exact.
        #[allow(clippy::cast_precision_loss)]
        let secs = self.margin(period) as f64;
        secs / DAY as f64
    }

    /// The threshold in words, for messages: `within 30 days`, or `with less than a fifth
    /// of its 14-day validity left`.
    pub fn describe(self, period: Period) -> String {
        match (self, period.start) {
            (Threshold::Days(d), _) => format!("within {d} days"),
            (Threshold::Fifth, Some(start)) if start < period.end => format!(
                "with less than a fifth of its {} validity left",
                days_text(period.end - start)
            ),
            (Threshold::Fifth, _) => format!("within {UNKNOWN_START_DAYS} days"),
        }
    }
}

/// A duration in days, with one decimal when it is not whole (`14-day`, `1.5-day`).
fn days_text(secs: u64) -> String {
    if secs % DAY == 0 {
        format!("{}-day", secs / DAY)
    } else {
        // Validity periods are far below 2^53 seconds: the conversion is exact.
        #[allow(clippy::cast_precision_loss)]
        let d = secs as f64 / DAY as f64;
        format!("{d:.1}-day")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_796_083_200;

    /// A period of `length` days of which `left` days remain at NOW (negative: ended).
    fn period(length: f64, left: f64) -> Period {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let secs = |d: f64| (d * DAY as f64) as i64;
        let end = NOW.checked_add_signed(secs(left)).unwrap();
        Period {
            start: Some(end - secs(length) as u64),
            end,
        }
    }

    fn check(threshold: Threshold, p: Period, expected: bool) {
        assert_eq!(threshold.due(p, NOW), expected, "{threshold:?} {p:?}");
    }

    #[test]
    fn a_fifth_fits_real_signers_and_acme() {
        use Threshold::Fifth;
        for (what, length, left, due) in [
            // 14-day RRSIGs re-signed 5-7 days before expiry: healthy.
            ("14-day RRSIG, 7 days left", 14.0, 7.0, false),
            ("14-day RRSIG, 5 days left", 14.0, 5.0, false),
            ("14-day RRSIG, 3 days left", 14.0, 3.0, false),
            ("14-day RRSIG, 2.7 days left", 14.0, 2.7, true),
            // 90- and 45-day certificates renewed at a third of their life.
            ("90-day certificate, 30 days left", 90.0, 30.0, false),
            ("90-day certificate, 18.5 days left", 90.0, 18.5, false),
            ("90-day certificate, 17 days left", 90.0, 17.0, true),
            ("45-day certificate, 15 days left", 45.0, 15.0, false),
            ("45-day certificate, 8 days left", 45.0, 8.0, true),
            // 6-day certificates renewed at half their life.
            ("6-day certificate, 3 days left", 6.0, 3.0, false),
            ("6-day certificate, 1.3 days left", 6.0, 1.3, false),
            ("6-day certificate, 1 day left", 6.0, 1.0, true),
            // Ended: always due.
            ("ended", 14.0, -1.0, true),
            ("ends now", 14.0, 0.0, true),
        ] {
            assert_eq!(Fifth.due(period(length, left), NOW), due, "{what}");
        }
    }

    #[test]
    fn absolute_days() {
        let t = Threshold::Days(30);
        check(t, period(14.0, 7.0), true);
        check(t, period(90.0, 31.0), false);
        check(t, period(90.0, 29.0), true);
        check(Threshold::Days(0), period(14.0, 0.5), false);
        check(Threshold::Days(0), period(14.0, 0.0), true);
    }

    #[test]
    fn unknown_start() {
        let p = |left: f64| Period {
            start: None,
            ..period(14.0, left)
        };
        check(Threshold::Fifth, p(3.5), false);
        check(Threshold::Fifth, p(2.5), true);
        // A start after the end is as good as unknown.
        let odd = Period {
            start: Some(NOW + 10 * DAY),
            end: NOW + 2 * DAY,
        };
        check(Threshold::Fifth, odd, true);
    }

    #[test]
    fn margins_and_words() {
        let p = period(14.0, 7.0);
        assert!((Threshold::Fifth.margin_days(p) - 2.8).abs() < 1e-9);
        assert!((Threshold::Days(21).margin_days(p) - 21.0).abs() < 1e-9);
        assert_eq!(
            Threshold::Fifth.describe(p),
            "with less than a fifth of its 14-day validity left"
        );
        assert_eq!(
            Threshold::Fifth.describe(period(1.5, 1.0)),
            "with less than a fifth of its 1.5-day validity left"
        );
        assert_eq!(Threshold::Days(30).describe(p), "within 30 days");
    }
}
