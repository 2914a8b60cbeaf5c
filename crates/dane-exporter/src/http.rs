//! The exporter's HTTP server: hyper (HTTP/1 only) held to a strict subset: one request per
//! connection (`Connection: close`), GET only, no request body, origin-form targets only,
//! no redirects. Bounded everywhere: the request head (8 KiB and 32 fields, hyper's limits;
//! the request line 2 KiB, checked as it arrives) must arrive whole within the header
//! timeout (slowloris), responses are written within a timeout, connections are capped
//! overall and per peer ([`crate::admission`]), checks running at once are capped
//! (beyond that: 503). Only the documented parameters are accepted, only the services of
//! the `dane verify` table, and no port of the caller's choosing unless `allow_ports`.
//!
//! Stopping ([`serve`]'s `stop`): no connection is accepted any more, connections still
//! waiting for their request head are closed, and requests being answered get until
//! [`Settings::grace`] to finish.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context as TaskContext, Poll, ready};
use std::time::{Duration, Instant, SystemTime};

use dane_check::query::{ProbeQuery, parse_request_target, probe_query};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::server::conn::http1;
use hyper::{Method, StatusCode, Version};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::net::tcp::{ReadHalf, WriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::admission::{Admission, Refusal};
use crate::exposition::{self, Format};
use crate::log;

/// The longest request head accepted (request line and headers): hyper's `max_header_size`.
const MAX_HEAD: usize = 8192;
/// The longest request line accepted, checked as its bytes arrive ([`LineGuard`]).
const MAX_REQUEST_LINE: usize = 2048;
/// Most header fields accepted: hyper's `max_headers`.
const MAX_HEADERS: usize = 32;
/// Time to write a response.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// After its answer, a connection is read from (and what arrives discarded) for at most
/// this long and this much, until the client closes: closing with unread data would reset
/// the connection and could destroy the answer before the client reads it (RFC 9112 9.6).
const LINGER: Duration = Duration::from_secs(1);
/// See [`LINGER`].
const LINGER_BYTES: usize = 64 * 1024;

/// What to answer: status, content type, body.
#[derive(Debug, PartialEq, Eq)]
pub struct Reply {
    status: StatusCode,
    content_type: &'static str,
    body: String,
    /// Whether the body was chosen by the `Accept` header (`Vary: Accept`).
    negotiated: bool,
}

fn error(status: StatusCode, message: &str) -> Reply {
    Reply {
        status,
        content_type: "text/plain; charset=utf-8",
        body: format!("{}\n", sanitize(message)),
        negotiated: false,
    }
}

impl Reply {
    fn into_response(self) -> hyper::Response<String> {
        let mut response = hyper::Response::new(self.body);
        *response.status_mut() = self.status;
        let h = response.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(header::CONNECTION, HeaderValue::from_static("close"));
        if self.negotiated {
            h.insert(header::VARY, HeaderValue::from_static("Accept"));
        }
        if self.status == StatusCode::METHOD_NOT_ALLOWED {
            h.insert(header::ALLOW, HeaderValue::from_static("GET"));
        }
        if self.content_type.starts_with("text/html") {
            // The page says it too; the header covers a browser that reads it first.
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(dane_render::html::CSP),
            );
        }
        response
    }

    /// The reply as bytes on the wire, for the refusals written once hyper has been
    /// stopped (408, 414, 505): a status line and the same headers as hyper writes.
    fn to_wire(&self) -> Vec<u8> {
        format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{}",
            self.status.as_str(),
            self.status.canonical_reason().unwrap_or("Error"),
            self.content_type,
            self.body.len(),
            self.body
        )
        .into_bytes()
    }
}

/// The request head beyond what hyper checks: no body (RFC 9112 6.1, 6.2), `Host` on
/// HTTP/1.1 (RFC 9112 3.2), GET only.
pub fn check_head(method: &Method, version: Version, headers: &HeaderMap) -> Result<(), Reply> {
    if headers
        .get_all(header::CONTENT_LENGTH)
        .iter()
        .any(|v| v.as_bytes() != b"0")
    {
        return Err(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "no request body is accepted",
        ));
    }
    if headers.contains_key(header::TRANSFER_ENCODING) {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "no request body is accepted",
        ));
    }
    // RFC 9112 3.2: a server responds 400 to an HTTP/1.1 request without Host.
    if version == Version::HTTP_11 && !headers.contains_key(header::HOST) {
        return Err(error(StatusCode::BAD_REQUEST, "missing Host header"));
    }
    if method != Method::GET {
        return Err(error(StatusCode::METHOD_NOT_ALLOWED, "only GET"));
    }
    Ok(())
}

