//! DNS over UDP with TCP fallback on truncation (RFC 1035 4.2, RFC 7766), EDNS(0) with a
//! 1232-octet buffer (RFC 6891; DNS flag day 2020) and the DO bit (RFC 3225), CD set
//! (RFC 4035 3.2.2) so the upstream resolver hands us even data it thinks is bogus.
//!
//! Every query has a fresh random ID (hickory's `Message::query`) and a fresh socket, so a
//! fresh ephemeral source port; IPv4 and IPv6 servers alike. A response counts only if it
//! comes from the server asked (a connected UDP socket: the kernel drops datagrams from any
//! other address and port), has our ID and QR set, and repeats our question: name
//! (case-insensitively), type and class IN (RFC 5452 section 9.1).

use std::net::SocketAddr;
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

/// UDP exchange: returns the response and whether it was truncated. Datagrams from other
/// addresses or for other queries are ignored (spoofing resistance), until the deadline.
async fn udp(
    server: SocketAddr,
    id: u16,
    query: &[u8],
    name: &Name,
    rtype: RecordType,
) -> Result<(Vec<u8>, bool), String> {
    let bind: SocketAddr = if server.is_ipv4() {
        SocketAddr::from(([0, 0, 0, 0], 0))
    } else {
        SocketAddr::from(([0u16; 8], 0))
    };
    let sock = UdpSocket::bind(bind)
        .await
        .map_err(|e| format!("binding a UDP socket: {e}"))?;
    sock.connect(server)
        .await
        .map_err(|e| format!("connecting: {e}"))?;
    sock.send(query)
        .await
        .map_err(|e| format!("sending: {e}"))?;
    let mut buf = vec![0u8; 65_535];
    loop {
        let n = sock
            .recv(&mut buf)
            .await
            .map_err(|e| format!("receiving: {e}"))?;
        let wire = &buf[..n];
        match matches(wire, id, name, rtype) {
            Ok(m) => return Ok((wire.to_vec(), m.metadata.truncation)),
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
