//! The protocols a prober speaks, by name and by port. Data only: which dialogue runs for
//! a protocol is chosen in `select.rs`.

use std::fmt;

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
}
