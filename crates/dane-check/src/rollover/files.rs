//! The files of `dane rollover`, every write a transaction (ARCHITECTURE.md invariant 10):
//!
//! - a new key ([`write_new_private`]) is written to a temporary file in the same directory,
//!   created with `O_CREAT|O_EXCL` and mode 0600 (set again with `fchmod`, so no umask
//!   widens or narrows it), fsynced, then hard-linked to its name (a link never replaces an
//!   existing file: a key is never overwritten, not even by a concurrent run), the directory
//!   fsynced;
//! - the state file ([`write_state`]) the same way, renamed over the old document: a crash
//!   leaves the old or the new document, never a torn one;
//! - a promotion or rollback ([`start`], [`finish`]) first writes its plan into the state
//!   file ([`Pending`]), then keeps the current key as a new 0600 file, then renames the
//!   replacement over the current key after giving it the current key's owner, group and
//!   mode (an MTA that reads the key as a group keeps reading it), then (promote) makes the
//!   new next key, then writes the final state. Killed at any step, the key files are as
//!   before or after one step, every key is on disk under some name, one file is the
//!   current key, and [`finish`] (run again) completes the plan from wherever it stopped.
//!
//! This is the one module of the crate that touches files (the crate-local clippy.toml
//! bans file I/O elsewhere); the CLI passes paths and reads the clock.

// The one place dane-check does file I/O: the rollover's key and state transactions.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::key::{self, KeyType};
use super::rrset::key_record;
use super::state::{Action, Pending, Retired, State, StateError};

/// Most bytes read from a state file (a rollover of 64 hosts with 32 servers each is
/// about 1 MiB).
pub const MAX_STATE: u64 = 4 << 20;
/// Most bytes read from a key file (an RSA 16384 PEM is about 13 KiB).
pub const MAX_KEY: u64 = 1 << 20;

/// A file operation that failed, with the file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// A key file exists where a new one was to be made.
    #[error("{0}: exists already; it is never overwritten")]
    Exists(PathBuf),
    /// An I/O error (in the message, not a `source`: the message says it all once).
    #[error("{path}: cannot {action}: {cause}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done (`read`, `create`, `write`, `rename to ...`).
        action: String,
        /// The error.
        cause: std::io::Error,
    },
    /// A file that is not what it should be (too large, not a key, a corrupt state).
    #[error("{path}: {detail}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Why.
        detail: String,
    },
    /// The key files are in none of the states an interrupted plan can leave.
    #[error("cannot finish the interrupted {action} of {started}: {detail}")]
    Inconsistent {
        /// `promotion` or `rollback`.
        action: &'static str,
        /// Its start, as recorded.
        started: u64,
        /// What was found, and what to do.
        detail: String,
    },
}

fn io(path: &Path, action: impl Into<String>) -> impl FnOnce(std::io::Error) -> FileError {
    let (path, action) = (path.to_owned(), action.into());
    move |cause| FileError::Io {
        path,
        action,
        cause,
    }
}

/// A point where a test can make the process die without any cleanup (as SIGKILL would):
/// in the crate's own test builds, the `DANE_CHECK_FAILPOINT`-th call aborts. Nothing in
/// other builds.
fn failpoint() {
    #[cfg(test)]
    {
        static CALLS: AtomicU64 = AtomicU64::new(0);
        let n = CALLS.fetch_add(1, Ordering::SeqCst) + 1;
        if std::env::var("DANE_CHECK_FAILPOINT").is_ok_and(|v| v == n.to_string()) {
            std::process::abort();
        }
    }
}

fn parent(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// Makes the directory entry changes in `dir` (a link, a rename, an unlink) durable.
fn sync_dir(dir: &Path) -> Result<(), FileError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir, "fsync the directory"))
}

/// A new temporary file beside `path`, mode 0600 from its creation, never an existing one.
fn create_temp(path: &Path) -> Result<(File, PathBuf), FileError> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    let dir = parent(path);
    for _ in 0..64 {
        let n = SEQ.fetch_add(1, Ordering::SeqCst);
        let tmp = dir.join(format!(".{name}.dane-tmp-{}-{n}", std::process::id()));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        match options.open(&tmp) {
            Ok(f) => {
                set_mode(&f, 0o600).map_err(io(&tmp, "set the mode of"))?;
                return Ok((f, tmp));
            }
            // A leftover of a killed run with the same process id: take another name.
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io(path, "write (creating a temporary file beside it)")(e)),
        }
    }
    Err(FileError::Invalid {
        path: path.to_owned(),
        detail: "no free temporary file name beside it".into(),
    })
}

