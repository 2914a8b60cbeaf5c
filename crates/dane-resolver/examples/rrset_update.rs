//! Reads a TLSA RRset from a primary, waits for a line on stdin, then adds a record with an
//! RFC 2136 update whose prerequisite is the RRset as read: what `dane rollover --update`
//! does, with a pause between the read and the send, so a test can change the RRset in
//! between and see the primary refuse the stale update (no lost writes).
//!
//! ```sh
//! cargo run -p dane-resolver --example rrset_update -- 192.0.2.81 _25._tcp.mx.example. \
//!     tsig.key "3 1 1 <64 hex digits>"
//! ```
//!
//! Prints `read N record(s)` once the RRset is read; exits 0 when the update is applied,
//! 1 when the primary refuses it (the error on stderr), 2 on bad arguments.

#![allow(clippy::print_stdout, clippy::print_stderr)] // an example program

use std::io::BufRead as _;
use std::str::FromStr as _;
use std::time::Duration;

use dane_resolver::update::{RrsetChange, TsigKey, read_rrset, send_update};
use hickory_proto::rr::Name;

fn parse_record(text: &str) -> Option<Vec<u8>> {
    let mut f = text.split_whitespace();
    let mut rd = vec![
        f.next()?.parse().ok()?,
        f.next()?.parse().ok()?,
        f.next()?.parse().ok()?,
    ];
    let hex: String = f.collect();
    rd.extend(
        data_encoding::HEXLOWER_PERMISSIVE
            .decode(hex.as_bytes())
            .ok()?,
    );
    Some(rd)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [server, owner, key, record] = args.as_slice() else {
        eprintln!("usage: rrset_update SERVER OWNER TSIG-KEY-FILE \"U S M HEX\"");
        return std::process::ExitCode::from(2);
    };
    let (Ok(server), Ok(owner), Some(add)) = (
        dane_resolver::parse_server(server),
        Name::from_str(owner),
        parse_record(record),
    ) else {
        eprintln!("rrset_update: bad SERVER, OWNER or record");
        return std::process::ExitCode::from(2);
    };
    let key = match std::fs::read_to_string(key)
        .map_err(|e| e.to_string())
        .and_then(|t| TsigKey::parse(&t).map_err(|e| e.to_string()))
    {
        Ok(k) => k,
        Err(e) => {
            eprintln!("rrset_update: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let timeout = Duration::from_secs(10);
    // The TSIG time is the wall clock, read just before each message is signed.
    #[allow(clippy::disallowed_methods)]
    let clock = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    };
    let read = match read_rrset(server, &owner, None, &key, &clock, timeout).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("rrset_update: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    println!(
        "read {} record(s) in zone {}",
        read.records.len(),
        read.zone
    );
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
    let change = RrsetChange {
        zone: read.zone,
        owner,
        ttl: read.ttl.unwrap_or(3600),
        expected: read.records,
        delete: Vec::new(),
        add: vec![add],
    };
    match send_update(server, &change, &key, &clock, timeout).await {
        Ok(()) => {
            println!("sent");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("rrset_update: {e}");
            std::process::ExitCode::from(1)
        }
    }
}
