//! The one documented set of exit codes for every `dane` subcommand (README, "Exit codes").

use std::process::ExitCode;

/// What a `dane` run concluded, as a process exit status.
///
/// The meanings are shared by all subcommands so that scripts can rely on them:
/// a verdict is data (0, 1, 3, 4, 5); 2 means the question itself could not be asked.
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
    /// 5: waiting (`dane rollover status`): the next key's record is on every server, but
    /// caches may still hold the RRset from before (its TTL plus the margin has not passed).
    Waiting = 5,
    /// 130 (128 + SIGINT): `dane scan` was interrupted; the summary says how to resume.
    Interrupted = 130,
    /// 143 (128 + SIGTERM): `dane scan` was terminated; the summary says how to resume.
    Terminated = 143,
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
        (
            Exit::Waiting,
            "waiting (dane rollover status): the next key's record is on every authoritative \
             server, but its TTL plus the margin has not passed yet",
        ),
        (
            Exit::Interrupted,
            "interrupted (dane scan, SIGINT): in-flight targets finished or hit --deadline, the \
             results so far are written, the summary says how to resume",
        ),
        (Exit::Terminated, "terminated (dane scan, SIGTERM): as 130"),
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
            (Exit::Waiting, 5),
            (Exit::Interrupted, 130),
            (Exit::Terminated, 143),
        ];
        for (exit, value) in table {
            assert_eq!(exit as u8, value, "{exit:?}");
        }
    }

    #[test]
    fn every_code_is_documented_once_in_order() {
        let codes: Vec<u8> = Exit::DOCUMENTED.iter().map(|(e, _)| *e as u8).collect();
        let mut expected: Vec<u8> = (0..=5).collect();
        expected.extend([130, 143]);
        assert_eq!(codes, expected);
    }
}
