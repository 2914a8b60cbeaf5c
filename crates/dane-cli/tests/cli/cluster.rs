//! The cluster recipes (docs/cluster.md) without a cluster, over a loopback NSD serving the
//! signed fixtures (targets decided by DNS alone: nothing is probed):
//! - `examples/slurm/dane-scan.sbatch` run as the pods of a Kubernetes Indexed Job run it
//!   (`JOB_COMPLETION_INDEX`, `DANE_SHARDS`), one shard's part cut mid-line and run again,
//!   then `examples/slurm/merge.sh`, against a single-process scan;
//! - 20,000 targets through the same script, dane killed with SIGKILL mid-run and the
//!   script run again: every target exactly once, memory flat;
//! - the scripts pass `bash -n` and shellcheck; the Kubernetes manifests parse as the
//!   Indexed Job and merge Job the docs describe.
//!
//! The Slurm side runs for real in the e2e suite (tests/e2e, module `slurm`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{fixture, root, run_command};

fn nsd() -> dane_testenv::Nsd {
    dane_testenv::Nsd::start_fixtures().expect("start nsd (scripts/install-test-deps)")
}

fn script(name: &str) -> PathBuf {
    root().join("examples/slurm").join(name)
}

/// A fresh directory for one test.
fn work_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dane-cluster-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The `dane scan` flags of every run here: the fixture NSD, one evaluation time.
fn flags(nsd: &dane_testenv::Nsd) -> Vec<String> {
    [
        "--resolver",
        &format!("127.0.0.1:{}", nsd.port()),
        "--no-iterate",
        "--trust-anchor",
        &fixture("dns/anchors/root.ds"),
        "--at",
        "2026-12-01T00:00:00Z",
        "--timeout",
        "30",
    ]
    .map(str::to_owned)
    .to_vec()
}

/// The batch script as Indexed Job pod `index` of `shards` runs it.
fn shard_command(dir: &Path, targets: &Path, index: usize, shards: usize) -> Command {
    let mut cmd = Command::new("bash");
    cmd.arg(script("dane-scan.sbatch"))
        .env_remove("SLURM_ARRAY_TASK_ID")
        .env("JOB_COMPLETION_INDEX", index.to_string())
        .env("DANE_SHARDS", shards.to_string())
        .env("DANE_TARGETS", targets)
        .env("DANE_PARTS", dir.join("parts"))
        .env("DANE", env!("CARGO_BIN_EXE_dane"))
        .env("NO_COLOR", "1");
    cmd
}

fn part(dir: &Path, k: usize, shards: usize) -> PathBuf {
    dir.join("parts")
        .join(format!("part-{k}-of-{shards}.ndjson"))
}

fn merge(targets: &Path, merged: &Path, parts: &[PathBuf]) -> crate::common::Run {
    let mut cmd = Command::new("bash");
    cmd.arg(script("merge.sh"))
        .arg(targets)
        .arg(merged)
        .args(parts);
    run_command(cmd, None)
}

/// The documents of an NDJSON text, `at` set aside (it is the same `--at` everywhere, but
/// a run's time is not a result), printed with sorted keys, sorted.
fn documents(ndjson: &str) -> Vec<String> {
    let mut docs: Vec<String> = ndjson
        .lines()
        .map(|l| {
            let mut v: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            v.as_object_mut().unwrap().remove("at");
            v.to_string()
        })
        .collect();
    docs.sort();
    docs
}

fn tools_present() -> bool {
    dane_testenv::require_tool("jq", "jq").is_some()
}

