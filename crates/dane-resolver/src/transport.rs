//! DNS over UDP with TCP fallback on truncation (RFC 1035 4.2, RFC 7766), EDNS(0) with a
//! 1232-octet buffer (RFC 6891; DNS flag day 2020) and the DO bit (RFC 3225), CD set
//! (RFC 4035 3.2.2) so the upstream resolver hands us even data it thinks is bogus.
//!
//! Every query has a fresh random ID (hickory's `Message::query`) and goes out from a
//! random source port (RFC 5452 section 4: ID and port are the spoofing defence). A socket
//! costs five system calls to open and close (`socket`, `bind`, `connect`, the epoll
//! registration, `close`: issue 27), so UDP sockets are pooled ([`POOL`]): each is bound
//! to an ephemeral port the kernel picks at random and connected to one server, and a
//! query to that server takes one of the idle sockets for it at random (or opens one).
//! What keeps the port unpredictable:
//! - a socket only ever talks to the one server it is connected to, so a server (one a
//!   survey's targets point at, say) learns only the ports of its own sockets, never those
//!   of the sockets that ask another server, whose answers it might want to forge;
//! - a socket is closed after [`MAX_USES`] exchanges, or after any failure or timeout (a
//!   query abandoned mid-flight drops its socket), and the pool holds at most
//!   [`MAX_IDLE_PER_SERVER`] idle sockets per server and [`MAX_IDLE`] in all, so the ports
//!   keep changing;
//! - datagrams left in a socket when it goes back (a duplicate answer) are read and
//!   dropped then, so a later query never sees them.
//!
//! IPv4 and IPv6 servers alike. A response counts only if it comes from the server asked
//! (a connected UDP socket: the kernel drops datagrams from any other address and port),
//! has our ID and QR set, and repeats our question: name (case-insensitively), type and
//! class IN (RFC 5452 section 9.1).

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use hickory_proto::op::{Edns, Message, MessageType, Query};
use hickory_proto::rr::{DNSClass, Name, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// EDNS UDP payload size we advertise.
pub const EDNS_BUFFER: u16 = 1232;

/// Builds the query message: RD when asking a recursive resolver (not when iterating), CD,
/// EDNS DO.
pub fn query_message(
    name: &Name,
    rtype: RecordType,
    recursion_desired: bool,
) -> Result<(u16, Vec<u8>), String> {
    let mut m = Message::query();
    m.metadata.recursion_desired = recursion_desired;
    m.metadata.checking_disabled = true;
    m.add_query(Query::query(name.clone(), rtype));
    let mut edns = Edns::new();
    edns.set_max_payload(EDNS_BUFFER);
    edns.set_dnssec_ok(true);
    m.set_edns(edns);
    let wire = m.to_vec().map_err(|e| format!("encoding the query: {e}"))?;
    Ok((m.metadata.id, wire))
}

/// Whether `wire` is the response to our query: same ID, QR set, same question.
fn matches(wire: &[u8], id: u16, name: &Name, rtype: RecordType) -> Result<Message, String> {
    let m = Message::from_vec(wire).map_err(|e| format!("malformed response: {e}"))?;
    if m.metadata.id != id || m.metadata.message_type != MessageType::Response {
        return Err("response ID or QR bit does not match the query".into());
    }
    match m.queries.first() {
        Some(q)
            if q.query_type() == rtype
                && q.query_class() == DNSClass::IN
                && q.name().to_lowercase() == name.to_lowercase() =>
        {
            Ok(m)
        }
        _ => Err("response question does not match the query".into()),
    }
}

/// The outcome of asking one server once.
pub enum Answer {
    /// A response to our question (any rcode), with its ID zeroed (IDs are random per query;
    /// zeroing keeps recorded evidence stable).
    Response { wire: Vec<u8>, rcode: u8 },
    /// No usable response.
    Failed(String),
}

fn zero_id(mut wire: Vec<u8>) -> Vec<u8> {
    if wire.len() >= 2 {
        wire[0] = 0;
        wire[1] = 0;
    }
    wire
}

/// Asks the recursive resolver `server` (RD set) over UDP, and again over TCP if the answer
/// is truncated.
pub async fn ask(server: SocketAddr, name: &Name, rtype: RecordType, timeout: Duration) -> Answer {
    ask_with(server, name, rtype, timeout, true).await
}

/// As [`ask`], with RD as given (clear when asking authoritative servers: RFC 1034 5.3.1).
pub async fn ask_with(
    server: SocketAddr,
    name: &Name,
    rtype: RecordType,
    timeout: Duration,
    recursion_desired: bool,
) -> Answer {
    let (id, query) = match query_message(name, rtype, recursion_desired) {
        Ok(q) => q,
        Err(e) => return Answer::Failed(e),
    };
    match tokio::time::timeout(timeout, udp(server, id, &query, name, rtype)).await {
        Err(_) => Answer::Failed(format!(
            "no answer from {server} over UDP within {timeout:?}"
        )),
        Ok(Err(e)) => Answer::Failed(format!("{server} over UDP: {e}")),
        Ok(Ok(m)) if !m.1 => Answer::Response {
            rcode: m.0[3] & 0x0f,
            wire: zero_id(m.0),
        },
        Ok(Ok(_truncated)) => {
            tracing::debug!(%server, %name, %rtype, "truncated over UDP, retrying over TCP");
            match tokio::time::timeout(timeout, tcp(server, id, &query, name, rtype)).await {
                Err(_) => Answer::Failed(format!(
                    "no answer from {server} over TCP within {timeout:?}"
                )),
                Ok(Err(e)) => Answer::Failed(format!("{server} over TCP: {e}")),
                Ok(Ok(wire)) => Answer::Response {
                    rcode: wire[3] & 0x0f,
                    wire: zero_id(wire),
                },
            }
        }
    }
}

/// Exchanges a socket makes before it is closed (and a new one, on a new random port,
/// takes its place).
pub(crate) const MAX_USES: u32 = 16;
/// Idle sockets kept per server.
pub(crate) const MAX_IDLE_PER_SERVER: usize = 32;
/// Idle sockets kept in all (file descriptors held between queries).
pub(crate) const MAX_IDLE: usize = 128;

/// An idle UDP socket: non-blocking, bound to a random ephemeral port, connected to the
/// server it is kept for, with the exchanges it has made.
struct Idle {
    socket: std::net::UdpSocket,
    uses: u32,
    /// Its receive buffer, room for the largest datagram (allocated once per socket, not
    /// per query: a 64 KiB allocation each time cost malloc a consolidation pass).
    buf: Vec<u8>,
}

/// The idle sockets by server (see the module documentation). Std sockets, not tokio's: a
/// tokio socket is tied to the runtime it was registered with, and one process may run
/// several (tests do), so each exchange registers its socket with the runtime it runs on.
#[derive(Default)]
struct Pool {
    idle: HashMap<SocketAddr, Vec<Idle>>,
    count: usize,
}

static POOL: LazyLock<Mutex<Pool>> = LazyLock::new(Mutex::default);

/// Which idle socket to take: SipHash under random keys (std's `RandomState`) of a
/// counter, unpredictable without the keys and free of system calls.
fn pick(n: usize) -> usize {
    static KEYS: LazyLock<std::collections::hash_map::RandomState> =
        LazyLock::new(std::collections::hash_map::RandomState::new);
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    (KEYS.hash_one(COUNTER.fetch_add(1, Ordering::Relaxed)) % n as u64) as usize
}

fn pool() -> std::sync::MutexGuard<'static, Pool> {
    // Each change is one call that leaves the map and the count in step.
    POOL.lock().unwrap_or_else(|p| p.into_inner())
}

