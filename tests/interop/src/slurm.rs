//! A real single-node Slurm cluster inside the interop environment's network namespace,
//! for the `examples/slurm` recipe (docs/cluster.md).
//!
//! [`Slurm::start`] writes a generated `slurm.conf` into a private temporary directory and
//! starts, each with `nsenter --net` into the namespace (so the PID is the daemon's own) and
//! in the foreground: `munged` (a fresh random key, its socket in that directory), `slurmctld`
//! (port 6817 on the namespace's 127.0.0.1, state in the directory, `-i`: no old state) and
//! one `slurmd` (node `dane-node`, port 6818, 4 CPUs declared whatever the machine has, so
//! a 4-task array runs at once). Batch jobs therefore run in the namespace's network, where
//! 127.0.0.1 port 53 is the namespace's Unbound and the interop servers are reachable. Only
//! the network namespace is entered: `ip netns exec` would also remount `/sys` without the
//! cgroup file system, which slurmd needs at start; the price is that the namespace's
//! `/etc/netns/<name>/resolv.conf` is not bound over `/etc/resolv.conf`, so jobs name their
//! resolver (`dane --resolver 127.0.0.1`). It returns once `sinfo` shows the node idle.
//!
//! On drop every job is cancelled (`scancel` on this controller only) and waited for (up to
//! 10 s), then slurmd, slurmctld and munged are stopped by PID (SIGTERM, SIGKILL after 5 s)
//! and the directory is removed. A job step left behind (slurmstepd daemonises) is in the
//! namespace, whose remaining processes [`Interop`]'s own drop kills by PID.
//!
//! Slurm 22.05 (Debian 12 `slurmctld`, `slurmd`, `slurm-client`, `munge`); needs root, as
//! [`Interop`] does. Start-up takes about 2 s.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{Error, Interop, TempDir, find_program, io, read_logs, stop};

/// The node's name in `slurm.conf` (`slurmd -N`).
pub const NODE: &str = "dane-node";
/// The partition every job goes to.
pub const PARTITION: &str = "dane";

/// The running cluster; stopped on drop (before the [`Interop`] it runs in).
#[derive(Debug)]
pub struct Slurm {
    nsenter: PathBuf,
    /// `--net=/run/netns/<name>`.
    net: String,
    conf: PathBuf,
    /// munged, slurmctld, slurmd, in start order.
    daemons: Vec<(&'static str, Child)>,
    // Last: the daemons stop before their directory goes.
    dir: TempDir,
}

/// The host's short name: slurmctld runs only where `SlurmctldHost` names this host.
fn short_hostname() -> Result<String, Error> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map_err(io("reading /proc/sys/kernel/hostname"))?;
    Ok(name.trim().split('.').next().unwrap_or("").to_owned())
}

/// The generated `slurm.conf`: everything in `dir`, loopback ports, no accounting, no
/// cgroups (process tracking by parent PID), root as the Slurm user.
fn slurm_conf(dir: &Path, host: &str) -> String {
    let d = dir.display();
    format!(
        "ClusterName=dane\n\
         SlurmctldHost={host}(127.0.0.1)\n\
         SlurmctldPort=6817\n\
         SlurmdPort=6818\n\
         SlurmUser=root\n\
         SlurmdUser=root\n\
         AuthType=auth/munge\n\
         AuthInfo=socket={d}/munge/munge.socket\n\
         CredType=cred/munge\n\
         StateSaveLocation={d}/state\n\
         SlurmdSpoolDir={d}/spool\n\
         SlurmctldPidFile={d}/slurmctld.pid\n\
         SlurmdPidFile={d}/slurmd.pid\n\
         SlurmctldLogFile={d}/slurmctld.log\n\
         SlurmdLogFile={d}/slurmd.log\n\
         MailProg=/bin/true\n\
         ProctrackType=proctrack/linuxproc\n\
         TaskPlugin=task/none\n\
         JobAcctGatherType=jobacct_gather/none\n\
         AccountingStorageType=accounting_storage/none\n\
         JobCompType=jobcomp/none\n\
         SelectType=select/cons_tres\n\
         SelectTypeParameters=CR_CPU\n\
         SchedulerType=sched/builtin\n\
         MpiDefault=none\n\
         ReturnToService=2\n\
         KillWait=5\n\
         SlurmdParameters=config_overrides\n\
         NodeName={NODE} NodeAddr=127.0.0.1 NodeHostname={NODE} CPUs=4 State=UNKNOWN\n\
         PartitionName={PARTITION} Nodes={NODE} Default=YES MaxTime=INFINITE State=UP\n"
    )
}

