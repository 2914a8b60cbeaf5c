//! Hundreds of probes at once under a global limit, without leaking file descriptors or
//! tasks.
//!
//! A test binary of its own (the crate's other integration tests live in `probe.rs`):
//! it counts this process's open descriptors in `/proc/self/fd`, which other tests
//! running in parallel threads of the same process would disturb.

// Helpers outside #[test] functions: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use dane_probe::{Limits, Phase, ProbeOutcome, Prober, Protocol, Target};

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

const PROBES: usize = 300;
const LIMIT: usize = 12;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundreds_of_probes_under_a_global_limit_leak_nothing() {
    let key = Key::fixture("ec");
    let happy = serve_lines(smtp_script(), tls_acceptor(&key, Tls::Both, &[])).await;
    let mut injecting = smtp_script();
    injecting.plain[1].1 = b"220 go\r\n250 injected\r\n".to_vec();
    let hostile = serve_lines(injecting, tls_acceptor(&key, Tls::Both, &[])).await;
    // A silent server counting the connections open at once (until the client closes).
    let open = Arc::new(AtomicUsize::new(0));
    let max_open = Arc::new(AtomicUsize::new(0));
    let (o, m) = (open.clone(), max_open.clone());
    let silent = serve_raw(move |mut s| {
        let (open, max_open) = (o.clone(), m.clone());
        async move {
            let now = open.fetch_add(1, Ordering::SeqCst) + 1;
            max_open.fetch_max(now, Ordering::SeqCst);
            let mut buf = [0u8; 64];
            while matches!(s.read(&mut buf).await, Ok(n) if n > 0) {}
            open.fetch_sub(1, Ordering::SeqCst);
        }
    })
    .await;
    let refused = unused_port().await;

    // The servers' listeners and accept loops are up: the baseline.
    let (fds_before, tasks_before) = (open_fds(), alive_tasks());

    let limits = Limits {
        banner: Duration::from_millis(300),
        overall: Duration::from_secs(10),
        ..Limits::default()
    };
    let prober = Prober::new(trust())
        .with_limits(limits)
        .with_concurrency(LIMIT);
    let targets = [happy, hostile, silent, refused];
    let mut set = tokio::task::JoinSet::new();
    for n in 0..PROBES {
        let prober = prober.clone();
        let addr = targets[n % targets.len()];
        set.spawn(async move {
            let target = Target::new(addr, Protocol::Smtp, "mx2.example.test").unwrap();
            (
                n % targets.len(),
                prober.probe(&target, now()).await.outcome,
            )
        });
    }
    let mut kinds = [0usize; 4];
    while let Some(joined) = set.join_next().await {
        let (which, outcome) = joined.unwrap();
        let expected = match (which, &outcome) {
            (0, ProbeOutcome::Connected(s)) => s.chain == key.chain,
            (
                1,
                ProbeOutcome::ProtocolViolation {
                    phase: Phase::StartTls,
                    ..
                },
            ) => true,
            (
                2,
                ProbeOutcome::Timeout {
                    phase: Phase::Banner,
                },
            ) => true,
            (3, ProbeOutcome::Refused) => true,
            _ => false,
        };
        assert!(expected, "target {which}: {outcome:?}");
        kinds[which] += 1;
    }
    assert_eq!(kinds, [PROBES / 4; 4]);

    // Every silent-server connection was held for its whole banner deadline, so the
    // global limit is what bounded them (without it all 75 would be open at once). The
    // server sees a close a moment after the client's permit is free, hence the slack.
    let max = max_open.load(Ordering::SeqCst);
    assert!(
        max <= LIMIT + LIMIT / 4,
        "{max} connections open at once, limit {LIMIT}"
    );
    assert!(max >= 2, "probes ran one at a time ({max})");

    // Nothing leaks: the server-side handlers finish once the clients have closed.
    let mut settled = false;
    for _ in 0..100 {
        if open_fds() <= fds_before && alive_tasks() <= tasks_before {
            settled = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        settled,
        "fds {} (before {fds_before}), tasks {} (before {tasks_before})",
        open_fds(),
        alive_tasks()
    );
}
