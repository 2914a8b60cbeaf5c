//! The protocol dialogues as sans-IO state machines: fed the bytes the server sent,
//! they answer with the next [`Action`] (bytes to send, read more, start TLS, done).
//! No sockets, no clock: the tokio driver in `driver.rs` runs them, and the unit tests
//! run them against scripted transcripts.

use std::fmt;

use crate::imap::Imap;
use crate::limits::Limits;
use crate::outcome::{Phase, ProbeOutcome};
use crate::pop3::Pop3;
use crate::smtp::Smtp;
use crate::transcript::Transcript;
use crate::xmpp::Xmpp;

/// The protocol spoken on a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// SMTP with STARTTLS (RFC 3207): ports 25 and 587.
    Smtp,
    /// IMAP with STARTTLS (RFC 9051 6.2.1, RFC 2595): port 143.
    Imap,
    /// POP3 with STLS (RFC 2595 4): port 110.
    Pop3,
    /// XMPP client-to-server STARTTLS (RFC 6120 5): port 5222.
    XmppClient,
    /// XMPP server-to-server STARTTLS (RFC 6120 5): port 5269.
    XmppServer,
    /// SMTP submission over implicit TLS (RFC 8314): port 465.
    Smtps,
    /// IMAP over implicit TLS: port 993.
    Imaps,
    /// POP3 over implicit TLS: port 995.
    Pop3s,
    /// HTTPS: implicit TLS offering ALPN `h2` and `http/1.1`: port 443.
    Https,
    /// Implicit TLS with no application dialogue, on any port.
    Tls,
}

impl Protocol {
    /// The protocol a port implies: 25 and 587 SMTP, 465 SMTPS, 143 IMAP, 993 IMAPS,
    /// 110 POP3, 995 POP3S, 5222 XMPP client, 5269 XMPP server, 443 HTTPS; other ports
    /// plain implicit TLS.
    pub fn for_port(port: u16) -> Protocol {
        match port {
            25 | 587 => Protocol::Smtp,
            465 => Protocol::Smtps,
            143 => Protocol::Imap,
            993 => Protocol::Imaps,
            110 => Protocol::Pop3,
            995 => Protocol::Pop3s,
            5222 => Protocol::XmppClient,
            5269 => Protocol::XmppServer,
            443 => Protocol::Https,
            _ => Protocol::Tls,
        }
    }

    /// The implicit-TLS protocol for a port when STARTTLS is not wanted: the mail and
    /// web ports keep their application dialogue, other ports get plain TLS.
    pub fn implicit_for_port(port: u16) -> Protocol {
        match Protocol::for_port(port) {
            p @ (Protocol::Smtps | Protocol::Imaps | Protocol::Pop3s | Protocol::Https) => p,
            _ => Protocol::Tls,
        }
    }

    /// Whether a plaintext STARTTLS dialogue precedes TLS.
    pub fn is_starttls(self) -> bool {
        matches!(
            self,
            Protocol::Smtp
                | Protocol::Imap
                | Protocol::Pop3
                | Protocol::XmppClient
                | Protocol::XmppServer
        )
    }

    /// A short name (`smtp`, `imaps`, `xmpp-client`, `tls`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Smtp => "smtp",
            Protocol::Imap => "imap",
            Protocol::Pop3 => "pop3",
            Protocol::XmppClient => "xmpp-client",
            Protocol::XmppServer => "xmpp-server",
            Protocol::Smtps => "smtps",
            Protocol::Imaps => "imaps",
            Protocol::Pop3s => "pop3s",
            Protocol::Https => "https",
            Protocol::Tls => "tls",
        }
    }

    /// The ALPN protocols offered in the ClientHello.
    pub fn alpn(self) -> Vec<Vec<u8>> {
        match self {
            // RFC 7540 3.3 / RFC 7301: a browser-like offer.
            Protocol::Https => vec![b"h2".to_vec(), b"http/1.1".to_vec()],
            _ => Vec::new(),
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a dialogue wants the driver to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send these bytes, then read the reply.
    Send(Vec<u8>),
    /// Read more bytes.
    Receive,
    /// The plaintext part is over and nothing is pending: start the TLS handshake.
    StartTls,
    /// The dialogue is finished.
    Done,
}

/// Settings a dialogue needs besides its limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialogueConfig {
    /// The name the client gives itself (SMTP `EHLO` argument).
    pub client_name: String,
    /// The service domain (XMPP stream header `to`).
    pub service_domain: String,
    /// Longest line accepted.
    pub max_line: usize,
    /// Most lines in one reply.
    pub max_reply_lines: usize,
    /// Most bytes before TLS (and again after it).
    pub max_plaintext: usize,
}

