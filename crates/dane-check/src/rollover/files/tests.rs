use super::*;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::process::Command;

const CURRENT: &[u8] = include_bytes!("../../../../../fixtures/pki/leaf-ec.key");
const NEXT: &[u8] = include_bytes!("../../../../../fixtures/pki/next.key");
/// The group the current key is given, as an MTA's group would be.
const GROUP: u32 = 4242;

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("dane-check-files-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

fn hex(pem: &[u8]) -> String {
    key_record(&dane_tlsa::parse_private_key(pem).unwrap()).data_hex()
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

/// Every file of `d` but temporary ones: name and content.
fn files(d: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| !e.file_name().to_string_lossy().contains(".dane-tmp-"))
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn a_new_private_file_is_0600_under_any_umask_and_never_overwritten() {
    let d = dir("private");
    let p = d.join("k.key");
    // Under umask 000 (the child runs the same write with it): 0600, not 0666.
    run_child("child_write_new_private", &d, None, "000");
    assert_eq!(mode(&p), 0o600);
    assert_eq!(fs::read(&p).unwrap(), b"one");
    let e = write_new_private(&p, b"two").unwrap_err();
    assert!(matches!(e, FileError::Exists(_)), "{e}");
    assert_eq!(fs::read(&p).unwrap(), b"one");
    // Only the key: no temporary file left behind.
    assert_eq!(fs::read_dir(&d).unwrap().count(), 1);
    // The state file too, over an existing 0666 one.
    let s = d.join("s.json");
    fs::write(&s, "old").unwrap();
    fs::set_permissions(&s, fs::Permissions::from_mode(0o666)).unwrap();
    write_state(&s, &State::new(&hex(NEXT))).unwrap();
    assert_eq!(mode(&s), 0o600);
    assert_eq!(read_state(&s).unwrap(), Some(State::new(&hex(NEXT))));
    fs::remove_dir_all(d).unwrap();
}

#[test]
#[ignore = "run by the tests above as a child process"]
fn child_write_new_private() {
    let d = PathBuf::from(std::env::var("DANE_CHECK_DIR").unwrap());
    write_new_private(&d.join("k.key"), b"one").unwrap();
}

#[test]
fn state_file_corrupt_too_large_or_unwritable() {
    let d = dir("state");
    let p = d.join("s.json");
    assert!(read_state(&p).unwrap().is_none());
    fs::write(&p, "{ not json").unwrap();
    let e = read_state(&p).unwrap_err();
    assert!(e.to_string().contains("corrupt state file"), "{e}");
    assert_eq!(fs::read_to_string(&p).unwrap(), "{ not json");
    fs::write(&p, vec![b' '; MAX_STATE as usize + 1]).unwrap();
    let e = read_state(&p).unwrap_err();
    assert!(e.to_string().contains("more than the"), "{e}");
    let e = write_state(&d.join("missing").join("s.json"), &State::new(&hex(NEXT))).unwrap_err();
    assert!(
        e.to_string()
            .contains("cannot write (creating a temporary file beside it)"),
        "{e}"
    );
    fs::remove_dir_all(d).unwrap();
}

#[test]
fn default_paths() {
    assert_eq!(
        default_next_path(Path::new("/etc/ssl/mx.key")),
        Path::new("/etc/ssl/mx.next.key")
    );
    assert_eq!(
        default_next_path(Path::new("live/fullchain.pem")),
        Path::new("live/fullchain.next.key")
    );
    assert_eq!(
        default_state_path(Path::new("/k/mx.next.key")),
        Path::new("/k/mx.next.key.rollover.json")
    );
    assert_eq!(
        stamped_path(Path::new("/k/mx.key"), "retired", "2026-12-02T15:00:00Z"),
        Path::new("/k/mx.key.retired-20261202T150000Z")
    );
}

/// The promotion of `d` as the CLI starts it: mx.key (C) kept as mx.key.retired, mx.next.key
/// (N) made current, a new next key at mx.next.key.
fn promotion(d: &Path) -> Pending {
    let p = |n: &str| d.join(n).display().to_string();
    Pending {
        action: Action::Promote,
        started_at: 1000,
        key_file: p("mx.key"),
        from: hex(CURRENT),
        keep_as: p("mx.key.retired"),
        replacement: p("mx.next.key"),
        to: hex(NEXT),
        new_next_key_file: None,
        key_type: Some("p256".into()),
        new_next: None,
        owners: vec!["_25._tcp.mx.example.".into()],
        delete_after: 5000,
    }
}

fn setup_promotion(d: &Path) {
    let _ = fs::remove_dir_all(d);
    fs::create_dir_all(d).unwrap();
    fs::write(d.join("mx.key"), CURRENT).unwrap();
    fs::set_permissions(d.join("mx.key"), fs::Permissions::from_mode(0o640)).unwrap();
    std::os::unix::fs::chown(d.join("mx.key"), None, Some(GROUP)).unwrap();
    fs::write(d.join("mx.next.key"), NEXT).unwrap();
    let mut s = State::new(&hex(NEXT));
    s.mark_seen("_25._tcp.mx.example.", "ns1.", "192.0.2.1:53", 10);
    write_state(&d.join("state.json"), &s).unwrap();
}

#[test]
#[ignore = "run by the tests above as a child process"]
fn child_promote() {
    let d = PathBuf::from(std::env::var("DANE_CHECK_DIR").unwrap());
    let state_path = d.join("state.json");
    let mut state = read_state(&state_path).unwrap().unwrap();
    start(&state_path, &mut state, promotion(&d)).unwrap();
}

/// Runs the child test `name` on `d` under `umask`, made to abort at failpoint `n`; whether
/// it finished.
fn run_child(name: &str, d: &Path, n: Option<u32>, umask: &str) -> bool {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("umask {umask}; exec \"$0\" \"$@\""))
        .arg(exe)
        .args(["--exact", &format!("rollover::files::tests::{name}")])
        .args(["--ignored", "--test-threads", "1", "-q"])
        .env("DANE_CHECK_DIR", d);
    if let Some(n) = n {
        cmd.env("DANE_CHECK_FAILPOINT", n.to_string());
    }
    let out = cmd.output().unwrap();
    if n.is_none() {
        assert!(out.status.success(), "{name}: {out:?}");
    }
    out.status.success()
}

/// After a kill at any step: both keys are on disk under a name of the plan, mx.key holds
/// one of them and no other file claims to be current, and the state file reads.
fn assert_recoverable(d: &Path, step: u32) {
    let all = files(d);
    let holding = |pem: &[u8]| {
        all.iter()
            .filter(|(n, c)| c == pem && n.starts_with("mx."))
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
    };
    let (c, n) = (holding(CURRENT), holding(NEXT));
    assert!(
        !c.is_empty() && !n.is_empty(),
        "step {step}: a key is lost: {all:?}"
    );
    let current = fs::read(d.join("mx.key")).unwrap();
    assert!(current == CURRENT || current == NEXT, "step {step}");
    assert_eq!(
        holding(&current)
            .iter()
            .filter(|f| !f.contains(".retired"))
            .count(),
        1,
        "step {step}: two files claim to be current: {all:?}"
    );
    read_state(&d.join("state.json")).unwrap().unwrap();
}

/// What the next run does: finish the plan when the state has one, else start again.
fn recover(d: &Path) {
    let state_path = d.join("state.json");
    let mut state = read_state(&state_path).unwrap().unwrap();
    if state.pending.is_some() {
        finish(&state_path, &mut state).unwrap();
    } else if state.promoted.is_none() {
        start(&state_path, &mut state, promotion(d)).unwrap();
    }
}

fn assert_promoted(d: &Path) {
    let state = read_state(&d.join("state.json")).unwrap().unwrap();
    assert_eq!(fs::read(d.join("mx.key")).unwrap(), NEXT);
    // The current key keeps the owner, group and mode readers depend on.
    let meta = fs::metadata(d.join("mx.key")).unwrap();
    assert_eq!((meta.mode() & 0o7777, meta.gid()), (0o640, GROUP));
    assert_eq!(fs::read(d.join("mx.key.retired")).unwrap(), CURRENT);
    assert_eq!(mode(&d.join("mx.key.retired")), 0o600);
    let new = key_hex(&d.join("mx.next.key")).unwrap().unwrap();
    assert_eq!(mode(&d.join("mx.next.key")), 0o600);
    assert_ne!(new, hex(CURRENT));
    assert_ne!(new, hex(NEXT));
    assert_eq!(state.next_key, new);
    assert!(state.pending.is_none() && state.seen.is_empty());
    assert_eq!(
        state.promoted.as_ref().unwrap().new_next.as_ref(),
        Some(&new)
    );
    assert_eq!(state.retired.len(), 1);
    assert_eq!(state.retired[0].record, format!("3 1 1 {}", hex(CURRENT)));
    assert_eq!(mode(&d.join("state.json")), 0o600);
}

/// Killed between every two steps of a promotion (the process aborts, nothing is cleaned
/// up, as with SIGKILL): no key is lost, one file is current, and the next run finishes.
#[test]
fn a_promotion_killed_at_any_step_is_finished_by_the_next_run() {
    let d = dir("kill");
    let mut step = 1;
    loop {
        setup_promotion(&d);
        if run_child("child_promote", &d, Some(step), "000") {
            break;
        }
        assert_recoverable(&d, step);
        recover(&d);
        assert_promoted(&d);
        let temps: Vec<_> = fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".dane-tmp-"))
            .collect();
        assert!(temps.is_empty(), "step {step}: left behind: {temps:?}");
        step += 1;
        assert!(step < 100, "no end to the steps");
    }
    assert!(step > 10, "only {step} steps were tried");
    assert_promoted(&d);
    fs::remove_dir_all(d).unwrap();
}

