//! SMTP with STARTTLS (RFC 5321, RFC 3207) and over implicit TLS (RFC 8314), as a
//! sans-IO state machine.
//!
//! Before TLS: banner, EHLO (HELO only to report "no ESMTP"), STARTTLS, 220, and a check
//! that nothing follows the 220. After TLS: a fresh EHLO (RFC 3207 4.2: the client must
//! discard what it knew and ask again) and QUIT.

use crate::dialogue::{Action, Dialogue, DialogueConfig};
use crate::lines::Lines;
use crate::outcome::{Phase, ProbeOutcome, Reply, Violation};
use crate::transcript::{Transcript, sanitize};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Implicit TLS: waiting for the driver to run the handshake.
    AwaitTls,
    Banner,
    Ehlo,
    Helo,
    StartTls,
    TlsBanner,
    TlsEhlo,
    Quit,
    Done,
}

/// One complete SMTP reply.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SmtpReply {
    code: u16,
    /// The text of every line, after the code and separator.
    lines: Vec<String>,
}

impl SmtpReply {
    fn to_reply(&self) -> Reply {
        Reply {
            code: self.code.to_string(),
            text: sanitize(&self.lines.join(" / "), 300),
        }
    }
}

/// The SMTP dialogue.
#[derive(Debug)]
pub(crate) struct Smtp {
    state: State,
    lines: Lines,
    pending: Vec<String>,
    pending_code: Option<u16>,
    client_name: String,
    max_reply_lines: usize,
    ehlo_rejection: Option<Reply>,
    capabilities: Vec<String>,
    capabilities_tls: Vec<String>,
    implicit: bool,
}

impl Smtp {
    pub(crate) fn new(config: &DialogueConfig, implicit: bool) -> Self {
        Smtp {
            state: if implicit {
                State::AwaitTls
            } else {
                State::Banner
            },
            lines: Lines::new(config.max_line, config.max_plaintext),
            pending: Vec::new(),
            pending_code: None,
            client_name: config.client_name.clone(),
            max_reply_lines: config.max_reply_lines,
            ehlo_rejection: None,
            capabilities: Vec::new(),
            capabilities_tls: Vec::new(),
            implicit,
        }
    }

    fn violation(&self, violation: Violation) -> ProbeOutcome {
        ProbeOutcome::ProtocolViolation {
            phase: self.phase(),
            violation,
        }
    }

    /// Parses one reply line into the reply being collected; returns the reply when
    /// its last line arrived.
    fn reply_line(&mut self, line: &str) -> Result<Option<SmtpReply>, Violation> {
        // RFC 5321 4.2: a reply line is a three-digit code, then SP (last line) or "-"
        // (more lines follow) or nothing, then text.
        let bytes = line.as_bytes();
        let code = match bytes.get(..3) {
            Some(digits) if digits.iter().all(u8::is_ascii_digit) => {
                u16::from(digits[0] - b'0') * 100
                    + u16::from(digits[1] - b'0') * 10
                    + u16::from(digits[2] - b'0')
            }
            _ => {
                return Err(Violation::Garbage {
                    expected: "an SMTP reply (three digits)",
                    excerpt: sanitize(line, 40),
                });
            }
        };
        // RFC 5321 4.2: the first digit is 2 to 5.
        if !(200..600).contains(&code) {
            return Err(Violation::Garbage {
                expected: "an SMTP reply code 2xx-5xx",
                excerpt: sanitize(line, 40),
            });
        }
        let (last, text) = match bytes.get(3) {
            None => (true, ""),
            Some(b' ') => (true, &line[4..]),
            Some(b'-') => (false, &line[4..]),
            Some(_) => {
                return Err(Violation::Garbage {
                    expected: "SP or '-' after the reply code",
                    excerpt: sanitize(line, 40),
                });
            }
        };
        // RFC 5321 4.2.1: every line of a multi-line reply carries the same code.
        if let Some(previous) = self.pending_code
            && previous != code
        {
            return Err(Violation::Garbage {
                expected: "the same code on every line of a multi-line reply",
                excerpt: sanitize(line, 40),
            });
        }
        if self.pending.len() >= self.max_reply_lines {
            return Err(Violation::TooManyLines {
                limit: self.max_reply_lines,
            });
        }
        self.pending_code = Some(code);
        self.pending.push(text.to_owned());
        if last {
            self.pending_code = None;
            Ok(Some(SmtpReply {
                code,
                lines: std::mem::take(&mut self.pending),
            }))
        } else {
            Ok(None)
        }
    }

    fn send(&mut self, transcript: &mut Transcript, command: String, next: State) -> Action {
        transcript.sent(&command);
        self.state = next;
        Action::Send(format!("{command}\r\n").into_bytes())
    }

