//! `examples/slurm` on a real single-node Slurm (dane-testenv's [`Slurm`]: munged,
//! slurmctld and slurmd inside the interop namespace): a 4-task array over the interop bulk
//! domains, one task requeued (`scontrol requeue`) while it is mid-run, then
//! `examples/slurm/merge.sh`; the merged output must hold every target line exactly once
//! and equal, as a set of JSON documents, a single-process `dane scan` of the same input
//! (with the same `--at`, so no field depends on when a run happened).
//!
//! Task 2's first run is caught mid-run deterministically: its `DANE` is a stand-in that,
//! on that run only (`SLURM_RESTART_COUNT` unset), feeds the real dane the first half of
//! the target list and then holds its input open. The requeue's SIGTERM stops it with
//! those results written; the second run resumes from its part file.
//!
//! Needs root (the interop namespace) and the Slurm packages (scripts/install-test-deps).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use dane_testenv::{Interop, Slurm, require_tool, run_command};

/// Bulk domains in the target list (each: its own signed zone, an MX host on the rsa or ec
/// Postfix, a matching `3 1 1`).
const BULK: usize = 36;
/// The array's size.
const TASKS: usize = 4;
/// The task that is requeued.
const REQUEUED: usize = 2;

/// The fields of a result that say when or how a run went rather than what it found, set
/// aside when comparing runs: `at` (the evaluation time; the same `--at` here anyway) and an
/// endpoint's `cached` (its chain came from the run-wide probe cache: which target of a run
/// probes an endpoint first depends on how the run was split).
const RUN_FIELDS: &[&str] = &["at", "cached"];

fn normalise(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            map.retain(|k, _| !RUN_FIELDS.contains(&k.as_str()));
            map.values_mut().for_each(normalise);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(normalise),
        _ => {}
    }
}

/// The documents of an NDJSON text, each normalised and printed with sorted keys, sorted.
fn documents(ndjson: &str) -> Vec<String> {
    let mut docs: Vec<String> = ndjson
        .lines()
        .map(|l| {
            let mut v: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            normalise(&mut v);
            v.to_string()
        })
        .collect();
    docs.sort();
    docs
}

/// The target list: a comment, the bulk domains with a blank line among them, and a few
/// scenario domains with other verdicts. Returns it and the line numbers of its targets.
fn target_list(env: &Interop) -> (String, Vec<usize>) {
    let mut text = String::from("# a survey, sharded over a Slurm array\n");
    for (i, domain) in env.bulk_domains().iter().enumerate() {
        if i == BULK / 2 {
            text.push('\n');
        }
        text.push_str(domain);
        text.push('\n');
    }
    for domain in ["nxdomain.test", "insecure.test", "nomatch.test # fails"] {
        text.push_str(domain);
        text.push('\n');
    }
    let lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.split('#').next().unwrap_or("").trim().is_empty())
        .map(|(i, _)| i + 1)
        .collect();
    (text, lines)
}

/// The stand-in `DANE` for the array: the first run of task REQUEUED reads only the first
/// `half` lines of the target list, then waits for more (until the requeue stops it).
fn stalling_dane(dir: &Path, half: usize) -> PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let real = dane_e2e::dane_bin().display().to_string();
    // The stand-in passes a SIGTERM on to dane and waits for it, as the batch script does
    // for its DANE.
    let script = format!(
        "#!/bin/bash\n\
         if [ \"${{SLURM_ARRAY_TASK_ID:-}}\" = {REQUEUED} ] && [ \"${{SLURM_RESTART_COUNT:-0}}\" = 0 ]; then\n\
         \x20 {{ head -n {half} \"$2\"; exec sleep 600; }} | '{real}' \"$1\" - \"${{@:3}}\" &\n\
         \x20 pid=$!\n\
         \x20 trap 'kill -TERM $pid' TERM\n\
         \x20 while :; do status=0; wait $pid || status=$?; kill -0 $pid 2>/dev/null || exit $status; done\n\
         fi\n\
         exec '{real}' \"$@\"\n"
    );
    let path = dir.join("dane-stalls-once");
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn run(mut cmd: Command, what: &str) -> String {
    let out = run_command(
        {
            cmd.stdin(std::process::Stdio::null());
            cmd
        },
        None,
    );
    assert_eq!(out.code, 0, "{what}: {}{}", out.stdout, out.stderr);
    out.stdout
}

