//! Replays every committed fuzz input through the body its target runs: the seed corpora
//! (`fuzz/corpus/<target>/*`) and the crashes found so far, minimised
//! (`fuzz/artifacts/<target>/*`). Plain `cargo test`, stable, no fuzzer needed.

#![allow(clippy::unwrap_used)] // test helpers: an unreadable corpus file should fail loudly

use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

fn replay(kind: &str) -> usize {
    let mut n = 0;
    for (name, run) in dane_fuzz::TARGETS {
        for path in files(&fuzz_dir().join(kind).join(name)) {
            let data = std::fs::read(&path).unwrap();
            let result = std::panic::catch_unwind(|| run(&data));
            assert!(result.is_ok(), "{name}: {} panics", path.display());
            n += 1;
        }
    }
    n
}

#[test]
fn every_target_has_a_fuzz_target_and_a_seed_corpus() {
    for (name, _) in dane_fuzz::TARGETS {
        let target = fuzz_dir().join("fuzz_targets").join(format!("{name}.rs"));
        assert!(target.is_file(), "{} is missing", target.display());
        let seeds = files(&fuzz_dir().join("corpus").join(name));
        assert!(!seeds.is_empty(), "fuzz/corpus/{name}/ has no seed");
    }
    // No stray directory: a corpus whose target was renamed would silently stop running.
    for kind in ["corpus", "artifacts"] {
        let Ok(entries) = std::fs::read_dir(fuzz_dir().join(kind)) else {
            continue;
        };
        for e in entries {
            let name = e.unwrap().file_name().into_string().unwrap();
            assert!(
                dane_fuzz::TARGETS.iter().any(|(t, _)| *t == name),
                "fuzz/{kind}/{name} belongs to no target"
            );
        }
    }
}

#[test]
fn seed_corpora_replay() {
    assert!(replay("corpus") > 0);
}

#[test]
fn crashes_found_replay() {
    replay("artifacts");
}
