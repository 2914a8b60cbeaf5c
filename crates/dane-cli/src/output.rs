//! `--output FILE` of `dane verify`, `dane dnssec` and `dane scan`: the result is written
//! to FILE atomically whatever the verdict (a temporary file created with O_EXCL in FILE's
//! directory, fsynced, renamed over FILE), so a monitoring system that reads FILE (the
//! node_exporter textfile collector) sees the last complete result, a failure included,
//! never half of one. Without `--output` the result goes to stdout.
//!
//! A run that ends with an error (usage or input, exit 2) writes nothing: the previous
//! FILE stays as it was.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek as _, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::bail;

/// Writes `text` to `output` atomically, or to stdout without it.
pub fn emit(output: Option<&Path>, text: &str) -> anyhow::Result<()> {
    let Some(path) = output else {
        return Ok(std::io::stdout().lock().write_all(text.as_bytes())?);
    };
    let mut file = Streamed::create(path)?;
    if let Err(e) = file.writer().write_all(text.as_bytes()) {
        bail!(
            "--output {}: cannot write: {e} (the previous file, if any, is unchanged)",
            path.display()
        );
    }
    file.commit()
}

/// The mode of a new result file: that of the file it replaces (an operator's `chmod`
/// stays), else 0644 less the umask (results are no secret, and a collector running as
/// another user reads them).
fn mode_for(path: &Path) -> Option<fs::Permissions> {
    use std::os::unix::fs::PermissionsExt as _;
    fs::metadata(path)
        .ok()
        .filter(fs::Metadata::is_file)
        .map(|m| fs::Permissions::from_mode(m.permissions().mode() & 0o7777))
}

/// Refuses an `--output` path that cannot be a file to replace (a directory, or a name
/// with no file part), before the check runs: a usage error then leaves everything alone.
pub fn check_path(output: Option<&Path>) -> anyhow::Result<()> {
    let Some(path) = output else { return Ok(()) };
    if path.file_name().is_none() || path.is_dir() {
        bail!("--output {}: not a file name", path.display());
    }
    let dir = directory(path);
    if !dir.is_dir() {
        bail!(
            "--output {}: no directory {}",
            path.display(),
            dir.display()
        );
    }
    Ok(())
}

fn directory(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// A file written as a stream (`dane scan --output`): lines go to a temporary file in the
/// target's directory (created with O_EXCL), which [`Streamed::commit`] renames over the
/// target once the run has ended (interrupted runs included); dropped uncommitted, the
/// temporary file is removed and the target left alone.
pub struct Streamed {
    path: PathBuf,
    tmp: PathBuf,
    file: File,
    committed: bool,
}

impl Streamed {
    /// Creates the temporary file for `path`.
    pub fn create(path: &Path) -> anyhow::Result<Streamed> {
        check_path(Some(path))?;
        let name = path
            .file_name()
            .map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
        let tmp = directory(path).join(format!(".{name}.tmp.{}", std::process::id()));
        let opened = {
            use std::os::unix::fs::OpenOptionsExt as _;
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o644)
                .open(&tmp)
        };
        // The mode is right before the first byte is written.
        let opened = opened.and_then(|file| match mode_for(path) {
            Some(mode) => file.set_permissions(mode).map(|()| file),
            None => Ok(file),
        });
        match opened {
            Ok(file) => Ok(Streamed {
                path: path.to_owned(),
                tmp,
                file,
                committed: false,
            }),
            Err(e) => bail!(
                "--output {}: cannot create {}: {e}",
                path.display(),
                tmp.display()
            ),
        }
    }

    /// The stream to write to.
    pub fn writer(&mut self) -> &mut dyn Write {
        &mut self.file
    }

    /// Copies `input` into the stream, but for a last line without its line end (one
    /// torn by a killed run), which is left out.
    pub fn append_whole_lines(&mut self, mut input: impl Read) -> std::io::Result<()> {
        let mut written = self.file.stream_position()?;
        let mut keep = written;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match input.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let chunk = &buf[..n];
            self.file.write_all(chunk)?;
            if let Some(i) = chunk.iter().rposition(|&b| b == b'\n') {
                keep = written + i as u64 + 1;
            }
            written += n as u64;
        }
        if keep < written {
            self.file.set_len(keep)?;
            self.file.seek(SeekFrom::Start(keep))?;
        }
        Ok(())
    }

    /// Syncs the temporary file and renames it over the target.
    pub fn commit(mut self) -> anyhow::Result<()> {
        let result = (|| -> std::io::Result<()> {
            self.file.sync_all()?;
            fs::rename(&self.tmp, &self.path)?;
            self.committed = true;
            if let Ok(d) = File::open(directory(&self.path)) {
                let _ = d.sync_all();
            }
            Ok(())
        })();
        if let Err(e) = result {
            bail!(
                "--output {}: cannot write: {e} (the previous file, if any, is unchanged)",
                self.path.display()
            );
        }
        Ok(())
    }
}

impl Drop for Streamed {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("dane-output-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn emit_replaces_the_file_whole() {
        let dir = scratch("emit");
        let path = dir.join("dane.prom");
        emit(Some(&path), "verified\n").unwrap();
        emit(Some(&path), "failed\n").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "failed\n");
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn streamed_is_visible_only_once_committed() {
        let dir = scratch("stream");
        let path = dir.join("results.ndjson");
        fs::write(&path, "old\n").unwrap();
        let mut s = Streamed::create(&path).unwrap();
        s.writer().write_all(b"new\n").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "old\n");
        s.commit().unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new\n");
        // A torn last line is left out of what is copied.
        let mut s = Streamed::create(&path).unwrap();
        s.append_whole_lines(&b"a\nb\ntorn"[..]).unwrap();
        s.writer().write_all(b"c\n").unwrap();
        s.commit().unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "a\nb\nc\n");
        fs::write(&path, "new\n").unwrap();
        // Dropped without a commit: the target stays, the temporary file goes.
        let mut s = Streamed::create(&path).unwrap();
        s.writer().write_all(b"lost\n").unwrap();
        drop(s);
        assert_eq!(fs::read_to_string(&path).unwrap(), "new\n");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_mode_is_kept_or_0644() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = scratch("mode");
        let path = dir.join("dane.prom");
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        emit(Some(&path), "one\n").unwrap();
        // The test process's umask may take bits away from 0644, never add any.
        assert_eq!(mode(&path) & !0o644, 0);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        emit(Some(&path), "two\n").unwrap();
        assert_eq!(mode(&path), 0o640);
        assert_eq!(fs::read_to_string(&path).unwrap(), "two\n");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_paths_are_refused_before_the_check() {
        let dir = scratch("paths");
        assert!(check_path(Some(&dir)).is_err());
        assert!(check_path(Some(&dir.join("missing/x.prom"))).is_err());
        assert!(check_path(Some(&dir.join("x.prom"))).is_ok());
        assert!(check_path(None).is_ok());
        fs::remove_dir_all(&dir).unwrap();
    }
}