/// An idle socket for `server`, taken at random, if there is one.
fn take(server: SocketAddr) -> Option<Idle> {
    let mut pool = pool();
    let sockets = pool.idle.get_mut(&server)?;
    if sockets.is_empty() {
        return None;
    }
    let idle = sockets.swap_remove(pick(sockets.len()));
    if sockets.is_empty() {
        pool.idle.remove(&server);
    }
    pool.count -= 1;
    Some(idle)
}

/// Puts a socket back after a good exchange, unless it has made its [`MAX_USES`] or the
/// pool is full for its server; past [`MAX_IDLE`] in all, another server's goes.
fn give(server: SocketAddr, socket: std::net::UdpSocket, uses: u32, buf: Vec<u8>) {
    if uses >= MAX_USES {
        return;
    }
    // Whatever is left in it (a duplicate answer) is not for the next query.
    let mut scrap = [0u8; 512];
    for _ in 0..64 {
        if socket.recv(&mut scrap).is_err() {
            break;
        }
    }
    let mut pool = pool();
    if pool
        .idle
        .get(&server)
        .is_some_and(|v| v.len() >= MAX_IDLE_PER_SERVER)
    {
        return;
    }
    if pool.count >= MAX_IDLE {
        let Some(other) = pool.idle.keys().next().copied() else {
            return;
        };
        if let Some(v) = pool.idle.get_mut(&other) {
            v.pop();
            if v.is_empty() {
                pool.idle.remove(&other);
            }
            pool.count -= 1;
        }
    }
    pool.idle
        .entry(server)
        .or_default()
        .push(Idle { socket, uses, buf });
    pool.count += 1;
}

