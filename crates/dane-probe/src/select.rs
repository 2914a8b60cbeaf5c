//! The choice of protocol: the one place that maps a [`Protocol`] to the [`Dialogue`] that
//! speaks it. It sits above the protocol modules (each depends only on the `Dialogue`
//! trait), so no arrow runs back from a protocol to the list of protocols.

use crate::dialogue::{Dialogue, DialogueConfig};
use crate::imap::Imap;
use crate::implicit::ImplicitTls;
use crate::pop3::Pop3;
use crate::protocol::Protocol;
use crate::smtp::Smtp;
use crate::xmpp::Xmpp;

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
        Protocol::Https | Protocol::Tls => Box::new(ImplicitTls::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialogue::{Action, script};
    use crate::outcome::Phase;
    use crate::transcript::Transcript;

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
