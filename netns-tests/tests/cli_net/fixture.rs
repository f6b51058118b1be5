//! A `berth` CLI under test: its own root and run-root in temp dirs, every command run inside a
//! throwaway test host netns (`nsenter --net=`), and everything it mounted removed on drop.
#![allow(dead_code)] // each test crate that includes this uses a different part

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use berth_core::netns::Netns;
use berth_netns_tests::TestNetns;
use berth_netns_tests::cni::plugin_dir;
use serde_json::Value;

/// A berth installation in temp dirs, driven from inside `host`.
pub struct Berth {
    pub host: TestNetns,
    pub root: tempfile::TempDir,
    pub run: tempfile::TempDir,
    pub bin: PathBuf,
    pub cni_path: Option<PathBuf>,
    /// `BERTH_RESOLV_CONF`: the host's resolv.conf as berth (and its DNS server) sees it.
    pub resolv_conf: Option<PathBuf>,
}

impl Berth {
    pub fn new(prefix: &str) -> Berth {
        let bin = plugin_dir().join("berth");
        assert!(
            bin.is_file(),
            "{} missing: run `cargo build --workspace --bins` first",
            bin.display()
        );
        Berth {
            host: TestNetns::new(prefix),
            root: tempfile::tempdir().unwrap(),
            run: tempfile::tempdir().unwrap(),
            bin,
            cni_path: None,
            resolv_conf: None,
        }
    }

    /// The command, not started: `nsenter --net=<host> berth ARGS` with the roots set.
    pub fn command(&self, args: &[&str]) -> Command {
        self.command_in(self.host.path(), args)
    }

    /// [`Self::command`] in another network namespace (e.g. a second berth on the same
    /// host).
    pub fn command_in(&self, netns: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--net={}", netns.display()))
            .arg("--")
            .arg(&self.bin)
            .args(args)
            .env("BERTH_ROOT", self.root.path())
            .env("BERTH_RUN", self.run.path())
            .env_remove("BERTH_CNI_PATH")
            .env_remove("BERTH_DETACH_KEYS")
            .stdin(Stdio::null());
        if let Some(p) = &self.cni_path {
            cmd.env("BERTH_CNI_PATH", p);
        }
        if let Some(p) = &self.resolv_conf {
            cmd.env("BERTH_RESOLV_CONF", p);
        }
        cmd
    }

    /// A berth with the image `bb` imported ([`berth_netns_tests::build::write_busybox_image`]).
    pub fn with_busybox(prefix: &str) -> Berth {
        let b = Berth::new(prefix);
        let tar = b.root.path().join("bb.tar");
        berth_netns_tests::build::write_busybox_image(&tar);
        b.ok(&["import", tar.to_str().unwrap(), "bb:latest"]);
        b
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run berth")
    }

    /// Runs berth and returns stdout; panics with stderr unless it succeeded.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "berth {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs berth and returns stderr; panics unless it failed without panicking.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!out.status.success(), "berth {args:?} succeeded");
        assert!(
            !stderr.contains("panicked"),
            "berth {args:?} panicked: {stderr}"
        );
        assert!(stderr.starts_with("berth: "), "{stderr}");
        stderr
    }

    pub fn json(&self, args: &[&str]) -> Value {
        serde_json::from_str(&self.ok(args)).expect("berth printed JSON")
    }

    /// A named netns of this berth.
    pub fn netns_path(&self, name: &str) -> PathBuf {
        self.run.path().join("netns").join(name)
    }

    /// Runs a command inside one of berth's named namespaces.
    pub fn in_ns(&self, ns: &str, cmd: &[&str]) -> Output {
        Command::new("nsenter")
            .arg(format!("--net={}", self.netns_path(ns).display()))
            .arg("--")
            .args(cmd)
            .output()
            .expect("nsenter")
    }

    pub fn ping(&self, from: &str, addr: &str) -> bool {
        self.in_ns(from, &["busybox", "ping", "-c", "1", "-W", "2", addr])
            .status
            .success()
    }

    /// The host-local reservations (address files) of `network`.
    pub fn reservations(&self, network: &str) -> Vec<String> {
        let dir = self.root.path().join("ipam").join(network);
        let Ok(rd) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        rd.filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.parse::<std::net::IpAddr>().is_ok())
            .collect()
    }

    /// Names of the cached results.
    pub fn cache_files(&self) -> Vec<String> {
        let Ok(rd) = std::fs::read_dir(self.root.path().join("cni/results")) else {
            return Vec::new();
        };
        rd.filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    }

    /// Interfaces of the host netns whose name starts with `prefix`.
    pub fn host_links(&self, prefix: &str) -> Vec<String> {
        let out = self.host.run_ok("ip", &["-o", "link", "show"]);
        links(&out, prefix)
    }
}

/// Removes every container (so the roots can go) when a test ends, passed or not.
pub struct Cleanup<'a>(pub &'a Berth);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        let ids = self.0.run(&["ps", "-aq"]);
        for id in String::from_utf8_lossy(&ids.stdout).split_whitespace() {
            let _ = self.0.run(&["rm", "-f", id]);
        }
    }
}

/// The exit code (-1 when killed by a signal).
pub fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

/// Names of `ip -o link` lines starting with `prefix`.
pub fn links(ip_o_link: &str, prefix: &str) -> Vec<String> {
    ip_o_link
        .lines()
        .filter_map(|l| l.split(": ").nth(1))
        .map(|n| n.split('@').next().unwrap_or(n).to_string())
        .filter(|n| n.starts_with(prefix))
        .collect()
}

impl Drop for Berth {
    fn drop(&mut self) {
        let dir = self.run.path().join("netns");
        if let Ok(rd) = std::fs::read_dir(&dir) {
            for e in rd.filter_map(|e| e.ok()) {
                let _ = Netns::remove_path(&e.path());
            }
        }
        let _ = nix::mount::umount2(&dir, nix::mount::MntFlags::MNT_DETACH);
    }
}

/// Writes an executable script.
pub fn script(path: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}
