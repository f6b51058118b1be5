//! Test inputs that more than one test file needs: the `berth-runtime` binary (cargo builds
//! other packages' binaries only on request) and busybox applet symlinks in a tar image.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

static RUNTIME: OnceLock<PathBuf> = OnceLock::new();

/// The `berth-runtime` binary, built once per test process with the running cargo, or the one
/// `BERTH_TEST_RUNTIME` names (e.g. the static release build of `scripts/build-runtime.sh`).
pub fn runtime_bin() -> &'static Path {
    RUNTIME.get_or_init(|| {
        if let Some(bin) = std::env::var_os("BERTH_TEST_RUNTIME") {
            return PathBuf::from(bin);
        }
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
        let out = Command::new(cargo)
            .args([
                "build",
                "-q",
                "-p",
                "berth-runtime",
                "--bin",
                "berth-runtime",
            ])
            .arg("--manifest-path")
            .arg(&manifest)
            .arg("--message-format=json")
            .stderr(Stdio::inherit())
            .output()
            .expect("run cargo build");
        assert!(out.status.success(), "cargo build -p berth-runtime failed");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| v["executable"].as_str().map(PathBuf::from))
            .find(|p| p.ends_with("berth-runtime"))
            .expect("berth-runtime executable in cargo output")
    })
}

/// Appends `bin/<applet> -> busybox` symlinks (root-owned, mode 0777) to a tar image.
pub fn append_applets<W: std::io::Write>(
    tar: &mut tar::Builder<W>,
    applets: impl IntoIterator<Item = String>,
    mtime: u64,
) {
    for applet in applets {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        h.set_mode(0o777);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(mtime);
        tar.append_link(&mut h, format!("bin/{applet}"), "busybox")
            .expect("append applet symlink");
    }
}

/// Every applet of the machine's static busybox except `busybox` itself.
pub fn busybox_applets() -> Vec<String> {
    let list = Command::new("/bin/busybox")
        .arg("--list")
        .output()
        .expect("busybox-static is installed");
    String::from_utf8_lossy(&list.stdout)
        .lines()
        .filter(|a| *a != "busybox")
        .map(str::to_owned)
        .collect()
}