    fn ehlo(&mut self, transcript: &mut Transcript, next: State) -> Action {
        let cmd = format!("EHLO {}", self.client_name);
        self.send(transcript, cmd, next)
    }

    /// Acts on a complete reply.
    fn on_reply(
        &mut self,
        reply: &SmtpReply,
        transcript: &mut Transcript,
    ) -> Result<Action, ProbeOutcome> {
        let phase = self.phase();
        match self.state {
            State::Banner | State::TlsBanner => {
                // RFC 5321 4.3.1: the greeting is 220; 554 means no service here.
                if reply.code != 220 {
                    return Err(ProbeOutcome::Rejected {
                        phase,
                        reply: reply.to_reply(),
                    });
                }
                let next = if self.state == State::Banner {
                    State::Ehlo
                } else {
                    State::TlsEhlo
                };
                Ok(self.ehlo(transcript, next))
            }
            State::Ehlo => match reply.code {
                250 => {
                    // RFC 5321 4.1.1.1: the first line names the server; each further
                    // line is one extension keyword with parameters.
                    self.capabilities = capability_lines(reply);
                    // RFC 3207 4: STARTTLS is offered by the keyword STARTTLS.
                    if self.capabilities.iter().any(|c| keyword_is(c, "STARTTLS")) {
                        Ok(self.send(transcript, "STARTTLS".into(), State::StartTls))
                    } else {
                        Err(ProbeOutcome::StartTlsNotOffered {
                            capabilities: self.capabilities.clone(),
                            no_esmtp: None,
                        })
                    }
                }
                // RFC 5321 4.1.4: a server without EHLO answers 500 or 502 (command not
                // recognised / not implemented); then HELO, only to tell the user.
                500 | 502 => {
                    self.ehlo_rejection = Some(reply.to_reply());
                    let cmd = format!("HELO {}", self.client_name);
                    Ok(self.send(transcript, cmd, State::Helo))
                }
                _ => Err(ProbeOutcome::Rejected {
                    phase,
                    reply: reply.to_reply(),
                }),
            },
            State::Helo => {
                if reply.code == 250 {
                    Err(ProbeOutcome::StartTlsNotOffered {
                        capabilities: Vec::new(),
                        no_esmtp: self.ehlo_rejection.clone(),
                    })
                } else {
                    Err(ProbeOutcome::Rejected {
                        phase,
                        reply: reply.to_reply(),
                    })
                }
            }
            State::StartTls => {
                // RFC 3207 4: 220 "Ready to start TLS"; 454 "TLS not available due to
                // temporary reason"; 501 syntax error.
                if reply.code != 220 {
                    return Err(ProbeOutcome::StartTlsRefused {
                        reply: reply.to_reply(),
                    });
                }
                // RFC 3207 6 / CVE-2011-0411: anything the server sent after the 220 and
                // before the handshake would be taken as part of the TLS session by a
                // careless client. We never interpret it: a violation.
                self.lines.expect_drained().map_err(|v| self.violation(v))?;
                self.state = State::AwaitTls;
                Ok(Action::StartTls)
            }
            State::TlsEhlo => {
                if reply.code != 250 {
                    return Err(ProbeOutcome::Rejected {
                        phase,
                        reply: reply.to_reply(),
                    });
                }
                self.capabilities_tls = capability_lines(reply);
                Ok(self.send(transcript, "QUIT".into(), State::Quit))
            }
            State::Quit => {
                self.state = State::Done;
                Ok(Action::Done)
            }
            State::AwaitTls | State::Done => Ok(Action::Done),
        }
    }
}

/// The extension lines of an EHLO reply (all but the first), sanitised.
fn capability_lines(reply: &SmtpReply) -> Vec<String> {
    reply
        .lines
        .iter()
        .skip(1)
        .map(|l| sanitize(l.trim(), 100))
        .collect()
}

/// Whether the first word of `line` is `keyword` (case-insensitive, RFC 5321 2.4).
fn keyword_is(line: &str, keyword: &str) -> bool {
    line.split_ascii_whitespace()
        .next()
        .is_some_and(|w| w.eq_ignore_ascii_case(keyword))
}

impl Dialogue for Smtp {
    fn start(&mut self, _: &mut Transcript) -> Action {
        match self.state {
            State::AwaitTls => Action::StartTls,
            _ => Action::Receive,
        }
    }