#[cfg(unix)]
fn set_mode(f: &File, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    f.set_permissions(fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_: &File, _: u32) -> std::io::Result<()> {
    Ok(())
}

/// A temporary file beside `path` holding `contents`, fsynced.
fn temp_with(path: &Path, contents: &[u8]) -> Result<PathBuf, FileError> {
    let (mut f, tmp) = create_temp(path)?;
    failpoint();
    if let Err(e) = f.write_all(contents).and_then(|()| f.sync_all()) {
        drop(f);
        let _ = fs::remove_file(&tmp);
        return Err(io(path, "write")(e));
    }
    failpoint();
    Ok(tmp)
}

/// Removes the temporary files of `path` a killed run left (`.NAME.dane-tmp-*` beside it);
/// best effort: one that cannot be removed stays, and harms nothing.
fn remove_temps(path: &Path) {
    let Some(name) = path.file_name() else {
        return;
    };
    let prefix = format!(".{}.dane-tmp-", name.to_string_lossy());
    let Ok(entries) = fs::read_dir(parent(path)) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// Writes `contents` to a new file at `path`, mode 0600; fails when anything is there
/// ([`FileError::Exists`]), at the start or when the file is put in place.
pub fn write_new_private(path: &Path, contents: &[u8]) -> Result<(), FileError> {
    if fs::symlink_metadata(path).is_ok() {
        return Err(FileError::Exists(path.to_owned()));
    }
    let tmp = temp_with(path, contents)?;
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            return Err(FileError::Exists(path.to_owned()));
        }
        Err(e) => return Err(io(path, "create")(e)),
    }
    failpoint();
    sync_dir(&parent(path))
}

/// Writes `contents` over `path` (or to a new file) atomically, mode 0600.
pub fn write_replace(path: &Path, contents: &[u8]) -> Result<(), FileError> {
    let tmp = temp_with(path, contents)?;
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(io(path, "write (the previous file, if any, is unchanged)")(
            e,
        ));
    }
    failpoint();
    sync_dir(&parent(path))
}

/// Reads at most `max` bytes of `path`; `None` when it does not exist.
fn read_bounded(path: &Path, max: u64) -> Result<Option<Vec<u8>>, FileError> {
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(path, "read")(e)),
    };
    let mut bytes = Vec::new();
    f.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(io(path, "read"))?;
    if bytes.len() as u64 > max {
        return Err(FileError::Invalid {
            path: path.to_owned(),
            detail: format!("more than the {max} bytes this file may have"),
        });
    }
    Ok(Some(bytes))
}

/// The `3 1 1` data (hex) of the private key in `path`; `None` when there is no file.
pub fn key_hex(path: &Path) -> Result<Option<String>, FileError> {
    let Some(bytes) = read_bounded(path, MAX_KEY)? else {
        return Ok(None);
    };
    let spki = dane_tlsa::parse_private_key(&bytes).map_err(|e| FileError::Invalid {
        path: path.to_owned(),
        detail: e.to_string(),
    })?;
    Ok(Some(key_record(&spki).data_hex()))
}

/// Reads the state file: `None` when it does not exist; a corrupt one is an error (and is
/// left as it is).
pub fn read_state(path: &Path) -> Result<Option<State>, FileError> {
    let Some(bytes) = read_bounded(path, MAX_STATE)? else {
        return Ok(None);
    };
    let text = String::from_utf8(bytes).map_err(|_| FileError::Invalid {
        path: path.to_owned(),
        detail: StateError::Corrupt("not UTF-8".into()).to_string(),
    })?;
    State::from_json(&text)
        .map(Some)
        .map_err(|e| FileError::Invalid {
            path: path.to_owned(),
            detail: e.to_string(),
        })
}

/// Writes the state file as a transaction (mode 0600).
pub fn write_state(path: &Path, state: &State) -> Result<(), FileError> {
    write_replace(path, state.to_json().as_bytes())
}

/// The default next-key path beside `current`: `DIR/STEM.next.key` (`mx.key` ->
/// `mx.next.key`, `fullchain.pem` -> `fullchain.next.key`).
pub fn default_next_path(current: &Path) -> PathBuf {
    let stem = current
        .file_stem()
        .map_or_else(|| "key".into(), |s| s.to_string_lossy().into_owned());
    current.with_file_name(format!("{stem}.next.key"))
}

/// The default state file of a next key: `NEXT.key.rollover.json` beside it.
pub fn default_state_path(next: &Path) -> PathBuf {
    let mut name = next
        .file_name()
        .map_or_else(|| "next.key".into(), |n| n.to_os_string());
    name.push(".rollover.json");
    next.with_file_name(name)
}

/// `FILE.SUFFIX-STAMP` beside `current` (`mx.key.retired-20261202T150000Z`).
pub fn stamped_path(current: &Path, suffix: &str, stamp: &str) -> PathBuf {
    let stamp: String = stamp.chars().filter(char::is_ascii_alphanumeric).collect();
    let mut name = current
        .file_name()
        .map_or_else(|| "key".into(), |n| n.to_os_string());
    name.push(format!(".{suffix}-{stamp}"));
    current.with_file_name(name)
}