impl DialogueConfig {
    /// A configuration with the size limits from `limits`.
    pub fn new(client_name: &str, service_domain: &str, limits: &Limits) -> Self {
        DialogueConfig {
            client_name: client_name.to_owned(),
            service_domain: service_domain.to_owned(),
            max_line: limits.max_line,
            max_reply_lines: limits.max_reply_lines,
            max_plaintext: limits.max_plaintext,
        }
    }
}

/// A protocol dialogue as a sans-IO state machine.
///
/// The driver calls [`start`](Dialogue::start) once after connecting, then
/// [`receive`](Dialogue::receive) with every chunk it reads until the machine asks for
/// TLS, then [`tls_established`](Dialogue::tls_established) and `receive` again with
/// the decrypted bytes until [`Action::Done`]. An `Err` is the probe's final outcome
/// (before TLS) or a reported problem (after it).
pub trait Dialogue: Send + fmt::Debug {
    /// The first action after the TCP connection is up (for implicit TLS: StartTls).
    fn start(&mut self, transcript: &mut Transcript) -> Action;

    /// Feeds bytes received from the server.
    fn receive(
        &mut self,
        bytes: &[u8],
        transcript: &mut Transcript,
    ) -> Result<Action, ProbeOutcome>;

    /// Called once the TLS handshake has completed.
    fn tls_established(&mut self, transcript: &mut Transcript) -> Action;

    /// The phase the dialogue is in (chooses the deadline and names timeouts).
    fn phase(&self) -> Phase;

    /// Capabilities listed before TLS.
    fn capabilities(&self) -> Vec<String>;

    /// Capabilities listed inside TLS.
    fn capabilities_after_tls(&self) -> Vec<String>;
}

/// The dialogue for `protocol`.
pub fn dialogue(protocol: Protocol, config: &DialogueConfig) -> Box<dyn Dialogue> {
    match protocol {
        Protocol::Smtp => Box::new(Smtp::new(config, false)),
        Protocol::Smtps => Box::new(Smtp::new(config, true)),
        Protocol::Imap => Box::new(Imap::new(config, false)),
        Protocol::Imaps => Box::new(Imap::new(config, true)),
        Protocol::Pop3 => Box::new(Pop3::new(config, false)),
        Protocol::Pop3s => Box::new(Pop3::new(config, true)),
        Protocol::XmppClient => Box::new(Xmpp::new(config, false)),
        Protocol::XmppServer => Box::new(Xmpp::new(config, true)),
        Protocol::Https | Protocol::Tls => Box::new(ImplicitTls { tls: false }),
    }
}

/// TLS from the first byte and no application dialogue.
#[derive(Debug)]
struct ImplicitTls {
    tls: bool,
}

impl Dialogue for ImplicitTls {
    fn start(&mut self, _: &mut Transcript) -> Action {
        Action::StartTls
    }

    fn receive(&mut self, _: &[u8], _: &mut Transcript) -> Result<Action, ProbeOutcome> {
        Ok(if self.tls {
            Action::Done
        } else {
            Action::StartTls
        })
    }

    fn tls_established(&mut self, _: &mut Transcript) -> Action {
        self.tls = true;
        Action::Done
    }

    fn phase(&self) -> Phase {
        if self.tls {
            Phase::AfterHandshake
        } else {
            Phase::Handshake
        }
    }

    fn capabilities(&self) -> Vec<String> {
        Vec::new()
    }

    fn capabilities_after_tls(&self) -> Vec<String> {
        Vec::new()
    }
}

#[cfg(test)]
pub(crate) mod script {
    //! Runs a dialogue against a scripted server: each step is what the server sends
    //! and the action the client must answer with.

    use super::*;

    pub(crate) fn config() -> DialogueConfig {
        DialogueConfig {
            client_name: "probe.example".into(),
            service_domain: "example.org".into(),
            max_line: 100,
            max_reply_lines: 10,
            max_plaintext: 4096,
        }
    }

    /// Feeds each server chunk and checks the resulting action. A step whose expected
    /// action is `Err` ends the script and returns that outcome.
    pub(crate) fn run(
        m: &mut dyn Dialogue,
        t: &mut Transcript,
        steps: &[(&[u8], Action)],
    ) -> Result<(), ProbeOutcome> {
        for (n, (server, expected)) in steps.iter().enumerate() {
            let got = m.receive(server, t)?;
            assert_eq!(
                &got,
                expected,
                "step {n}: server sent {:?}",
                String::from_utf8_lossy(server)
            );
        }
        Ok(())
    }

