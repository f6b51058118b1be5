//! Interoperation with a real CNI runtime: podman (Debian's package, CNI backend) runs two
//! containers on a network made by `berth net create`, using berth's plugin directory, and one
//! reaches the other. Recipe: ../shared/reference/podman-interop.md. Everything podman writes
//! stays in a scratch dir except what it unavoidably writes (its netns files under /run/netns,
//! libcni's result cache under /var/lib/cni/results, runc state under /run/runc, and
//! /var/lib/containers/cache); those are removed again when this test created them.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

#[path = "cli_net/fixture.rs"]
mod fixture;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use berth_netns_tests::cni::plugin_dir;
use fixture::Berth;

struct Podman<'a> {
    berth: &'a Berth,
    scratch: tempfile::TempDir,
}

impl Podman<'_> {
    fn run(&self, args: &[&str]) -> Output {
        let s = self.scratch.path();
        Command::new("timeout")
            .arg("120")
            .arg("nsenter")
            .arg(format!("--net={}", self.berth.host.path().display()))
            .arg("--")
            .arg("podman")
            .arg("--root")
            .arg(s.join("storage"))
            .arg("--runroot")
            .arg(s.join("run"))
            .args(args)
            .env("CONTAINERS_CONF", s.join("containers.conf"))
            .env("CONTAINERS_STORAGE_CONF", s.join("storage.conf"))
            .current_dir(s)
            .output()
            .expect("run podman (apt-get install podman runc)")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "podman {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn new(berth: &Berth) -> Podman<'_> {
        let scratch = tempfile::tempdir().unwrap();
        let s = scratch.path().display().to_string();
        let conf = format!(
            r#"[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]

[network]
network_backend = "cni"
cni_plugin_dirs = ["{plugins}"]
network_config_dir = "{networks}"
default_subnet = "10.233.9.0/24"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{s}/events.log"
tmp_dir = "{s}/tmp"
static_dir = "{s}/storage/libpod"
volume_path = "{s}/storage/volumes"
"#,
            plugins = plugin_dir().display(),
            networks = berth.root.path().join("networks").display(),
        );
        std::fs::write(scratch.path().join("containers.conf"), conf).unwrap();
        let storage = format!(
            "[storage]\ndriver = \"overlay\"\ngraphroot = \"{s}/storage\"\nrunroot = \"{s}/run\"\n"
        );
        std::fs::write(scratch.path().join("storage.conf"), storage).unwrap();
        Podman { berth, scratch }
    }

    /// Imports a busybox image built from the static /bin/busybox.
    fn import_busybox(&self) {
        let rootfs = self.scratch.path().join("rootfs");
        for d in ["bin", "etc", "var/www", "tmp"] {
            std::fs::create_dir_all(rootfs.join(d)).unwrap();
        }
        std::fs::copy("/bin/busybox", rootfs.join("bin/busybox")).unwrap();
        for applet in [
            "sh", "true", "sleep", "ping", "ip", "wget", "httpd", "cat", "timeout",
        ] {
            std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet)).unwrap();
        }
        std::fs::write(rootfs.join("etc/passwd"), "root:x:0:0:root:/:/bin/sh\n").unwrap();
        std::fs::write(rootfs.join("var/www/index.html"), "hello from berth-net\n").unwrap();
        let tar = self.scratch.path().join("rootfs.tar");
        let st = Command::new("tar")
            .arg("-C")
            .arg(&rootfs)
            .arg("-cf")
            .arg(&tar)
            .arg(".")
            .status()
            .unwrap();
        assert!(st.success());
        self.ok(&[
            "import",
            "--change",
            r#"CMD ["sh"]"#,
            tar.to_str().unwrap(),
            "berth-bb",
        ]);
    }
}

impl Drop for Podman<'_> {
    fn drop(&mut self) {
        let _ = self.run(&["rm", "-af", "-t", "0"]);
        let _ = self.run(&["rmi", "-af"]);
        let overlay = self.scratch.path().join("storage/overlay");
        let _ = nix::mount::umount2(&overlay, nix::mount::MntFlags::MNT_DETACH);
    }
}

/// Files this test may leave outside its scratch dir unless it removes them.
fn existed(p: &str) -> bool {
    Path::new(p).exists()
}

fn remove_if_new(path: &str, existed_before: bool) {
    if !existed_before {
        let _ = std::fs::remove_file(path);
        let mut p = PathBuf::from(path);
        while p.pop() && p != Path::new("/var/lib") {
            if std::fs::remove_dir(&p).is_err() {
                break;
            }
        }
    }
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn podman_runs_containers_on_a_berth_network_with_berths_plugins() {
    let blob_cache = "/var/lib/containers/cache/blob-info-cache-v1.boltdb";
    let had_blob_cache = existed(blob_cache);
    let had_cni_dir = existed("/var/lib/cni");
    let had_runc_dir = existed("/run/runc");
    let berth = Berth::new("podman");
    berth.ok(&["net", "create", "--subnet", "10.64.0.0/24", "pnet"]);
    {
        let pm = Podman::new(&berth);
        let nets = pm.ok(&["network", "ls", "--format", "{{.Name}} {{.Driver}}"]);
        assert!(nets.lines().any(|l| l == "pnet bridge"), "{nets}");
        pm.import_busybox();
        pm.ok(&[
            "run",
            "-d",
            "--name",
            "berth-web",
            "--network",
            "pnet",
            "berth-bb",
            "httpd",
            "-f",
            "-p",
            "80",
            "-h",
            "/var/www",
        ]);
        let ip = pm.ok(&[
            "inspect",
            "-f",
            r#"{{(index .NetworkSettings.Networks "pnet").IPAddress}}"#,
            "berth-web",
        ]);
        let ip = ip.trim();
        assert!(ip.starts_with("10.64.0."), "{ip}");
        // The address came from berth's host-local, into berth's IPAM dir.
        assert!(berth.reservations("pnet").contains(&ip.to_string()));
        let page = pm.ok(&[
            "run",
            "--rm",
            "--network",
            "pnet",
            "berth-bb",
            "timeout",
            "10",
            "wget",
            "-q",
            "-O",
            "-",
            &format!("http://{ip}/"),
        ]);
        assert_eq!(page, "hello from berth-net\n");
        pm.ok(&["rm", "-f", "-t", "0", "berth-web"]);
        // podman's DEL went through berth's plugins and released the address.
        assert!(
            berth.reservations("pnet").is_empty(),
            "{:?}",
            berth.reservations("pnet")
        );
        assert!(berth.host_links("veth").is_empty());
    }
    if !had_cni_dir {
        let _ = std::fs::remove_dir("/var/lib/cni/results");
        let _ = std::fs::remove_dir("/var/lib/cni");
    }
    if !had_runc_dir {
        let _ = std::fs::remove_dir("/run/runc");
    }
    remove_if_new(blob_cache, had_blob_cache);
}
