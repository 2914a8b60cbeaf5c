//! The HTTP side of `dane serve-metrics`, a blackbox-exporter drop-in: `GET
//! /probe?target=DOMAIN[&module=SERVICE]` runs a check the caller supplies ([`http::Check`];
//! the CLI wires the DANE engine and its OpenMetrics renderer) and answers with its
//! metrics plus the blackbox exporter's `probe_success` and `probe_duration_seconds`;
//! `GET /metrics` gives the exporter's own counters. Both are OpenMetrics when the
//! `Accept` header asks for it, else the Prometheus text format 0.0.4 ([`exposition`]).
//!
//! It is a library of its own (not a module of the CLI) so that the request handling and
//! the state shared by every connection (the connection caps per peer and overall, the
//! check limit, the counters, the request log and the graceful stop) are unit-tested and
//! driven in-process (a slowloris client against the per-peer cap) without the DANE
//! engine, and so that `dane-check` stays free of HTTP.
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//! use dane_exporter::http::{Check, Checked, Server, Settings, serve};
//!
//! struct Always;
//! impl Check for Always {
//!     async fn check(&self, _: dane_check::query::ProbeQuery) -> Checked {
//!         Checked { document: "# EOF\n".into(), success: true, elapsed: Duration::ZERO }
//!     }
//! }
//! # async fn run() -> std::io::Result<()> {
//! let settings = Settings {
//!     max_checks: 4,
//!     max_connections: 64,
//!     max_connections_per_peer: 8,
//!     header_timeout: Duration::from_secs(5),
//!     allow_ports: false,
//!     grace: Duration::from_secs(70),
//!     log: None,
//! };
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:9553").await?;
//! let stopped = serve(listener, Arc::new(Server::new(Always, settings)), std::future::pending()).await;
//! # Ok(()) }
//! ```
//!
//! Invariants: every read has a deadline and a size bound; a peer holds at most
//! `max_connections_per_peer` of the `max_connections` slots; the library never prints
//! (log lines go to the caller's [`http::LogSink`]). `now` affects nothing here but the
//! time stamps of log lines. Limits: a peer is an IP address, so clients behind one NAT
//! share a per-peer cap; many addresses can still fill the global cap.

#![forbid(unsafe_code)]

pub mod admission;
pub mod exposition;
pub mod http;
pub mod log;