/// A probe's OpenMetrics document with the blackbox exporter's two series added before its
/// `# EOF`: `probe_success` (1 when `dane verify` would exit 0 with the server's flags) and
/// `probe_duration_seconds` (the whole check: DNS and every probe).
pub fn with_probe_series(mut document: String, success: bool, elapsed: Duration) -> String {
    if document.ends_with("# EOF\n") {
        document.truncate(document.len() - "# EOF\n".len());
    }
    document.push_str(&format!(
        "# TYPE probe_success gauge\n\
         # HELP probe_success Whether the probe succeeded: 1 when dane verify would exit 0 (DANE-verified), else 0.\n\
         probe_success {}\n\
         # TYPE probe_duration_seconds gauge\n\
         # UNIT probe_duration_seconds seconds\n\
         # HELP probe_duration_seconds How long the probe took to complete in seconds.\n\
         probe_duration_seconds {:.6}\n\
         # EOF\n",
        u8::from(success),
        elapsed.as_secs_f64()
    ));
    document
}

/// Escapes control characters (C0, DEL, C1, bidi overrides) in text that may hold what a
/// client sent, before it goes into a response body.
fn sanitize(text: &str) -> String {
    let bad =
        |c: char| c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if bad(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// What a check of one `/probe` target gives back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// The target's metrics as an OpenMetrics document (ending in `# EOF`).
    pub document: String,
    /// Whether the check succeeded (`probe_success`).
    pub success: bool,
    /// How long the whole check took (`probe_duration_seconds`).
    pub elapsed: Duration,
}

/// The check the server runs for `/probe`: supplied by the caller (the CLI wires the DANE
/// engine and its renderer). It must end within its own deadline: the server waits for it
/// (until [`Settings::grace`] when stopping).
pub trait Check: Send + Sync + 'static {
    /// Checks `query`.
    fn check(&self, query: ProbeQuery) -> impl Future<Output = Checked> + Send;

    /// Checks `query` for `GET /report`: a self-contained HTML page
    /// (`dane_render::html::page`), or why one could not be made (answered 500). Under the
    /// same limits as [`Check::check`]; a check without pages says so.
    fn report(&self, query: ProbeQuery) -> impl Future<Output = Result<String, String>> + Send {
        let _ = query;
        async { Err("this server has no HTML reports".to_owned()) }
    }
}

/// Where request log lines go (one line each, without the newline): the caller prints
/// them (libraries never print).
pub type LogSink = Arc<dyn Fn(&str) + Send + Sync>;

/// The server's limits and switches.
#[derive(Clone)]
pub struct Settings {
    /// Most checks running at once; further probe requests get 503.
    pub max_checks: usize,
    /// Most connections open at once.
    pub max_connections: usize,
    /// Most connections open at once from one peer address.
    pub max_connections_per_peer: usize,
    /// Time a client has to send the whole request head.
    pub header_timeout: Duration,
    /// Accept `port` and `starttls` parameters.
    pub allow_ports: bool,
    /// When stopping, how long requests being answered may still take.
    pub grace: Duration,
    /// `--log-requests`: where each request's line goes.
    pub log: Option<LogSink>,
}

/// The server's shared state: the check, the limits and the counters.
pub struct Server<C> {
    check: C,
    settings: Settings,
    admission: Admission,
    checks: Arc<Semaphore>,
    http: http1::Builder,
    requests: Mutex<BTreeMap<u16, u64>>,
    checks_done: AtomicU64,
}

/// What one connection's request was, for the log (filled in as it is answered).
#[derive(Debug, Default)]
struct Seen {
    entry: log::Entry,
    status: Option<StatusCode>,
}

impl<C: Check> Server<C> {
    /// A server running `check` under `settings`.
    pub fn new(check: C, settings: Settings) -> Server<C> {
        Server {
            check,
            admission: Admission::new(settings.max_connections, settings.max_connections_per_peer),
            checks: Arc::new(Semaphore::new(settings.max_checks)),
            settings,
            http: http1_settings(),
            requests: Mutex::new(BTreeMap::new()),
            checks_done: AtomicU64::new(0),
        }
    }

