//! XMPP STARTTLS (RFC 6120 5.4) for client-to-server and server-to-server streams, as a
//! sans-IO state machine: our stream header (`to` = the service domain), the server's
//! stream header and features, `<starttls/>`, `<proceed/>`.
//!
//! The parser is a bounded tag scanner, not a general XML parser: it recognises start,
//! end and empty-element tags and skips text. RFC 6120 11.1 forbids comments, processing
//! instructions other than the XML declaration, DTDs and entity declarations, so `<!` is
//! a violation.

use crate::dialogue::{Action, Dialogue, DialogueConfig};
use crate::outcome::{Phase, ProbeOutcome, Reply, Violation};
use crate::transcript::{Transcript, bytes_excerpt, sanitize};

/// RFC 6120 5.4.1: the STARTTLS namespace.
const TLS_NS: &str = "urn:ietf:params:xml:ns:xmpp-tls";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for the server's `<stream:stream>`.
    Header,
    /// Inside the stream, waiting for `<stream:features>` to end.
    Features,
    /// Waiting for `<proceed/>` or `<failure/>`.
    Proceed,
    AwaitTls,
    Done,
}

/// One scanned tag.
#[derive(Debug, PartialEq, Eq)]
enum Tag {
    Start(String),
    End(String),
    Empty(String),
}

/// What one scan of the buffer found.
enum Scanned {
    /// The XML declaration, skipped.
    Declaration,
    /// A tag and its raw text.
    Tag(Tag, String),
    /// No complete tag yet.
    Incomplete,
}

/// The XMPP dialogue.
#[derive(Debug)]
pub(crate) struct Xmpp {
    state: State,
    buf: Vec<u8>,
    total: usize,
    max_total: usize,
    max_tag: usize,
    max_features: usize,
    header: String,
    /// Element depth inside the stream (0 = directly inside `<stream:stream>`).
    depth: usize,
    features: Vec<String>,
    starttls_offered: bool,
    /// Collecting a `<stream:error>`: the condition element names seen so far.
    error: Option<Vec<String>>,
    /// Waiting for the end tag of a `<proceed>` or `<failure>` written as start tag.
    closing: Option<String>,
    /// `Some(true)` after `<proceed>`, `Some(false)` after `<failure>`.
    pending_result: Option<bool>,
}

/// The local part of a qualified name (`stream:features` -> `features`).
fn local(name: &str) -> &str {
    name.rsplit_once(':').map_or(name, |(_, l)| l)
}

/// Escapes a value for a single-quoted XML attribute.
fn escape_attr(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('\'', "&apos;")
}

impl Xmpp {
    pub(crate) fn new(config: &DialogueConfig, server: bool) -> Self {
        // RFC 6120 4.7: the initiating entity's header carries `to` (the service
        // domain) and version='1.0'; s2s streams use the jabber:server namespace (and
        // many servers expect the dialback namespace, XEP-0220, to be declared).
        let ns = if server {
            "xmlns='jabber:server' xmlns:db='jabber:server:dialback'"
        } else {
            "xmlns='jabber:client'"
        };
        let header = format!(
            "<?xml version='1.0'?><stream:stream to='{}' version='1.0' xml:lang='en' \
             {ns} xmlns:stream='http://etherx.jabber.org/streams'>",
            escape_attr(&config.service_domain)
        );
        Xmpp {
            state: State::Header,
            buf: Vec::new(),
            total: 0,
            max_total: config.max_plaintext,
            max_tag: config.max_line,
            max_features: config.max_reply_lines,
            header,
            depth: 0,
            features: Vec::new(),
            starttls_offered: false,
            error: None,
            closing: None,
            pending_result: None,
        }
    }

    fn violation(&self, violation: Violation) -> ProbeOutcome {
        ProbeOutcome::ProtocolViolation {
            phase: self.phase(),
            violation,
        }
    }

