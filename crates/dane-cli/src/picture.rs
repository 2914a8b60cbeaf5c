//! `--format svg` and `--format html`: the DOT picture (dane-render) laid out by Graphviz.
//! Graphviz is what DNSViz uses, and its `dot` engine draws clusters (a box per zone and
//! per endpoint), which the Rust layout crates do not; it runs as a separate program found
//! on PATH, with a deadline and an output limit, fed the DOT on stdin. `--format dot`
//! needs no Graphviz at all. Several pictures (the HTML page's whole check and one per
//! host) are laid out by one `dot` process: Graphviz reads a stream of graphs and writes
//! one SVG document per graph, so its start-up (font configuration, plugins) is paid once.

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
    let mut one = svgs(format, &[dot_text])?;
    one.pop().context("dot wrote no SVG document")
}

/// `dot -Tsvg` over the DOT documents `dots`, in one process: their SVG documents, in
/// order.
pub fn svgs(format: &str, dots: &[&str]) -> anyhow::Result<Vec<String>> {
    let text = run(format, &dots.concat())?;
    let docs = split_documents(&text);
    if docs.len() != dots.len() {
        bail!(
            "--format {format}: dot wrote {} SVG documents for {} graphs",
            docs.len(),
            dots.len()
        );
    }
    Ok(docs)
}

/// The SVG documents of `dot`'s output, each from its XML declaration on.
fn split_documents(text: &str) -> Vec<String> {
    let starts: Vec<usize> = text.match_indices("<?xml").map(|(i, _)| i).collect();
    starts
        .iter()
        .enumerate()
        .map(|(n, &i)| {
            let end = starts.get(n + 1).copied().unwrap_or(text.len());
            text[i..end].to_owned()
        })
        .collect()
}

/// `dot -Tsvg` with `dot_text` on its standard input: what it wrote.
fn run(format: &str, dot_text: &str) -> anyhow::Result<String> {
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

#[cfg(test)]
mod tests {
    use super::split_documents;

    #[test]
    fn documents_split_at_each_xml_declaration() {
        let out = "<?xml version=\"1.0\"?>\n<svg>a</svg>\n<?xml version=\"1.0\"?>\n<svg>b</svg>\n";
        let docs = split_documents(out);
        assert_eq!(docs.len(), 2);
        assert!(docs[0].contains("<svg>a</svg>") && !docs[0].contains("<svg>b"));
        assert!(docs[1].starts_with("<?xml") && docs[1].contains("<svg>b</svg>"));
        assert!(split_documents("").is_empty());
    }
}