/// A new non-blocking UDP socket on a random ephemeral port, connected to `server`.
fn open(server: SocketAddr) -> Result<std::net::UdpSocket, String> {
    let bind: SocketAddr = if server.is_ipv4() {
        SocketAddr::from(([0, 0, 0, 0], 0))
    } else {
        SocketAddr::from(([0u16; 8], 0))
    };
    let sock = std::net::UdpSocket::bind(bind).map_err(|e| format!("binding a UDP socket: {e}"))?;
    sock.set_nonblocking(true)
        .map_err(|e| format!("binding a UDP socket: {e}"))?;
    sock.connect(server)
        .map_err(|e| format!("connecting: {e}"))?;
    Ok(sock)
}

/// UDP exchange: returns the response and whether it was truncated. Datagrams from other
/// addresses or for other queries are ignored (spoofing resistance), until the deadline.
async fn udp(
    server: SocketAddr,
    id: u16,
    query: &[u8],
    name: &Name,
    rtype: RecordType,
) -> Result<(Vec<u8>, bool), String> {
    let (socket, uses, mut buf) = match take(server) {
        Some(idle) => (idle.socket, idle.uses, idle.buf),
        None => (open(server)?, 0, Vec::with_capacity(65_535)),
    };
    // On every error below (and when the caller's timeout drops this future) the socket
    // is closed, not pooled.
    let sock = UdpSocket::from_std(socket).map_err(|e| format!("registering a UDP socket: {e}"))?;
    sock.send(query)
        .await
        .map_err(|e| format!("sending: {e}"))?;
    // Room for the largest datagram, not zeroed: `recv_buf` writes into spare capacity.
    loop {
        buf.clear();
        let n = sock
            .recv_buf(&mut buf)
            .await
            .map_err(|e| format!("receiving: {e}"))?;
        let wire = &buf[..n];
        match matches(wire, id, name, rtype) {
            Ok(m) => {
                let truncated = m.metadata.truncation;
                let wire = wire.to_vec();
                if let Ok(socket) = sock.into_std() {
                    give(server, socket, uses + 1, buf);
                }
                return Ok((wire, truncated));
            }
            Err(e) => tracing::debug!(%server, error = %e, "ignoring a UDP datagram"),
        }
    }
}

/// TCP exchange with the two-octet length prefix (RFC 1035 4.2.2); at most 65535 octets.
async fn tcp(
    server: SocketAddr,
    id: u16,
    query: &[u8],
    name: &Name,
    rtype: RecordType,
) -> Result<Vec<u8>, String> {
    let wire = tcp_exchange(server, id, query).await?;
    let m = matches(&wire, id, name, rtype)?;
    if m.metadata.truncation {
        return Err("truncated even over TCP".into());
    }
    Ok(wire)
}

