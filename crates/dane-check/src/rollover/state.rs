//! The rollover state file: when each authoritative server was first seen serving the next
//! key's record, per TLSA owner; where `dane` made the next key; the plan of a promotion or
//! rollback in progress (written before any key file moves, so that an interrupted run can
//! be finished: [`super::files`]) and the last promotion done. JSON, versioned ([`KIND`],
//! [`VERSION`]; fields added since are optional, so older documents read). Reading and
//! writing the file (as a transaction) is [`super::files`]'s; this module is the data.

use serde::{Deserialize, Serialize};

/// The `kind` of a state document.
pub const KIND: &str = "dane-rollover-state";
/// The schema version written; others are refused.
pub const VERSION: u32 = 1;

/// One server seen serving the next key's record at one owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    /// The TLSA owner, e.g. `_25._tcp.mx1.example.`.
    pub owner: String,
    /// The name server (from the zone's NS RRset).
    pub ns: String,
    /// Its address (`192.0.2.1:53`).
    pub address: String,
    /// When it was first seen serving the record, validated (seconds since the epoch).
    pub first_seen: u64,
}

/// A key that was current before a promotion: what to retire, and from when on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retired {
    /// The key file it was moved to.
    pub key_file: String,
    /// Its `3 1 1` record (to delete from the zone).
    pub record: String,
    /// When the promotion happened.
    pub promoted_at: u64,
    /// From when on the key file may be deleted (the record's removal has had a TTL plus
    /// the margin to reach every cache).
    pub delete_after: u64,
}

/// What a [`Pending`] transaction does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// `dane rollover promote`: the next key becomes current, the current is retired, a
    /// new next key is made.
    Promote,
    /// `dane rollover rollback`: the retired key becomes current again, the current is
    /// kept as retired.
    Rollback,
}

/// The key moves of a promotion or rollback, written into the state file before the first
/// of them: a run killed at any step leaves the key files as before or after one of the
/// steps, and the next run reads this plan and finishes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// Promotion or rollback.
    pub action: Action,
    /// When it started (seconds since the epoch).
    pub started_at: u64,
    /// The current key file (`--key`).
    pub key_file: String,
    /// `3 1 1` data (hex) of the key in `key_file` before the moves.
    pub from: String,
    /// Where the key in `key_file` is kept (a new file, mode 0600).
    pub keep_as: String,
    /// The file whose key becomes current (renamed over `key_file`, taking its owner,
    /// group and mode): the next key (promote), the retired key (rollback).
    pub replacement: String,
    /// `3 1 1` data (hex) of the key in `replacement`.
    pub to: String,
    /// Where the new next key is made (promote only).
    #[serde(default)]
    pub new_next_key_file: Option<String>,
    /// The type of the new next key (`p256`, ...; promote only).
    #[serde(default)]
    pub key_type: Option<String>,
    /// `3 1 1` data (hex) of the new next key, once made.
    #[serde(default)]
    pub new_next: Option<String>,
    /// The TLSA owners whose RRset changes.
    #[serde(default)]
    pub owners: Vec<String>,
    /// The retired key may be deleted after this (seconds since the epoch).
    pub delete_after: u64,
}

/// The state of one rollover.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// Always [`KIND`].
    pub kind: String,
    /// Always [`VERSION`].
    pub version: u32,
    /// SHA-256 of the next key's SubjectPublicKeyInfo, hex (the `3 1 1` data): the state
    /// belongs to this key, and starts over for another.
    pub next_key: String,
    /// The servers seen serving it.
    #[serde(default)]
    pub seen: Vec<Seen>,
    /// Keys retired by promotions, oldest first.
    #[serde(default)]
    pub retired: Vec<Retired>,
    /// The file `dane` created the next key in (by `stage` or `promote`): `stage` reuses
    /// its default next-key path only when it is this file and holds `next_key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_key_file: Option<String>,
    /// When the last `status` that recorded its observations said every server of every
    /// host is (or will be) ready; `None` when it was blocked or indeterminate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_at: Option<u64>,
    /// A promotion or rollback whose key moves have started and not finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<Pending>,
    /// The last promotion done (its owners and keys: what to publish).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promoted: Option<Pending>,
}

/// Why a state document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// Not JSON, or not this schema.
    #[error("corrupt state file (not a {KIND} document: {0}); fix or remove it")]
    Corrupt(String),
    /// Another kind or version.
    #[error(
        "state file of kind {kind:?} version {version}; this dane reads {KIND} version {VERSION}"
    )]
    Version {
        /// The kind found.
        kind: String,
        /// The version found.
        version: u32,
    },
}

impl State {
    /// An empty state for the next key whose `3 1 1` data is `next_key` (hex).
    pub fn new(next_key: &str) -> State {
        State {
            kind: KIND.into(),
            version: VERSION,
            next_key: next_key.to_ascii_uppercase(),
            seen: Vec::new(),
            retired: Vec::new(),
            next_key_file: None,
            ready_at: None,
            pending: None,
            promoted: None,
        }
    }

    /// The state for another next key: what was seen is forgotten (it was about another
    /// record), the retired keys and the last promotion are kept.
    pub fn for_next_key(self, next_key: &str) -> State {
        State {
            retired: self.retired,
            promoted: self.promoted,
            pending: self.pending,
            ..State::new(next_key)
        }
    }