impl Slurm {
    /// Starts munged, slurmctld and slurmd inside `env`'s namespace; returns once the node
    /// is idle (up to 20 s, else an error with the daemons' logs).
    pub fn start(env: &Interop) -> Result<Self, Error> {
        let mut paths = Vec::new();
        for (program, package) in [
            ("munged", "munge"),
            ("slurmctld", "slurmctld"),
            ("slurmd", "slurmd"),
            ("sinfo", "slurm-client"),
        ] {
            paths.push(find_program(program, package)?);
        }
        let dir = TempDir::new("dane-slurm")?;
        for sub in ["munge", "state", "spool"] {
            std::fs::create_dir_all(dir.0.join(sub))
                .map_err(io(format!("creating {sub} in {}", dir.0.display())))?;
        }
        write_munge_key(&dir.0.join("munge/munge.key"))?;
        let conf = dir.0.join("slurm.conf");
        std::fs::write(&conf, slurm_conf(&dir.0, &short_hostname()?))
            .map_err(io("writing slurm.conf"))?;
        let mut slurm = Self {
            nsenter: find_program("nsenter", "util-linux")?,
            net: format!("--net=/run/netns/{}", env.netns()),
            conf,
            daemons: Vec::new(),
            dir,
        };
        // From here on, a failure drops `slurm`, which stops what started.
        slurm.start_daemons(&paths[0], &paths[1], &paths[2])?;
        slurm.wait_idle()?;
        Ok(slurm)
    }

    fn start_daemons(&mut self, munged: &Path, ctld: &Path, slurmd: &Path) -> Result<(), Error> {
        let m = self.dir.0.join("munge");
        let arg = |name: &str, file: &str| format!("--{name}={}", m.join(file).display());
        let munge_args = [
            "-F".to_owned(),
            "--force".to_owned(),
            arg("socket", "munge.socket"),
            arg("key-file", "munge.key"),
            arg("pid-file", "munged.pid"),
            arg("log-file", "munged.log"),
            arg("seed-file", "munged.seed"),
        ];
        self.spawn("munged", munged, &munge_args)?;
        self.wait_for_file("munged", &m.join("munge.socket"))?;
        let conf = self.conf.display().to_string();
        self.spawn("slurmctld", ctld, &["-D", "-i", "-f", &conf])?;
        self.spawn("slurmd", slurmd, &["-D", "-N", NODE, "-f", &conf])
    }