/// A next key file: read when it exists (never overwritten), else generated with `kind`
/// and written there. Gives its `3 1 1` data (hex) and whether it was made now.
pub fn next_key(path: &Path, kind: KeyType) -> Result<(String, bool), FileError> {
    if let Some(hex) = key_hex(path)? {
        return Ok((hex, false));
    }
    let new = key::generate(kind).map_err(|e| FileError::Invalid {
        path: path.to_owned(),
        detail: e.to_string(),
    })?;
    write_new_private(path, new.pem.as_bytes())?;
    Ok((key_record(&new.spki).data_hex(), true))
}

/// Makes a next key of type `kind` at `path` for `stage`: the state file first records
/// that `dane` makes it there (so that the default next-key path is known to be `dane`'s
/// when `stage` runs again), then the key is written. Killed between the two, the state
/// names a key that is not there, and the next `stage` makes another. `state` is the
/// document written.
pub fn create_next_key(
    path: &Path,
    kind: KeyType,
    state_path: &Path,
    state: &mut State,
) -> Result<dane_tlsa::Spki, FileError> {
    if fs::symlink_metadata(path).is_ok() {
        return Err(FileError::Exists(path.to_owned()));
    }
    let new = key::generate(kind).map_err(|e| FileError::Invalid {
        path: path.to_owned(),
        detail: e.to_string(),
    })?;
    let hex = key_record(&new.spki).data_hex();
    let mut next = std::mem::replace(state, State::new(&hex)).for_next_key(&hex);
    next.next_key_file = Some(absolute(path).display().to_string());
    *state = next;
    write_state(state_path, state)?;
    failpoint();
    write_new_private(path, new.pem.as_bytes())?;
    Ok(new.spki)
}

/// `path` made absolute (against the working directory, symbolic links left alone), as
/// the state file records paths: a plan is finished, and a next key recognised, from
/// whatever directory the next run starts in.
pub fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}

/// Whether the key at `path`, whose `3 1 1` data is `hex`, is the next key `dane` made
/// there (the state file says so): `stage` may then reuse its default next-key path.
pub fn made_by_dane(state: Option<&State>, path: &Path, hex: &str) -> bool {
    state.is_some_and(|s| {
        s.next_key.eq_ignore_ascii_case(hex)
            && s.next_key_file.as_deref() == Some(&*absolute(path).display().to_string())
    })
}

/// Gives `replacement` the owner, group and mode of `current` (so that whoever reads the
/// current key keeps reading it once the replacement is renamed over it), durably.
fn take_metadata(current: &Path, replacement: &Path) -> Result<(), FileError> {
    let meta = fs::metadata(current).map_err(io(current, "read the metadata of"))?;
    let f = File::open(replacement).map_err(io(replacement, "open"))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt as _, fchown};
        fchown(&f, Some(meta.uid()), Some(meta.gid()))
            .map_err(io(replacement, "set the owner and group of"))?;
        set_mode(&f, meta.mode() & 0o7777).map_err(io(replacement, "set the mode of"))?;
    }
    #[cfg(not(unix))]
    let _ = meta;
    f.sync_all().map_err(io(replacement, "fsync"))
}

/// Writes the plan of a promotion or rollback into the state file (before any key moves),
/// then carries it out ([`finish`]). `state` is the document read at the start; it is the
/// final document afterwards.
pub fn start(state_path: &Path, state: &mut State, plan: Pending) -> Result<Done, FileError> {
    state.pending = Some(plan);
    write_state(state_path, state)?;
    failpoint();
    finish(state_path, state)
}

/// What [`finish`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done {
    /// The plan, carried out (with the new next key's `3 1 1` data for a promotion).
    pub plan: Pending,
    /// Whether a new next key was made now (promote: `false` when a run before this one,
    /// interrupted, had made it).
    pub created_next: bool,
}

/// Carries out the plan of the state file from wherever an interrupted run left it; the
/// final document has no plan. An error names what was found and what to do.
pub fn finish(state_path: &Path, state: &mut State) -> Result<Done, FileError> {
    let Some(mut plan) = state.pending.clone() else {
        return Err(FileError::Invalid {
            path: state_path.to_owned(),
            detail: "no promotion or rollback to finish".into(),
        });
    };
    // What a killed run may have left: temporary files (copies of keys, mode 0600).
    let new_next = plan
        .new_next_key_file
        .as_deref()
        .unwrap_or(&plan.replacement);
    for f in [&plan.keep_as, &plan.key_file, new_next] {
        remove_temps(Path::new(f));
    }
    remove_temps(state_path);
    swap(&plan)?;
    let created_next = match plan.action {
        Action::Promote => {
            let (hex, created) = new_next_key(&plan)?;
            plan.new_next = Some(hex);
            created
        }
        Action::Rollback => false,
    };
    *state = final_state(state.clone(), &plan);
    write_state(state_path, state)?;
    Ok(Done { plan, created_next })
}

