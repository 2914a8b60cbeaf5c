//! End-to-end probes against in-process servers on 127.0.0.1 (tokio-rustls acceptors with
//! the fixture PKI or rcgen keys): every protocol's happy path, every key type with TLS 1.2
//! and 1.3, and the hostile servers of issue 4, each checked for its typed outcome.

mod common;

use std::time::Duration;

use common::*;
use dane_probe::{
    CertSummary, Direction, KeyFamily, Limits, Phase, ProbeOutcome, Prober, Protocol, Target,
    Violation,
};

#[tokio::test]
async fn smtp_starttls_records_chain_parameters_and_transcript() {
    let key = Key::fixture("rsa");
    let addr = serve_lines(smtp_script(), tls_acceptor(&key, Tls::Both, &[])).await;
    let p = probe(addr, Protocol::Smtp, "mx1.example.test", Limits::default()).await;
    let s = connected(&p);
    assert_eq!(
        s.chain, key.chain,
        "the chain exactly as presented, leaf first"
    );
    assert_eq!(s.version, "TLSv1.3");
    assert!(s.cipher_suite.starts_with("TLS13_"), "{}", s.cipher_suite);
    assert!(s.key_exchange_group.is_some());
    assert_eq!(s.alpn, None);
    assert!(
        s.capabilities.iter().any(|c| c == "STARTTLS"),
        "{:?}",
        s.capabilities
    );
    assert_eq!(s.capabilities_after_tls, ["SIZE 1000"]);
    assert_eq!(s.after_tls_problem, None);
    assert!(s.pkix.is_valid(), "{}", s.pkix);
    assert_eq!(p.sni.as_deref(), Some("mx1.example.test"));
    // The transcript: plaintext before, the fresh EHLO and QUIT inside TLS.
    let lines: Vec<String> = p
        .transcript
        .entries()
        .iter()
        .map(ToString::to_string)
        .collect();
    for expected in [
        "S: 220 mx.test ESMTP",
        "C: STARTTLS",
        "S: 220 2.0.0 go ahead",
        "C: [tls] QUIT",
    ] {
        assert!(
            lines.iter().any(|l| l == expected),
            "{expected:?} missing in {lines:#?}"
        );
    }
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("C: [tls] EHLO [127.0.0.1]")),
        "{lines:#?}"
    );
    assert!(
        p.transcript
            .entries()
            .iter()
            .any(|e| e.direction == Direction::Event && e.text.contains("TLS handshake done")),
    );
}

#[tokio::test]
async fn pkix_verdict_is_separate_from_the_capture() {
    let key = Key::fixture("rsa");
    let addr = serve_lines(smtp_script(), tls_acceptor(&key, Tls::Both, &[])).await;
    // The wrong name: still connected with the chain, PKIX invalid for that name.
    let p = probe(
        addr,
        Protocol::Smtp,
        "other.example.test",
        Limits::default(),
    )
    .await;
    let s = connected(&p);
    assert_eq!(s.chain, key.chain);
    assert!(!s.pkix.is_valid());
    assert!(
        s.pkix
            .to_string()
            .contains("not valid for other.example.test"),
        "{}",
        s.pkix
    );

    // A self-signed rcgen certificate: unknown issuer, chain still captured.
    let key = Key::rcgen_p256("self.example.test");
    let addr = serve_lines(smtp_script(), tls_acceptor(&key, Tls::Both, &[])).await;
    let p = probe(addr, Protocol::Smtp, "self.example.test", Limits::default()).await;
    let s = connected(&p);
    assert_eq!(s.chain, key.chain);
    assert!(
        s.pkix.to_string().contains("no path to a trusted root"),
        "{}",
        s.pkix
    );
}