fn wait_until(what: &str, limit: Duration, slurm: &Slurm, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < limit,
            "{what}: not within {limit:?}\n{}",
            slurm.logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn line_count(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |t| t.lines().count())
}

/// `scontrol show job JOB`: each array task's fields, by task ID.
fn job_records(slurm: &Slurm, job: &str) -> BTreeMap<usize, BTreeMap<String, String>> {
    let mut cmd = slurm.command("scontrol").unwrap();
    cmd.args(["show", "job", job, "--oneliner"]);
    run(cmd, "scontrol show job")
        .lines()
        .map(|l| {
            let fields: BTreeMap<String, String> = l
                .split_whitespace()
                .filter_map(|w| w.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            let task = fields["ArrayTaskId"].parse().unwrap();
            (task, fields)
        })
        .collect()
}

#[test]
fn slurm_array_with_a_requeued_task_merges_to_the_single_process_scan() {
    for (tool, package) in [
        ("munged", "munge"),
        ("slurmctld", "slurmctld"),
        ("slurmd", "slurmd"),
        ("sbatch", "slurm-client"),
        ("jq", "jq"),
    ] {
        if require_tool(tool, package).is_none() {
            return;
        }
    }
    // Built (when stale) before anything starts.
    let _ = dane_e2e::dane_bin();
    let started = Instant::now();
    let env = Interop::start_bulk(BULK).expect("the interop environment (run as root)");
    eprintln!("slurm e2e: interop up after {:?}", started.elapsed());
    let slurm = Slurm::start(&env).expect("a single-node Slurm (scripts/install-test-deps)");
    eprintln!("slurm e2e: slurm up after {:?}", started.elapsed());
    let dir = std::env::temp_dir().join(format!("dane-slurm-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (text, target_lines) = target_list(&env);
    let targets = dir.join("targets.txt");
    std::fs::write(&targets, &text).unwrap();
    let at = Command::new("date")
        .args(["-u", "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .unwrap();
    let at = String::from_utf8(at.stdout).unwrap().trim().to_owned();
    let anchor = env.anchor_ds().display().to_string();
    // The jobs do not see the namespace's resolv.conf (dane_testenv::slurm): the resolver
    // is named, for the reference run too.
    let flags = [
        "--resolver",
        "127.0.0.1",
        "--trust-anchor",
        &anchor,
        "--allow-private",
        "--timeout",
        "10",
        "--at",
        &at,
        "--quiet",
    ];

    // The reference: one process over the whole list.
    let mut single = env.command(dane_e2e::dane_bin());
    single.arg("scan").arg(&targets).args(flags);
    let single = run_command(single, None);
    assert_eq!(single.code, 1, "nomatch.test fails: {}", single.stderr);
    let reference = documents(&single.stdout);
    eprintln!(
        "slurm e2e: single-process scan done after {:?}",
        started.elapsed()
    );
    assert_eq!(reference.len(), target_lines.len(), "{}", single.stderr);

    // The array, task REQUEUED stalling on its first run after the first half.
    let half = text.lines().count() / 2;
    let first_run = target_lines
        .iter()
        .enumerate()
        .filter(|(ordinal, line)| ordinal % TASKS == REQUEUED - 1 && **line <= half)
        .count();
    assert!(first_run > 0);
    let parts = dir.join("parts");
    let script = dane_e2e::root().join("examples/slurm/dane-scan.sbatch");
    let mut sbatch = slurm.command("sbatch").unwrap();
    sbatch
        .env("DANE_TARGETS", &targets)
        .env("DANE_PARTS", &parts)
        .env("DANE", stalling_dane(&dir, half))
        .arg("--parsable")
        .arg(format!("--array=1-{TASKS}"))
        .arg("--cpus-per-task=1")
        .arg(format!("--output={}/task-%a.log", dir.display()))
        .arg(format!("--chdir={}", dir.display()))
        .arg(&script)
        .args(flags);
    let job = run(sbatch, "sbatch").trim().to_owned();
    eprintln!(
        "slurm e2e: array {job} submitted after {:?}",
        started.elapsed()
    );
    assert!(job.chars().all(|c| c.is_ascii_digit()), "job ID {job:?}");

    let part = |k: usize| parts.join(format!("part-{k}-of-{TASKS}.ndjson"));
    wait_until(
        "task 2's first results",
        Duration::from_secs(60),
        &slurm,
        || line_count(&part(REQUEUED)) >= first_run,
    );
    let task = format!("{job}_{REQUEUED}");
    let records = job_records(&slurm, &task);
    assert_eq!(records[&REQUEUED]["JobState"], "RUNNING", "{records:?}");
    let job_id = records[&REQUEUED]["JobId"].clone();
    assert!(
        slurm.job_steps_present(&job_id),
        "the step's socket is where we look"
    );
    let mut requeue = slurm.command("scontrol").unwrap();
    requeue.args(["requeue", &task]);
    run(requeue, "scontrol requeue");
    // Slurm holds a requeued job back (a begin time about two minutes ahead); a site
    // waits, the test releases it once it is pending again and its old step is gone.
    let state = || {
        let mut squeue = slurm.command("squeue").unwrap();
        squeue.args(["-h", "-j", &task, "-o", "%T"]);
        run(squeue, "squeue").trim().to_owned()
    };
    wait_until(
        "the requeued task pending",
        Duration::from_secs(60),
        &slurm,
        || state() == "PENDING",
    );
    wait_until(
        "the first run's step gone",
        Duration::from_secs(60),
        &slurm,
        || !slurm.job_steps_present(&job_id),
    );
    wait_until(
        "the requeued task released",
        Duration::from_secs(60),
        &slurm,
        || {
            let mut update = slurm.command("scontrol").unwrap();
            update.args(["update", &format!("jobid={task}"), "StartTime=now"]);
            let _ = run_command(update, None);
            std::thread::sleep(Duration::from_millis(500));
            state() != "PENDING"
        },
    );
    wait_until("the array to end", Duration::from_secs(120), &slurm, || {
        let mut squeue = slurm.command("squeue").unwrap();
        squeue.args(["-h", "-j", &job]);
        run(squeue, "squeue").trim().is_empty()
    });

    eprintln!("slurm e2e: array ended after {:?}", started.elapsed());
    let records = job_records(&slurm, &job);
    assert_eq!(records.len(), TASKS, "{records:?}");
    for (k, fields) in &records {
        let log = std::fs::read_to_string(dir.join(format!("task-{k}.log"))).unwrap_or_default();
        assert_eq!(
            (fields["JobState"].as_str(), fields["ExitCode"].as_str()),
            ("COMPLETED", "0:0"),
            "task {k}: {log}\n{fields:?}\n{}",
            slurm.logs()
        );
        let restarts = if *k == REQUEUED { "1" } else { "0" };
        assert_eq!(fields["Restarts"], restarts, "task {k}: {log}");
    }
    let log = std::fs::read_to_string(dir.join(format!("task-{REQUEUED}.log"))).unwrap();
    assert!(
        log.contains("SIGTERM: interrupted after") && log.contains("(restart 1)"),
        "the first run was stopped by the requeue, the second resumed: {log}"
    );

    // The merge: every target line exactly once, in input order.
    let merge = dane_e2e::root().join("examples/slurm/merge.sh");
    let merged = dir.join("results.ndjson");
    let part_paths: Vec<PathBuf> = (1..=TASKS).map(part).collect();
    let mut cmd = Command::new("bash");
    cmd.arg(&merge).arg(&targets).arg(&merged).args(&part_paths);
    let out = run_command(cmd, None);
    assert_eq!(out.code, 0, "merge.sh: {}", out.stderr);
    let merged_text = std::fs::read_to_string(&merged).unwrap();
    let order: Vec<usize> = merged_text
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["line"]
                .as_u64()
                .unwrap() as usize
        })
        .collect();
    assert_eq!(order, target_lines, "input order, each target line once");
    assert_eq!(
        documents(&merged_text),
        reference,
        "sharded == single process"
    );

    // Without the requeued task's part the merge refuses, naming its lines.
    let mut cmd = Command::new("bash");
    cmd.arg(&merge)
        .arg(&targets)
        .arg(dir.join("incomplete.ndjson"))
        .args(part_paths.iter().filter(|p| **p != part(REQUEUED)));
    let out = run_command(cmd, None);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("have no result"), "{}", out.stderr);
    assert!(!dir.join("incomplete.ndjson").exists());
    eprintln!("slurm e2e: checked after {:?}", started.elapsed());
    drop(slurm);
    eprintln!("slurm e2e: slurm stopped after {:?}", started.elapsed());
    drop(env);
    eprintln!("slurm e2e: interop stopped after {:?}", started.elapsed());
    let _ = std::fs::remove_dir_all(&dir);
}