    fn receive(
        &mut self,
        bytes: &[u8],
        transcript: &mut Transcript,
    ) -> Result<Action, ProbeOutcome> {
        if matches!(self.state, State::AwaitTls | State::Done) {
            // Implicit TLS before the handshake, or bytes after QUIT: nothing to parse.
            return Ok(if self.state == State::Done {
                Action::Done
            } else {
                Action::StartTls
            });
        }
        self.lines.push(bytes).map_err(|v| self.violation(v))?;
        loop {
            let line = match self.lines.next_line() {
                Ok(Some(line)) => line,
                Ok(None) => return Ok(Action::Receive),
                Err(v) => return Err(self.violation(v)),
            };
            transcript.received(&line);
            let Some(reply) = self.reply_line(&line).map_err(|v| self.violation(v))? else {
                continue;
            };
            // The phase the reply belongs to, before `on_reply` moves on.
            let phase = self.phase();
            let action = self.on_reply(&reply, transcript)?;
            // Nothing may follow a complete reply before our next command (RFC 5321
            // 4.3.1: the server only replies); the STARTTLS case was checked above.
            if !self.lines.pending().is_empty() && !matches!(action, Action::Done) {
                return Err(ProbeOutcome::ProtocolViolation {
                    phase,
                    violation: Violation::Garbage {
                        expected: "nothing until the next command",
                        excerpt: crate::transcript::bytes_excerpt(self.lines.pending(), 40),
                    },
                });
            }
            return Ok(action);
        }
    }

    fn tls_established(&mut self, transcript: &mut Transcript) -> Action {
        self.lines.reset_budget();
        if self.implicit {
            // Implicit TLS: the banner comes inside TLS.
            self.state = State::TlsBanner;
            Action::Receive
        } else {
            // RFC 3207 4.2: no new banner after STARTTLS; the client sends EHLO again.
            self.ehlo(transcript, State::TlsEhlo)
        }
    }

    fn phase(&self) -> Phase {
        match self.state {
            State::Banner => Phase::Banner,
            State::Ehlo | State::Helo | State::StartTls => Phase::StartTls,
            State::AwaitTls => Phase::Handshake,
            State::TlsBanner | State::TlsEhlo | State::Quit | State::Done => Phase::AfterHandshake,
        }
    }

    fn capabilities(&self) -> Vec<String> {
        self.capabilities.clone()
    }

