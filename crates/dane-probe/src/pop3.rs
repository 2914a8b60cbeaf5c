//! POP3 with STLS (RFC 2595 4, RFC 2449 CAPA) and over implicit TLS (RFC 8314), as a
//! sans-IO state machine: greeting, CAPA, STLS, +OK, then (inside TLS) QUIT.

use crate::dialogue::{Action, Dialogue, DialogueConfig};
use crate::lines::{LineDialogue, Lines};
use crate::outcome::{Phase, ProbeOutcome, Reply, Violation};
use crate::transcript::{Transcript, sanitize};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    AwaitTls,
    Greeting,
    Capa,
    CapaList,
    Stls,
    TlsGreeting,
    Quit,
    Done,
}

/// The POP3 dialogue.
#[derive(Debug)]
pub(crate) struct Pop3 {
    state: State,
    lines: Lines,
    implicit: bool,
    max_reply_lines: usize,
    capabilities: Vec<String>,
    /// Whether CAPA succeeded (so a missing STLS means "not offered").
    capa_known: bool,
}

fn status(line: &str) -> (&str, &str) {
    line.split_once(' ').unwrap_or((line, ""))
}

impl Pop3 {
    pub(crate) fn new(config: &DialogueConfig, implicit: bool) -> Self {
        Pop3 {
            state: if implicit {
                State::AwaitTls
            } else {
                State::Greeting
            },
            lines: Lines::new(config.max_line, config.max_plaintext),
            implicit,
            max_reply_lines: config.max_reply_lines,
            capabilities: Vec::new(),
            capa_known: false,
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
        Action::Send(format!("{command}\r\n").into_bytes())
    }

    fn on_line(&mut self, line: &str, t: &mut Transcript) -> Result<Action, ProbeOutcome> {
        let phase = self.phase();
        let (code, text) = status(line);
        let reply = || Reply {
            code: sanitize(code, 20),
            text: sanitize(text, 300),
        };
        // RFC 1939 3: responses are "+OK" or "-ERR" (multi-line lists aside).
        let ok = match code {
            "+OK" => true,
            "-ERR" => false,
            _ if self.state == State::CapaList => true,
            _ => {
                return Err(self.violation(Violation::Garbage {
                    expected: "+OK or -ERR",
                    excerpt: sanitize(line, 40),
                }));
            }
        };
        match self.state {
            State::Greeting => {
                if ok {
                    Ok(self.send(t, "CAPA", State::Capa))
                } else {
                    Err(ProbeOutcome::Rejected {
                        phase,
                        reply: reply(),
                    })
                }
            }
            State::Capa => {
                if ok {
                    self.capa_known = true;
                    self.state = State::CapaList;
                    Ok(Action::Receive)
                } else {
                    // RFC 2449 5: CAPA is optional; try STLS anyway.
                    Ok(self.send(t, "STLS", State::Stls))
                }
            }
            State::CapaList => {
                // RFC 2449 5 / RFC 1939 3: the list ends with a line of a single dot;
                // other lines starting with a dot are byte-stuffed.
                if line == "." {
                    if self
                        .capabilities
                        .iter()
                        .any(|c| status(c).0.eq_ignore_ascii_case("STLS"))
                    {
                        return Ok(self.send(t, "STLS", State::Stls));
                    }
                    return Err(ProbeOutcome::StartTlsNotOffered {
                        capabilities: self.capabilities.clone(),
                        no_esmtp: None,
                    });
                }
                if self.capabilities.len() >= self.max_reply_lines {
                    return Err(self.violation(Violation::TooManyLines {
                        limit: self.max_reply_lines,
                    }));
                }
                let cap = line.strip_prefix('.').unwrap_or(line);
                self.capabilities.push(sanitize(cap, 100));
                Ok(Action::Receive)
            }
            State::Stls => {
                if !ok {
                    return Err(if self.capa_known {
                        ProbeOutcome::StartTlsRefused { reply: reply() }
                    } else {
                        ProbeOutcome::StartTlsNotOffered {
                            capabilities: Vec::new(),
                            no_esmtp: None,
                        }
                    });
                }
                // RFC 2595 4: the handshake starts right after +OK; nothing may precede.
                self.lines.expect_drained().map_err(|v| self.violation(v))?;
                self.state = State::AwaitTls;
                Ok(Action::StartTls)
            }
            State::TlsGreeting => {
                if ok {
                    Ok(self.send(t, "QUIT", State::Quit))
                } else {
                    Err(ProbeOutcome::Rejected {
                        phase,
                        reply: reply(),
                    })
                }
            }
            State::Quit | State::Done | State::AwaitTls => {
                self.state = State::Done;
                Ok(Action::Done)
            }
        }
    }
}

impl LineDialogue for Pop3 {
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

impl Dialogue for Pop3 {
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
            // RFC 2595 4: no new greeting after STLS.
            self.send(t, "QUIT", State::Quit)
        }
    }

