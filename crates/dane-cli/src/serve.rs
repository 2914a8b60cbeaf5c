//! `dane serve-metrics --listen ADDR`: a blackbox-exporter style HTTP endpoint.
//! `GET /probe?target=DOMAIN[&service=S]` checks DOMAIN as `dane verify` does and answers
//! with the OpenMetrics rendering (`dane verify --format openmetrics`); `GET /metrics`
//! gives the exporter's own counters.
//!
//! A deliberately small and strict HTTP/1.1 server: one request per connection
//! (`Connection: close`), GET only, no request body, no redirects. Bounded everywhere: the
//! request head (size, line length, header count) must arrive whole within
//! `--header-timeout` (slowloris), responses are written within a timeout, open
//! connections and checks running at once are capped (beyond that: 503). Only the
//! documented parameters are accepted, only the services of the `dane verify` table, and
//! no port of the caller's choosing unless `--allow-ports` is given.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Args as ClapArgs;
use dane_check::live::{LiveDns, LiveProber};
use dane_check::query::{ProbeQuery, RequestTarget, parse_request_target, probe_query};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use crate::checkopts::CheckOpts;
use crate::scan::PerAddress;
use crate::{Context, Exit, clock, term};

/// `dane serve-metrics`
#[derive(Debug, ClapArgs)]
#[command(after_help = "\
Endpoints:
  GET /probe?target=DOMAIN[&service=SERVICE]   OpenMetrics for DOMAIN (default service smtp)
  GET /probe?target=HOST&port=N&starttls=PROTO  with --allow-ports only
  GET /metrics                                  the exporter's own counters

Prometheus scrape config (blackbox-exporter style):
  - job_name: dane
    metrics_path: /probe
    params: { service: [smtp] }
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

/// The longest request head accepted (request line and headers).
const MAX_HEAD: usize = 8192;
/// The longest request line accepted.
const MAX_REQUEST_LINE: usize = 2048;
/// Most header fields accepted.
const MAX_HEADERS: usize = 32;
/// Seconds to write a response.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

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
    requests: std::sync::Mutex<BTreeMap<u16, u64>>,
    checks_done: AtomicU64,
}

/// A response: status, content type, body.
#[derive(Debug, PartialEq, Eq)]
pub struct Response {
    status: u16,
    content_type: &'static str,
    body: String,
}

fn error(status: u16, message: &str) -> Response {
    Response {
        status,
        content_type: "text/plain; charset=utf-8",
        body: format!("{}\n", term::sanitize(message)),
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        414 => "URI Too Long",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Error",
    }
}

/// Parses the request head (without the final empty line). `Err` is the response to send.
pub fn parse_head(head: &str) -> Result<RequestTarget, Response> {
    let mut lines = head.split("\r\n");
    let line = lines.next().unwrap_or("");
    if line.len() > MAX_REQUEST_LINE {
        return Err(error(414, "request line too long"));
    }
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(error(400, "malformed request line"));
    };
    if !matches!(version, "HTTP/1.1" | "HTTP/1.0") {
        return Err(error(505, "only HTTP/1.1 and HTTP/1.0"));
    }
    let mut headers = 0;
    let mut host = false;
    for field in lines {
        headers += 1;
        if headers > MAX_HEADERS {
            return Err(error(431, "too many header fields"));
        }
        // RFC 9112 5.2: obsolete line folding is rejected.
        if field.starts_with([' ', '\t']) {
            return Err(error(400, "obsolete line folding"));
        }
        let Some((name, value)) = field.split_once(':') else {
            return Err(error(400, "malformed header field"));
        };
        let token = |c: u8| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c);
        if name.is_empty() || !name.bytes().all(token) {
            return Err(error(400, "malformed header field name"));
        }
        let value = value.trim_matches([' ', '\t']);
        match name.to_ascii_lowercase().as_str() {
            "host" => host = true,
            "content-length" if value != "0" => {
                return Err(error(413, "no request body is accepted"));
            }
            "transfer-encoding" => return Err(error(400, "no request body is accepted")),
            _ => {}
        }
    }
    // RFC 9112 3.2: an HTTP/1.1 request without Host is rejected.
    if version == "HTTP/1.1" && !host {
        return Err(error(400, "missing Host header"));
    }
    if method != "GET" {
        return Err(error(405, "only GET"));
    }
    parse_request_target(target).map_err(|e| error(400, &e))
}