    fn count(&self, status: StatusCode) {
        let mut m = self.requests.lock().unwrap_or_else(PoisonError::into_inner);
        *m.entry(status.as_u16()).or_default() += 1;
    }

    fn own_metrics(&self, format: Format) -> Reply {
        let mut body = String::from(
            "# TYPE dane_exporter_requests counter\n# HELP dane_exporter_requests HTTP requests answered, by status.\n",
        );
        let m = self.requests.lock().unwrap_or_else(PoisonError::into_inner);
        for (status, n) in m.iter() {
            body.push_str(&format!(
                "dane_exporter_requests_total{{code=\"{status}\"}} {n}\n"
            ));
        }
        drop(m);
        let c = self.admission.counts();
        body.push_str(&format!(
            "# TYPE dane_exporter_checks counter\n# HELP dane_exporter_checks Checks run.\ndane_exporter_checks_total {}\n# TYPE dane_exporter_checks_in_flight gauge\n# HELP dane_exporter_checks_in_flight Checks running now.\ndane_exporter_checks_in_flight {}\n",
            self.checks_done.load(Ordering::Relaxed),
            self.settings
                .max_checks
                .saturating_sub(self.checks.available_permits()),
        ));
        body.push_str(&format!(
            "# TYPE dane_exporter_connections gauge\n# HELP dane_exporter_connections Connections open now.\ndane_exporter_connections {}\n# TYPE dane_exporter_connections_refused counter\n# HELP dane_exporter_connections_refused Connections closed unanswered over a connection cap, by cap.\ndane_exporter_connections_refused_total{{reason=\"{}\"}} {}\ndane_exporter_connections_refused_total{{reason=\"{}\"}} {}\n# EOF\n",
            c.open,
            Refusal::Global.reason(),
            c.refused_global,
            Refusal::PerPeer.reason(),
            c.refused_per_peer,
        ));
        Reply {
            status: StatusCode::OK,
            content_type: format.content_type(),
            body: format.render(&body),
            negotiated: true,
        }
    }

    /// Runs one `/probe` check.
    async fn probe(&self, query: ProbeQuery, format: Format) -> Reply {
        let Ok(_permit) = self.checks.clone().try_acquire_owned() else {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "too many checks running; try again later",
            );
        };
        let checked = self.check.check(query).await;
        self.checks_done.fetch_add(1, Ordering::Relaxed);
        let document = with_probe_series(checked.document, checked.success, checked.elapsed);
        Reply {
            status: StatusCode::OK,
            content_type: format.content_type(),
            body: format.render(&document),
            negotiated: true,
        }
    }

    /// Runs one `/report` check: the HTML page, under the `/probe` limits.
    async fn report(&self, query: ProbeQuery) -> Reply {
        let Ok(_permit) = self.checks.clone().try_acquire_owned() else {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "too many checks running; try again later",
            );
        };
        let page = self.check.report(query).await;
        self.checks_done.fetch_add(1, Ordering::Relaxed);
        match page {
            Ok(body) => Reply {
                status: StatusCode::OK,
                content_type: "text/html; charset=utf-8",
                body,
                negotiated: false,
            },
            Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e),
        }
    }

    /// Answers a request whose head hyper has parsed, noting what it was in `seen`.
    async fn answer(&self, request: &hyper::Request<Incoming>, seen: &Mutex<Seen>) -> Reply {
        let note = |f: &dyn Fn(&mut log::Entry)| {
            f(&mut seen.lock().unwrap_or_else(PoisonError::into_inner).entry);
        };
        note(&|e| {
            e.method = Some(request.method().as_str().to_owned());
            e.path = Some(request.uri().path().to_owned());
        });
        if let Err(refused) = check_head(request.method(), request.version(), request.headers()) {
            return refused;
        }
        let target = match parse_request_target(&request.uri().to_string()) {
            Ok(t) => t,
            Err(e) => return error(StatusCode::BAD_REQUEST, &e),
        };
        let accept: Vec<&str> = request
            .headers()
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        let format =
            exposition::negotiate((!accept.is_empty()).then(|| accept.join(",")).as_deref());
        match target.path.as_str() {
            "/probe" | "/report" => {
                let param = |names: &[&str]| {
                    target
                        .params
                        .iter()
                        .find(|(k, _)| names.contains(&k.as_str()))
                        .map(|(_, v)| v.clone())
                };
                note(&|e| {
                    e.target = param(&["target"]);
                    e.module = param(&["module", "service"]);
                });
                match probe_query(&target.params, self.settings.allow_ports) {
                    Ok(q) => {
                        let module = q.service.name.to_owned();
                        note(&|e| e.module = Some(module.clone()));
                        if target.path == "/report" {
                            self.report(q).await
                        } else {
                            self.probe(q, format).await
                        }
                    }
                    Err(e) => error(StatusCode::BAD_REQUEST, &e),
                }
            }
            "/metrics" if target.params.is_empty() => self.own_metrics(format),
            "/" if target.params.is_empty() => {
                let modules: Vec<&str> = dane_check::service::SERVICES
                    .iter()
                    .map(|s| s.name)
                    .collect();
                Reply {
                    status: StatusCode::OK,
                    content_type: "text/html; charset=utf-8",
                    body: dane_render::html::form(&modules),
                    negotiated: false,
                }
            }
            "/metrics" | "/" => error(StatusCode::BAD_REQUEST, "no parameters here"),
            _ => error(
                StatusCode::NOT_FOUND,
                "not found (GET /probe?target=DOMAIN, /report?target=DOMAIN or /metrics)",
            ),
        }
    }
}