#[test]
fn a_rollback_puts_the_retired_key_back_and_keeps_the_other() {
    let d = dir("rollback");
    setup_promotion(&d);
    run_child("child_promote", &d, None, "077");
    let state_path = d.join("state.json");
    let mut state = read_state(&state_path).unwrap().unwrap();
    let p = |n: &str| d.join(n).display().to_string();
    let plan = Pending {
        action: Action::Rollback,
        started_at: 2000,
        key_file: p("mx.key"),
        from: hex(NEXT),
        keep_as: p("mx.key.rolled-back"),
        replacement: p("mx.key.retired"),
        to: hex(CURRENT),
        new_next_key_file: None,
        key_type: None,
        new_next: None,
        owners: Vec::new(),
        delete_after: 9000,
    };
    let next = state.next_key.clone();
    start(&state_path, &mut state, plan).unwrap();
    assert_eq!(fs::read(d.join("mx.key")).unwrap(), CURRENT);
    let meta = fs::metadata(d.join("mx.key")).unwrap();
    assert_eq!((meta.mode() & 0o7777, meta.gid()), (0o640, GROUP));
    assert_eq!(fs::read(d.join("mx.key.rolled-back")).unwrap(), NEXT);
    assert!(!d.join("mx.key.retired").exists());
    let state = read_state(&state_path).unwrap().unwrap();
    assert_eq!(state.next_key, next, "the next key stays");
    assert_eq!(state.retired.len(), 1);
    assert_eq!(state.retired[0].key_file, p("mx.key.rolled-back"));
    assert!(state.promoted.is_none() && state.pending.is_none());
    fs::remove_dir_all(d).unwrap();
}

