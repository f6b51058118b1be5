//! `berthd` under test: started inside a test host netns (only its network namespace is
//! entered, as `nsenter --net=` does for `berth`), on a unix socket in a temp dir, with the
//! roots it is given, and driven with the docker CLI (`/usr/local/bin/docker`, or
//! `BERTH_TEST_DOCKER`) with its own `DOCKER_CONFIG`. Dropping it sends SIGTERM and waits.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The docker CLI the tests drive.
pub fn docker_bin() -> PathBuf {
    std::env::var_os("BERTH_TEST_DOCKER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/local/bin/docker"))
}

/// A running berthd.
pub struct Berthd {
    child: Option<Child>,
    /// The API socket.
    pub sock: PathBuf,
    /// The docker CLI's config dir.
    pub config: tempfile::TempDir,
    /// berthd's stderr.
    pub log: PathBuf,
}

impl Berthd {
    /// Starts `bin` in the netns at `netns` on `sock` with these roots; waits until it answers.
    pub fn start(bin: &Path, netns: &Path, sock: &Path, root: &Path, run: &Path) -> Berthd {
        let log = sock.with_extension("log");
        let child = spawn(bin, netns, sock, root, run, &log);
        let d = Berthd {
            child: Some(child),
            sock: sock.to_owned(),
            config: tempfile::tempdir().expect("docker config dir"),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::os::unix::net::UnixStream::connect(sock).is_err() {
            assert!(
                Instant::now() < deadline,
                "berthd did not listen on {}: {}",
                sock.display(),
                d.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        d
    }

    /// berthd's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// What berthd wrote to stderr.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The docker command, not started: `docker -H unix://SOCK ARGS`.
    pub fn docker_cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(docker_bin());
        c.arg("-H")
            .arg(format!("unix://{}", self.sock.display()))
            .args(args)
            .env("DOCKER_CONFIG", self.config.path())
            .env_remove("DOCKER_HOST")
            .env_remove("DOCKER_CONTEXT")
            .stdin(Stdio::null());
        c
    }

    /// Runs docker; its output whatever the status (killed after 60 s).
    pub fn docker(&self, args: &[&str]) -> Output {
        let mut c = self.docker_cmd(args);
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        let child = c.spawn().expect("run docker");
        wait_output(child, Duration::from_secs(60), args)
    }

    /// Runs docker and returns stdout; panics with stderr unless it succeeded.
    pub fn docker_ok(&self, args: &[&str]) -> String {
        let out = self.docker(args);
        assert!(
            out.status.success(),
            "docker {args:?} failed ({}): {}\nberthd: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            self.log_text()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Sends SIGTERM and returns berthd's exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("berthd runs");
        signal_and_wait(&mut child)
    }

    /// Kills berthd with SIGKILL (its socket file stays behind).
    pub fn kill(mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Berthd {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            signal_and_wait(&mut c);
        }
    }
}

fn spawn(bin: &Path, netns: &Path, sock: &Path, root: &Path, run: &Path, log: &Path) -> Child {
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir).expect("create the socket's directory");
    }
    let stderr = std::fs::File::create(log).expect("berthd log");
    Command::new("nsenter")
        .arg(format!("--net={}", netns.display()))
        .arg("--")
        .arg(bin)
        .arg("-H")
        .arg(format!("unix://{}", sock.display()))
        .arg("--root")
        .arg(root)
        .arg("--run-root")
        .arg(run)
        .arg("--log-level")
        .arg("debug")
        .env_remove("BERTH_CNI_PATH")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("start berthd")
}

/// Runs berthd in the foreground (for a start that must fail); its output.
pub fn run_foreground(bin: &Path, netns: &Path, sock: &Path, root: &Path, run: &Path) -> Output {
    let log = sock.with_extension("fg.log");
    let child = spawn(bin, netns, sock, root, run, &log);
    let mut out = wait_output(child, Duration::from_secs(20), &["berthd"]);
    out.stderr = std::fs::read(&log).unwrap_or_default();
    out
}

fn signal_and_wait(child: &mut Child) -> std::process::ExitStatus {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(Some(s)) = child.try_wait() {
            return s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            return child.wait().expect("reap berthd");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_output(child: Child, limit: Duration, what: &[&str]) -> Output {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out.expect("collect output"),
        Err(_) => {
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            let out = rx
                .recv()
                .expect("output after kill")
                .expect("collect output");
            panic!(
                "{what:?} hung for {limit:?}; stdout {:?} stderr {:?}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}
