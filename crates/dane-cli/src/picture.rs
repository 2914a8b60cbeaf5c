//! `--format svg` and `--format html`: the DOT picture (dane-render) laid out by Graphviz.
//! Graphviz is what DNSViz uses, and its `dot` engine draws clusters (a box per zone and
//! per endpoint), which the Rust layout crates do not; it runs as a separate program found
//! on PATH, with a deadline and an output limit, fed the DOT on stdin. `--format dot`
//! needs no Graphviz at all.

use std::io::{Read as _, Write as _};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// Longest `dot` may take on one picture.
const DEADLINE: Duration = Duration::from_secs(60);
/// Largest SVG read back.
const MAX_SVG: u64 = 32 << 20;

/// `dot -Tsvg` over `dot_text`: the SVG document.
pub fn svg(format: &str, dot_text: &str) -> anyhow::Result<String> {
    let program = "dot";
    let mut child = match Command::new(program)
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "--format {format}: the Graphviz program {program:?} was not found on PATH (install graphviz; --format dot works without it)"
        ),
        Err(e) => bail!("--format {format}: cannot run {program:?}: {e}"),
    };
    let mut stdin = child.stdin.take().context("dot: no stdin")?;
    let input = dot_text.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let mut stdout = child.stdout.take().context("dot: no stdout")?;
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        (&mut stdout)
            .take(MAX_SVG + 1)
            .read_to_end(&mut out)
            .map(|_| out)
    });
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break s;
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "--format {format}: dot took longer than {} s",
                DEADLINE.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let _ = writer.join();
    let out = reader
        .join()
        .map_err(|_| anyhow::anyhow!("dot: the reader failed"))??;
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = (&mut e).take(4096).read_to_string(&mut err);
    }
    if !status.success() {
        let first = err.lines().next().unwrap_or("no message");
        bail!("--format {format}: dot failed ({status}): {first}");
    }
    if out.len() as u64 > MAX_SVG {
        bail!("--format {format}: dot wrote more than {MAX_SVG} bytes");
    }
    String::from_utf8(out).context("dot wrote SVG that is not UTF-8")
}