#[test]
fn a_plan_the_files_do_not_match_is_refused_saying_what_was_found() {
    let d = dir("mismatch");
    setup_promotion(&d);
    // Someone put a third key at mx.key: nothing is moved, and the message says so.
    fs::write(
        d.join("mx.key"),
        include_bytes!("../../../../../fixtures/pki/leaf-rsa.key"),
    )
    .unwrap();
    let state_path = d.join("state.json");
    let mut state = read_state(&state_path).unwrap().unwrap();
    let e = start(&state_path, &mut state, promotion(&d)).unwrap_err();
    assert!(
        e.to_string().contains("holds neither the former key"),
        "{e}"
    );
    assert_eq!(fs::read(d.join("mx.next.key")).unwrap(), NEXT);
    assert!(!d.join("mx.key.retired").exists());
    fs::remove_dir_all(d).unwrap();
}

#[test]
#[ignore = "run by the tests above as a child process"]
fn child_stage() {
    let d = PathBuf::from(std::env::var("DANE_CHECK_DIR").unwrap());
    let state_path = d.join("state.json");
    let mut state = read_state(&state_path).unwrap().unwrap();
    create_next_key(
        &d.join("mx.next.key"),
        KeyType::P256,
        &state_path,
        &mut state,
    )
    .unwrap();
}

/// `stage` making a next key, killed at any step: either no key and a state that does not
/// name one there that exists, or the complete key the state names; a temporary file at
/// most, never a torn key; the next run makes or reuses it.
#[test]
fn a_next_key_made_by_stage_killed_at_any_step() {
    let d = dir("stage-kill");
    let mut step = 1;
    loop {
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        let mut old = State::new(&hex(NEXT));
        old.retired.push(Retired {
            key_file: "/k/old".into(),
            record: "3 1 1 AB".into(),
            promoted_at: 1,
            delete_after: 2,
        });
        write_state(&d.join("state.json"), &old).unwrap();
        let finished = run_child("child_stage", &d, Some(step), "000");
        let next = d.join("mx.next.key");
        let state = read_state(&d.join("state.json")).unwrap().unwrap();
        assert_eq!(state.retired, old.retired, "step {step}: retired keys kept");
        match key_hex(&next).unwrap() {
            Some(h) => {
                assert!(made_by_dane(Some(&state), &next, &h), "step {step}");
                assert_eq!(mode(&next), 0o600);
            }
            None => assert!(state == old || state.next_key_file.is_some(), "step {step}"),
        }
        if finished {
            break;
        }
        step += 1;
        assert!(step < 50, "no end to the steps");
    }
    assert!(step > 5, "only {step} steps were tried");
    fs::remove_dir_all(d).unwrap();
}
