//! IMAP with STARTTLS (RFC 9051 6.2.1, RFC 2595 3.1) and over implicit TLS (RFC 8314),
//! as a sans-IO state machine: greeting, CAPABILITY, STARTTLS, tagged OK, then (inside
//! TLS) LOGOUT.

use crate::dialogue::{Action, Dialogue, DialogueConfig};
use crate::lines::{LineDialogue, Lines};
use crate::outcome::{Phase, ProbeOutcome, Reply, Violation};
use crate::transcript::{Transcript, sanitize};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    AwaitTls,
    Greeting,
    Capability,
    StartTls,
    TlsGreeting,
    Logout,
    Done,
}

/// The IMAP dialogue.
#[derive(Debug)]
pub(crate) struct Imap {
    state: State,
    lines: Lines,
    implicit: bool,
    untagged: usize,
    max_reply_lines: usize,
    capabilities: Vec<String>,
}

/// A parsed response line.
enum Line<'a> {
    /// `* ...`
    Untagged(&'a str),
    /// `<tag> OK|NO|BAD text`
    Tagged {
        tag: &'a str,
        status: &'a str,
        text: &'a str,
    },
}

fn parse(line: &str) -> Option<Line<'_>> {
    // RFC 9051 7: untagged responses start with "* ", tagged ones with the tag.
    if let Some(rest) = line.strip_prefix("* ") {
        return Some(Line::Untagged(rest));
    }
    let (tag, rest) = line.split_once(' ')?;
    let (status, text) = rest.split_once(' ').unwrap_or((rest, ""));
    Some(Line::Tagged { tag, status, text })
}

impl Imap {
    pub(crate) fn new(config: &DialogueConfig, implicit: bool) -> Self {
        Imap {
            state: if implicit {
                State::AwaitTls
            } else {
                State::Greeting
            },
            lines: Lines::new(config.max_line, config.max_plaintext),
            implicit,
            untagged: 0,
            max_reply_lines: config.max_reply_lines,
            capabilities: Vec::new(),
        }
    }

    fn violation(&self, violation: Violation) -> ProbeOutcome {
        ProbeOutcome::ProtocolViolation {
            phase: self.phase(),
            violation,
        }
    }

    fn send(&mut self, t: &mut Transcript, command: &str, next: State) -> Action {
        t.sent(command);
        self.state = next;
        self.untagged = 0;
        Action::Send(format!("{command}\r\n").into_bytes())
    }