    /// Takes the next tag out of the buffer, skipping text before it and the XML
    /// declaration.
    fn next_tag(&mut self) -> Result<Option<(Tag, String)>, Violation> {
        loop {
            match self.scan_tag()? {
                Scanned::Declaration => continue,
                Scanned::Tag(tag, raw) => return Ok(Some((tag, raw))),
                Scanned::Incomplete => return Ok(None),
            }
        }
    }

    /// Scans one tag (or the XML declaration) out of the buffer.
    fn scan_tag(&mut self) -> Result<Scanned, Violation> {
        let open_at = self.buf.iter().position(|&b| b == b'<');
        let text = &self.buf[..open_at.unwrap_or(self.buf.len())];
        // RFC 6120 4.2: nothing but whitespace may precede the stream header.
        if self.state == State::Header && text.iter().any(|b| !b.is_ascii_whitespace()) {
            return Err(Violation::Garbage {
                expected: "an XMPP stream header",
                excerpt: bytes_excerpt(text, 40),
            });
        }
        let Some(open) = open_at else {
            // Only text so far: drop it (bounded by the byte budget).
            if self.buf.len() > self.max_tag {
                self.buf.clear();
            }
            return Ok(Scanned::Incomplete);
        };
        // Find the closing '>' outside quoted attribute values.
        let mut quote = None;
        let mut close = None;
        for (i, &b) in self.buf.iter().enumerate().skip(open + 1) {
            match (quote, b) {
                (None, b'"' | b'\'') => quote = Some(b),
                (Some(q), _) if q == b => quote = None,
                (None, b'>') => {
                    close = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let Some(close) = close else {
            if self.buf.len() - open > self.max_tag {
                return Err(Violation::LineTooLong {
                    limit: self.max_tag,
                });
            }
            return Ok(Scanned::Incomplete);
        };
        if close - open > self.max_tag {
            return Err(Violation::LineTooLong {
                limit: self.max_tag,
            });
        }
        let raw: Vec<u8> = self.buf.drain(..=close).skip(open).collect();
        let text = String::from_utf8_lossy(&raw).into_owned();
        let inner = &text[1..text.len() - 1];
        let name_of = |s: &str| -> String {
            s.split(|c: char| c.is_ascii_whitespace() || c == '/')
                .next()
                .unwrap_or_default()
                .to_owned()
        };
        let tag = if inner.starts_with('?') {
            // RFC 6120 11.1 allows only the XML declaration.
            if !inner.starts_with("?xml ") && inner != "?xml?" {
                return Err(Violation::Garbage {
                    expected: "no processing instructions (RFC 6120 11.1)",
                    excerpt: sanitize(&text, 40),
                });
            }
            return Ok(Scanned::Declaration);
        } else if inner.starts_with('!') {
            return Err(Violation::Garbage {
                expected: "no comments, DTDs or CDATA (RFC 6120 11.1)",
                excerpt: sanitize(&text, 40),
            });
        } else if let Some(rest) = inner.strip_prefix('/') {
            Tag::End(name_of(rest))
        } else if inner.ends_with('/') {
            Tag::Empty(name_of(inner))
        } else {
            Tag::Start(name_of(inner))
        };
        let name = match &tag {
            Tag::Start(n) | Tag::End(n) | Tag::Empty(n) => n,
        };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_alphanumeric() || "_-.:".contains(c))
        {
            return Err(Violation::Garbage {
                expected: "an XML tag",
                excerpt: sanitize(&text, 40),
            });
        }
        Ok(Scanned::Tag(tag, text))
    }

    fn on_tag(&mut self, tag: Tag, raw: &str, t: &mut Transcript) -> Result<Action, ProbeOutcome> {
        let phase = self.phase();
        match self.state {
            State::Header => match tag {
                Tag::Start(name) if local(&name) == "stream" => {
                    self.state = State::Features;
                    self.depth = 0;
                    Ok(Action::Receive)
                }
                _ => Err(self.violation(Violation::Garbage {
                    expected: "an XMPP stream header",
                    excerpt: sanitize(raw, 40),
                })),
            },
            State::Features | State::Proceed => {
                if let Some(expect) = &self.closing {
                    if matches!(&tag, Tag::End(n) if n == expect) {
                        self.closing = None;
                        return self.after_proceed_or_failure(raw);
                    }
                    return Ok(Action::Receive);
                }
                match tag {
                    Tag::End(name) if self.depth == 0 && local(&name) == "stream" => {
                        Err(ProbeOutcome::Rejected {
                            phase,
                            reply: Reply {
                                code: "</stream:stream>".into(),
                                text: "the server closed the stream".into(),
                            },
                        })
                    }
                    Tag::Start(name) => {
                        if self.depth == 0 && local(&name) == "error" {
                            self.error = Some(Vec::new());
                        } else if self.depth == 1 {
                            self.child(&name, raw);
                        } else if self.depth == 0 && self.state == State::Proceed {
                            return self.proceed_or_failure(&name, raw, true);
                        }
                        self.depth += 1;
                        if self.depth > 32 {
                            return Err(self.violation(Violation::Garbage {
                                expected: "elements nested at most 32 deep",
                                excerpt: sanitize(raw, 40),
                            }));
                        }
                        Ok(Action::Receive)
                    }
                    Tag::Empty(name) => {
                        // `<stream:features/>`: no features at all.
                        if self.depth == 0
                            && self.state == State::Features
                            && self.error.is_none()
                            && local(&name) == "features"
                        {
                            return self.features_done(t);
                        }
                        if self.depth == 1 {
                            self.child(&name, raw);
                        } else if self.depth == 0 && self.state == State::Proceed {
                            return self.proceed_or_failure(&name, raw, false);
                        }
                        Ok(Action::Receive)
                    }
                    Tag::End(name) => {
                        self.depth = self.depth.saturating_sub(1);
                        if self.depth != 0 {
                            return Ok(Action::Receive);
                        }
                        if let Some(conditions) = self.error.take() {
                            // RFC 6120 4.9: a stream error ends the stream.
                            return Err(ProbeOutcome::Rejected {
                                phase,
                                reply: Reply {
                                    code: "stream:error".into(),
                                    text: conditions.join(" "),
                                },
                            });
                        }
                        if self.state == State::Features && local(&name) == "features" {
                            return self.features_done(t);
                        }
                        Ok(Action::Receive)
                    }
                }
            }
            State::AwaitTls | State::Done => Ok(Action::Done),
        }
    }

    /// A child of `<stream:features>` or `<stream:error>`.
    fn child(&mut self, name: &str, raw: &str) {
        if let Some(conditions) = &mut self.error {
            if conditions.len() < 4 {
                conditions.push(sanitize(local(name), 60));
            }
            return;
        }
        // RFC 6120 5.4.1: <starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>.
        if local(name) == "starttls" && raw.contains(TLS_NS) {
            self.starttls_offered = true;
        }
        if self.features.len() < self.max_features {
            self.features.push(sanitize(local(name), 60));
        }
    }

    fn features_done(&mut self, t: &mut Transcript) -> Result<Action, ProbeOutcome> {
        if !self.starttls_offered {
            return Err(ProbeOutcome::StartTlsNotOffered {
                capabilities: self.features.clone(),
                no_esmtp: None,
            });
        }
        let cmd = format!("<starttls xmlns='{TLS_NS}'/>");
        t.sent(&cmd);
        self.state = State::Proceed;
        Ok(Action::Send(cmd.into_bytes()))
    }

    fn proceed_or_failure(
        &mut self,
        name: &str,
        raw: &str,
        open: bool,
    ) -> Result<Action, ProbeOutcome> {
        match local(name) {
            "proceed" | "failure" if raw.contains(TLS_NS) => {
                if open {
                    self.closing = Some(name.to_owned());
                    self.pending_result = Some(local(name) == "proceed");
                    return Ok(Action::Receive);
                }
                self.pending_result = Some(local(name) == "proceed");
                self.after_proceed_or_failure(raw)
            }
            _ => Err(self.violation(Violation::Garbage {
                expected: "<proceed/> or <failure/> in the STARTTLS namespace",
                excerpt: sanitize(raw, 40),
            })),
        }
    }

    fn after_proceed_or_failure(&mut self, raw: &str) -> Result<Action, ProbeOutcome> {
        if self.pending_result != Some(true) {
            // RFC 6120 5.4.2.2: <failure/> and the server closes the stream.
            return Err(ProbeOutcome::StartTlsRefused {
                reply: Reply {
                    code: "failure".into(),
                    text: sanitize(raw, 100),
                },
            });
        }
        // RFC 6120 5.4.3.3: the handshake follows <proceed/> immediately; any byte in
        // between would be plaintext injected into the TLS session.
        if !self.buf.is_empty() {
            return Err(self.violation(Violation::PipelinedAfterStartTls {
                bytes: self.buf.len(),
                excerpt: bytes_excerpt(&self.buf, 40),
            }));
        }
        self.state = State::AwaitTls;
        Ok(Action::StartTls)
    }
}

impl Dialogue for Xmpp {
    fn start(&mut self, t: &mut Transcript) -> Action {
        t.sent(&self.header);
        Action::Send(self.header.clone().into_bytes())
    }

    fn receive(&mut self, bytes: &[u8], t: &mut Transcript) -> Result<Action, ProbeOutcome> {
        match self.state {
            State::AwaitTls => return Ok(Action::StartTls),
            State::Done => return Ok(Action::Done),
            _ => {}
        }
        self.total = self.total.saturating_add(bytes.len());
        if self.total > self.max_total {
            return Err(self.violation(Violation::TooManyBytes {
                limit: self.max_total,
            }));
        }
        self.buf.extend_from_slice(bytes);
        loop {
            let (tag, raw) = match self.next_tag() {
                Ok(Some(found)) => found,
                Ok(None) => return Ok(Action::Receive),
                Err(v) => return Err(self.violation(v)),
            };
            t.received(&raw);
            let action = self.on_tag(tag, &raw, t)?;
            if action != Action::Receive {
                return Ok(action);
            }
        }
    }

    fn tls_established(&mut self, _: &mut Transcript) -> Action {
        // RFC 6120 5.4.3.3: a new stream would follow; the prober has what it came for.
        self.state = State::Done;
        Action::Done
    }

    fn phase(&self) -> Phase {
        match self.state {
            State::Header => Phase::Banner,
            State::Features | State::Proceed => Phase::StartTls,
            State::AwaitTls => Phase::Handshake,
            State::Done => Phase::AfterHandshake,
        }
    }

    fn capabilities(&self) -> Vec<String> {
        self.features.clone()
    }

    fn capabilities_after_tls(&self) -> Vec<String> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialogue::script::{config, run, send};

    const SERVER_HEADER: &[u8] = b"<?xml version='1.0'?><stream:stream from='example.org' \
        id='x1' version='1.0' xmlns='jabber:client' \
        xmlns:stream='http://etherx.jabber.org/streams'>";
    const FEATURES: &[u8] = b"<stream:features><starttls \
        xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>\
        <mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism>\
        </mechanisms></stream:features>";
    const STARTTLS: &str = "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";

    /// The shared script config allows 100-byte lines; a stream header is longer.
    fn xmpp(server: bool) -> (Xmpp, Transcript) {
        let config = DialogueConfig {
            max_line: 1000,
            ..config()
        };
        (Xmpp::new(&config, server), Transcript::new(100))
    }

    #[test]
    fn header_names_the_domain() {
        let (mut m, mut t) = xmpp(false);
        let Action::Send(h) = m.start(&mut t) else {
            panic!("no header")
        };
        let h = String::from_utf8(h).unwrap();
        assert!(
            h.contains("to='example.org'") && h.contains("'jabber:client'"),
            "{h}"
        );
        let (mut m, mut t) = xmpp(true);
        let Action::Send(h) = m.start(&mut t) else {
            panic!("no header")
        };
        assert!(String::from_utf8(h).unwrap().contains("'jabber:server'"));
        assert_eq!(escape_attr("a'<&"), "a&apos;&lt;&amp;");
    }

    #[test]
    fn happy_path_split_anywhere() {
        let (mut m, mut t) = xmpp(false);
        m.start(&mut t);
        let mut all = SERVER_HEADER.to_vec();
        all.extend_from_slice(FEATURES);
        // Byte by byte: the scanner must not care where TCP splits.
        let (last, head) = all.split_last().unwrap();
        for b in head {
            assert_eq!(m.receive(&[*b], &mut t).unwrap(), Action::Receive);
        }
        assert_eq!(m.receive(&[*last], &mut t).unwrap(), send(STARTTLS));
        assert_eq!(m.capabilities(), ["starttls", "mechanisms"]);
        run(
            &mut m,
            &mut t,
            &[(
                b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
                Action::StartTls,
            )],
        )
        .unwrap();
        assert_eq!(m.tls_established(&mut t), Action::Done);
    }

    #[test]
    fn proceed_written_as_start_and_end_tag() {
        let (mut m, mut t) = xmpp(true);
        m.start(&mut t);
        run(
            &mut m,
            &mut t,
            &[
                (SERVER_HEADER, Action::Receive),
                (FEATURES, send(STARTTLS)),
                (
                    b"<proceed xmlns=\"urn:ietf:params:xml:ns:xmpp-tls\"></proceed>",
                    Action::StartTls,
                ),
            ],
        )
        .unwrap();
    }

    fn fails(steps: &[(&[u8], Action)], last: &[u8]) -> ProbeOutcome {
        let (mut m, mut t) = xmpp(false);
        m.start(&mut t);
        run(&mut m, &mut t, steps).unwrap();
        m.receive(last, &mut t).unwrap_err()
    }

    #[test]
    fn failures() {
        let header: (&[u8], Action) = (SERVER_HEADER, Action::Receive);
        let got = fails(
            std::slice::from_ref(&header),
            b"<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>\
              </stream:features>",
        );
        assert_eq!(
            got,
            ProbeOutcome::StartTlsNotOffered {
                capabilities: vec!["bind".into()],
                no_esmtp: None
            }
        );
        let got = fails(
            &[header.clone(), (FEATURES, send(STARTTLS))],
            b"<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:stream>",
        );
        assert!(
            matches!(got, ProbeOutcome::StartTlsRefused { .. }),
            "{got:?}"
        );
        let got = fails(
            &[header.clone(), (FEATURES, send(STARTTLS))],
            b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>plaintext",
        );
        assert!(
            matches!(
                got,
                ProbeOutcome::ProtocolViolation {
                    violation: Violation::PipelinedAfterStartTls { bytes: 9, .. },
                    ..
                }
            ),
            "{got:?}"
        );
        let got = fails(
            std::slice::from_ref(&header),
            b"<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>\
              </stream:error>",
        );
        assert_eq!(
            got,
            ProbeOutcome::Rejected {
                phase: Phase::StartTls,
                reply: Reply {
                    code: "stream:error".into(),
                    text: "host-unknown".into()
                }
            }
        );
        let got = fails(&[], b"<!DOCTYPE x [<!ENTITY a 'b'>]>");
        assert!(
            matches!(got, ProbeOutcome::ProtocolViolation { .. }),
            "{got:?}"
        );
        let got = fails(&[], b"220 smtp.example ESMTP\r\n<");
        assert!(
            matches!(got, ProbeOutcome::ProtocolViolation { .. }),
            "{got:?}"
        );
        let got = fails(&[], &[b'<'; 1200]);
        assert!(
            matches!(got, ProbeOutcome::ProtocolViolation { .. }),
            "{got:?}"
        );
        let got = fails(&[header], &b"<a>".repeat(40));
        assert!(
            matches!(got, ProbeOutcome::ProtocolViolation { .. }),
            "{got:?}"
        );
        let got = fails(&[], &b" ".repeat(5000));
        assert!(
            matches!(
                got,
                ProbeOutcome::ProtocolViolation {
                    violation: Violation::TooManyBytes { limit: 4096 },
                    ..
                }
            ),
            "{got:?}"
        );
    }
}