    /// Parses a state document.
    pub fn from_json(text: &str) -> Result<State, StateError> {
        #[derive(Deserialize)]
        struct Head {
            kind: String,
            version: u32,
        }
        let head: Head =
            serde_json::from_str(text).map_err(|e| StateError::Corrupt(e.to_string()))?;
        if head.kind != KIND || head.version != VERSION {
            return Err(StateError::Version {
                kind: head.kind,
                version: head.version,
            });
        }
        let state: State =
            serde_json::from_str(text).map_err(|e| StateError::Corrupt(e.to_string()))?;
        if state.next_key.len() != 64 || !state.next_key.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(StateError::Corrupt(format!(
                "next_key {:?} is not a SHA-256 in hex",
                state.next_key
            )));
        }
        Ok(state)
    }

    /// The document (pretty JSON, a final newline).
    pub fn to_json(&self) -> String {
        // Plain data with string keys: serialising cannot fail.
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// When `address` (of `ns`) was first seen serving the record at `owner`.
    pub fn first_seen(&self, owner: &str, address: &str) -> Option<u64> {
        self.seen
            .iter()
            .find(|s| s.owner == owner && s.address == address)
            .map(|s| s.first_seen)
    }

    /// Records `address` as serving the record at `owner` since `now` unless it already is.
    pub fn mark_seen(&mut self, owner: &str, ns: &str, address: &str, now: u64) -> u64 {
        if let Some(t) = self.first_seen(owner, address) {
            return t;
        }
        self.seen.push(Seen {
            owner: owner.into(),
            ns: ns.into(),
            address: address.into(),
            first_seen: now,
        });
        now
    }

    /// Forgets `address` at `owner` (it served the record, then did not: its clock starts
    /// again when it serves it again).
    pub fn forget(&mut self, owner: &str, address: &str) {
        self.seen
            .retain(|s| !(s.owner == owner && s.address == address));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "1D4A16FDF4599E5D4CEE2C7739FEABA7F17786585F6A45F1C8F858E89EFCB5F8";

    fn check(text: &str, expected: Result<(), &str>) {
        match (State::from_json(text), expected) {
            (Ok(_), Ok(())) => {}
            (Err(e), Err(want)) => assert!(e.to_string().contains(want), "{text}: {e}"),
            (got, want) => panic!("{text}: got {got:?}, wanted {want:?}"),
        }
    }

    #[test]
    fn documents() {
        let mut s = State::new(KEY);
        assert_eq!(
            s.mark_seen("_25._tcp.mx.", "ns1.", "192.0.2.1:53", 100),
            100
        );
        assert_eq!(
            s.mark_seen("_25._tcp.mx.", "ns1.", "192.0.2.1:53", 200),
            100
        );
        check(&s.to_json(), Ok(()));
        assert_eq!(State::from_json(&s.to_json()).unwrap(), s);
        s.forget("_25._tcp.mx.", "192.0.2.1:53");
        assert_eq!(s.first_seen("_25._tcp.mx.", "192.0.2.1:53"), None);
        // The fields added since version 1 came out round-trip, and a document without
        // them (as an older dane wrote it) still reads.
        let mut full = s.clone();
        full.mark_seen("_25._tcp.mx.", "ns1.", "192.0.2.1:53", 100);
        full.next_key_file = Some("/k/mx.next.key".into());
        full.ready_at = Some(500);
        full.pending = Some(Pending {
            action: Action::Promote,
            started_at: 1,
            key_file: "/k/mx.key".into(),
            from: KEY.into(),
            keep_as: "/k/mx.key.retired".into(),
            replacement: "/k/mx.next.key".into(),
            to: KEY.into(),
            new_next_key_file: None,
            key_type: Some("p256".into()),
            new_next: None,
            owners: vec!["_25._tcp.mx.".into()],
            delete_after: 2,
        });
        full.promoted = full.pending.clone();
        assert_eq!(State::from_json(&full.to_json()).unwrap(), full);
        assert!(full.to_json().contains("\"action\": \"promote\""));
        let old = format!(
            "{{\"kind\": \"dane-rollover-state\", \"version\": 1, \"next_key\": \"{KEY}\", \"seen\": []}}"
        );
        assert_eq!(State::from_json(&old).unwrap(), State::new(KEY));
        // Another next key: what was seen is forgotten, the retired keys kept.
        let other = full.clone().for_next_key(&"AB".repeat(32));
        assert!(other.seen.is_empty() && other.ready_at.is_none());
        assert_eq!(
            (other.retired, other.promoted),
            (full.retired, full.promoted)
        );
        check("", Err("corrupt state file"));
        check(
            "{\"kind\": \"dane-rollover-state\", \"version\": 1",
            Err("corrupt"),
        );
        check("[1, 2]", Err("corrupt"));
        check(
            "{\"kind\": \"dane-rollover-state\", \"version\": 2, \"next_key\": \"\"}",
            Err("version 2"),
        );
        check(
            "{\"kind\": \"dane-verify-evidence\", \"version\": 1}",
            Err("kind \"dane-verify-evidence\""),
        );
        check(
            "{\"kind\": \"dane-rollover-state\", \"version\": 1, \"next_key\": \"zz\"}",
            Err("not a SHA-256"),
        );
        check(
            "{\"kind\": \"dane-rollover-state\", \"version\": 1, \"next_key\": \"1D4A16FDF4599E5D4CEE2C7739FEABA7F17786585F6A45F1C8F858E89EFCB5F8\", \"seen\": [{\"owner\": 1}]}",
            Err("corrupt"),
        );
    }
}