    fn on_line(&mut self, line: &str, t: &mut Transcript) -> Result<Action, ProbeOutcome> {
        let phase = self.phase();
        let garbage = |expected| {
            Err(ProbeOutcome::ProtocolViolation {
                phase,
                violation: Violation::Garbage {
                    expected,
                    excerpt: sanitize(line, 40),
                },
            })
        };
        let Some(parsed) = parse(line) else {
            return garbage("an IMAP response");
        };
        match (self.state, parsed) {
            (State::Greeting | State::TlsGreeting, Line::Untagged(rest)) => {
                let (status, text) = rest.split_once(' ').unwrap_or((rest, ""));
                // RFC 9051 7.1: the greeting is OK, PREAUTH or BYE.
                match status.to_ascii_uppercase().as_str() {
                    "OK" if self.state == State::Greeting => {
                        Ok(self.send(t, "a1 CAPABILITY", State::Capability))
                    }
                    "OK" | "PREAUTH" if self.state == State::TlsGreeting => {
                        Ok(self.send(t, "a3 LOGOUT", State::Logout))
                    }
                    // RFC 9051 6.2.1: STARTTLS is only valid in the not-authenticated
                    // state; a PREAUTH connection can never start TLS.
                    "PREAUTH" => Err(ProbeOutcome::StartTlsNotOffered {
                        capabilities: vec!["PREAUTH (already authenticated)".into()],
                        no_esmtp: None,
                    }),
                    "BYE" => Err(ProbeOutcome::Rejected {
                        phase,
                        reply: Reply {
                            code: "BYE".into(),
                            text: sanitize(text, 300),
                        },
                    }),
                    _ => garbage("an IMAP greeting (* OK, * PREAUTH or * BYE)"),
                }
            }
            (State::Capability | State::StartTls | State::Logout, Line::Untagged(rest)) => {
                self.untagged += 1;
                if self.untagged > self.max_reply_lines {
                    return Err(self.violation(Violation::TooManyLines {
                        limit: self.max_reply_lines,
                    }));
                }
                if self.state == State::Capability
                    && let Some(caps) = strip_prefix_ignore_case(rest, "CAPABILITY ")
                {
                    self.capabilities = caps
                        .split_ascii_whitespace()
                        .take(self.max_reply_lines)
                        .map(|c| sanitize(c, 100))
                        .collect();
                }
                Ok(Action::Receive)
            }
            (
                State::Capability,
                Line::Tagged {
                    tag: "a1",
                    status,
                    text,
                },
            ) => {
                if !status.eq_ignore_ascii_case("OK") {
                    return Err(ProbeOutcome::Rejected {
                        phase,
                        reply: Reply {
                            code: sanitize(status, 20),
                            text: sanitize(text, 300),
                        },
                    });
                }
                // RFC 9051 6.2.1 / RFC 2595 3.1: STARTTLS is listed as a capability.
                if self
                    .capabilities
                    .iter()
                    .any(|c| c.eq_ignore_ascii_case("STARTTLS"))
                {
                    Ok(self.send(t, "a2 STARTTLS", State::StartTls))
                } else {
                    Err(ProbeOutcome::StartTlsNotOffered {
                        capabilities: self.capabilities.clone(),
                        no_esmtp: None,
                    })
                }
            }
            (
                State::StartTls,
                Line::Tagged {
                    tag: "a2",
                    status,
                    text,
                },
            ) => {
                if !status.eq_ignore_ascii_case("OK") {
                    return Err(ProbeOutcome::StartTlsRefused {
                        reply: Reply {
                            code: sanitize(status, 20),
                            text: sanitize(text, 300),
                        },
                    });
                }
                // RFC 9051 6.2.1: the handshake begins right after the tagged OK; any
                // byte in between is injected plaintext.
                self.lines.expect_drained().map_err(|v| self.violation(v))?;
                self.state = State::AwaitTls;
                Ok(Action::StartTls)
            }
            (State::Logout, Line::Tagged { tag: "a3", .. }) => {
                self.state = State::Done;
                Ok(Action::Done)
            }
            _ => garbage("an untagged response or the tagged reply to our command"),
        }
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

impl LineDialogue for Imap {
    fn lines(&mut self) -> &mut Lines {
        &mut self.lines
    }

    fn line_violation(&self, violation: Violation) -> ProbeOutcome {
        self.violation(violation)
    }

    fn handle_line(&mut self, line: &str, t: &mut Transcript) -> Result<Action, ProbeOutcome> {
        self.on_line(line, t)
    }
}

impl Dialogue for Imap {
    fn start(&mut self, _: &mut Transcript) -> Action {
        if self.state == State::AwaitTls {
            Action::StartTls
        } else {
            Action::Receive
        }
    }

    fn receive(&mut self, bytes: &[u8], t: &mut Transcript) -> Result<Action, ProbeOutcome> {
        match self.state {
            State::AwaitTls => return Ok(Action::StartTls),
            State::Done => return Ok(Action::Done),
            _ => {}
        }
        self.receive_lines(bytes, t)
    }

    fn tls_established(&mut self, t: &mut Transcript) -> Action {
        self.lines.reset_budget();
        if self.implicit {
            self.state = State::TlsGreeting;
            Action::Receive
        } else {
            // RFC 9051 6.2.1: no new greeting after STARTTLS.
            self.send(t, "a3 LOGOUT", State::Logout)
        }
    }

    fn phase(&self) -> Phase {
        match self.state {
            State::Greeting => Phase::Banner,
            State::Capability | State::StartTls => Phase::StartTls,
            State::AwaitTls => Phase::Handshake,
            State::TlsGreeting | State::Logout | State::Done => Phase::AfterHandshake,
        }
    }

    fn capabilities(&self) -> Vec<String> {
        if self.implicit {
            Vec::new()
        } else {
            self.capabilities.clone()
        }
    }

    fn capabilities_after_tls(&self) -> Vec<String> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialogue::script::{config, run, send};

    fn imap() -> (Imap, Transcript) {
        (Imap::new(&config(), false), Transcript::new(100))
    }

    #[test]
    fn happy_path() {
        let (mut m, mut t) = imap();
        assert_eq!(m.start(&mut t), Action::Receive);
        run(
            &mut m,
            &mut t,
            &[
                (
                    b"* OK [CAPABILITY IMAP4rev1] ready\r\n",
                    send("a1 CAPABILITY\r\n"),
                ),
                (
                    b"* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\n",
                    Action::Receive,
                ),
                (b"a1 OK done\r\n", send("a2 STARTTLS\r\n")),
                (b"a2 OK Begin TLS negotiation now\r\n", Action::StartTls),
            ],
        )
        .unwrap();
        assert_eq!(m.capabilities(), ["IMAP4rev1", "STARTTLS", "LOGINDISABLED"]);
        assert_eq!(m.tls_established(&mut t), send("a3 LOGOUT\r\n"));
        run(&mut m, &mut t, &[(b"* BYE\r\na3 OK bye\r\n", Action::Done)]).unwrap();
    }

    #[test]
    fn implicit() {
        let mut m = Imap::new(&config(), true);
        let mut t = Transcript::new(100);
        assert_eq!(m.start(&mut t), Action::StartTls);
        assert_eq!(m.tls_established(&mut t), Action::Receive);
        run(
            &mut m,
            &mut t,
            &[
                (b"* OK imaps\r\n", send("a3 LOGOUT\r\n")),
                (b"* BYE\r\na3 OK\r\n", Action::Done),
            ],
        )
        .unwrap();
    }

    fn fails(steps: &[(&[u8], Action)], last: &[u8]) -> ProbeOutcome {
        let (mut m, mut t) = imap();
        run(&mut m, &mut t, steps).unwrap();
        m.receive(last, &mut t).unwrap_err()
    }

    #[test]
    fn failures() {
        let greet: (&[u8], Action) = (b"* OK hi\r\n", send("a1 CAPABILITY\r\n"));
        let got = fails(
            std::slice::from_ref(&greet),
            b"* CAPABILITY IMAP4rev1\r\na1 OK\r\n",
        );
        assert!(
            matches!(got, ProbeOutcome::StartTlsNotOffered { .. }),
            "{got:?}"
        );
        let got = fails(
            &[
                greet.clone(),
                (
                    b"* CAPABILITY STARTTLS\r\na1 OK\r\n",
                    send("a2 STARTTLS\r\n"),
                ),
            ],
            b"a2 NO [UNAVAILABLE] no certificate\r\n",
        );
        assert_eq!(
            got,
            ProbeOutcome::StartTlsRefused {
                reply: Reply {
                    code: "NO".into(),
                    text: "[UNAVAILABLE] no certificate".into()
                }
            }
        );
        let got = fails(
            &[
                greet.clone(),
                (
                    b"* CAPABILITY STARTTLS\r\na1 OK\r\n",
                    send("a2 STARTTLS\r\n"),
                ),
            ],
            b"a2 OK go\r\n* OK injected\r\n",
        );
        assert!(
            matches!(
                got,
                ProbeOutcome::ProtocolViolation {
                    violation: Violation::PipelinedAfterStartTls { .. },
                    ..
                }
            ),
            "{got:?}"
        );
        let got = fails(&[], b"* PREAUTH logged in\r\n");
        assert!(matches!(got, ProbeOutcome::StartTlsNotOffered { .. }));
        let got = fails(&[], b"* BYE go away\r\n");
        assert!(matches!(
            got,
            ProbeOutcome::Rejected {
                phase: Phase::Banner,
                ..
            }
        ));
        let got = fails(&[], b"+OK pop3?\r\n");
        assert!(matches!(got, ProbeOutcome::ProtocolViolation { .. }));
        let got = fails(std::slice::from_ref(&greet), &b"* FLAGS x\r\n".repeat(11));
        assert_eq!(
            got,
            ProbeOutcome::ProtocolViolation {
                phase: Phase::StartTls,
                violation: Violation::TooManyLines { limit: 10 }
            }
        );
        let got = fails(&[greet], b"a9 OK wrong tag\r\n");
        assert!(matches!(got, ProbeOutcome::ProtocolViolation { .. }));
    }
}
