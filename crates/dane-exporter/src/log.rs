//! `--log-requests`: one line per request, for stderr and so for journald (which adds its
//! own timestamp, but a line read elsewhere needs one): `key=value` fields in a fixed
//! order, values that could hold spaces or untrusted bytes quoted and escaped, nothing
//! but printable ASCII, never more than one line.
//!
//! ```text
//! request time=2026-12-07T10:00:00.123Z peer=192.0.2.1:40000 method=GET path=/probe target="example.com" module=smtp status=200 duration=0.412
//! ```

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

/// What one request was and how it ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    /// The request's method, when the head was parsed.
    pub method: Option<String>,
    /// The request's path (without the query), when the head was parsed.
    pub path: Option<String>,
    /// `target` of a `/probe` request.
    pub target: Option<String>,
    /// `module` of a `/probe` request (its default included).
    pub module: Option<String>,
}

/// The log line (without a newline) of a request from `peer` answered with `status`
/// after `duration`, at `time`.
pub fn line(
    time: SystemTime,
    peer: SocketAddr,
    entry: &Entry,
    status: u16,
    duration: Duration,
) -> String {
    let mut out = format!("request time={} peer={peer}", timestamp(time));
    for (key, value) in [
        ("method", &entry.method),
        ("path", &entry.path),
        ("target", &entry.target),
        ("module", &entry.module),
    ] {
        match value {
            Some(v) => {
                let _ = write!(out, " {key}={}", quoted(v));
            }
            None => {
                let _ = write!(out, " {key}=-");
            }
        }
    }
    let _ = write!(
        out,
        " status={status} duration={:.3}",
        duration.as_secs_f64()
    );
    out
}

/// RFC 3339 UTC with milliseconds.
fn timestamp(time: SystemTime) -> String {
    let t = time::OffsetDateTime::from(time);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// A value as it is logged: bare when it is a plain token (letters, digits, `.-_:/%`),
/// else in double quotes with `"`, `\` and every byte outside printable ASCII escaped
/// (`\"`, `\\`, `\xNN`), and cut at 256 bytes (`...` after the quote).
fn quoted(value: &str) -> String {
    const MAX: usize = 256;
    let plain = !value.is_empty()
        && value.len() <= MAX
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-_:/%[]".contains(&b));
    if plain {
        return value.to_owned();
    }
    let mut out = String::from("\"");
    for &b in value.as_bytes().iter().take(MAX) {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push('"');
    if value.len() > MAX {
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_with_every_field() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(1_796_083_200_123);
        let peer: SocketAddr = "192.0.2.1:40000".parse().unwrap();
        let entry = Entry {
            method: Some("GET".into()),
            path: Some("/probe".into()),
            target: Some("example.com".into()),
            module: Some("smtp".into()),
        };
        assert_eq!(
            line(at, peer, &entry, 200, Duration::from_millis(412)),
            "request time=2026-12-01T00:00:00.123Z peer=192.0.2.1:40000 method=GET path=/probe target=example.com module=smtp status=200 duration=0.412"
        );
        let v6: SocketAddr = "[2001:db8::1]:5".parse().unwrap();
        assert_eq!(
            line(at, v6, &Entry::default(), 408, Duration::from_secs(5)),
            "request time=2026-12-01T00:00:00.123Z peer=[2001:db8::1]:5 method=- path=- target=- module=- status=408 duration=5.000"
        );
    }

    #[test]
    fn untrusted_values_stay_on_one_line() {
        for (value, logged) in [
            ("a b", "\"a b\""),
            ("", "\"\""),
            ("x\ny status=200", "\"x\\x0ay status=200\""),
            ("q\"\\", "\"q\\\"\\\\\""),
            ("é", "\"\\xc3\\xa9\""),
        ] {
            assert_eq!(quoted(value), logged, "{value:?}");
        }
        let long = "a".repeat(300);
        let q = quoted(&long);
        assert!(q.ends_with("\"...") && q.len() == 256 + 5, "{q}");
    }
}
