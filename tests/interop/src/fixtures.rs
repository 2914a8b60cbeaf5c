//! The fixture tables: `fixtures/dns/cases.tsv`, `delv-exceptions.tsv`, and the captured
//! evidence files in `fixtures/dns/evidence/`.

use std::path::{Path, PathBuf};

use crate::{Error, fixtures_dir, io};

/// One row of `cases.tsv`: a query and what a correct validator concludes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// Query name, absolute (`www.alg8.test.`).
    pub name: String,
    /// Query type mnemonic (`A`, `TLSA`, ...).
    pub rtype: String,
    /// `secure`, `insecure`, `bogus` or `indeterminate`.
    pub verdict: String,
    /// `records`, `nxdomain` or `nodata` (at the end of any CNAME/DNAME chain).
    pub answer: String,
    /// Why the case exists.
    pub description: String,
}

impl Case {
    /// The evidence file name for this case: `<name>_<TYPE>.evidence` (root as `root`).
    pub fn evidence_file(&self) -> String {
        let name = self.name.trim_end_matches('.');
        let name = if name.is_empty() { "root" } else { name };
        format!("{name}_{}.evidence", self.rtype)
    }
}

/// Reads a tab-separated table, skipping `#` comments and blank lines; every row must have
/// exactly `columns` fields.
pub fn read_table(path: &Path, columns: usize) -> Result<Vec<Vec<String>>, Error> {
    let text = std::fs::read_to_string(path).map_err(io(format!("reading {}", path.display())))?;
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<String> = line.split('\t').map(str::to_string).collect();
        if fields.len() != columns {
            return Err(Error::Io {
                what: format!("{} line {}", path.display(), i + 1),
                source: std::io::Error::other(format!(
                    "{} tab-separated fields, expected {columns}",
                    fields.len()
                )),
            });
        }
        rows.push(fields);
    }
    Ok(rows)
}

/// Every case in `fixtures/dns/cases.tsv`, in file order.
pub fn cases() -> Result<Vec<Case>, Error> {
    let path = fixtures_dir().join("cases.tsv");
    let rows = read_table(&path, 5)?;
    let mut out = Vec::new();
    for row in rows {
        let [name, rtype, verdict, answer, description] =
            <[String; 5]>::try_from(row).map_err(|_| Error::Io {
                what: path.display().to_string(),
                source: std::io::Error::other("row width"),
            })?;
        let known_verdict = ["secure", "insecure", "bogus", "indeterminate"];
        if !known_verdict.contains(&verdict.as_str())
            || !["records", "nxdomain", "nodata"].contains(&answer.as_str())
            || !name.ends_with('.')
        {
            return Err(Error::Io {
                what: format!("{} case {name} {rtype}", path.display()),
                source: std::io::Error::other(format!(
                    "bad verdict {verdict:?}, answer {answer:?} or relative name"
                )),
            });
        }
        out.push(Case {
            name,
            rtype,
            verdict,
            answer,
            description,
        });
    }
    Ok(out)
}

/// The directory of captured evidence (`fixtures/dns/evidence`).
pub fn evidence_dir() -> PathBuf {
    fixtures_dir().join("evidence")
}

/// One captured item: the question (name, type mnemonic) and the wire message, or the
/// failure reason.
pub type EvidenceItem = (String, String, Result<Vec<u8>, String>);

/// Writes evidence in the committed text format: one item per line,
/// `NAME<TAB>TYPE<TAB>ok<TAB>HEX` or `NAME<TAB>TYPE<TAB>failed<TAB>REASON`.
pub fn write_evidence(path: &Path, items: &[EvidenceItem]) -> Result<(), Error> {
    let mut text = String::from(
        "# dane evidence: NAME TYPE ok HEX-WIRE-MESSAGE | NAME TYPE failed REASON (tab-separated)\n",
    );
    for (name, rtype, item) in items {
        match item {
            Ok(wire) => {
                let hex: String = wire.iter().map(|b| format!("{b:02x}")).collect();
                text.push_str(&format!("{name}\t{rtype}\tok\t{hex}\n"));
            }
            Err(reason) => {
                let reason = reason.replace(['\t', '\n'], " ");
                text.push_str(&format!("{name}\t{rtype}\tfailed\t{reason}\n"));
            }
        }
    }
    std::fs::write(path, text).map_err(io(format!("writing {}", path.display())))
}

/// Reads a file written by [`write_evidence`].
pub fn read_evidence(path: &Path) -> Result<Vec<EvidenceItem>, Error> {
    let mut items = Vec::new();
    for row in read_table(path, 4)? {
        let bad = |problem: &str| Error::Io {
            what: format!("{} item {} {}", path.display(), row[0], row[1]),
            source: std::io::Error::other(problem.to_string()),
        };
        let item = match row[2].as_str() {
            "ok" => Ok(decode_hex(&row[3]).ok_or_else(|| bad("bad hex"))?),
            "failed" => Err(row[3].clone()),
            _ => return Err(bad("third field must be ok or failed")),
        };
        items.push((row[0].clone(), row[1].clone(), item));
    }
    Ok(items)
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_round_trip() {
        let path = std::env::temp_dir().join(format!("dane-ev-{}", std::process::id()));
        let items = vec![
            (
                "a.test.".to_string(),
                "A".to_string(),
                Ok(vec![0, 1, 0xab, 0xff]),
            ),
            (
                "b.test.".to_string(),
                "DS".to_string(),
                Err("timed\tout\nx".to_string()),
            ),
        ];
        write_evidence(&path, &items).unwrap();
        let back = read_evidence(&path).unwrap();
        assert_eq!(back[0], items[0]);
        assert_eq!(back[1].2, Err("timed out x".to_string()));
        std::fs::write(&path, "a.\tA\tok\tzz\n").unwrap();
        assert!(
            read_evidence(&path)
                .unwrap_err()
                .to_string()
                .contains("bad hex")
        );
        std::fs::write(&path, "a.\tA\tmaybe\t00\n").unwrap();
        assert!(read_evidence(&path).is_err());
        std::fs::write(&path, "a.\tA\tok\n").unwrap();
        assert!(
            read_evidence(&path)
                .unwrap_err()
                .to_string()
                .contains("3 tab-separated")
        );
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn cases_table_is_well_formed_and_covers_every_verdict() {
        let cases = cases().unwrap();
        assert!(cases.len() >= 40, "{}", cases.len());
        for v in ["secure", "insecure", "bogus"] {
            assert!(cases.iter().any(|c| c.verdict == v), "{v}");
        }
        let mut files: Vec<String> = cases.iter().map(Case::evidence_file).collect();
        files.sort();
        files.dedup();
        assert_eq!(files.len(), cases.len(), "duplicate case");
    }
}