    fn capabilities_after_tls(&self) -> Vec<String> {
        self.capabilities_tls.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialogue::script::{config, run, send};

    fn smtp() -> (Smtp, Transcript) {
        (Smtp::new(&config(), false), Transcript::new(100))
    }

    #[test]
    fn happy_path_with_multiline_banner() {
        let (mut m, mut t) = smtp();
        assert_eq!(m.start(&mut t), Action::Receive);
        run(
            &mut m,
            &mut t,
            &[
                (b"220-mx.example ESMTP\r\n", Action::Receive),
                (b"220 welcome\r\n", send("EHLO probe.example\r\n")),
                (b"250-mx.example hi\r\n250-PIPELINING\r\n", Action::Receive),
                (b"250-starttls\r\n250 SIZE 100\r\n", send("STARTTLS\r\n")),
                (b"220 2.0.0 go ahead\r\n", Action::StartTls),
            ],
        )
        .unwrap();
        assert_eq!(m.capabilities(), ["PIPELINING", "starttls", "SIZE 100"]);
        assert_eq!(m.tls_established(&mut t), send("EHLO probe.example\r\n"));
        assert_eq!(m.phase(), Phase::AfterHandshake);
        run(
            &mut m,
            &mut t,
            &[
                (b"250-mx.example\r\n250 AUTH PLAIN\r\n", send("QUIT\r\n")),
                (b"221 bye\r\n", Action::Done),
            ],
        )
        .unwrap();
        assert_eq!(m.capabilities_after_tls(), ["AUTH PLAIN"]);
        assert!(t.entries().iter().any(|e| e.text == "220 welcome"));
    }

    #[test]
    fn replies_split_anywhere() {
        let (mut m, mut t) = smtp();
        run(
            &mut m,
            &mut t,
            &[
                (b"2", Action::Receive),
                (b"20 x\r", Action::Receive),
                (b"\n", send("EHLO probe.example\r\n")),
            ],
        )
        .unwrap();
    }

    #[test]
    fn implicit_tls_reads_banner_inside_tls() {
        let mut m = Smtp::new(&config(), true);
        let mut t = Transcript::new(100);
        assert_eq!(m.start(&mut t), Action::StartTls);
        assert_eq!(m.phase(), Phase::Handshake);
        assert_eq!(m.tls_established(&mut t), Action::Receive);
        run(
            &mut m,
            &mut t,
            &[
                (b"220 smtps\r\n", send("EHLO probe.example\r\n")),
                (b"250 smtps\r\n", send("QUIT\r\n")),
                (b"221 bye\r\n", Action::Done),
            ],
        )
        .unwrap();
    }

    fn outcome(steps: &[(&[u8], Action)], last: &[u8]) -> ProbeOutcome {
        let (mut m, mut t) = smtp();
        run(&mut m, &mut t, steps).unwrap();
        m.receive(last, &mut t).unwrap_err()
    }

    fn banner() -> (&'static [u8], Action) {
        (b"220 mx\r\n", send("EHLO probe.example\r\n"))
    }

    #[test]
    fn starttls_not_offered() {
        let got = outcome(&[banner()], b"250-mx\r\n250 8BITMIME\r\n");
        assert_eq!(
            got,
            ProbeOutcome::StartTlsNotOffered {
                capabilities: vec!["8BITMIME".into()],
                no_esmtp: None
            }
        );
    }

    #[test]
    fn no_esmtp_falls_back_to_helo_only_to_report() {
        let got = outcome(
            &[
                banner(),
                (b"502 5.5.1 what?\r\n", send("HELO probe.example\r\n")),
            ],
            b"250 ok\r\n",
        );
        assert_eq!(
            got,
            ProbeOutcome::StartTlsNotOffered {
                capabilities: vec![],
                no_esmtp: Some(Reply {
                    code: "502".into(),
                    text: "5.5.1 what?".into()
                })
            }
        );
        assert!(got.to_string().contains("no ESMTP"), "{got}");
    }

    #[test]
    fn ehlo_policy_rejection_is_not_no_esmtp() {
        let got = outcome(&[banner()], b"550 bad helo name\r\n");
        assert!(
            matches!(&got, ProbeOutcome::Rejected { phase: Phase::StartTls, reply } if reply.code == "550"),
            "{got:?}"
        );
    }

    #[test]
    fn starttls_refused_454() {
        let got = outcome(
            &[
                banner(),
                (b"250-mx\r\n250 STARTTLS\r\n", send("STARTTLS\r\n")),
            ],
            b"454 4.7.0 TLS not available\r\n",
        );
        assert_eq!(
            got,
            ProbeOutcome::StartTlsRefused {
                reply: Reply {
                    code: "454".into(),
                    text: "4.7.0 TLS not available".into()
                }
            }
        );
    }

    #[test]
    fn plaintext_injected_after_starttls_reply() {
        let got = outcome(
            &[
                banner(),
                (b"250-mx\r\n250 STARTTLS\r\n", send("STARTTLS\r\n")),
            ],
            b"220 go\r\n250 injected\r\n",
        );
        assert!(
            matches!(
                got,
                ProbeOutcome::ProtocolViolation {
                    phase: Phase::StartTls,
                    violation: Violation::PipelinedAfterStartTls { bytes: 14, .. }
                }
            ),
            "{got:?}"
        );
    }

    #[test]
    fn banner_554_is_rejection() {
        let (mut m, mut t) = smtp();
        let got = m.receive(b"554 no service\r\n", &mut t).unwrap_err();
        assert!(matches!(
            got,
            ProbeOutcome::Rejected {
                phase: Phase::Banner,
                ..
            }
        ));
    }

    #[test]
    fn hostile_replies() {
        fn check(server: &[u8], expected: Violation) {
            let (mut m, mut t) = smtp();
            let got = m.receive(server, &mut t).unwrap_err();
            assert_eq!(
                got,
                ProbeOutcome::ProtocolViolation {
                    phase: Phase::Banner,
                    violation: expected
                },
                "{:?}",
                String::from_utf8_lossy(server)
            );
        }
        check(
            b"hello\r\n",
            Violation::Garbage {
                expected: "an SMTP reply (three digits)",
                excerpt: "hello".into(),
            },
        );
        check(
            b"220-a\r\n221 b\r\n",
            Violation::Garbage {
                expected: "the same code on every line of a multi-line reply",
                excerpt: "221 b".into(),
            },
        );
        check(
            b"220xhello\r\n",
            Violation::Garbage {
                expected: "SP or '-' after the reply code",
                excerpt: "220xhello".into(),
            },
        );
        check(
            b"120 x\r\n",
            Violation::Garbage {
                expected: "an SMTP reply code 2xx-5xx",
                excerpt: "120 x".into(),
            },
        );
        check(&[b'2'; 200], Violation::LineTooLong { limit: 100 });
        check(
            &b"220-x\r\n".repeat(11),
            Violation::TooManyLines { limit: 10 },
        );
        check(
            &b"220-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n".repeat(100),
            Violation::TooManyBytes { limit: 4096 },
        );
        check(
            b"220 a\r\nEXTRA",
            Violation::Garbage {
                expected: "nothing until the next command",
                excerpt: "EXTRA".into(),
            },
        );
    }
}