    fn phase(&self) -> Phase {
        match self.state {
            State::Greeting => Phase::Banner,
            State::Capa | State::CapaList | State::Stls => Phase::StartTls,
            State::AwaitTls => Phase::Handshake,
            State::TlsGreeting | State::Quit | State::Done => Phase::AfterHandshake,
        }
    }

    fn capabilities(&self) -> Vec<String> {
        self.capabilities.clone()
    }

    fn capabilities_after_tls(&self) -> Vec<String> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialogue::script::{config, run, send};

    fn pop3() -> (Pop3, Transcript) {
        (Pop3::new(&config(), false), Transcript::new(100))
    }

    #[test]
    fn happy_path() {
        let (mut m, mut t) = pop3();
        run(
            &mut m,
            &mut t,
            &[
                (b"+OK POP3 ready\r\n", send("CAPA\r\n")),
                (b"+OK list\r\nUSER\r\nSTLS\r\n..dot\r\n", Action::Receive),
                (b".\r\n", send("STLS\r\n")),
                (b"+OK begin TLS\r\n", Action::StartTls),
            ],
        )
        .unwrap();
        assert_eq!(m.capabilities(), ["USER", "STLS", ".dot"]);
        assert_eq!(m.tls_established(&mut t), send("QUIT\r\n"));
        run(&mut m, &mut t, &[(b"+OK bye\r\n", Action::Done)]).unwrap();
    }

    #[test]
    fn capa_unsupported_tries_stls() {
        let (mut m, mut t) = pop3();
        run(
            &mut m,
            &mut t,
            &[
                (b"+OK\r\n", send("CAPA\r\n")),
                (b"-ERR unknown command\r\n", send("STLS\r\n")),
            ],
        )
        .unwrap();
        let got = m.receive(b"-ERR unknown command\r\n", &mut t).unwrap_err();
        assert!(
            matches!(got, ProbeOutcome::StartTlsNotOffered { .. }),
            "{got:?}"
        );
    }

    #[test]
    fn failures() {
        let (mut m, mut t) = pop3();
        let steps: &[(&[u8], Action)] = &[
            (b"+OK\r\n", send("CAPA\r\n")),
            (b"+OK\r\nSTLS\r\n.\r\n", send("STLS\r\n")),
        ];
        run(&mut m, &mut t, steps).unwrap();
        let got = m.receive(b"-ERR not now\r\n", &mut t).unwrap_err();
        assert_eq!(
            got,
            ProbeOutcome::StartTlsRefused {
                reply: Reply {
                    code: "-ERR".into(),
                    text: "not now".into()
                }
            }
        );

        let (mut m, mut t) = pop3();
        run(&mut m, &mut t, steps).unwrap();
        let got = m
            .receive(b"+OK go\r\n+OK injected\r\n", &mut t)
            .unwrap_err();
        assert!(matches!(
            got,
            ProbeOutcome::ProtocolViolation {
                violation: Violation::PipelinedAfterStartTls { .. },
                ..
            }
        ));

        let (mut m, mut t) = pop3();
        run(&mut m, &mut t, &steps[..1]).unwrap();
        let got = m.receive(b"+OK\r\nUSER\r\n.\r\n", &mut t).unwrap_err();
        assert!(matches!(got, ProbeOutcome::StartTlsNotOffered { .. }));

        let (mut m, mut t) = pop3();
        let got = m.receive(b"-ERR busy\r\n", &mut t).unwrap_err();
        assert!(matches!(
            got,
            ProbeOutcome::Rejected {
                phase: Phase::Banner,
                ..
            }
        ));

        let (mut m, mut t) = pop3();
        let got = m.receive(b"220 smtp?\r\n", &mut t).unwrap_err();
        assert!(matches!(got, ProbeOutcome::ProtocolViolation { .. }));

        let (mut m, mut t) = pop3();
        run(&mut m, &mut t, &steps[..1]).unwrap();
        let got = m
            .receive(
                &b"+OK\r\n"
                    .iter()
                    .chain(b"X\r\n".repeat(11).iter())
                    .copied()
                    .collect::<Vec<u8>>(),
                &mut t,
            )
            .unwrap_err();
        assert!(matches!(
            got,
            ProbeOutcome::ProtocolViolation {
                violation: Violation::TooManyLines { limit: 10 },
                ..
            }
        ));
    }
}
