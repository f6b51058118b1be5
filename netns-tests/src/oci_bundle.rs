//! OCI bundles for root tests of berth-runtime: a busybox root filesystem, runc's default
//! config (with a new network namespace, so nothing touches the host's network) and
//! [`TestContainer`], which drives the `berth-runtime` binary with a private `--root` and
//! force-deletes its container on drop.

#![allow(clippy::unwrap_used)] // test helpers: a failed setup step should panic loudly

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

use crate::build::{busybox_applets, runtime_bin};

/// Fails the test (never skips it) when not root.
pub fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test needs root (cargo test -p berth-netns-tests -- --ignored)"
    );
}

/// A busybox root filesystem with applet symlinks.
pub fn make_rootfs(dir: &Path) {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy("/bin/busybox", bin.join("busybox")).unwrap();
    for applet in busybox_applets() {
        symlink("busybox", bin.join(applet)).unwrap();
    }
    for d in ["proc", "sys", "dev", "tmp", "etc", "mnt"] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    std::fs::write(dir.join("etc/passwd"), "root:x:0:0:root:/:/bin/sh\n").unwrap();
}

/// runc's default config, with a new network namespace and our own cgroup path.
pub fn default_config(id: &str, args: &[&str]) -> Value {
    let caps = json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false, "user": {"uid": 0, "gid": 0}, "args": args,
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "cwd": "/",
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": false},
        "hostname": "berth-test",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]}
        ],
        "linux": {
            "cgroupsPath": format!("/berth-test/{id}"),
            "resources": {"devices": [{"allow": false, "access": "rwm"}]},
            "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"},
                           {"type": "uts"}, {"type": "mount"}],
            "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                "/proc/sysrq-trigger"]
        }
    })
}

/// A bundle plus a private state root; the container is force-deleted on drop.
pub struct TestContainer {
    /// The bundle's directory (also holds the state root).
    pub dir: tempfile::TempDir,
    /// The container id.
    pub id: String,
}

impl TestContainer {
    pub fn new(args: &[&str], tweak: impl FnOnce(&mut Value)) -> Self {
        require_root();
        let dir = tempfile::tempdir().unwrap();
        make_rootfs(&dir.path().join("rootfs"));
        let id = format!(
            "t{}-{}",
            std::process::id(),
            dir.path()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .trim_start_matches('.')
        );
        let mut cfg = default_config(&id, args);
        tweak(&mut cfg);
        std::fs::write(dir.path().join("config.json"), cfg.to_string()).unwrap();
        Self { dir, id }
    }

    pub fn bundle(&self) -> &Path {
        self.dir.path()
    }

    pub fn state_root(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(runtime_bin());
        c.arg("--root").arg(self.state_root()).args(args);
        c
    }

    pub fn rt(&self, args: &[&str]) -> Output {
        self.cmd(args).stdin(Stdio::null()).output().unwrap()
    }

    /// `run` in the foreground; returns (exit code, stdout, stderr).
    pub fn run(&self) -> (i32, String, String) {
        let b = self.bundle().to_str().unwrap().to_owned();
        let out = self.rt(&["run", "--bundle", &b, &self.id]);
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// create + start, leaving the container running (its stdio goes to files, so no pipe
    /// stays open after create returns).
    pub fn start_detached(&self) -> i32 {
        let b = self.bundle().to_str().unwrap().to_owned();
        let log = self.dir.path().join("create.err");
        let status = self
            .cmd(&["create", "--bundle", &b, &self.id])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .status()
            .unwrap();
        assert!(
            status.success(),
            "create: {}",
            std::fs::read_to_string(&log).unwrap()
        );
        let out = self.rt(&["start", &self.id]);
        assert!(
            out.status.success(),
            "start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let state: Value = serde_json::from_slice(&self.rt(&["state", &self.id]).stdout).unwrap();
        assert_eq!(state["status"], "running");
        state["pid"].as_i64().unwrap() as i32
    }

    pub fn cgroup_dir(&self, ctrl: &str) -> PathBuf {
        PathBuf::from(format!("/sys/fs/cgroup/{ctrl}/berth-test/{}", self.id))
    }
}

impl Drop for TestContainer {
    fn drop(&mut self) {
        // The binary was built when this container was made; this only reads the cached path.
        let _ = Command::new(runtime_bin())
            .arg("--root")
            .arg(self.state_root())
            .args(["delete", "--force", &self.id])
            .output();
    }
}

/// `run` that must exit 0; returns its stdout.
pub fn run_ok(c: &TestContainer) -> String {
    let (code, out, err) = c.run();
    assert_eq!(code, 0, "container failed: stdout={out} stderr={err}");
    out
}

/// A process holding a namespace of its own (`unshare ARGS sleep 60`), killed on drop.
pub struct NsHolder {
    child: std::process::Child,
    /// `/proc/PID/ns/KIND` of the holder.
    pub path: String,
    /// The namespace's identity, as readlink(2) shows it (`net:[4026532…]`).
    pub ident: String,
}

impl NsHolder {
    /// Starts the holder and waits until it is in its new `kind` namespace (`net`, `mnt`…).
    pub fn new(unshare_args: &[&str], kind: &str) -> Self {
        let child = Command::new("unshare")
            .args(unshare_args)
            .args(["sleep", "60"])
            .spawn()
            .unwrap();
        let path = format!("/proc/{}/ns/{kind}", child.id());
        let mine = std::fs::read_link(format!("/proc/self/ns/{kind}")).unwrap();
        for _ in 0..500 {
            match std::fs::read_link(&path) {
                Ok(l) if l != mine => {
                    let ident = l.to_string_lossy().into_owned();
                    return Self { child, path, ident };
                }
                _ => std::thread::sleep(std::time::Duration::from_millis(10)),
            }
        }
        panic!("unshare {unshare_args:?} never entered a new {kind} namespace");
    }
}

impl Drop for NsHolder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Makes the config join the namespace of type `typ` at `path` instead of creating one.
pub fn join_namespace(cfg: &mut Value, typ: &str, path: &str) {
    let list = cfg["linux"]["namespaces"].as_array_mut().unwrap();
    list.retain(|n| n["type"] != typ);
    list.push(json!({"type": typ, "path": path}));
}