#[test]
fn indexed_job_shards_merge_to_the_single_process_scan() {
    if !tools_present() {
        return;
    }
    let nsd = nsd();
    let dir = work_dir("indexed");
    let mut text = String::from("# survey\n");
    for i in 0..24 {
        let zone = ["insecure.test", "nsec.test", "nsec3.test"][i % 3];
        text.push_str(&format!("n{i}.{zone}\n"));
        if i == 10 {
            text.push_str("\n   # an indented comment\n");
        }
    }
    let targets = dir.join("targets.txt");
    std::fs::write(&targets, &text).unwrap();
    let flags = flags(&nsd);
    let single = crate::common::run(
        &[
            &["scan", targets.to_str().unwrap(), "--quiet"][..],
            &flags.iter().map(String::as_str).collect::<Vec<_>>(),
        ]
        .concat(),
    );
    assert_eq!(single.code, 4, "{}", single.stderr);
    assert_eq!(single.stdout.lines().count(), 24);

    const SHARDS: usize = 3;
    for index in 0..SHARDS {
        let mut cmd = shard_command(&dir, &targets, index, SHARDS);
        cmd.args(&flags).arg("--quiet");
        let r = run_command(cmd, None);
        // dane exits 4 (not protected): a result, so the shard succeeded.
        assert_eq!(r.code, 0, "index {index}: {}", r.stderr);
        assert!(
            r.stderr.contains(&format!("shard {}/{SHARDS}", index + 1)),
            "{}",
            r.stderr
        );
    }
    let parts: Vec<PathBuf> = (1..=SHARDS).map(|k| part(&dir, k, SHARDS)).collect();
    assert_eq!(line_count(&parts[1]), 8);

    // A pod killed mid-write: its part ends in half a line and lacks a result. The
    // merge refuses it; the pod run again cuts the half line and checks that target.
    let text2 = std::fs::read_to_string(&parts[1]).unwrap();
    let mut lines: Vec<&str> = text2.lines().collect();
    let last = lines.pop().unwrap();
    let cut = format!("{}\n{}", lines.join("\n"), &last[..last.len() / 2]);
    std::fs::write(&parts[1], &cut).unwrap();
    let merged = dir.join("results.ndjson");
    let r = merge(&targets, &merged, &parts);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("has no newline"), "{}", r.stderr);
    assert!(r.stderr.contains("not a dane scan result"), "{}", r.stderr);
    assert!(!merged.exists());
    let mut cmd = shard_command(&dir, &targets, 1, SHARDS);
    cmd.args(&flags);
    let r = run_command(cmd, None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("removed a last line cut by a kill"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("7 already in --resume"), "{}", r.stderr);
    assert_eq!(line_count(&parts[1]), 8);

    let r = merge(&targets, &merged, &parts);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("24 target line(s), each with exactly one result, from 3 part(s)"),
        "{}",
        r.stderr
    );
    let merged_text = std::fs::read_to_string(&merged).unwrap();
    assert_eq!(documents(&merged_text), documents(&single.stdout));
    let order: Vec<u64> = merged_text
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["line"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "input order: {order:?}"
    );

    // A part given twice, and another input's parts, are refused.
    let twice = [parts.clone(), vec![parts[0].clone()]].concat();
    let r = merge(&targets, &dir.join("twice.ndjson"), &twice);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("have more than one result"),
        "{}",
        r.stderr
    );
    let shorter = dir.join("shorter.txt");
    std::fs::write(&shorter, "n0.insecure.test\n").unwrap();
    let r = merge(&shorter, &dir.join("other.ndjson"), &parts);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("are not target lines of"), "{}", r.stderr);
    let r = merge(&targets, &dir.join("x.ndjson"), &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    std::fs::remove_dir_all(&dir).unwrap();
}

fn line_count(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |t| t.lines().count())
}

fn peak_rss_kib(stderr: &str) -> u64 {
    stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("peak RSS: "))
        .unwrap_or_else(|| panic!("no peak RSS in {stderr}"))
        .trim_end_matches(" KiB")
        .parse()
        .unwrap()
}

