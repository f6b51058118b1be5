//! A throwaway containerd (Debian's 1.6) for root tests: started in a new mount and network
//! namespace with its own root, state dir, socket and a tmpfs over `/run` (where its shims
//! put their sockets and ctr its fifos), CRI disabled, and stopped on drop. `ctr` runs in
//! that mount namespace too, so nothing containerd makes is seen by the machine.

#![allow(clippy::unwrap_used)] // test helpers: a failed setup step should panic loudly

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// A running containerd.
pub struct Containerd {
    dir: tempfile::TempDir,
    child: Child,
}

impl Containerd {
    /// Starts containerd and waits until `ctr version` answers (up to 10 s).
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let config = format!(
            "version = 2\nroot = \"{root}\"\nstate = \"{state}\"\n\
             disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\
             [grpc]\n  address = \"{sock}\"\n",
            root = d.join("root").display(),
            state = d.join("state").display(),
            sock = d.join("containerd.sock").display(),
        );
        std::fs::write(d.join("config.toml"), config).unwrap();
        let script = format!(
            "mount -t tmpfs tmpfs /run && ip link set lo up && exec containerd --config {}",
            d.join("config.toml").display()
        );
        let log = std::fs::File::create(d.join("containerd.log")).unwrap();
        // unshare and sh exec in turn, so the child's pid is containerd's.
        let child = Command::new("unshare")
            .args([
                "--mount",
                "--net",
                "--propagation",
                "private",
                "sh",
                "-c",
                &script,
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let c = Self { dir, child };
        for _ in 0..1000 {
            if c.socket().exists() && c.ctr(&["version"]).status.success() {
                return c;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("containerd did not start: {}", c.log());
    }

    /// containerd's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its gRPC socket.
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("containerd.sock")
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("containerd.log")).unwrap_or_default()
    }

    /// A scratch directory for the test's files (visible to containerd too).
    pub fn scratch(&self) -> &Path {
        self.dir.path()
    }

    /// `PROG ARGS` in containerd's mount namespace (its /run), not started.
    pub fn command_in_ns(&self, prog: &str, args: &[&str]) -> Command {
        let mut c = Command::new("nsenter");
        c.arg(format!("--mount=/proc/{}/ns/mnt", self.pid()))
            .arg("--")
            .arg(prog)
            .args(args)
            .stdin(Stdio::null());
        c
    }

    /// `ctr --address SOCKET ARGS`, not started.
    pub fn ctr_command(&self, args: &[&str]) -> Command {
        let sock = self.socket().display().to_string();
        let mut full = vec!["--address", sock.as_str()];
        full.extend_from_slice(args);
        self.command_in_ns("ctr", &full)
    }

    /// Runs `ctr ARGS`.
    pub fn ctr(&self, args: &[&str]) -> Output {
        self.ctr_command(args).output().unwrap()
    }

    /// Runs `ctr ARGS` and returns stdout; panics with stderr unless it succeeded.
    pub fn ctr_ok(&self, args: &[&str]) -> String {
        let out = self.ctr(args);
        assert!(
            out.status.success(),
            "ctr {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Ids of the tasks containerd knows.
    pub fn tasks(&self) -> Vec<String> {
        self.ctr_ok(&["task", "ls", "-q"])
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        // Tasks first (their shims and cgroups), then containers, then the daemon. Nothing
        // here may panic: a drop during a failed test's unwinding would abort the binary.
        let ctr = |args: &[&str]| self.ctr_command(args).output().ok();
        let ids = |args: &[&str]| -> Vec<String> {
            ctr(args)
                .map(|o| {
                    String::from_utf8_lossy(&o.stdout)
                        .lines()
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        for t in ids(&["task", "ls", "-q"]) {
            let _ = ctr(&["task", "kill", "-s", "SIGKILL", &t]);
            for _ in 0..200 {
                if ctr(&["task", "delete", &t]).is_some_and(|o| o.status.success()) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        for c in ids(&["container", "ls", "-q"]) {
            let _ = ctr(&["container", "rm", &c]);
        }
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.pid() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = self.child.wait();
        // The runtime made `/default` (containerd's namespace) above the containers' cgroups;
        // removed when empty (another test's containerd may still use it).
        for ctrl in std::fs::read_dir("/sys/fs/cgroup")
            .into_iter()
            .flatten()
            .flatten()
        {
            let _ = std::fs::remove_dir(ctrl.path().join("default"));
        }
        // Overlay snapshots are unmounted with their mount namespace; the files go here.
        let _ = Command::new("rm")
            .arg("-rf")
            .arg(self.dir.path().join("root"))
            .status();
    }
}
