//! File inputs read with a size bound that holds whatever the path is: a regular file, a
//! FIFO or a device (`/dev/zero`). The bound is enforced on the bytes read (through
//! `take(limit + 1)`), never on what `metadata` says (a FIFO or a device reports 0 bytes).

use std::io::{BufRead, Read};
use std::path::Path;

use anyhow::bail;

use crate::term;

/// The whole file at `path`, at most `limit` bytes; a one-line error naming `label` (the
/// flag and the path) otherwise.
pub fn read_bounded_bytes(label: &str, path: &Path, limit: u64) -> anyhow::Result<Vec<u8>> {
    let mut buf = Vec::new();
    let read = std::fs::File::open(path).and_then(|f| f.take(limit + 1).read_to_end(&mut buf));
    if let Err(e) = read {
        bail!("{label}: cannot read: {}", io_reason(&e));
    }
    if buf.len() as u64 > limit {
        bail!("{label}: more than the {limit} bytes accepted");
    }
    Ok(buf)
}

/// [`read_bounded_bytes`] as UTF-8 text.
pub fn read_bounded(label: &str, path: &Path, limit: u64) -> anyhow::Result<String> {
    let bytes = read_bounded_bytes(label, path, limit)?;
    match String::from_utf8(bytes) {
        Ok(text) => Ok(text),
        Err(_) => bail!("{label}: not UTF-8 text"),
    }
}

/// An I/O error's reason without the `(os error N)` suffix, lower case first: the path is
/// named once, by the caller's label.
pub fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = match text.find(" (os error") {
        Some(i) => &text[..i],
        None => &text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => text.to_owned(),
    }
}

/// The next line of `input` (without its `\n`) into `line`, at most `max` bytes;
/// `Ok(false)` at the end. A longer line is an error: the input is not what it should be
/// (`/dev/zero` has no line end at all).
pub fn bounded_line(
    label: &str,
    input: &mut impl BufRead,
    line: &mut Vec<u8>,
    max: usize,
) -> anyhow::Result<bool> {
    line.clear();
    let n = input
        .by_ref()
        .take(max as u64 + 1)
        .read_until(b'\n', line)
        .map_err(|e| anyhow::anyhow!("{label}: cannot read: {}", io_reason(&e)))?;
    if n == 0 {
        return Ok(false);
    }
    if line.last() == Some(&b'\n') {
        line.pop();
    } else if line.len() > max {
        bail!("{label}: a line longer than {max} bytes: not a file of this kind");
    }
    Ok(true)
}

/// Trust anchors from `path` (`--trust-anchor`): DS or DNSKEY lines in zone-file syntax or
/// a BIND `trust-anchors { };` clause, at most [`MAX_ANCHORS`] bytes. A PEM certificate (a
/// common mix-up with a TLS trust anchor) is named as such.
pub fn read_anchors(path: &Path) -> anyhow::Result<dane_dnssec::TrustAnchors> {
    let label = format!("--trust-anchor {}", path.display());
    let text = read_bounded(&label, path, MAX_ANCHORS)?;
    if text.contains("-----BEGIN ") {
        bail!(
            "{label}: a PEM file (a certificate or key), not DNSSEC trust anchors: give DS or DNSKEY records (e.g. the IANA root-anchors as DS lines) or a BIND trust-anchors clause"
        );
    }
    dane_dnssec::TrustAnchors::parse(&text)
        .map_err(|e| anyhow::anyhow!("{label}: {}", term::sanitize(&e.to_string())))
}

/// The largest trust-anchor file accepted (a few anchors are a few hundred bytes).
pub const MAX_ANCHORS: u64 = 1 << 20;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_and_fifos_are_bounded_by_what_is_read() {
        let e = read_bounded_bytes("--resume /dev/zero", Path::new("/dev/zero"), 1024)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "--resume /dev/zero: more than the 1024 bytes accepted");
        let e = read_bounded_bytes("--x /nonexistent", Path::new("/nonexistent"), 10)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "--x /nonexistent: cannot read: no such file or directory"
        );
        let mut zero = std::io::BufReader::new(std::fs::File::open("/dev/zero").unwrap());
        let mut line = Vec::new();
        let e = bounded_line("--resume /dev/zero", &mut zero, &mut line, 4096)
            .unwrap_err()
            .to_string();
        assert!(e.contains("a line longer than 4096 bytes"), "{e}");
    }

    #[test]
    fn lines_within_the_bound() {
        let mut input = std::io::Cursor::new(b"one\ntwo".to_vec());
        let mut line = Vec::new();
        for expected in [&b"one"[..], b"two"] {
            assert!(bounded_line("x", &mut input, &mut line, 3).unwrap());
            assert_eq!(line, expected);
        }
        assert!(!bounded_line("x", &mut input, &mut line, 3).unwrap());
        let mut long = std::io::Cursor::new(b"four\n".to_vec());
        assert!(bounded_line("x", &mut long, &mut line, 3).is_err());
    }

    #[test]
    fn a_pem_certificate_is_not_an_anchor() {
        let dir = std::env::temp_dir().join(format!("dane-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pem = dir.join("ca.pem");
        std::fs::write(
            &pem,
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let e = read_anchors(&pem).unwrap_err().to_string();
        assert!(e.contains("a PEM file"), "{e}");
        assert_eq!(e.matches(&*pem.display().to_string()).count(), 1, "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
