//! The one documented set of exit codes for every `dane` subcommand (README, "Exit codes").

use std::process::ExitCode;

/// What a `dane` run concluded, as a process exit status.
///
/// The meanings are shared by all subcommands so that scripts can rely on them:
/// a verdict is data (0, 1, 3, 4); 2 means the question itself could not be asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// 0: verified / secure / the records authenticate the chain.
    Ok = 0,
    /// 1: a definite failure: mismatch, bogus DNSSEC, downgrade, name mismatch.
    Failure = 1,
    /// 2: usage or input error (bad flag, unreadable or malformed file, bad record).
    Usage = 2,
    /// 3: indeterminate: timeouts, SERVFAIL, unreachable, and no definite failure.
    Indeterminate = 3,
    /// 4: not protected: DNSSEC-insecure, or no TLSA records anywhere.
    NotProtected = 4,
}

impl Exit {
    /// Every exit code with its meaning, in code order: the one table the man page's
    /// EXIT STATUS section and `--help` are rendered from (the README table repeats it).
    pub const DOCUMENTED: &'static [(Exit, &'static str)] = &[
        (
            Exit::Ok,
            "ok: verified / secure / the records authenticate the chain",
        ),
        (
            Exit::Failure,
            "a definite failure: mismatch, bogus DNSSEC, STARTTLS missing under TLSA, name mismatch",
        ),
        (
            Exit::Usage,
            "usage or input error: bad flag, unreadable or malformed file, record or certificate",
        ),
        (
            Exit::Indeterminate,
            "indeterminate: timeouts, SERVFAIL, unreachable, an unsuitable resolver under \
             --no-iterate, and no definite failure",
        ),
        (
            Exit::NotProtected,
            "not protected: DNSSEC-insecure, or no TLSA records",
        ),
    ];

    /// The process exit status for this outcome.
    pub fn code(self) -> ExitCode {
        ExitCode::from(self as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::Exit;

    #[test]
    fn documented_values_are_stable() {
        let table = [
            (Exit::Ok, 0),
            (Exit::Failure, 1),
            (Exit::Usage, 2),
            (Exit::Indeterminate, 3),
            (Exit::NotProtected, 4),
        ];
        for (exit, value) in table {
            assert_eq!(exit as u8, value, "{exit:?}");
        }
    }

    #[test]
    fn every_code_is_documented_once_in_order() {
        let codes: Vec<u8> = Exit::DOCUMENTED.iter().map(|(e, _)| *e as u8).collect();
        let expected: Vec<u8> = (0..codes.len() as u8).collect();
        assert_eq!(codes, expected);
    }
}