#[tokio::test]
async fn every_key_type_with_tls12_and_tls13() {
    let keys = [
        (Key::fixture("rsa"), "mx1.example.test", "RSA", Some(2048)),
        (
            Key::fixture("ec"),
            "mx2.example.test",
            "EC P-256",
            Some(256),
        ),
        (
            Key::rcgen_p256("p256.example.test"),
            "p256.example.test",
            "EC P-256",
            Some(256),
        ),
        (
            Key::rcgen_ed25519("ed.example.test"),
            "ed.example.test",
            "Ed25519",
            Some(256),
        ),
    ];
    for (key, name, key_type, bits) in keys {
        for (tls, version) in [(Tls::V12, "TLSv1.2"), (Tls::V13, "TLSv1.3")] {
            let addr = serve_lines(smtp_script(), tls_acceptor(&key, tls, &[])).await;
            let p = probe(addr, Protocol::Smtp, name, Limits::default()).await;
            let s = connected(&p);
            assert_eq!(s.version, version, "{key_type}");
            assert_eq!(s.chain, key.chain, "{key_type} {version}");
            let leaf = CertSummary::from_der(&s.chain[0]).unwrap();
            assert_eq!((leaf.key_type.as_str(), leaf.key_bits), (key_type, bits));
            if version == "TLSv1.2" {
                assert!(
                    s.cipher_suite.starts_with("TLS_ECDHE_"),
                    "{}",
                    s.cipher_suite
                );
            }
        }
    }
}

#[tokio::test]
async fn an_offer_of_one_family_finds_that_familys_certificate() {
    let (rsa, ec) = (Key::fixture("rsa"), Key::fixture("ec"));
    for tls in [Tls::V12, Tls::V13, Tls::Both] {
        // The server prefers ECDSA: the usual offer (every scheme) gets the EC chain.
        let addr = serve_lines(smtp_script(), multi_cert_acceptor(&[&ec, &rsa], tls)).await;
        let prober = Prober::new(trust());
        let target = Target::new(addr, Protocol::Smtp, "mx1.example.test").unwrap();
        let usual = prober.probe(&target, now()).await;
        assert_eq!(connected(&usual).chain, ec.chain, "{tls:?} usual offer");
        for (family, want) in [
            (KeyFamily::Rsa, Some(&rsa.chain)),
            (KeyFamily::Ecdsa, Some(&ec.chain)),
            (KeyFamily::Eddsa, None),
        ] {
            assert_eq!(target.clone().with_offer(family).offer(), Some(family));
            let p = prober
                .probe(&target.clone().with_offer(family), now())
                .await;
            match want {
                Some(chain) => {
                    let s = connected(&p);
                    assert_eq!(&s.chain, chain, "{tls:?} {family}");
                    assert_eq!(
                        KeyFamily::of_certificate(&s.chain[0]),
                        Some(family),
                        "{tls:?}"
                    );
                    if s.version == "TLSv1.2" {
                        // RFC 8422 6: the suite's authentication fits the key.
                        let auth = if family == KeyFamily::Rsa {
                            "ECDHE_RSA"
                        } else {
                            "ECDHE_ECDSA"
                        };
                        assert!(s.cipher_suite.contains(auth), "{}", s.cipher_suite);
                    }
                }
                // No certificate for EdDSA: the handshake fails, no chain is invented.
                None => assert!(p.outcome.session().is_none(), "{tls:?}: {}", p.outcome),
            }
            let said = p
                .transcript
                .entries()
                .iter()
                .any(|e| e.to_string().contains(&format!("offering only {family}")));
            assert!(said, "the transcript says what was offered");
        }
    }
}

