//! Which connections are served: at most `global` open at once, and at most `per_peer`
//! from one peer address, so that one client holding idle connections (slowloris) cannot
//! take every slot from the others. A connection over either cap is closed at once.
//!
//! A peer is its IP address; an IPv4-mapped IPv6 address counts as the IPv4 address. An
//! attacker with many addresses still shares the global cap: the per-peer cap keeps one
//! misbehaving scraper (or one compromised host) from starving the Prometheus server.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `--max-connections` are open.
    Global,
    /// `--max-connections-per-peer` are open from this peer.
    PerPeer,
}

impl Refusal {
    /// The label value of `dane_exporter_connections_refused_total{reason}`.
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::Global => "global",
            Refusal::PerPeer => "per-peer",
        }
    }
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    by_peer: HashMap<IpAddr, usize>,
    refused_global: u64,
    refused_per_peer: u64,
}

/// The connection limits and who holds them; shared by the accept loop and every
/// connection.
#[derive(Debug, Clone)]
pub struct Admission {
    global: usize,
    per_peer: usize,
    open: Arc<Mutex<Open>>,
}

/// One admitted connection: its slots are given back when it is dropped.
#[derive(Debug)]
pub struct Ticket {
    peer: IpAddr,
    open: Arc<Mutex<Open>>,
}

/// A snapshot of the counters, for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Connections open now.
    pub open: usize,
    /// Peers with a connection open now.
    pub peers: usize,
    /// Connections refused over the global cap, since start.
    pub refused_global: u64,
    /// Connections refused over the per-peer cap, since start.
    pub refused_per_peer: u64,
}

fn lock(open: &Mutex<Open>) -> MutexGuard<'_, Open> {
    // Every update is complete before the guard is dropped: a panic elsewhere cannot
    // leave the counts half-changed, so a poisoned lock is still usable.
    open.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The address a peer is counted under.
fn peer_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

impl Admission {
    /// Limits of `global` connections in all and `per_peer` from one address (both at
    /// least 1; `per_peer` at most `global`).
    pub fn new(global: usize, per_peer: usize) -> Admission {
        let global = global.max(1);
        Admission {
            global,
            per_peer: per_peer.clamp(1, global),
            open: Arc::new(Mutex::new(Open::default())),
        }
    }

    /// Admits a connection from `peer`, or says which cap it is over (and counts it).
    pub fn admit(&self, peer: IpAddr) -> Result<Ticket, Refusal> {
        let peer = peer_key(peer);
        let mut open = lock(&self.open);
        if open.total >= self.global {
            open.refused_global += 1;
            return Err(Refusal::Global);
        }
        let held = open.by_peer.get(&peer).copied().unwrap_or(0);
        if held >= self.per_peer {
            open.refused_per_peer += 1;
            return Err(Refusal::PerPeer);
        }
        open.total += 1;
        open.by_peer.insert(peer, held + 1);
        Ok(Ticket {
            peer,
            open: self.open.clone(),
        })
    }

    /// The counters now.
    pub fn counts(&self) -> Counts {
        let open = lock(&self.open);
        Counts {
            open: open.total,
            peers: open.by_peer.len(),
            refused_global: open.refused_global,
            refused_per_peer: open.refused_per_peer,
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut open = lock(&self.open);
        open.total = open.total.saturating_sub(1);
        // Peers with nothing open are forgotten: the map holds only connected peers.
        if let Some(n) = open.by_peer.get_mut(&self.peer) {
            *n -= 1;
            if *n == 0 {
                open.by_peer.remove(&self.peer);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn one_peer_cannot_take_every_slot() {
        let a = Admission::new(4, 2);
        let attacker: Vec<Ticket> = (0..2).map(|_| a.admit(ip("192.0.2.66")).unwrap()).collect();
        assert_eq!(a.admit(ip("192.0.2.66")).unwrap_err(), Refusal::PerPeer);
        // The same peer as an IPv4-mapped IPv6 address is the same peer.
        assert_eq!(
            a.admit(ip("::ffff:192.0.2.66")).unwrap_err(),
            Refusal::PerPeer
        );
        let scrape = a.admit(ip("192.0.2.1")).unwrap();
        let other = a.admit(ip("2001:db8::1")).unwrap();
        assert_eq!(a.admit(ip("192.0.2.2")).unwrap_err(), Refusal::Global);
        assert_eq!(
            a.counts(),
            Counts {
                open: 4,
                peers: 3,
                refused_global: 1,
                refused_per_peer: 2
            }
        );
        drop(attacker);
        drop(scrape);
        assert_eq!(a.counts().open, 1);
        assert_eq!(a.counts().peers, 1);
        // Slots given back are usable again, by anyone.
        let _again = a.admit(ip("192.0.2.66")).unwrap();
        drop(other);
        assert_eq!(a.counts().peers, 1);
    }

    #[test]
    fn limits_are_sane() {
        let a = Admission::new(0, 0);
        let t = a.admit(ip("192.0.2.1")).unwrap();
        assert_eq!(a.admit(ip("192.0.2.2")).unwrap_err(), Refusal::Global);
        drop(t);
        // A per-peer cap above the global one is the global one.
        let a = Admission::new(2, 10);
        let _t: Vec<Ticket> = (0..2).map(|_| a.admit(ip("192.0.2.1")).unwrap()).collect();
        assert_eq!(a.admit(ip("192.0.2.1")).unwrap_err(), Refusal::Global);
    }
}
