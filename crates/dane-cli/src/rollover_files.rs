//! The files of `dane rollover`: key files (created with mode 0600 and `create_new`, never
//! over an existing file), the state file (written to a temporary file in the same
//! directory, fsynced, renamed over the old one, the directory fsynced: a crash leaves the
//! old or the new document, never a torn one), and the promotion's moves (the current key
//! is hard-linked to its retired name before the next key is renamed over it, so every key
//! stays on disk under some name at every moment).

use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use dane_check::rollover::key::{self, KeyType, NewKey};
use dane_check::rollover::state::State;

/// Most bytes read from a state file (a rollover of 64 hosts with 32 servers each is
/// about 1 MiB).
const MAX_STATE: u64 = 4 << 20;

/// A key file read or created.
#[derive(Debug)]
pub struct KeyFile {
    /// Its public key.
    pub spki: dane_tlsa::Spki,
    /// Whether this run created it.
    pub created: bool,
}

/// Reads the private key at `path` (any form `dane tlsa generate --key` reads).
pub fn read_key(flag: &str, path: &Path) -> anyhow::Result<dane_tlsa::Spki> {
    let bytes = crate::tlsa::read_input(flag, path, false)?;
    dane_tlsa::parse_private_key(&bytes).with_context(|| format!("{flag} {}", path.display()))
}

/// Writes `contents` to a new file at `path` with mode 0600; fails if anything exists
/// there (`create_new`: O_CREAT|O_EXCL, so a concurrent run cannot overwrite it either).
pub fn write_new_private(flag: &str, path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut f = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            anyhow::anyhow!(
                "{flag} {}: exists already; it is never overwritten (use it with --next-key, or choose another path)",
                path.display()
            )
        } else {
            anyhow::anyhow!("{flag} {}: cannot create: {e}", path.display())
        }
    })?;
    let written = f.write_all(contents).and_then(|()| f.sync_all());
    if let Err(e) = written {
        // A half-written key is worse than none: remove what this run created.
        drop(f);
        let _ = fs::remove_file(path);
        bail!("{flag} {}: cannot write: {e}", path.display());
    }
    Ok(())
}

/// The next key at `path`: read when the file exists (never overwritten), else generated
/// with `kind` and written there.
pub fn next_key(flag: &str, path: &Path, kind: KeyType) -> anyhow::Result<KeyFile> {
    if path.exists() {
        return Ok(KeyFile {
            spki: read_key(flag, path)?,
            created: false,
        });
    }
    let NewKey { pem, spki } = key::generate(kind)?;
    write_new_private(flag, path, pem.as_bytes())?;
    Ok(KeyFile {
        spki,
        created: true,
    })
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

/// Reads the state file: `None` when it does not exist; a corrupt file is an error (and is
/// left as it is).
pub fn read_state(path: &Path) -> anyhow::Result<Option<State>> {
    let label = format!("--state {}", path.display());
    if matches!(fs::symlink_metadata(path), Err(e) if e.kind() == std::io::ErrorKind::NotFound) {
        return Ok(None);
    }
    let text = crate::input::read_bounded(&label, path, MAX_STATE)?;
    State::from_json(&text)
        .map(Some)
        .map_err(|e| anyhow::anyhow!("{label}: {e}"))
}

/// Writes `contents` to `path` atomically: a temporary file in the same directory,
/// fsynced, renamed over `path`, then the directory fsynced.
pub fn write_atomic(label: &str, path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map_or_else(|| "state".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        // The rename is durable once the directory is.
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        bail!(
            "{label} {}: cannot write: {e} (the previous file, if any, is unchanged)",
            path.display()
        );
    }
    Ok(())
}

/// Writes the state file atomically.
pub fn write_state(path: &Path, state: &State) -> anyhow::Result<()> {
    write_atomic("--state", path, state.to_json().as_bytes())
}

/// The promotion's key moves: `current` is kept as `retired` (a hard link, or a copy
/// where links are not possible), then `next` is renamed over `current`. Afterwards
/// `current` holds the former next key, `retired` the former current key, and `next` is
/// free for a new next key. Refuses before changing anything when `retired` exists.
pub fn promote_files(current: &Path, next: &Path, retired: &Path) -> anyhow::Result<()> {
    if retired.exists() {
        bail!("{}: exists already; nothing was moved", retired.display());
    }
    if fs::hard_link(current, retired).is_err() {
        // A key file is a few KiB; the bound holds whatever the path is.
        let bytes = crate::input::read_bounded_bytes(
            &format!("--key {}", current.display()),
            current,
            1 << 20,
        )?;
        write_new_private("--key", retired, &bytes)?;
    }
    fs::rename(next, current).with_context(|| {
        format!(
            "moving {} to {} (the current key is unchanged, and also kept as {})",
            next.display(),
            current.display(),
            retired.display()
        )
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("dane-rollover-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn new_private_file_is_0600_and_never_overwritten() {
        let d = dir("private");
        let p = d.join("k.key");
        write_new_private("--next-key", &p, b"one").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(
                fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let e = write_new_private("--next-key", &p, b"two").unwrap_err();
        assert!(e.to_string().contains("exists already"), "{e}");
        assert_eq!(fs::read(&p).unwrap(), b"one");
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
    }

    #[test]
    fn atomic_state_write_and_corrupt_state() {
        let d = dir("state");
        let p = d.join("s.json");
        assert!(read_state(&p).unwrap().is_none());
        let s = State::new(&"AB".repeat(32));
        write_state(&p, &s).unwrap();
        assert_eq!(read_state(&p).unwrap(), Some(s.clone()));
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(&d).unwrap().count(), 1);
        fs::write(&p, "{ not json").unwrap();
        let e = read_state(&p).unwrap_err();
        assert!(e.to_string().contains("corrupt state file"), "{e}");
        assert_eq!(
            fs::read_to_string(&p).unwrap(),
            "{ not json",
            "left as it was"
        );
        // A directory that cannot be written: a clear error, the old file unchanged.
        let e = write_state(&d.join("missing-dir").join("s.json"), &s).unwrap_err();
        assert!(e.to_string().contains("cannot write"), "{e}");
        fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn promotion_moves_keep_every_key() {
        let d = dir("promote");
        let (cur, next, old) = (
            d.join("mx.key"),
            d.join("mx.next.key"),
            d.join("mx.key.old"),
        );
        fs::write(&cur, "current").unwrap();
        fs::write(&next, "next").unwrap();
        promote_files(&cur, &next, &old).unwrap();
        assert_eq!(fs::read_to_string(&cur).unwrap(), "next");
        assert_eq!(fs::read_to_string(&old).unwrap(), "current");
        assert!(!next.exists());
        // Again: the retired name exists, nothing moves.
        fs::write(&next, "newer").unwrap();
        let e = promote_files(&cur, &next, &old).unwrap_err();
        assert!(e.to_string().contains("nothing was moved"), "{e}");
        assert_eq!(fs::read_to_string(&cur).unwrap(), "next");
        assert_eq!(fs::read_to_string(&next).unwrap(), "newer");
        fs::remove_dir_all(d).unwrap();
    }
}