fn inconsistent(plan: &Pending, detail: String) -> FileError {
    FileError::Inconsistent {
        action: match plan.action {
            Action::Promote => "promotion",
            Action::Rollback => "rollback",
        },
        started: plan.started_at,
        detail,
    }
}

/// The key moves: `key_file` kept as `keep_as`, then `replacement` renamed over
/// `key_file`. Done already when `key_file` holds `to`.
fn swap(plan: &Pending) -> Result<(), FileError> {
    let (current, keep) = (Path::new(&plan.key_file), Path::new(&plan.keep_as));
    let found = key_hex(current)?;
    let kept = key_hex(keep)?;
    if found.as_deref() == Some(plan.to.as_str()) {
        // Moved already; the former key must be where the plan put it.
        if kept.as_deref() != Some(plan.from.as_str()) {
            return Err(inconsistent(
                plan,
                format!(
                    "{} holds the new key, but {} does not hold the former one ({}); restore it from a backup",
                    current.display(),
                    keep.display(),
                    plan.from
                ),
            ));
        }
        return Ok(());
    }
    if found.as_deref() != Some(plan.from.as_str()) {
        return Err(inconsistent(
            plan,
            format!(
                "{} holds neither the former key ({}) nor the new one ({}); put one of them back there and run again",
                current.display(),
                plan.from,
                plan.to
            ),
        ));
    }
    match kept {
        None => {
            let bytes = read_bounded(current, MAX_KEY)?.unwrap_or_default();
            write_new_private(keep, &bytes)?;
        }
        Some(k) if k == plan.from => {}
        Some(_) => return Err(FileError::Exists(keep.to_owned())),
    }
    rename_over(plan)
}

/// The replacement, checked to hold the key to make current, given the current key's owner,
/// group and mode, and renamed over it.
fn rename_over(plan: &Pending) -> Result<(), FileError> {
    let (current, replacement) = (Path::new(&plan.key_file), Path::new(&plan.replacement));
    if key_hex(replacement)?.as_deref() != Some(plan.to.as_str()) {
        return Err(inconsistent(
            plan,
            format!(
                "{} does not hold the key to make current ({}); nothing was moved but the copy {}",
                replacement.display(),
                plan.to,
                plan.keep_as
            ),
        ));
    }
    take_metadata(current, replacement)?;
    failpoint();
    fs::rename(replacement, current)
        .map_err(io(replacement, format!("rename to {}", current.display())))?;
    failpoint();
    sync_dir(&parent(current))?;
    if parent(replacement) != parent(current) {
        sync_dir(&parent(replacement))?;
    }
    Ok(())
}

/// The promotion's new next key: the one an interrupted run made, or a new one.
fn new_next_key(plan: &Pending) -> Result<(String, bool), FileError> {
    let path = PathBuf::from(
        plan.new_next_key_file
            .as_deref()
            .unwrap_or(&plan.replacement),
    );
    let kind = plan
        .key_type
        .as_deref()
        .and_then(KeyType::from_name)
        .unwrap_or(KeyType::P256);
    let (hex, created) = next_key(&path, kind)?;
    if hex == plan.from || hex == plan.to {
        return Err(inconsistent(
            plan,
            format!(
                "{} holds the former or the new current key, not a new next key; move it away and run again",
                path.display()
            ),
        ));
    }
    Ok((hex, created))
}

/// The document after the plan: for a promotion, a new state for the new next key with
/// the former current key retired; for a rollback, the same next key with the retired key
/// put back and the key it replaced retired.
fn final_state(old: State, plan: &Pending) -> State {
    let retired = Retired {
        key_file: plan.keep_as.clone(),
        record: format!("3 1 1 {}", plan.from),
        promoted_at: plan.started_at,
        delete_after: plan.delete_after,
    };
    let mut state = match (plan.action, &plan.new_next) {
        (Action::Promote, Some(next)) => {
            let mut s = old.for_next_key(next);
            s.next_key_file = plan
                .new_next_key_file
                .clone()
                .or_else(|| Some(plan.replacement.clone()));
            s.promoted = Some(plan.clone());
            s
        }
        _ => {
            let mut s = old;
            s.retired.retain(|r| r.key_file != plan.replacement);
            s.promoted = None;
            s
        }
    };
    state.retired.push(retired);
    state.pending = None;
    state
}

#[cfg(test)]
mod tests;