/// Watches the request line (RFC 9112 3: method SP request-target SP HTTP-version CRLF) go
/// by, before hyper parses it: hyper caps only the whole head (answering an over-long line
/// with 431) and answers an unknown version with 400; this gives 414 and 505, which say
/// what is wrong.
#[derive(Debug, Default)]
struct LineGuard {
    /// The request line so far (at most `MAX_REQUEST_LINE` + 1 bytes, with its CR).
    line: Vec<u8>,
    done: bool,
}

impl LineGuard {
    /// Takes the next bytes read; `Err` is the status to refuse the request with.
    fn feed(&mut self, bytes: &[u8]) -> Result<(), StatusCode> {
        if self.done {
            return Ok(());
        }
        for &b in bytes {
            // RFC 9112 2.2: empty lines before the request line are ignored (as hyper does).
            if self.line.is_empty() && (b == b'\r' || b == b'\n') {
                continue;
            }
            if b == b'\n' {
                self.done = true;
                return check_version(&self.line);
            }
            if self.line.len() > MAX_REQUEST_LINE {
                return Err(StatusCode::URI_TOO_LONG);
            }
            self.line.push(b);
        }
        Ok(())
    }
}

/// 505 for an HTTP version other than 1.0 and 1.1 (RFC 9110 15.6.6); anything else
/// malformed in the line is hyper's to refuse (400).
fn check_version(line: &[u8]) -> Result<(), StatusCode> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    match line.rsplit(|&b| b == b' ').next() {
        Some(v) if v.starts_with(b"HTTP/") && v != b"HTTP/1.1" && v != b"HTTP/1.0" => {
            Err(StatusCode::HTTP_VERSION_NOT_SUPPORTED)
        }
        _ => Ok(()),
    }
}

/// The socket as hyper sees it: reads pass through the [`LineGuard`]. The socket is
/// borrowed, so that once hyper is stopped the connection can still be answered.
struct Transport<'a> {
    read: ReadHalf<'a>,
    write: WriteHalf<'a>,
    guard: LineGuard,
    /// Set when the guard refuses the request line.
    refused: &'a std::sync::OnceLock<StatusCode>,
}

impl AsyncRead for Transport<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.read).poll_read(cx, buf))?;
        if let Err(status) = this
            .guard
            .feed(buf.filled().get(before..).unwrap_or_default())
        {
            let _ = this.refused.set(status);
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "request line refused",
            )));
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Transport<'_> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.write).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.write).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.write.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.write).poll_flush(cx)
    }

    /// A no-op: `connection` shuts the socket down once hyper is done, after writing a
    /// refusal of its own if there is one.
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Where a connection is: waiting for its head, being answered, writing the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Head,
    Answering,
    Writing,
}

