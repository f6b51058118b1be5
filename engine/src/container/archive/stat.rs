//! A path's stat as docker's `X-Docker-Container-Path-Stat` header carries it: name, size,
//! Go's `os.FileMode` bits (the docker CLI tests `IsDir()` on them), mtime and, for a
//! symlink, where it leads inside the container.

use std::fs;
use std::os::unix::fs::MetadataExt as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// One path's stat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PathStat {
    /// The path's last component (`.` for a path ending in `/.`).
    pub name: String,
    /// Bytes (of a regular file; what `lstat` says otherwise).
    pub size: i64,
    /// Go `os.FileMode`: permission bits and Go's type and special bits.
    pub mode: u32,
    /// Modification time, RFC 3339.
    pub mtime: String,
    /// For a symlink, the path it resolves to in the container; empty otherwise.
    pub link_target: String,
}

impl PathStat {
    /// Whether the path is a directory.
    pub fn is_dir(&self) -> bool {
        self.mode & GO_DIR != 0
    }
}

const GO_DIR: u32 = 1 << 31;
const GO_SYMLINK: u32 = 1 << 27;
const GO_DEVICE: u32 = 1 << 26;
const GO_PIPE: u32 = 1 << 25;
const GO_SOCKET: u32 = 1 << 24;
const GO_SETUID: u32 = 1 << 23;
const GO_SETGID: u32 = 1 << 22;
const GO_CHAR_DEVICE: u32 = 1 << 21;
const GO_STICKY: u32 = 1 << 20;

/// Go's `os.FileMode` for a unix `st_mode`.
pub fn go_file_mode(mode: u32) -> u32 {
    let mut m = mode & 0o777;
    m |= match mode & libc::S_IFMT {
        libc::S_IFDIR => GO_DIR,
        libc::S_IFLNK => GO_SYMLINK,
        libc::S_IFIFO => GO_PIPE,
        libc::S_IFSOCK => GO_SOCKET,
        libc::S_IFBLK => GO_DEVICE,
        libc::S_IFCHR => GO_DEVICE | GO_CHAR_DEVICE,
        _ => 0,
    };
    for (bit, go) in [
        (libc::S_ISUID, GO_SETUID),
        (libc::S_ISGID, GO_SETGID),
        (libc::S_ISVTX, GO_STICKY),
    ] {
        if mode & bit != 0 {
            m |= go;
        }
    }
    m
}

/// Whether `path` asks for what a trailing symlink points at (`/` or `/.` at its end).
pub fn follows_last(path: &str) -> bool {
    path.ends_with('/') || path.ends_with("/.")
}

/// The last component of `path` as docker names it: `.` for `/x/.`, `/` for the root.
pub fn base_name(path: &str) -> String {
    if path.ends_with("/.") {
        return ".".to_owned();
    }
    let trimmed = path.trim_end_matches('/');
    match trimmed.rsplit('/').next() {
        Some("") | None => "/".to_owned(),
        Some(b) => b.to_owned(),
    }
}

/// Stats `path` (run inside the container's root).
pub fn stat(path: &str) -> std::io::Result<PathStat> {
    let m = if follows_last(path) {
        fs::metadata(path)?
    } else {
        fs::symlink_metadata(path)?
    };
    let link_target = if m.file_type().is_symlink() {
        fs::canonicalize(path)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| {
                fs::read_link(path)
                    .map(|t| resolve_lexically(Path::new(path), &t))
                    .unwrap_or_default()
            })
    } else {
        String::new()
    };
    Ok(PathStat {
        name: base_name(path),
        size: m.size() as i64,
        mode: go_file_mode(m.mode()),
        mtime: crate::clock::format_rfc3339(m.mtime(), m.mtime_nsec() as u32),
        link_target,
    })
}

/// Where a dangling symlink at `link` with target `t` would lead.
fn resolve_lexically(link: &Path, t: &Path) -> String {
    let base = link.parent().unwrap_or(Path::new("/"));
    base.join(t).display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_modes_carry_type_and_special_bits() {
        assert_eq!(go_file_mode(libc::S_IFDIR | 0o755), (1 << 31) | 0o755);
        assert_eq!(go_file_mode(libc::S_IFREG | 0o644), 0o644);
        assert_eq!(go_file_mode(libc::S_IFLNK | 0o777), (1 << 27) | 0o777);
        assert_eq!(
            go_file_mode(libc::S_IFCHR | 0o666),
            (1 << 26) | (1 << 21) | 0o666
        );
        assert_eq!(
            go_file_mode(libc::S_IFREG | libc::S_ISUID | 0o755),
            (1 << 23) | 0o755
        );
        assert_eq!(
            go_file_mode(libc::S_IFDIR | libc::S_ISVTX | 0o777),
            (1 << 31) | (1 << 20) | 0o777
        );
    }

    #[test]
    fn base_names_follow_docker() {
        assert_eq!(base_name("/etc/hosts"), "hosts");
        assert_eq!(base_name("/etc/"), "etc");
        assert_eq!(base_name("/etc/."), ".");
        assert_eq!(base_name("/"), "/");
        assert!(follows_last("/etc/") && follows_last("/etc/.") && !follows_last("/etc"));
    }

    #[test]
    fn stat_reports_a_symlink_and_its_target() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("f"), b"abc").unwrap();
        std::os::unix::fs::symlink("f", t.path().join("l")).unwrap();
        let l = t.path().join("l").display().to_string();
        let s = stat(&l).unwrap();
        assert_eq!(s.name, "l");
        assert_eq!(s.mode & (1 << 27), 1 << 27);
        assert_eq!(
            s.link_target,
            t.path()
                .join("f")
                .canonicalize()
                .unwrap()
                .display()
                .to_string()
        );
        let f = stat(&t.path().join("f").display().to_string()).unwrap();
        assert_eq!(
            (f.size, f.mode, f.link_target.as_str()),
            (3, f.mode & 0o777, "")
        );
        let json = serde_json::to_value(&f).unwrap();
        assert!(json.get("linkTarget").is_some() && json.get("mtime").is_some());
    }
}
