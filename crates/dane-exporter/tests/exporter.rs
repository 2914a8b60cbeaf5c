//! The exporter's server in-process on loopback, with a check that answers at once: a
//! slowloris client holding idle connections from one address cannot starve the scrapes
//! of another (and without the per-peer cap it does: the control); a stop closes idle
//! connections, lets a running check finish and accepts nothing more; every request is
//! logged once.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a failure is a failed test

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dane_check::query::ProbeQuery;
use dane_exporter::http::{Check, Checked, LogSink, Server, Settings, Stopped, serve};

/// Answers every probe with one sample, after `delay`.
struct Fixed {
    delay: Duration,
}

impl Check for Fixed {
    async fn check(&self, query: ProbeQuery) -> Checked {
        tokio::time::sleep(self.delay).await;
        Checked {
            document: format!(
                "# TYPE checked gauge\nchecked{{domain=\"{}\"}} 1\n# EOF\n",
                query.domain
            ),
            success: true,
            elapsed: self.delay,
        }
    }
}

fn settings(per_peer: usize, log: Option<LogSink>) -> Settings {
    Settings {
        max_checks: 8,
        max_connections: 16,
        max_connections_per_peer: per_peer,
        header_timeout: Duration::from_secs(20),
        allow_ports: false,
        grace: Duration::from_secs(10),
        log,
    }
}

/// A running server: its address, the stop switch and its end.
struct Running {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    done: std::sync::mpsc::Receiver<Stopped>,
}

impl Running {
    fn stop(&mut self) -> Stopped {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.done
            .recv_timeout(Duration::from_secs(30))
            .expect("the server stopped")
    }
}

/// Starts a server on 127.0.0.1 on a runtime thread of its own.
fn start(check: Fixed, settings: Settings) -> Running {
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (done_tx, done) = std::sync::mpsc::channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            addr_tx.send(listener.local_addr().unwrap()).unwrap();
            let server = Arc::new(Server::new(check, settings));
            let end = serve(listener, server, async {
                let _ = stopped.await;
            })
            .await;
            let _ = done_tx.send(end);
        });
    });
    Running {
        addr: addr_rx.recv().unwrap(),
        stop: Some(stop),
        done,
    }
}

/// A connection from `source` (a loopback address: the whole of 127/8 is local).
fn connect_from(source: &str, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    let from: SocketAddr = format!("{source}:0").parse().unwrap();
    socket.bind(&from.into())?;
    socket.connect_timeout(&to.into(), Duration::from_secs(5))?;
    Ok(socket.into())
}

/// One scrape from `source`: the status, or `None` when the connection was closed
/// unanswered.
fn scrape(source: &str, to: SocketAddr, target: &str) -> Option<u16> {
    let mut s = connect_from(source, to).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let request = format!("GET /probe?target={target} HTTP/1.1\r\nHost: x\r\n\r\n");
    s.write_all(request.as_bytes()).ok()?;
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out);
    text.split(' ').nth(1).and_then(|c| c.parse().ok())
}

/// The attacker: as many idle connections from 127.0.0.2 as the server keeps open
/// (refused ones are simply closed by the server).
fn slowloris(to: SocketAddr, count: usize) -> Vec<TcpStream> {
    let mut held = Vec::new();
    for _ in 0..count {
        if let Ok(mut s) = connect_from("127.0.0.2", to) {
            // A request line begun and never finished.
            let _ = s.write_all(b"GET /probe?target=");
            held.push(s);
        }
    }
    // Let the server accept (and refuse) them all.
    std::thread::sleep(Duration::from_millis(300));
    held
}

fn scrapes_answered(addr: SocketAddr) -> usize {
    (0..10)
        .filter(|i| scrape("127.0.0.1", addr, &format!("d{i}.example")) == Some(200))
        .count()
}

/// Of the 10 scrapes of `scrapes_answered`, those answered by a server allowing
/// `per_peer` connections per peer while one peer holds 64 half-sent requests (a slowloris).
fn scrapes_answered_under_slowloris(per_peer: usize) -> usize {
    let mut server = start(
        Fixed {
            delay: Duration::ZERO,
        },
        settings(per_peer, None),
    );
    let held = slowloris(server.addr, 64);
    let answered = scrapes_answered(server.addr);
    drop(held);
    server.stop();
    answered
}

#[test]
fn slowloris_from_one_peer_does_not_starve_the_others() {
    assert_eq!(scrapes_answered_under_slowloris(4), 10);
}

/// The control: with the per-peer cap as large as the global one, the same attacker
/// takes every slot and the scrapes go unanswered.
#[test]
fn without_a_per_peer_cap_slowloris_starves_the_scrapes() {
    assert_eq!(scrapes_answered_under_slowloris(16), 0);
}

#[test]
fn a_stop_lets_running_checks_finish_and_closes_the_rest() {
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink: LogSink = {
        let lines = lines.clone();
        Arc::new(move |line: &str| lines.lock().unwrap().push(line.to_owned()))
    };
    let mut server = start(
        Fixed {
            delay: Duration::from_secs(2),
        },
        settings(4, Some(sink)),
    );
    let addr = server.addr;
    // A check in flight, and an idle connection that never sends its head.
    let running = std::thread::spawn(move || scrape("127.0.0.1", addr, "slow.example"));
    let mut idle = connect_from("127.0.0.3", addr).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let stopped = server.stop();
    assert_eq!(stopped, Stopped { abandoned: 0 });
    assert_eq!(
        running.join().unwrap(),
        Some(200),
        "the running check finished"
    );
    // The idle connection was told and closed.
    idle.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut said = String::new();
    let _ = idle.read_to_string(&mut said);
    assert!(said.starts_with("HTTP/1.1 503 "), "{said:?}");
    // Nothing is accepted any more.
    assert!(scrape("127.0.0.1", addr, "late.example").is_none());
    let lines = lines.lock().unwrap();
    assert_eq!(lines.len(), 2, "{lines:?}");
    let probe = lines
        .iter()
        .find(|l| l.contains("target=slow.example"))
        .expect("the check's line");
    assert!(
        probe.starts_with("request time=")
            && probe.contains(" peer=127.0.0.1:")
            && probe.contains(
                " method=GET path=/probe target=slow.example module=smtp status=200 duration=2."
            ),
        "{probe}"
    );
    assert!(
        lines.iter().any(|l| l.contains(" peer=127.0.0.3:")
            && l.contains(" method=- ")
            && l.contains(" status=503 ")),
        "{lines:?}"
    );
}
