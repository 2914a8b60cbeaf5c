//! `dane serve-metrics --listen ADDR`: a blackbox-exporter drop-in over HTTP/1.1.
//! `GET /probe?target=DOMAIN[&module=SERVICE]` checks DOMAIN as `dane verify` does and
//! answers with its metrics (those of `dane verify --format openmetrics`) and the blackbox
//! exporter's `probe_success` and `probe_duration_seconds`; `GET /metrics` gives the
//! exporter's own counters. Both are OpenMetrics when the `Accept` header asks for it, else
//! the Prometheus text format 0.0.4 ([`crate::exposition`]).
//!
//! HTTP is hyper's (HTTP/1 only), held to a strict subset: one request per connection
//! (`Connection: close`), GET only, no request body, origin-form targets only, no
//! redirects. Bounded everywhere: the request head (8 KiB and 32 fields, hyper's limits;
//! the request line 2 KiB, checked as it arrives) must arrive whole within
//! `--header-timeout` (slowloris), responses are written within a timeout, open
//! connections and checks running at once are capped (beyond that: closed, 503). Only the
//! documented parameters are accepted, only the services of the `dane verify` table, and
//! no port of the caller's choosing unless `--allow-ports` is given.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context as TaskContext, Poll, ready};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Args as ClapArgs;
use dane_check::live::{LiveDns, LiveProber};
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

use crate::checkopts::CheckOpts;
use crate::exposition::{self, Format};
use crate::scan::PerAddress;
use crate::{Context, Exit, clock, term};

/// `dane serve-metrics`
#[derive(Debug, ClapArgs)]
#[command(after_help = "\
Endpoints:
  GET /probe?target=DOMAIN[&module=MODULE]      metrics for DOMAIN (default module smtp;
                                                `service` is a synonym of `module`)
  GET /probe?target=HOST&port=N&starttls=PROTO  with --allow-ports only
  GET /metrics                                  the exporter's own counters

Modules (the services of dane verify): smtp, submission, smtps, imap, imaps, pop3, pop3s,
xmpp-client, xmpp-server, https. probe_success is 1 when dane verify would exit 0 with the
same flags, else 0. Answers are OpenMetrics when the Accept header asks for it (Prometheus
does), else the Prometheus text format 0.0.4.

Prometheus scrape config (as for the blackbox exporter):
  - job_name: dane
    metrics_path: /probe
    params: { module: [smtp] }
    static_configs: [{ targets: [example.com, example.net] }]
    relabel_configs:
      - { source_labels: [__address__], target_label: __param_target }
      - { source_labels: [__param_target], target_label: instance }
      - { target_label: __address__, replacement: 127.0.0.1:9553 }")]
pub struct Args {
    /// Address to listen on (e.g. 127.0.0.1:9553).
    #[arg(long, value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Most checks running at once; further probe requests get 503.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub max_checks: usize,
    /// Most connections open at once; further connections are closed at once.
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub max_connections: usize,
    /// Seconds a client has to send the whole request head.
    #[arg(long, value_name = "SECS", default_value_t = 5)]
    pub header_timeout: u64,
    /// Seconds a check may take before it is reported indeterminate.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub deadline: u64,
    /// Accept `port` and `starttls` parameters (any port on any host the caller names).
    #[arg(long)]
    pub allow_ports: bool,
    /// Most connections at once to one destination address, over all checks.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub per_address: usize,
    /// The flags shared with `dane verify`.
    #[command(flatten)]
    pub check: CheckOpts,
}

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

/// The server's shared state.
pub struct State {
    dns_resolver: Arc<dane_resolver::Resolver>,
    prober: dane_probe::Prober,
    /// The per-address connection limit, shared by every check.
    limiter: PerAddress<()>,
    check: CheckOpts,
    /// A fixed evaluation time (`--at`), else the clock at each request.
    at: Option<rustls_pki_types::UnixTime>,
    checks: Arc<Semaphore>,
    max_checks: usize,
    connections: Arc<Semaphore>,
    header_timeout: Duration,
    deadline: Duration,
    allow_ports: bool,
    http: http1::Builder,
    requests: std::sync::Mutex<BTreeMap<u16, u64>>,
    checks_done: AtomicU64,
}

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
        body: format!("{}\n", term::sanitize(message)),
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

impl State {
    fn count(&self, status: StatusCode) {
        let mut m = self
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *m.entry(status.as_u16()).or_default() += 1;
    }