/// How hyper's part of a connection ended.
enum Outcome {
    /// hyper finished (its error, if any: it has answered parse errors itself).
    Ended(Result<(), hyper::Error>),
    /// The head did not arrive within the header timeout.
    HeadTimeout,
    /// The server is stopping and the head had not arrived.
    Stopping,
    /// The answer was not written within [`WRITE_TIMEOUT`].
    WriteTimeout,
}

/// hyper's settings for every connection: HTTP/1 only, one request, the head limits.
fn http1_settings() -> http1::Builder {
    let mut b = http1::Builder::new();
    b.keep_alive(false)
        .half_close(false)
        .title_case_headers(true)
        .max_headers(MAX_HEADERS)
        .max_header_size(MAX_HEAD)
        .max_buf_size(2 * MAX_HEAD)
        // Ours (in `connection`) answers 408; hyper's would close without a word.
        .header_read_timeout(None);
    b
}

/// Serves one connection and logs it (with `--log-requests`).
async fn connection<C: Check>(
    stream: TcpStream,
    peer: SocketAddr,
    server: Arc<Server<C>>,
    stopping: watch::Receiver<bool>,
) {
    let started = Instant::now();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let status = exchange(stream, server.clone(), seen.clone(), stopping).await;
    if let (Some(sink), Some(status)) = (&server.settings.log, status) {
        let seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
        sink(&log::line(
            SystemTime::now(),
            peer,
            &seen.entry,
            status.as_u16(),
            started.elapsed(),
        ));
    }
}

/// Reads the request, answers it, and returns the status answered (`None`: the
/// connection closed before a request, or the answer could not be written).
async fn exchange<C: Check>(
    mut stream: TcpStream,
    server: Arc<Server<C>>,
    seen: Arc<Mutex<Seen>>,
    stopping: watch::Receiver<bool>,
) -> Option<StatusCode> {
    let refused = std::sync::OnceLock::new();
    let outcome = drive(&mut stream, &server, &seen, stopping, &refused).await;
    let answered = seen.lock().unwrap_or_else(PoisonError::into_inner).status;
    let (refusal, status) = match closing(outcome, refused.get().copied()) {
        Closing::Drop => return None,
        Closing::Refuse(reply) => {
            server.count(reply.status);
            let status = Some(reply.status);
            (Some(reply), status)
        }
        Closing::HyperRefused(status) => {
            if let Some(s) = status {
                server.count(s);
            }
            (None, status.or(answered))
        }
        Closing::Answered => (None, answered),
    };
    finish(&mut stream, refusal.as_ref())
        .await
        .then_some(status)
        .flatten()
}

/// hyper parses and answers the connection, under our deadlines.
async fn drive<C: Check>(
    stream: &mut TcpStream,
    server: &Arc<Server<C>>,
    seen: &Arc<Mutex<Seen>>,
    mut stopping: watch::Receiver<bool>,
    refused: &std::sync::OnceLock<StatusCode>,
) -> Outcome {
    let (read, write) = stream.split();
    let io = TokioIo::new(Transport {
        read,
        write,
        guard: LineGuard::default(),
        refused,
    });
    let (phase_tx, mut phase) = watch::channel(Phase::Head);
    let phase_tx = Arc::new(phase_tx);
    let (service_server, service_seen) = (server.clone(), seen.clone());
    let service = hyper::service::service_fn(move |request| {
        let (server, phase, seen) = (
            service_server.clone(),
            phase_tx.clone(),
            service_seen.clone(),
        );
        async move {
            phase.send_replace(Phase::Answering);
            let reply = server.answer(&request, &seen).await;
            server.count(reply.status);
            seen.lock().unwrap_or_else(PoisonError::into_inner).status = Some(reply.status);
            phase.send_replace(Phase::Writing);
            Ok::<_, Infallible>(reply.into_response())
        }
    });
    let conn = server.http.serve_connection(io, service);
    tokio::pin!(conn);
    // The whole head within the header timeout (slowloris), unless stopping.
    tokio::select! {
        r = conn.as_mut() => return Outcome::Ended(r),
        _ = phase.wait_for(|p| *p != Phase::Head) => {}
        _ = stopping.wait_for(|s| *s) => return Outcome::Stopping,
        () = tokio::time::sleep(server.settings.header_timeout) => return Outcome::HeadTimeout,
    }
    // The check is bounded by its deadline; then the answer is written in time.
    tokio::select! {
        r = conn.as_mut() => return Outcome::Ended(r),
        _ = phase.wait_for(|p| *p == Phase::Writing) => {}
    }
    match tokio::time::timeout(WRITE_TIMEOUT, conn.as_mut()).await {
        Ok(r) => Outcome::Ended(r),
        Err(_) => Outcome::WriteTimeout,
    }
}