    fn spawn<S: AsRef<OsStr>>(
        &mut self,
        name: &'static str,
        program: &Path,
        args: &[S],
    ) -> Result<(), Error> {
        let stderr = std::fs::File::create(self.dir.0.join(format!("{name}.stderr")))
            .map_err(io(format!("creating {name}'s stderr")))?;
        let child = Command::new(&self.nsenter)
            .args([self.net.as_str(), "--"])
            .arg(program)
            .args(args)
            .env("SLURM_CONF", &self.conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .map_err(io(format!("starting {}", program.display())))?;
        self.daemons.push((name, child));
        Ok(())
    }

    /// Every daemon log and stderr, for error messages.
    pub fn logs(&self) -> String {
        let d = &self.dir.0;
        read_logs(&[
            d.join("munge/munged.log"),
            d.join("munged.stderr"),
            d.join("slurmctld.log"),
            d.join("slurmctld.stderr"),
            d.join("slurmd.log"),
            d.join("slurmd.stderr"),
        ])
    }

    /// Fails, with the logs, if a daemon has exited.
    fn check_alive(&mut self) -> Result<(), Error> {
        for (name, child) in &mut self.daemons {
            if let Ok(Some(status)) = child.try_wait() {
                let name = *name;
                return Err(Error::Startup {
                    program: name,
                    reason: format!("exited with {status}"),
                    log: self.logs(),
                });
            }
        }
        Ok(())
    }

    fn wait_for_file(&mut self, name: &'static str, path: &Path) -> Result<(), Error> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !path.exists() {
            self.check_alive()?;
            if Instant::now() > deadline {
                return Err(Error::Startup {
                    program: name,
                    reason: format!("no {} within 20 s", path.display()),
                    log: self.logs(),
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// Waits until `sinfo` says the node is idle.
    fn wait_idle(&mut self) -> Result<(), Error> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let out = self
                .command("sinfo")?
                .args(["-h", "-N", "-o", "%T"])
                .stderr(Stdio::null())
                .output()
                .map_err(io("running sinfo"))?;
            if String::from_utf8_lossy(&out.stdout).trim() == "idle" {
                return Ok(());
            }
            self.check_alive()?;
            if Instant::now() > deadline {
                return Err(Error::Startup {
                    program: "slurmd",
                    reason: format!(
                        "node {NODE} not idle within 20 s (sinfo: {:?})",
                        String::from_utf8_lossy(&out.stdout).trim()
                    ),
                    log: self.logs(),
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A Slurm client command (`sbatch`, `scontrol`, `squeue`, `scancel`, `sinfo`) for this
    /// cluster: run in the namespace's network with `SLURM_CONF` set.
    pub fn command(&self, program: &'static str) -> Result<Command, Error> {
        let path = find_program(program, "slurm-client")?;
        let mut cmd = Command::new(&self.nsenter);
        cmd.args([self.net.as_str(), "--"])
            .arg(path)
            .env("SLURM_CONF", &self.conf);
        Ok(cmd)
    }

    /// The generated `slurm.conf`.
    pub fn conf(&self) -> &Path {
        &self.conf
    }

    /// The PIDs of munged, slurmctld and slurmd.
    pub fn pids(&self) -> Vec<u32> {
        self.daemons.iter().map(|(_, c)| c.id()).collect()
    }

    /// Whether slurmd still holds a step of job `job_id` (the internal ID, `JobId=` of
    /// `scontrol show job`, not an array task's `JOB_TASK`): its slurmstepd's socket
    /// `NODE_JOBID.STEP` in the spool directory. A requeued job keeps its ID, and launching
    /// it again before the old step is gone fails the launch (Slurm's own hold of about two
    /// minutes on a requeued job avoids that).
    pub fn job_steps_present(&self, job_id: &str) -> bool {
        let prefix = format!("{NODE}_{job_id}.");
        std::fs::read_dir(self.dir.0.join("spool")).is_ok_and(|entries| {
            entries
                .flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        })
    }

    /// Whether the controller still lists jobs (`squeue`); `None` if it cannot be asked.
    fn jobs_listed(&self) -> Option<bool> {
        let out = self.command("squeue").ok()?.arg("-h").output().ok()?;
        out.status
            .success()
            .then(|| !String::from_utf8_lossy(&out.stdout).trim().is_empty())
    }
}

/// 1024 random bytes, mode 0400 from the first byte (munged refuses a key others can read).
fn write_munge_key(path: &Path) -> Result<(), Error> {
    use std::io::{Read as _, Write as _};
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut key = [0u8; 1024];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut key))
        .map_err(io("reading /dev/urandom"))?;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o400)
        .open(path)
        .and_then(|mut f| f.write_all(&key))
        .map_err(io(format!("writing {}", path.display())))
}

impl Drop for Slurm {
    fn drop(&mut self) {
        // Jobs first, while slurmd can still end their steps.
        if let Ok(mut scancel) = self.command("scancel") {
            let _ = scancel
                .args(["--user", "root"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while self.jobs_listed() == Some(true) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        for (_, child) in self.daemons.iter_mut().rev() {
            stop(child);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The generated configuration keeps the cluster to loopback and to its own directory:
    /// every address is 127.0.0.1 and every path is under the directory.
    #[test]
    fn slurm_conf_is_loopback_and_private() {
        let dir = Path::new("/tmp/dane-slurm-x");
        let conf = slurm_conf(dir, "host");
        assert!(conf.contains("SlurmctldHost=host(127.0.0.1)\n"), "{conf}");
        assert!(conf.contains(&format!("NodeName={NODE} NodeAddr=127.0.0.1 ")));
        for line in conf.lines() {
            let value = line.split_once('=').map_or("", |(_, v)| v);
            if value.starts_with('/') && !value.starts_with("/bin/true") {
                assert!(value.starts_with("/tmp/dane-slurm-x/"), "{line}");
            }
            if let Some(socket) = value.strip_prefix("socket=") {
                assert!(socket.starts_with("/tmp/dane-slurm-x/munge/"), "{line}");
            }
        }
        let addresses: Vec<&str> = conf
            .split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .filter(|w| w.matches('.').count() == 3)
            .collect();
        assert!(addresses.iter().all(|a| *a == "127.0.0.1"), "{addresses:?}");
    }
}