/// The PIDs of `pid`'s children (Linux /proc).
fn children(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// 20,000 targets (most an insecure NXDOMAIN, some a signed one, as a survey's are)
/// through the batch script; dane is killed with SIGKILL after a quarter and the script
/// run again: every target has exactly one result, and the resumed run's peak RSS is
/// within a few MiB of a 1,000-target run's. BENCHMARKS.md has the 1,000,000-target run
/// (benches/scale.sh).
#[test]
fn sigkill_mid_run_then_resume_gives_every_target_once_in_flat_memory() {
    if !tools_present() {
        return;
    }
    const N: usize = 20_000;
    let nsd = nsd();
    let dir = work_dir("sigkill");
    let list = |n: usize| -> String {
        (0..n)
            .map(|i| {
                let zone = if i % 20 == 7 {
                    "nsec.test"
                } else {
                    "insecure.test"
                };
                format!("t{i}.{zone}\n")
            })
            .collect()
    };
    let targets = dir.join("targets.txt");
    std::fs::write(&targets, list(N)).unwrap();
    let small = dir.join("small.txt");
    std::fs::write(&small, list(1_000)).unwrap();
    let flags = flags(&nsd);
    let baseline = crate::common::run(
        &[
            &["scan", small.to_str().unwrap()][..],
            &flags.iter().map(String::as_str).collect::<Vec<_>>(),
        ]
        .concat(),
    );
    assert_eq!(
        baseline.stdout.lines().count(),
        1_000,
        "{}",
        baseline.stderr
    );

    let mut cmd = shard_command(&dir, &targets, 0, 1);
    cmd.args(&flags)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut shell = cmd.spawn().unwrap();
    let part = part(&dir, 1, 1);
    let started = Instant::now();
    while line_count(&part) < N / 4 {
        assert!(started.elapsed() < Duration::from_secs(120), "no progress");
        assert!(shell.try_wait().unwrap().is_none(), "the shard ended early");
        std::thread::sleep(Duration::from_millis(50));
    }
    let dane = children(shell.id());
    assert_eq!(dane.len(), 1, "one dane under the script: {dane:?}");
    let killed = Command::new("kill")
        .args(["-KILL", &dane[0].to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = shell.wait().unwrap();
    assert_eq!(status.code(), Some(137), "the script passes the kill on");
    let before = line_count(&part);
    assert!(before < N, "killed mid-run: {before}");

    let mut cmd = shard_command(&dir, &targets, 0, 1);
    cmd.args(&flags);
    let resumed = run_command(cmd, None);
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    let r = merge(
        &targets,
        &dir.join("results.ndjson"),
        std::slice::from_ref(&part),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains(&format!("{N} target line(s), each with exactly one result"))
    );
    // Every whole line written before the kill was kept (at most one was cut).
    let skipped: usize = resumed
        .stderr
        .split(" already in --resume")
        .next()
        .and_then(|s| s.rsplit(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{}", resumed.stderr));
    assert!(
        skipped + 1 >= before && skipped <= before,
        "{skipped} vs {before}"
    );
    let (small_rss, big_rss) = (
        peak_rss_kib(&baseline.stderr),
        peak_rss_kib(&resumed.stderr),
    );
    assert!(big_rss < 64 * 1024, "peak RSS {big_rss} KiB");
    assert!(
        big_rss < small_rss + 8 * 1024,
        "peak RSS grew from {small_rss} KiB (1,000 targets) to {big_rss} KiB (20,000, resumed)"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn cluster_scripts_pass_bash_n_and_shellcheck() {
    let scripts = [script("dane-scan.sbatch"), script("merge.sh")];
    for p in &scripts {
        let mut cmd = Command::new("bash");
        cmd.arg("-n").arg(p);
        let out = run_command(cmd, None);
        assert_eq!(out.code, 0, "bash -n {}: {}", p.display(), out.stderr);
    }
    if let Some(shellcheck) = dane_testenv::require_tool("shellcheck", "shellcheck") {
        let mut cmd = Command::new(shellcheck);
        cmd.args(["-x", "-P", "SCRIPTDIR"]).args(&scripts);
        let out = run_command(cmd, None);
        assert_eq!(out.code, 0, "shellcheck: {}{}", out.stdout, out.stderr);
    }
}

/// The Kubernetes manifests are YAML that parses (PyYAML) into the Jobs docs/cluster.md
/// describes: an Indexed Job whose DANE_SHARDS equals its completions, running the batch
/// script from the ConfigMap, and a merge Job over exactly those parts.
#[test]
fn kubernetes_manifests_parse_as_an_indexed_job_and_its_merge() {
    let dir = root().join("examples/kubernetes");
    let load = |name: &str| -> serde_json::Value {
        let mut cmd = Command::new("/usr/bin/python3");
        cmd.args([
            "-c",
            "import json, sys, yaml; json.dump(list(yaml.safe_load_all(open(sys.argv[1]))), sys.stdout)",
        ])
        .arg(dir.join(name));
        let out = run_command(cmd, None);
        assert_eq!(out.code, 0, "{name}: {}", out.stderr);
        let docs: Vec<serde_json::Value> = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(docs.len(), 1, "{name}: one document");
        docs.into_iter().next().unwrap()
    };
    let scan = load("dane-scan-job.yaml");
    assert_eq!(
        (scan["apiVersion"].as_str(), scan["kind"].as_str()),
        (Some("batch/v1"), Some("Job"))
    );
    let spec = &scan["spec"];
    assert_eq!(spec["completionMode"], "Indexed");
    let completions = spec["completions"].as_u64().unwrap();
    assert!(spec["backoffLimitPerIndex"].as_u64().unwrap() >= 1);
    let pod = &spec["template"]["spec"];
    assert_eq!(
        pod["restartPolicy"], "Never",
        "required by backoffLimitPerIndex"
    );
    let container = &pod["containers"][0];
    assert_eq!(
        container["command"],
        serde_json::json!(["bash", "/scripts/dane-scan.sbatch"])
    );
    let env = |name: &str| -> String {
        container["env"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .and_then(|e| e["value"].as_str())
            .unwrap_or_else(|| panic!("no {name}"))
            .to_owned()
    };
    assert_eq!(env("DANE_SHARDS"), completions.to_string());
    assert!(
        env("DANE_TARGETS").starts_with("/survey/") && env("DANE_PARTS").starts_with("/survey/")
    );
    let volumes = |pod: &serde_json::Value| -> String { pod["volumes"].to_string() };
    assert!(volumes(pod).contains("dane-scan-scripts") && volumes(pod).contains("dane-survey"));

    let merge = load("dane-merge-job.yaml");
    let mpod = &merge["spec"]["template"]["spec"];
    assert_eq!(merge["spec"]["backoffLimit"], 0);
    let command = mpod["containers"][0]["args"][0].as_str().unwrap();
    assert!(command.contains("bash /scripts/merge.sh"), "{command}");
    assert!(
        command.contains(&format!(
            "{}/part-*-of-{completions}.ndjson",
            env("DANE_PARTS")
        )),
        "{command}"
    );
    assert!(command.contains(&env("DANE_TARGETS")), "{command}");
    assert_eq!(volumes(mpod), volumes(pod));
    // The ConfigMap is made from the two scripts the docs name; they exist.
    for name in ["dane-scan.sbatch", "merge.sh"] {
        assert!(script(name).is_file(), "{name}");
    }
}