/// How a connection ends after hyper's part.
enum Closing {
    /// With a refusal of ours (hyper was stopped before answering).
    Refuse(Reply),
    /// hyper refused a malformed head itself, with this status when known.
    HyperRefused(Option<StatusCode>),
    /// hyper wrote our answer.
    Answered,
    /// Closed without a word (a client that does not read its answer).
    Drop,
}

/// The ending for an outcome; `refused`: what the [`LineGuard`] refused, if anything.
fn closing(outcome: Outcome, refused: Option<StatusCode>) -> Closing {
    match (outcome, refused) {
        (Outcome::HeadTimeout, _) => Closing::Refuse(error(
            StatusCode::REQUEST_TIMEOUT,
            "the request head did not arrive in time",
        )),
        (Outcome::Stopping, _) => Closing::Refuse(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the exporter is shutting down",
        )),
        (Outcome::Ended(_), Some(StatusCode::URI_TOO_LONG)) => {
            Closing::Refuse(error(StatusCode::URI_TOO_LONG, "request line too long"))
        }
        (Outcome::Ended(_), Some(_)) => Closing::Refuse(error(
            StatusCode::HTTP_VERSION_NOT_SUPPORTED,
            "only HTTP/1.1 and HTTP/1.0",
        )),
        // hyper answered a malformed head itself (RFC 9112 and its limits).
        (Outcome::Ended(Err(e)), None) => Closing::HyperRefused(if e.is_parse_too_large() {
            Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        } else if e.is_parse() {
            Some(StatusCode::BAD_REQUEST)
        } else {
            None
        }),
        (Outcome::Ended(Ok(())), None) => Closing::Answered,
        (Outcome::WriteTimeout, _) => Closing::Drop,
    }
}

/// Writes our own refusal (if any), shuts the socket down and lingers; whether that
/// went through.
async fn finish(stream: &mut TcpStream, refusal: Option<&Reply>) -> bool {
    let write = async {
        if let Some(reply) = refusal {
            stream.write_all(&reply.to_wire()).await?;
        }
        stream.shutdown().await
    };
    let written = matches!(tokio::time::timeout(WRITE_TIMEOUT, write).await, Ok(Ok(())));
    if written {
        linger(stream).await;
    }
    written
}

/// Reads and discards what the client still sends, until it closes, for at most
/// [`LINGER`] and [`LINGER_BYTES`] (see there).
async fn linger(stream: &mut TcpStream) {
    let drain = async {
        let mut chunk = [0u8; 4096];
        let mut total = 0;
        while total < LINGER_BYTES {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => total += n,
            }
        }
    };
    let _ = tokio::time::timeout(LINGER, drain).await;
}

/// How a [`serve`] run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped {
    /// Connections that had not finished within [`Settings::grace`] (then dropped).
    pub abandoned: usize,
}