impl State {
    fn count(&self, status: u16) {
        let mut m = self
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *m.entry(status).or_default() += 1;
    }

    fn own_metrics(&self) -> Response {
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
        Response {
            status: 200,
            content_type: "application/openmetrics-text; version=1.0.0; charset=utf-8",
            body,
        }
    }

    /// Runs one `/probe` check.
    async fn probe(&self, query: ProbeQuery) -> Response {
        let Ok(_permit) = self.checks.clone().try_acquire_owned() else {
            return error(503, "too many checks running; try again later");
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
        self.checks_done.fetch_add(1, Ordering::Relaxed);
        Response {
            status: 200,
            content_type: "application/openmetrics-text; version=1.0.0; charset=utf-8",
            body: crate::openmetrics::render(&report, started.elapsed()),
        }
    }

    async fn respond(&self, head: Result<String, Response>) -> Response {
        let request = match head.and_then(|h| parse_head(&h)) {
            Ok(r) => r,
            Err(e) => return e,
        };
        match request.path.as_str() {
            "/probe" => match probe_query(&request.params, self.allow_ports) {
                Ok(q) => self.probe(q).await,
                Err(e) => error(400, &e),
            },
            "/metrics" if request.params.is_empty() => self.own_metrics(),
            "/" if request.params.is_empty() => error(
                200,
                "dane serve-metrics: GET /probe?target=DOMAIN[&service=SERVICE], GET /metrics",
            ),
            "/metrics" | "/" => error(400, "no parameters here"),
            _ => error(404, "not found (GET /probe?target=DOMAIN or /metrics)"),
        }
    }
}

/// Reads the request head within the header timeout; `Err` is the response to send.
async fn read_head(stream: &mut TcpStream, timeout: Duration) -> Result<String, Response> {
    let mut buf = Vec::with_capacity(1024);
    let read = async {
        let mut chunk = [0u8; 1024];
        loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                buf.truncate(end);
                return Ok(());
            }
            if buf.len() > MAX_HEAD {
                let line_end = buf.windows(2).position(|w| w == b"\r\n");
                return Err(if line_end.is_none_or(|e| e > MAX_REQUEST_LINE) {
                    error(414, "request line too long")
                } else {
                    error(431, "request head too large")
                });
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => {
                    return Err(error(400, "connection closed before the request ended"));
                }
                Ok(n) => buf.extend_from_slice(chunk.get(..n).unwrap_or_default()),
            }
        }
    };
    match tokio::time::timeout(timeout, read).await {
        Ok(Ok(())) => {
            String::from_utf8(buf).map_err(|_| error(400, "the request head is not UTF-8"))
        }
        Ok(Err(e)) => Err(e),
        Err(_) => Err(error(408, "the request head did not arrive in time")),
    }
}

async fn connection(mut stream: TcpStream, state: Arc<State>) {
    let head = read_head(&mut stream, state.header_timeout).await;
    let response = state.respond(head).await;
    state.count(response.status);
    let mut out = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n",
        response.status,
        reason(response.status),
        response.content_type,
        response.body.len()
    );
    if response.status == 405 {
        out.push_str("Allow: GET\r\n");
    }
    out.push_str("\r\n");
    out.push_str(&response.body);
    let write = async {
        stream.write_all(out.as_bytes()).await?;
        stream.shutdown().await
    };
    // A client that does not read its response is dropped at the timeout.
    let _ = tokio::time::timeout(WRITE_TIMEOUT, write).await;
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
    let at = match &args.check.at {
        Some(_) => Some(ctx.now(args.check.at.as_deref())?),
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
