//! Test inputs that more than one test file needs: the `berth-runtime` binary (cargo builds
//! other packages' binaries only on request), busybox applet symlinks in a tar image, and the
//! busybox image the `berth` CLI tests import.

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

/// Writes an image tar for `berth import`: the machine's static busybox with its applets,
/// `/etc/passwd` (root and www, uid 33) and `/www/index.html`.
pub fn write_busybox_image(path: &Path) {
    let mut t = tar::Builder::new(std::fs::File::create(path).expect("create the image tar"));
    let file = |t: &mut tar::Builder<std::fs::File>, path: &str, data: &[u8], mode: u32| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(mode);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        t.append_data(&mut h, path, data)
            .expect("append to the image tar");
    };
    let busybox = std::fs::read("/bin/busybox").expect("busybox-static is installed");
    file(&mut t, "bin/busybox", &busybox, 0o755);
    file(
        &mut t,
        "etc/passwd",
        b"root:x:0:0::/root:/bin/sh\nwww:x:33:33::/:/bin/sh\n",
        0o644,
    );
    file(&mut t, "www/index.html", b"served by berth\n", 0o644);
    append_applets(&mut t, busybox_applets(), 0);
    t.finish().expect("finish the image tar");
}