/// Accepts connections until `stop` completes, then stops as the module docs say.
pub async fn serve<C: Check>(
    listener: TcpListener,
    server: Arc<Server<C>>,
    stop: impl Future<Output = ()>,
) -> Stopped {
    let (stopping_tx, stopping) = watch::channel(false);
    let mut tasks = JoinSet::new();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(_) => {
                        // Out of file descriptors and the like: pause instead of spinning.
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let Ok(ticket) = server.admission.admit(peer.ip()) else {
                    drop(stream); // over a connection cap: closed at once
                    continue;
                };
                let (server, stopping) = (server.clone(), stopping.clone());
                tasks.spawn(async move {
                    connection(stream, peer, server, stopping).await;
                    drop(ticket);
                });
            }
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    drop(listener);
    stopping_tx.send_replace(true);
    let drain = async { while tasks.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(server.settings.grace, drain).await;
    let abandoned = tasks.len();
    tasks.abort_all();
    Stopped { abandoned }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(chunks: &[&[u8]]) -> Result<(), StatusCode> {
        let mut guard = LineGuard::default();
        for chunk in chunks {
            guard.feed(chunk)?;
        }
        Ok(())
    }

    #[test]
    fn request_line_guard() {
        assert_eq!(feed(&[b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"]), Ok(()));
        assert_eq!(feed(&[b"GET /metrics HTTP/1.0\r\n"]), Ok(()));
        assert_eq!(feed(&[b"\r\nGET / HTTP/1.1\r\n"]), Ok(()));
        assert_eq!(feed(&[b"GET /me", b"trics HTTP/1.1\r", b"\n"]), Ok(()));
        // Malformed but not a version problem: hyper's to refuse.
        assert_eq!(feed(&[b"GET  /metrics HTTP/1.1\r\n"]), Ok(()));
        assert_eq!(feed(&[b"garbage\r\n"]), Ok(()));
        let v505 = Err(StatusCode::HTTP_VERSION_NOT_SUPPORTED);
        assert_eq!(feed(&[b"GET /metrics HTTP/2.0\r\n"]), v505);
        assert_eq!(feed(&[b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"]), v505);
        assert_eq!(feed(&[b"GET / HTTP/0.9\n"]), v505);
        // The line limit counts the line, not what follows it, and holds across reads.
        let at_limit = format!("GET /{} HTTP/1.1", "a".repeat(MAX_REQUEST_LINE - 14));
        assert_eq!(at_limit.len(), MAX_REQUEST_LINE);
        assert_eq!(feed(&[at_limit.as_bytes(), b"\r\n", &[b'h'; 9000]]), Ok(()));
        let over = format!("GET /{} HTTP/1.1\r\n", "a".repeat(MAX_REQUEST_LINE - 13));
        assert_eq!(feed(&[over.as_bytes()]), Err(StatusCode::URI_TOO_LONG));
        let chunks: Vec<&[u8]> = std::iter::repeat_n(&b"aaaa"[..], 600).collect();
        assert_eq!(feed(&chunks), Err(StatusCode::URI_TOO_LONG));
    }

    #[test]
    fn untrusted_text_is_escaped() {
        assert_eq!(sanitize("a\x1b[2Jb\u{202e}"), "a\\u{1b}[2Jb\\u{202e}");
    }

    #[test]
    fn head_checks() {
        let mut h = HeaderMap::new();
        assert_eq!(
            check_head(&Method::GET, Version::HTTP_11, &h)
                .unwrap_err()
                .status,
            StatusCode::BAD_REQUEST
        );
        assert!(check_head(&Method::GET, Version::HTTP_10, &h).is_ok());
        h.insert(header::HOST, HeaderValue::from_static("x"));
        assert!(check_head(&Method::GET, Version::HTTP_11, &h).is_ok());
        for (method, status) in [
            (Method::HEAD, StatusCode::METHOD_NOT_ALLOWED),
            (Method::POST, StatusCode::METHOD_NOT_ALLOWED),
            (Method::CONNECT, StatusCode::METHOD_NOT_ALLOWED),
        ] {
            assert_eq!(
                check_head(&method, Version::HTTP_11, &h)
                    .unwrap_err()
                    .status,
                status
            );
        }
        h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
        assert!(check_head(&Method::GET, Version::HTTP_11, &h).is_ok());
        h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("1"));
        assert_eq!(
            check_head(&Method::GET, Version::HTTP_11, &h)
                .unwrap_err()
                .status,
            StatusCode::PAYLOAD_TOO_LARGE
        );
    }

    #[test]
    fn probe_series_go_before_eof() {
        let doc = with_probe_series(
            "# TYPE a gauge\na 1\n# EOF\n".to_owned(),
            true,
            Duration::from_millis(1500),
        );
        assert!(
            doc.starts_with("# TYPE a gauge\na 1\n# TYPE probe_success gauge\n"),
            "{doc}"
        );
        assert!(doc.contains("\nprobe_success 1\n"), "{doc}");
        assert!(
            doc.ends_with("\nprobe_duration_seconds 1.500000\n# EOF\n"),
            "{doc}"
        );
        assert_eq!(doc.matches("# EOF").count(), 1);
        let failed = with_probe_series("# EOF\n".to_owned(), false, Duration::ZERO);
        assert!(failed.contains("\nprobe_success 0\n"), "{failed}");
    }
}
