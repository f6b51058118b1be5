//! The engine's side of the DNS server: where its files live under `<run-root>/dns`, telling
//! it to rebuild its table (one line, `reload`, on its control socket, answered `ok` once the
//! new table is in use), and starting it when a container needs it and none runs.
//!
//! Two locks keep exactly one server: `spawn.lock` is held by whoever starts one (and by a
//! server deciding to stop, so no start slips between its last look and its exit), and
//! `server.lock` is held by the server's supervisor for its whole life, so a server being
//! restarted after a crash is waited for, not started twice.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use nix::fcntl::{Flock, FlockArg};

/// How long a reload may take before the server is deemed stuck.
const RELOAD_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a server being restarted is waited for.
const RESTART_WAIT: Duration = Duration::from_secs(5);

/// The DNS server's files and binary.
#[derive(Debug, Clone)]
pub struct DnsControl {
    /// The persistent root the server reads records from.
    pub root: PathBuf,
    /// The volatile root; the server's files are under `<run-root>/dns`.
    pub run_root: PathBuf,
    /// The `berth-dns` binary, if there is one (next to the running binary, or
    /// `BERTH_DNS_BIN`). Without it, containers keep the host's resolvers.
    pub exe: Option<PathBuf>,
}

impl DnsControl {
    /// The control for these roots, with `berth-dns` looked up next to the running binary.
    pub fn new(root: &Path, run_root: &Path) -> DnsControl {
        let exe = std::env::var_os("BERTH_DNS_BIN")
            .map(PathBuf::from)
            .or_else(|| Some(std::env::current_exe().ok()?.with_file_name("berth-dns")))
            .filter(|p| p.is_file());
        DnsControl {
            root: root.to_owned(),
            run_root: run_root.to_owned(),
            exe,
        }
    }

    /// `<run-root>/dns`.
    pub fn dir(&self) -> PathBuf {
        self.run_root.join("dns")
    }

    /// The control socket.
    pub fn socket_path(&self) -> PathBuf {
        self.dir().join("control.sock")
    }

    /// Held while a server is started or decides to stop.
    pub fn spawn_lock_path(&self) -> PathBuf {
        self.dir().join("spawn.lock")
    }

    /// Held by a live server's supervisor.
    pub fn server_lock_path(&self) -> PathBuf {
        self.dir().join("server.lock")
    }

    /// The serving process's pid.
    pub fn pid_path(&self) -> PathBuf {
        self.dir().join("server.pid")
    }

    /// The server's log (its stderr).
    pub fn log_path(&self) -> PathBuf {
        self.dir().join("server.log")
    }

    /// Whether containers get the DNS server (its binary is there).
    pub fn available(&self) -> bool {
        self.exe.is_some()
    }

    /// Tells a running server to rebuild its table from the records, and waits until it
    /// has. With `start`, a server is started when none runs (a container on a served
    /// network needs it); without, no server is fine (nothing to update).
    pub fn sync(&self, start: bool) -> anyhow::Result<()> {
        if reload(&self.socket_path()).is_ok() || !start {
            return Ok(());
        }
        let Some(exe) = &self.exe else {
            return Ok(());
        };
        fs::create_dir_all(self.dir())
            .with_context(|| format!("create {}", self.dir().display()))?;
        let _spawning = lock(&self.spawn_lock_path(), FlockArg::LockExclusive)?;
        let deadline = Instant::now() + RESTART_WAIT;
        loop {
            if reload(&self.socket_path()).is_ok() {
                return Ok(());
            }
            match lock(&self.server_lock_path(), FlockArg::LockExclusiveNonblock) {
                Ok(free) => {
                    drop(free);
                    return self.spawn(exe);
                }
                Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
                Err(_) => anyhow::bail!(
                    "the DNS server holds {} but does not answer on {}",
                    self.server_lock_path().display(),
                    self.socket_path().display()
                ),
            }
        }
    }

    /// Starts `exe` detached and waits for its `ready` line (it has loaded the table and
    /// bound its sockets by then).
    fn spawn(&self, exe: &Path) -> anyhow::Result<()> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .with_context(|| format!("open {}", self.log_path().display()))?;
        let mut child = Command::new(exe)
            .arg("--root")
            .arg(&self.root)
            .arg("--run-root")
            .arg(&self.run_root)
            .arg("--resolv-conf")
            .arg(super::host_resolv_path())
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .with_context(|| format!("start {}", exe.display()))?;
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            BufReader::new(out).read_line(&mut line)?;
        }
        // The started process forks the supervisor off and exits at once: collect it.
        let _ = child.wait();
        if line.trim() == "ready" {
            return Ok(());
        }
        let mut log = String::new();
        if let Ok(mut f) = File::open(self.log_path()) {
            let _ = f.read_to_string(&mut log);
        }
        let last = log.lines().last().unwrap_or("no message");
        anyhow::bail!("the DNS server did not start: {last}")
    }
}

/// One `reload` on the control socket.
fn reload(sock: &Path) -> std::io::Result<()> {
    let mut s = UnixStream::connect(sock)?;
    s.set_read_timeout(Some(RELOAD_TIMEOUT))?;
    s.write_all(b"reload\n")?;
    let mut answer = String::new();
    BufReader::new(s).read_line(&mut answer)?;
    if answer.trim() == "ok" {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "DNS server answered {answer:?}"
        )))
    }
}

/// Opens (creating) and locks `path`.
pub fn lock(path: &Path, how: FlockArg) -> anyhow::Result<Flock<File>> {
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("open {}", path.display()))?;
    Flock::lock(f, how).map_err(|(_, e)| anyhow::anyhow!("lock {}: {e}", path.display()))
}
