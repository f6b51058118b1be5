//! podman (Debian's) drives `berth-runtime` through `--runtime PATH`: run, run -d, exec, stop,
//! rm. Everything podman keeps goes to a scratch dir (CONTAINERS_CONF, storage.conf, --root,
//! --runroot); containers use `--network none`, so no CNI plugin runs and the host network is
//! not touched. Recipe: shared/reference/podman-interop.md.
#![allow(clippy::unwrap_used)] // test helpers: a failed setup step should panic loudly

use std::os::unix::fs::symlink;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use berth_netns_tests::build::runtime_bin;

/// A scratch podman setup; removes its containers and images on drop.
struct Podman {
    scratch: tempfile::TempDir,
    runtime: PathBuf,
}

impl Podman {
    fn new() -> Self {
        assert!(nix::unistd::geteuid().is_root(), "this test needs root");
        let found = Command::new("podman").arg("--version").output();
        assert!(
            found.is_ok_and(|o| o.status.success()),
            "podman is missing: apt-get install podman"
        );
        let scratch = tempfile::tempdir().unwrap();
        let s = scratch.path().display().to_string();
        for d in [
            "tmp",
            "storage",
            "run",
            "net.d",
            "rootfs/bin",
            "rootfs/etc",
            "rootfs/tmp",
        ] {
            std::fs::create_dir_all(scratch.path().join(d)).unwrap();
        }
        let conf = format!(
            "[containers]\ndefault_ulimits = [\"nofile=1024:1024\", \"nproc=4096:4096\"]\n\
             [network]\nnetwork_backend = \"cni\"\nnetwork_config_dir = \"{s}/net.d\"\n\
             [engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n\
             events_logfile_path = \"{s}/events.log\"\ntmp_dir = \"{s}/tmp\"\n\
             static_dir = \"{s}/storage/libpod\"\nvolume_path = \"{s}/storage/volumes\"\n"
        );
        std::fs::write(scratch.path().join("containers.conf"), conf).unwrap();
        let storage = format!(
            "[storage]\ndriver = \"overlay\"\ngraphroot = \"{s}/storage\"\nrunroot = \"{s}/run\"\n"
        );
        std::fs::write(scratch.path().join("storage.conf"), storage).unwrap();
        let rootfs = scratch.path().join("rootfs");
        std::fs::copy("/bin/busybox", rootfs.join("bin/busybox")).unwrap();
        for a in ["sh", "true", "sleep", "echo", "cat", "hostname", "ps"] {
            symlink("busybox", rootfs.join("bin").join(a)).unwrap();
        }
        std::fs::write(rootfs.join("etc/passwd"), "root:x:0:0:root:/:/bin/sh\n").unwrap();
        let pm = Self {
            scratch,
            runtime: runtime_bin().to_path_buf(),
        };
        pm.import_image();
        pm
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let s = self.scratch.path();
        let mut c = Command::new("timeout");
        c.arg("120")
            .arg("podman")
            .arg("--root")
            .arg(s.join("storage"))
            .arg("--runroot")
            .arg(s.join("run"))
            .arg("--runtime")
            .arg(&self.runtime)
            .args(args)
            .env("CONTAINERS_CONF", s.join("containers.conf"))
            .env("CONTAINERS_STORAGE_CONF", s.join("storage.conf"));
        c
    }

    fn pm(&self, args: &[&str]) -> Output {
        self.cmd(args).stdin(Stdio::null()).output().unwrap()
    }

    fn pm_ok(&self, args: &[&str]) -> String {
        let out = self.pm(args);
        assert!(
            out.status.success(),
            "podman {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn import_image(&self) {
        let mut tar = Command::new("tar")
            .arg("-C")
            .arg(self.scratch.path().join("rootfs"))
            .args(["-c", "."])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let out = self
            .cmd(&["import", "--change", "CMD [\"sh\"]", "-", "berth-bb"])
            .stdin(tar.stdout.take().unwrap())
            .output()
            .unwrap();
        assert!(tar.wait().unwrap().success(), "tar of the rootfs failed");
        assert!(
            out.status.success(),
            "import: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self.pm(&["rm", "-af", "-t", "0"]);
        let _ = self.pm(&["rmi", "-af"]);
    }
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn podman_runs_execs_stops_and_removes_with_berth_runtime() {
    let pm = Podman::new();
    let out = pm.pm_ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "berth-bb",
        "sh",
        "-c",
        "echo hi-$(hostname)",
    ]);
    assert!(out.starts_with("hi-"), "{out}");

    let id = pm.pm_ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "--network",
        "none",
        "berth-bb",
        "sleep",
        "100",
    ]);
    assert_eq!(id.trim().len(), 64, "{id}");
    let status = pm.pm_ok(&["inspect", "-f", "{{.State.Status}}", "web"]);
    assert_eq!(status.trim(), "running");
    assert_eq!(
        pm.pm_ok(&["exec", "web", "echo", "exec-ok"]).trim(),
        "exec-ok"
    );
    let cmdline = pm.pm_ok(&["exec", "web", "cat", "/proc/1/cmdline"]);
    assert!(
        cmdline.starts_with("sleep"),
        "exec must see the container's pid 1: {cmdline}"
    );
    let code = pm.pm(&["exec", "web", "sh", "-c", "exit 3"]).status.code();
    assert_eq!(code, Some(3));

    pm.pm_ok(&["stop", "-t", "1", "web"]);
    let status = pm.pm_ok(&["inspect", "-f", "{{.State.Status}}", "web"]);
    assert_eq!(status.trim(), "exited");
    pm.pm_ok(&["rm", "web"]);
    let left = pm.pm_ok(&["ps", "-aq"]);
    assert!(left.trim().is_empty(), "containers left: {left}");
}