    pub(crate) fn send(s: &str) -> Action {
        Action::Send(s.as_bytes().to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_defaults() {
        for (port, p) in [
            (25, Protocol::Smtp),
            (587, Protocol::Smtp),
            (465, Protocol::Smtps),
            (143, Protocol::Imap),
            (993, Protocol::Imaps),
            (110, Protocol::Pop3),
            (995, Protocol::Pop3s),
            (5222, Protocol::XmppClient),
            (5269, Protocol::XmppServer),
            (443, Protocol::Https),
            (8443, Protocol::Tls),
        ] {
            assert_eq!(Protocol::for_port(port), p, "{port}");
        }
        assert_eq!(Protocol::implicit_for_port(25), Protocol::Tls);
        assert_eq!(Protocol::implicit_for_port(993), Protocol::Imaps);
        assert_eq!(Protocol::Https.alpn().len(), 2);
        assert!(Protocol::Tls.alpn().is_empty());
    }

    /// xorshift64*: deterministic, so a failure reproduces.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// Hostile input never panics: every protocol is fed thousands of sessions made of
    /// plausible replies, their fragments and random bytes, split anywhere, before and
    /// after "TLS". Each session must end in an outcome or keep asking for bytes.
    #[test]
    fn random_sessions_never_panic() {
        const PIECES: &[&[u8]] = &[
            b"220 mx ESMTP\r\n",
            b"220-mx\r\n",
            b"250-mx\r\n250-PIPELINING\r\n250 STARTTLS\r\n",
            b"250 ok\r\n",
            b"454 4.7.0 no\r\n",
            b"502 what\r\n",
            b"* OK ready\r\n",
            b"* CAPABILITY IMAP4rev1 STARTTLS\r\n",
            b"a1 OK done\r\n",
            b"a2 OK go\r\n",
            b"a3 OK\r\n",
            b"* PREAUTH\r\n",
            b"+OK\r\n",
            b"STLS\r\n",
            b".\r\n",
            b"-ERR\r\n",
            b"<?xml version='1.0'?>",
            b"<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>",
            b"<stream:features>",
            b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
            b"</stream:features>",
            b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
            b"<stream:error><x/></stream:error>",
            b"</stream:stream>",
            b"<!-- x -->",
            b"\r\n",
            b"\x16\x03\x01\x00\x05",
        ];
        let protocols = [
            Protocol::Smtp,
            Protocol::Smtps,
            Protocol::Imap,
            Protocol::Imaps,
            Protocol::Pop3,
            Protocol::Pop3s,
            Protocol::XmppClient,
            Protocol::XmppServer,
            Protocol::Https,
            Protocol::Tls,
        ];
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut outcomes = 0;
        for n in 0..20_000 {
            let protocol = protocols[n % protocols.len()];
            let mut t = Transcript::new(50);
            let mut m = dialogue(protocol, &script::config());
            let mut action = m.start(&mut t);
            for _ in 0..rng.below(30) {
                if action == Action::StartTls {
                    action = m.tls_established(&mut t);
                }
                if action == Action::Done {
                    break;
                }
                let mut chunk: Vec<u8> = match rng.below(4) {
                    0 => (0..rng.below(80)).map(|_| rng.next() as u8).collect(),
                    _ => PIECES[rng.below(PIECES.len())].to_vec(),
                };
                if !chunk.is_empty() && rng.below(3) == 0 {
                    let at = rng.below(chunk.len());
                    chunk.truncate(at.max(1));
                }
                match m.receive(&chunk, &mut t) {
                    Ok(next) => action = next,
                    Err(outcome) => {
                        // Every outcome renders to a message without panicking.
                        assert!(!outcome.to_string().is_empty());
                        outcomes += 1;
                        break;
                    }
                }
                let _ = m.phase();
            }
            assert!(t.entries().len() <= 50);
        }
        // The generator reaches the failure paths, not only "need more bytes".
        assert!(outcomes > 1_000, "{outcomes}");
    }

    #[test]
    fn implicit_goes_straight_to_tls() {
        let mut t = Transcript::new(10);
        let mut m = dialogue(Protocol::Https, &script::config());
        assert_eq!(m.start(&mut t), Action::StartTls);
        assert_eq!(m.phase(), Phase::Handshake);
        assert_eq!(m.tls_established(&mut t), Action::Done);
    }
}