/// One TCP exchange of an already encoded message (an UPDATE): the answer with our `id`,
/// at most 65535 octets. The caller bounds the time.
pub async fn tcp_exchange(server: SocketAddr, id: u16, message: &[u8]) -> Result<Vec<u8>, String> {
    let mut s = TcpStream::connect(server)
        .await
        .map_err(|e| format!("connecting: {e}"))?;
    let len = u16::try_from(message.len()).map_err(|_| "message too long".to_string())?;
    let mut out = len.to_be_bytes().to_vec();
    out.extend_from_slice(message);
    s.write_all(&out)
        .await
        .map_err(|e| format!("sending: {e}"))?;
    let mut lb = [0u8; 2];
    s.read_exact(&mut lb)
        .await
        .map_err(|e| format!("reading the length: {e}"))?;
    let n = usize::from(u16::from_be_bytes(lb));
    let mut wire = vec![0u8; n];
    s.read_exact(&mut wire)
        .await
        .map_err(|e| format!("reading {n} octets: {e}"))?;
    if wire.len() < 2 || u16::from_be_bytes([wire[0], wire[1]]) != id {
        return Err("the answer's ID does not match".into());
    }
    Ok(wire)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // test code
    use super::*;
    use std::str::FromStr;
    use std::sync::Arc;

    /// A loopback server that answers every query with the query itself, QR set, and
    /// records the source port and ID of each; it stops after `n` queries.
    fn echo(n: usize) -> (SocketAddr, std::thread::JoinHandle<Vec<(u16, u16)>>) {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = s.local_addr().unwrap();
        let h = std::thread::spawn(move || {
            let mut seen = Vec::new();
            let mut buf = [0u8; 2048];
            while seen.len() < n {
                let (len, from) = s.recv_from(&mut buf).unwrap();
                seen.push((from.port(), u16::from_be_bytes([buf[0], buf[1]])));
                buf[2] |= 0x80;
                s.send_to(&buf[..len], from).unwrap();
            }
            seen
        });
        (addr, h)
    }

    /// Sockets are pooled per server: sequential queries to one server reuse a socket
    /// (few ports) for at most MAX_USES exchanges each, every query has its own random
    /// ID, and no socket that asked one server asks another (disjoint ports).
    #[test]
    fn sockets_are_reused_per_server_with_fresh_ids_and_retired() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let name = Arc::new(Name::from_str("www.example.").unwrap());
        let n = 4 * MAX_USES as usize;
        let (a, ha) = echo(n);
        let (b, hb) = echo(n);
        rt.block_on(async {
            for _ in 0..n {
                for server in [a, b] {
                    let got = ask(server, &name, RecordType::A, Duration::from_secs(5)).await;
                    assert!(matches!(got, Answer::Response { rcode: 0, .. }));
                }
            }
        });
        let (sa, sb) = (ha.join().unwrap(), hb.join().unwrap());
        let ports = |s: &[(u16, u16)]| {
            let mut p: Vec<u16> = s.iter().map(|x| x.0).collect();
            p.sort_unstable();
            p.dedup();
            p
        };
        let (pa, pb) = (ports(&sa), ports(&sb));
        // Sequential queries: one socket at a time, retired after MAX_USES exchanges.
        assert_eq!(pa.len(), n / MAX_USES as usize, "{pa:?}");
        assert_eq!(pb.len(), n / MAX_USES as usize, "{pb:?}");
        assert!(pa.iter().all(|p| !pb.contains(p)), "{pa:?} {pb:?}");
        let mut ids: Vec<u16> = sa.iter().map(|x| x.1).collect();
        ids.sort_unstable();
        ids.dedup();
        assert!(ids.len() > n * 9 / 10, "{} distinct IDs of {n}", ids.len());
    }

    /// A query whose answer does not come in time drops its socket: the next query to the
    /// server goes out from another port (a late answer never reaches it).
    #[test]
    fn a_socket_that_timed_out_is_not_reused() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let name = Name::from_str("www.example.").unwrap();
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let server = s.local_addr().unwrap();
        let h = std::thread::spawn(move || {
            let mut ports = Vec::new();
            let mut buf = [0u8; 2048];
            for i in 0..3 {
                let (len, from) = s.recv_from(&mut buf).unwrap();
                ports.push(from.port());
                if i != 1 {
                    buf[2] |= 0x80;
                    s.send_to(&buf[..len], from).unwrap();
                }
            }
            ports
        });
        rt.block_on(async {
            let t = Duration::from_millis(300);
            assert!(matches!(
                ask(server, &name, RecordType::A, t).await,
                Answer::Response { .. }
            ));
            assert!(matches!(
                ask(server, &name, RecordType::A, t).await,
                Answer::Failed(_)
            ));
            assert!(matches!(
                ask(server, &name, RecordType::A, t).await,
                Answer::Response { .. }
            ));
        });
        let ports = h.join().unwrap();
        assert_eq!(ports[0], ports[1], "the good exchange's socket was pooled");
        assert_ne!(ports[1], ports[2], "the timed-out one was not");
    }
}