    fn own_metrics(&self, format: Format) -> Reply {
        let mut body = String::from(
            "# TYPE dane_exporter_requests counter\n# HELP dane_exporter_requests HTTP requests answered, by status.\n",
        );
        let m = self
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (status, n) in m.iter() {
            body.push_str(&format!(
                "dane_exporter_requests_total{{code=\"{status}\"}} {n}\n"
            ));
        }
        drop(m);
        body.push_str(&format!(
            "# TYPE dane_exporter_checks counter\n# HELP dane_exporter_checks Checks run.\ndane_exporter_checks_total {}\n# TYPE dane_exporter_checks_in_flight gauge\n# HELP dane_exporter_checks_in_flight Checks running now.\ndane_exporter_checks_in_flight {}\n# EOF\n",
            self.checks_done.load(Ordering::Relaxed),
            self.max_checks.saturating_sub(self.checks.available_permits()),
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
        let now = self.at.unwrap_or_else(clock::read_system_clock);
        let dns = Arc::new(LiveDns::new(self.dns_resolver.clone(), now));
        let prober = Arc::new(
            self.limiter
                .with_inner(LiveProber::new(self.prober.clone(), now)),
        );
        let options = self.check.options(now);
        let started = Instant::now();
        let check =
            dane_check::engine::verify(dns, prober, &query.domain, &query.service, &options);
        let report = match tokio::time::timeout(self.deadline, check).await {
            Ok(r) => r,
            Err(_) => crate::scan::deadline_report(&query.domain, &query.service, self.deadline),
        };
        let elapsed = started.elapsed();
        self.checks_done.fetch_add(1, Ordering::Relaxed);
        let success = crate::verify::exit_for(&report, self.check.require_dane, self.check.strict)
            == Exit::Ok;
        let document = crate::openmetrics::render(&report, elapsed);
        Reply {
            status: StatusCode::OK,
            content_type: format.content_type(),
            body: format.render(&with_probe_series(document, success, elapsed)),
            negotiated: true,
        }
    }

    /// Answers a request whose head hyper has parsed.
    async fn answer(&self, request: &hyper::Request<Incoming>) -> Reply {
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
            "/probe" => match probe_query(&target.params, self.allow_ports) {
                Ok(q) => self.probe(q, format).await,
                Err(e) => error(StatusCode::BAD_REQUEST, &e),
            },
            "/metrics" if target.params.is_empty() => self.own_metrics(format),
            "/" if target.params.is_empty() => error(
                StatusCode::OK,
                "dane serve-metrics: GET /probe?target=DOMAIN[&module=SERVICE], GET /metrics",
            ),
            "/metrics" | "/" => error(StatusCode::BAD_REQUEST, "no parameters here"),
            _ => error(
                StatusCode::NOT_FOUND,
                "not found (GET /probe?target=DOMAIN or /metrics)",
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
    /// The head did not arrive within `--header-timeout`.
    HeadTimeout,
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

/// Serves one connection: hyper parses and answers, under our deadlines.
async fn connection(mut stream: TcpStream, state: Arc<State>) {
    let refused = std::sync::OnceLock::new();
    let outcome = {
        let (read, write) = stream.split();
        let io = TokioIo::new(Transport {
            read,
            write,
            guard: LineGuard::default(),
            refused: &refused,
        });
        let (phase_tx, mut phase) = watch::channel(Phase::Head);
        let phase_tx = Arc::new(phase_tx);
        let service_state = state.clone();
        let service = hyper::service::service_fn(move |request| {
            let (state, phase) = (service_state.clone(), phase_tx.clone());
            async move {
                phase.send_replace(Phase::Answering);
                let reply = state.answer(&request).await;
                state.count(reply.status);
                phase.send_replace(Phase::Writing);
                Ok::<_, Infallible>(reply.into_response())
            }
        });
        let conn = state.http.serve_connection(io, service);
        tokio::pin!(conn);
        async {
            // The whole head within --header-timeout (slowloris).
            tokio::select! {
                r = conn.as_mut() => return Outcome::Ended(r),
                _ = phase.wait_for(|p| *p != Phase::Head) => {}
                () = tokio::time::sleep(state.header_timeout) => return Outcome::HeadTimeout,
            }
            // The check is bounded by --deadline; then the answer is written in time.
            tokio::select! {
                r = conn.as_mut() => return Outcome::Ended(r),
                _ = phase.wait_for(|p| *p == Phase::Writing) => {}
            }
            match tokio::time::timeout(WRITE_TIMEOUT, conn.as_mut()).await {
                Ok(r) => Outcome::Ended(r),
                Err(_) => Outcome::WriteTimeout,
            }
        }
        .await
    };
    let refusal = match outcome {
        Outcome::HeadTimeout => Some(error(
            StatusCode::REQUEST_TIMEOUT,
            "the request head did not arrive in time",
        )),
        Outcome::Ended(_) if refused.get() == Some(&StatusCode::URI_TOO_LONG) => {
            Some(error(StatusCode::URI_TOO_LONG, "request line too long"))
        }
        Outcome::Ended(_) if refused.get().is_some() => Some(error(
            StatusCode::HTTP_VERSION_NOT_SUPPORTED,
            "only HTTP/1.1 and HTTP/1.0",
        )),
        Outcome::Ended(Err(e)) => {
            // hyper answered a malformed head itself (RFC 9112 and its limits).
            if e.is_parse_too_large() {
                state.count(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
            } else if e.is_parse() {
                state.count(StatusCode::BAD_REQUEST);
            }
            None
        }
        Outcome::Ended(Ok(())) => None,
        Outcome::WriteTimeout => return, // a client that does not read is dropped
    };
    if let Some(reply) = &refusal {
        state.count(reply.status);
    }
    let write = async {
        if let Some(reply) = &refusal {
            stream.write_all(&reply.to_wire()).await?;
        }
        stream.shutdown().await
    };
    if matches!(tokio::time::timeout(WRITE_TIMEOUT, write).await, Ok(Ok(()))) {
        linger(&mut stream).await;
    }
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

/// Accepts connections until the listener fails.
pub async fn serve(listener: TcpListener, state: Arc<State>) {
    loop {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                // Out of file descriptors and the like: pause instead of spinning.
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = state.connections.clone().try_acquire_owned() else {
            drop(stream); // over --max-connections: closed at once
            continue;
        };
        let state = state.clone();
        tokio::spawn(async move {
            connection(stream, state).await;
            drop(permit);
        });
    }
}

/// Runs `dane serve-metrics` (until killed).
pub fn run(args: &Args, ctx: &Context) -> anyhow::Result<Exit> {
    args.check.validate()?;
    for (flag, n, max) in [
        ("--max-checks", args.max_checks, 1024),
        ("--max-connections", args.max_connections, 65_536),
        ("--per-address", args.per_address, 1024),
    ] {
        if n == 0 || n > max {
            bail!("{flag} {n}: must be 1 to {max}");
        }
    }
    if args.header_timeout == 0 || args.header_timeout > 300 {
        bail!(
            "--header-timeout {}: must be 1 to 300 seconds",
            args.header_timeout
        );
    }
    if args.deadline == 0 || args.deadline > 3600 {
        bail!("--deadline {}: must be 1 to 3600 seconds", args.deadline);
    }
    let at = match &args.check.net.at {
        Some(_) => Some(ctx.now(args.check.net.at.as_deref())?),
        None => None,
    };
    let state = Arc::new(State {
        dns_resolver: Arc::new(args.check.resolver()?),
        prober: args.check.prober(),
        limiter: PerAddress::new((), args.per_address),
        check: args.check.clone(),
        at,
        checks: Arc::new(Semaphore::new(args.max_checks)),
        max_checks: args.max_checks,
        connections: Arc::new(Semaphore::new(args.max_connections)),
        header_timeout: Duration::from_secs(args.header_timeout),
        deadline: Duration::from_secs(args.deadline),
        allow_ports: args.allow_ports,
        http: http1_settings(),
        requests: std::sync::Mutex::new(BTreeMap::new()),
        checks_done: AtomicU64::new(0),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let listener = TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("--listen {}", args.listen))?;
        let local = listener.local_addr().context("--listen")?;
        eprintln!("dane serve-metrics: listening on {local}");
        serve(listener, state).await;
        Ok::<(), anyhow::Error>(())
    })?;
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dane_check::service;

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

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn probe_parameters() {
        for (pairs, allow, expected) in [
            (
                &[("target", "example.com")][..],
                false,
                Ok(("example.com", "smtp")),
            ),
            (
                &[("target", "example.com"), ("module", "https")],
                false,
                Ok(("example.com", "https")),
            ),
            (
                &[("service", "imaps"), ("target", "Example.COM.")],
                false,
                Ok(("example.com", "imaps")),
            ),
            (
                &[
                    ("target", "x.example"),
                    ("port", "8443"),
                    ("starttls", "none"),
                ],
                true,
                Ok(("x.example", "custom")),
            ),
            (
                &[("target", "x.example"), ("module", "http_2xx")],
                false,
                Err("unknown module \"http_2xx\" (one of smtp,"),
            ),
            (
                &[("target", "x.example"), ("service", "gopher")],
                false,
                Err("unknown service \"gopher\""),
            ),
            (
                &[("target", "x"), ("module", "smtp"), ("service", "smtp")],
                false,
                Err("not both"),
            ),
            (
                &[("target", "x"), ("module", "smtp"), ("port", "25")],
                true,
                Err("give module or port"),
            ),
            (
                &[("target", "x"), ("port", "25")],
                false,
                Err("needs --allow-ports"),
            ),
            (
                &[("target", "x"), ("debug", "true")],
                false,
                Err("unknown parameter \"debug\" (target, module)"),
            ),
            (
                &[("module", "smtp")],
                false,
                Err("missing parameter \"target\""),
            ),
        ] {
            let got = probe_query(&params(pairs), allow);
            match expected {
                Ok((domain, service)) => {
                    let q = got.unwrap_or_else(|e| panic!("{pairs:?}: {e}"));
                    assert_eq!((q.domain.as_str(), q.service.name), (domain, service));
                }
                Err(says) => {
                    let e = got.expect_err("refused");
                    assert!(e.contains(says), "{pairs:?}: {e}");
                }
            }
        }
    }

    /// The modules the help text lists are the services of the table, in its order.
    #[test]
    fn help_lists_every_module() {
        let mut cli = <crate::Cli as clap::CommandFactory>::command();
        let help = cli
            .find_subcommand_mut("serve-metrics")
            .expect("the subcommand")
            .render_long_help()
            .to_string();
        let names: Vec<&str> = service::SERVICES.iter().map(|s| s.name).collect();
        assert!(
            help.replace('\n', " ").contains(&names.join(", ")),
            "{help}"
        );
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