#[tokio::test]
async fn handshake_signature_is_verified_with_the_leaf_key() {
    // The fixture P-256 certificate served with a different P-256 key: the chain would be
    // accepted, but the server cannot sign with the leaf's key.
    let mut key = Key::fixture("ec");
    key.key = Key::rcgen_p256("x.example.test").key;
    for tls in [Tls::V12, Tls::V13] {
        let addr = serve_lines(smtp_script(), mismatched_acceptor(&key, tls)).await;
        let p = probe(addr, Protocol::Smtp, "mx2.example.test", Limits::default()).await;
        match &p.outcome {
            ProbeOutcome::TlsFailed { message } => {
                assert!(message.contains("does not prove possession"), "{message}")
            }
            other => panic!("{tls:?}: expected a TLS failure, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn imap_pop3_xmpp_happy_paths() {
    let key = Key::fixture("rsa");
    let cases = [
        (Protocol::Imap, imap_script(), "STARTTLS"),
        (Protocol::Pop3, pop3_script(), "STLS"),
    ];
    for (protocol, script, cap) in cases {
        let addr = serve_lines(script, tls_acceptor(&key, Tls::Both, &[])).await;
        let p = probe(addr, protocol, "mx1.example.test", Limits::default()).await;
        let s = connected(&p);
        assert_eq!(s.chain, key.chain, "{protocol}");
        assert!(
            s.capabilities.iter().any(|c| c == cap),
            "{protocol}: {:?}",
            s.capabilities
        );
        assert_eq!(s.after_tls_problem, None, "{protocol}");
        assert!(s.pkix.is_valid(), "{protocol}");
    }
    for (protocol, ns) in [
        (Protocol::XmppClient, "jabber:client"),
        (Protocol::XmppServer, "jabber:server"),
    ] {
        let addr = serve_xmpp(tls_acceptor(&key, Tls::Both, &[]), XmppServer::Proceed).await;
        let p = probe(addr, protocol, "mx1.example.test", Limits::default()).await;
        let s = connected(&p);
        assert_eq!(s.chain, key.chain, "{protocol}");
        assert_eq!(s.capabilities, ["starttls", "mechanisms"], "{protocol}");
        let header = &p.transcript.entries()[1].text;
        assert!(
            header.contains(ns) && header.contains("to='mx1.example.test'"),
            "{header}"
        );
    }
}

#[tokio::test]
async fn implicit_tls_protocols() {
    let key = Key::fixture("ec");
    let cases = [
        (Protocol::Smtps, Some(smtps_script())),
        (Protocol::Imaps, Some(imaps_script())),
        (Protocol::Pop3s, Some(pop3s_script())),
        (Protocol::Tls, None),
    ];
    for (protocol, script) in cases {
        let acceptor = tls_acceptor(&key, Tls::Both, &[]);
        let addr = match script {
            Some(script) => serve_lines(script, acceptor).await,
            None => serve_tls_only(acceptor).await,
        };
        let p = probe(addr, protocol, "mx2.example.test", Limits::default()).await;
        let s = connected(&p);
        assert_eq!(s.chain, key.chain, "{protocol}");
        assert_eq!(s.after_tls_problem, None, "{protocol}");
        assert!(s.capabilities.is_empty(), "{protocol}: nothing before TLS");
    }
    // HTTPS offers h2 and http/1.1; the server picks.
    for (server_alpn, expected) in [
        (&["h2", "http/1.1"][..], "h2"),
        (&["http/1.1"][..], "http/1.1"),
    ] {
        let addr = serve_tls_only(tls_acceptor(&key, Tls::Both, server_alpn)).await;
        let p = probe(addr, Protocol::Https, "mx2.example.test", Limits::default()).await;
        assert_eq!(connected(&p).alpn.as_deref(), Some(expected));
    }
}

#[tokio::test]
async fn smtps_problem_after_tls_keeps_the_chain() {
    // The banner inside TLS is a 554: reported beside the chain, not instead of it.
    let key = Key::fixture("rsa");
    let script = Script {
        banner: b"554 no service\r\n".to_vec(),
        implicit: true,
        ..Script::default()
    };
    let addr = serve_lines(script, tls_acceptor(&key, Tls::Both, &[])).await;
    let p = probe(addr, Protocol::Smtps, "mx1.example.test", Limits::default()).await;
    let s = connected(&p);
    assert_eq!(s.chain, key.chain);
    let problem = s.after_tls_problem.as_deref().unwrap();
    assert!(problem.contains("554 no service"), "{problem}");
}

/// Short deadlines, with room for a loaded test machine: the hostile servers that stall
/// are waited for about a second, the others answer at once.
fn short() -> Limits {
    Limits {
        connect: Duration::from_secs(1),
        banner: Duration::from_millis(500),
        starttls: Duration::from_secs(1),
        handshake: Duration::from_secs(1),
        overall: Duration::from_secs(5),
        ..Limits::default()
    }
}

#[tokio::test]
async fn hostile_smtp_servers() {
    let key = Key::fixture("rsa");
    let acceptor = || tls_acceptor(&key, Tls::Both, &[]);

    // Slow banner: nothing is ever sent.
    let addr = serve_raw(|mut s| async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(s.shutdown().await);
    })
    .await;
    let got = probe(addr, Protocol::Smtp, "mx1.example.test", short())
        .await
        .outcome;
    assert_eq!(
        got,
        ProbeOutcome::Timeout {
            phase: Phase::Banner
        }
    );

    // A banner line that never ends.
    let addr = serve_raw(|mut s| async move {
        let _ = s.write_all(b"220 ").await;
        let chunk = vec![b'a'; 1024];
        for _ in 0..10_000 {
            if s.write_all(&chunk).await.is_err() {
                break;
            }
        }
    })
    .await;
    let got = probe(addr, Protocol::Smtp, "mx1.example.test", short())
        .await
        .outcome;
    assert_eq!(
        violation(&got),
        (Phase::Banner, &Violation::LineTooLong { limit: 2048 })
    );

    // A 10,000-line EHLO reply.
    let mut script = smtp_script();
    let mut huge = b"250-x\r\n".repeat(9_999);
    huge.extend_from_slice(b"250 STARTTLS\r\n");
    script.plain[0].1 = huge;
    let addr = serve_lines(script, acceptor()).await;
    let got = probe(addr, Protocol::Smtp, "mx1.example.test", short())
        .await
        .outcome;
    assert_eq!(
        violation(&got),
        (Phase::StartTls, &Violation::TooManyLines { limit: 100 })
    );

    // STARTTLS offered, answered 454.
    let mut script = smtp_script();
    script.plain[1].1 = b"454 4.7.0 TLS not available due to temporary reason\r\n".to_vec();
    script.plain[1].2 = Then::Continue;
    let addr = serve_lines(script, acceptor()).await;
    let got = probe(addr, Protocol::Smtp, "mx1.example.test", short())
        .await
        .outcome;
    match got {
        ProbeOutcome::StartTlsRefused { reply } => {
            assert_eq!(reply.code, "454");
            assert!(reply.text.contains("TLS not available"), "{}", reply.text);
        }
        other => panic!("{other:?}"),
    }

    // STARTTLS not offered.
    let mut script = smtp_script();
    script.plain[0].1 = b"250-mx.test\r\n250 8BITMIME\r\n".to_vec();
    let addr = serve_lines(script, acceptor()).await;
    let got = probe(addr, Protocol::Smtp, "mx1.example.test", short())
        .await
        .outcome;
    assert!(
        matches!(&got, ProbeOutcome::StartTlsNotOffered { capabilities, no_esmtp: None } if capabilities == &["8BITMIME"]),
        "{got:?}"
    );

    // Connection closed right after the 220 banner.
    let addr = serve_raw(|mut s| async move {
        let _ = s.write_all(b"220 mx.test ESMTP\r\n").await;
    })
    .await;
    let got = probe(addr, Protocol::Smtp, "mx1.example.test", short())
        .await
        .outcome;
    assert_eq!(
        got,
        ProbeOutcome::Closed {
            phase: Phase::StartTls
        }
    );

    // Plaintext injected after the STARTTLS reply (one write: one segment on loopback).
    let mut script = smtp_script();
    script.plain[1].1 = b"220 2.0.0 go ahead\r\n250-injected\r\n250 AUTH PLAIN\r\n".to_vec();
    let addr = serve_lines(script, acceptor()).await;
    let got = probe(addr, Protocol::Smtp, "mx1.example.test", short())
        .await
        .outcome;
    assert!(
        matches!(
            violation(&got),
            (
                Phase::StartTls,
                Violation::PipelinedAfterStartTls { bytes: 30, .. }
            )
        ),
        "{got:?}"
    );

    // Non-TLS bytes in answer to the ClientHello.
    let mut script = smtp_script();
    script.plain[1].2 = Then::NotTls;
    let addr = serve_lines(script, acceptor()).await;
    let got = probe(addr, Protocol::Smtp, "mx1.example.test", short())
        .await
        .outcome;
    match violation(&got) {
        (Phase::Handshake, Violation::NotTls { excerpt }) => {
            assert!(excerpt.starts_with("500 what is this"), "{excerpt}")
        }
        other => panic!("{other:?}"),
    }

    // A TLS alert from the server (rustls without a certificate sends access_denied).
    let addr = serve_lines(smtp_script(), no_certificate_acceptor()).await;
    let got = probe(addr, Protocol::Smtp, "mx1.example.test", short())
        .await
        .outcome;
    assert_eq!(
        got,
        ProbeOutcome::TlsAlert {
            alert: "access_denied".into()
        }
    );

    // The ClientHello is never answered.
    let mut script = smtp_script();
    script.plain[1].2 = Then::Stall;
    let addr = serve_lines(script, acceptor()).await;
    let got = probe(addr, Protocol::Smtp, "mx1.example.test", short())
        .await
        .outcome;
    assert_eq!(
        got,
        ProbeOutcome::Timeout {
            phase: Phase::Handshake
        }
    );

    // Garbage instead of a banner.
    let addr = serve_raw(|mut s| async move {
        let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n").await;
        tokio::time::sleep(Duration::from_secs(5)).await;
    })
    .await;
    let got = probe(addr, Protocol::Smtp, "mx1.example.test", short())
        .await
        .outcome;
    assert!(
        matches!(violation(&got), (Phase::Banner, Violation::Garbage { .. })),
        "{got:?}"
    );
}

#[tokio::test]
async fn overall_deadline_bounds_a_trickling_server() {
    // One banner line every 50 ms: each read succeeds, the banner never completes. The
    // phases are generous; the overall deadline ends it.
    let addr = serve_raw(|mut s| async move {
        for _ in 0..200 {
            if s.write_all(b"220-still here\r\n").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    let limits = Limits {
        overall: Duration::from_millis(400),
        max_reply_lines: 1000,
        ..Limits::default()
    };
    let got = probe(addr, Protocol::Smtp, "mx1.example.test", limits)
        .await
        .outcome;
    assert_eq!(
        got,
        ProbeOutcome::Timeout {
            phase: Phase::Banner
        }
    );
}

#[tokio::test]
async fn connection_refused_and_hostile_xmpp() {
    let addr = unused_port().await;
    let got = probe(addr, Protocol::Smtp, "mx1.example.test", short())
        .await
        .outcome;
    assert_eq!(got, ProbeOutcome::Refused);

    let key = Key::fixture("rsa");
    let addr = serve_xmpp(tls_acceptor(&key, Tls::Both, &[]), XmppServer::Failure).await;
    let got = probe(addr, Protocol::XmppClient, "mx1.example.test", short())
        .await
        .outcome;
    assert!(
        matches!(got, ProbeOutcome::StartTlsRefused { .. }),
        "{got:?}"
    );
    let addr = serve_xmpp(tls_acceptor(&key, Tls::Both, &[]), XmppServer::Inject).await;
    let got = probe(addr, Protocol::XmppClient, "mx1.example.test", short())
        .await
        .outcome;
    assert!(
        matches!(
            violation(&got),
            (Phase::StartTls, Violation::PipelinedAfterStartTls { .. })
        ),
        "{got:?}"
    );
}

#[tokio::test]
async fn hostile_imap_and_pop3() {
    let key = Key::fixture("rsa");
    let mut script = imap_script();
    script.plain[1].1 = b"a2 NO [UNAVAILABLE] no certificate\r\n".to_vec();
    script.plain[1].2 = Then::Continue;
    let addr = serve_lines(script, tls_acceptor(&key, Tls::Both, &[])).await;
    let got = probe(addr, Protocol::Imap, "mx1.example.test", short())
        .await
        .outcome;
    assert!(
        matches!(&got, ProbeOutcome::StartTlsRefused { reply } if reply.code == "NO"),
        "{got:?}"
    );

    let mut script = pop3_script();
    script.plain[1].1 = b"+OK begin\r\n+OK injected\r\n".to_vec();
    let addr = serve_lines(script, tls_acceptor(&key, Tls::Both, &[])).await;
    let got = probe(addr, Protocol::Pop3, "mx1.example.test", short())
        .await
        .outcome;
    assert!(
        matches!(
            violation(&got),
            (Phase::StartTls, Violation::PipelinedAfterStartTls { .. })
        ),
        "{got:?}"
    );
}

#[tokio::test]
async fn openssl_tls11_only_and_cbc_only_are_unsupported_not_failures() {
    if !openssl_available() {
        eprintln!("openssl not installed: skipping the TLS 1.1 / CBC-only servers");
        return;
    }
    let cases: [(&str, &[&str]); 3] = [
        (
            "TLS 1.1 only",
            &["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"],
        ),
        (
            "CBC only",
            &["-tls1_2", "-cipher", "ECDHE-RSA-AES128-SHA:AES128-SHA"],
        ),
        (
            "RSA key exchange only",
            &["-tls1_2", "-cipher", "AES128-GCM-SHA256"],
        ),
    ];
    for (what, args) in cases {
        let server = OpensslServer::start(args).await;
        let got = probe(server.addr, Protocol::Tls, "mx1.example.test", short())
            .await
            .outcome;
        eprintln!("{what}: {got}");
        assert!(
            matches!(got, ProbeOutcome::TlsUnsupported { .. }),
            "{what}: {got:?}"
        );
        assert!(got.to_string().contains("not a DANE failure"), "{got}");
    }
    // The same openssl server with modern settings: connected (the harness works).
    let server = OpensslServer::start(&["-tls1_2"]).await;
    let got = probe(server.addr, Protocol::Tls, "mx1.example.test", short()).await;
    assert_eq!(connected(&got).version, "TLSv1.2");
}

#[tokio::test]
async fn ipv6_loopback_and_an_address_as_the_name() {
    let key = Key::fixture("rsa");
    match serve_lines_at("[::1]:0", smtp_script(), tls_acceptor(&key, Tls::Both, &[])).await {
        None => eprintln!("no IPv6 loopback here: skipping the [::1] probe"),
        Some(addr) => {
            let p = probe(addr, Protocol::Smtp, "mx1.example.test", Limits::default()).await;
            assert_eq!(connected(&p).chain, key.chain);
            // RFC 5321 4.1.3: the client names itself with an IPv6 address literal.
            let sent: Vec<&str> = p
                .transcript
                .entries()
                .iter()
                .filter(|e| e.direction == Direction::Sent)
                .map(|e| e.text.as_str())
                .collect();
            assert_eq!(sent[0], "EHLO [IPv6:::1]");
        }
    }
    // An IP address as the name: no SNI, and PKIX checks the address (the leaf has none).
    let addr = serve_lines(smtp_script(), tls_acceptor(&key, Tls::Both, &[])).await;
    let p = probe(addr, Protocol::Smtp, "127.0.0.1", Limits::default()).await;
    assert_eq!(p.sni, None);
    let s = connected(&p);
    assert_eq!(s.chain, key.chain);
    assert!(
        s.pkix.to_string().contains("not valid for 127.0.0.1"),
        "{}",
        s.pkix
    );
}
