//! Whether a command can be found in a container's root the way execvp would look for it: a
//! name with a slash is a path (relative ones from the working directory), any other name is
//! looked for in each `PATH` directory. Every candidate is opened with openat2
//! `RESOLVE_IN_ROOT` below a descriptor of the root, so symlinks and `..` resolve inside the
//! container's root, never on the host. Starting the command is left to the container.

use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

use berth_runtime::process::finalize::exec_candidates;
use nix::errno::Errno;
use nix::fcntl::{OFlag, OpenHow, ResolveFlag, openat2};
use nix::sys::stat::{SFlag, fstat};

/// Where to look for a command, as the process would see it.
#[derive(Debug, Clone, Copy)]
pub struct Lookup<'a> {
    /// The process's `PATH` (`:`-separated; an empty entry is the working directory).
    pub path: &'a str,
    /// The process's working directory, absolute inside the root.
    pub cwd: &'a Path,
}

impl Lookup<'_> {
    /// Whether `cmd` names an executable regular file under `root` (for root: any execute
    /// bit). Fails only when the kernel cannot resolve in a root (openat2 is Linux 5.6+), so
    /// the caller cannot tell.
    pub fn finds(&self, root: BorrowedFd<'_>, cmd: &str) -> Result<bool, Errno> {
        if cmd.is_empty() {
            return Ok(false);
        }
        for candidate in exec_candidates(self.path, self.cwd, cmd) {
            match is_executable(root, &candidate) {
                Ok(true) => return Ok(true),
                Ok(false) => {}
                Err(Errno::ENOSYS) => return Err(Errno::ENOSYS),
                // ENOENT, ENOTDIR, ELOOP, EACCES…: not this one, as for execvp.
                Err(_) => {}
            }
        }
        Ok(false)
    }
}

fn is_executable(root: BorrowedFd<'_>, path: &Path) -> Result<bool, Errno> {
    let how = OpenHow::new()
        .flags(OFlag::O_PATH | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    let fd = openat2(root, path, how)?;
    let st = fstat(fd.as_fd())?;
    let kind = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT;
    Ok(kind == SFlag::S_IFREG && st.st_mode & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::os::unix::fs::{PermissionsExt, symlink};

    use super::*;

    fn exe(path: &Path, mode: u32) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, b"#!/bin/sh\n").unwrap();
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    /// A root with /bin/sh, /app/run.sh, a non-executable /bin/data and a directory
    /// /usr/bin/dir; next to it, outside the root, an executable `host-tool`.
    fn world() -> (tempfile::TempDir, fs::File) {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("root");
        exe(&root.join("bin/sh"), 0o755);
        exe(&root.join("app/run.sh"), 0o700);
        exe(&root.join("bin/data"), 0o644);
        fs::create_dir_all(root.join("usr/bin/dir")).unwrap();
        exe(&t.path().join("host-tool"), 0o755);
        let fd = fs::File::open(&root).unwrap();
        (t, fd)
    }

    fn usr_bin_bin() -> Lookup<'static> {
        Lookup {
            path: "/usr/bin:/bin",
            cwd: Path::new("/"),
        }
    }

    #[test]
    fn names_are_looked_for_in_path_and_paths_from_the_working_directory() {
        let (_t, root) = world();
        let root = root.as_fd();
        let path = usr_bin_bin();
        assert!(path.finds(root, "sh").unwrap());
        assert!(path.finds(root, "/bin/sh").unwrap());
        assert!(!path.finds(root, "nope").unwrap());
        assert!(!path.finds(root, "run.sh").unwrap());
        let app = Lookup {
            path: "/usr/bin:",
            cwd: Path::new("/app"),
        };
        assert!(app.finds(root, "./run.sh").unwrap());
        assert!(app.finds(root, "run.sh").unwrap(), "empty PATH entry");
        assert!(!app.finds(root, "sh").unwrap());
        assert!(app.finds(root, "../bin/sh").unwrap());
        assert!(!path.finds(root, "").unwrap());
    }

    #[test]
    fn only_executable_regular_files_count() {
        let (_t, root) = world();
        let path = usr_bin_bin();
        assert!(!path.finds(root.as_fd(), "data").unwrap());
        assert!(!path.finds(root.as_fd(), "dir").unwrap());
        assert!(!path.finds(root.as_fd(), "/usr/bin").unwrap());
    }

    #[test]
    fn symlinks_resolve_inside_the_root_never_on_the_host() {
        let (t, root) = world();
        let path = usr_bin_bin();
        let bin = t.path().join("root/usr/bin");
        // Inside the root, an absolute link means the root's /bin/sh.
        symlink("/bin/sh", bin.join("abs-sh")).unwrap();
        symlink("../../bin/sh", bin.join("rel-sh")).unwrap();
        assert!(path.finds(root.as_fd(), "abs-sh").unwrap());
        assert!(path.finds(root.as_fd(), "rel-sh").unwrap());
        // Links to the host's tool, absolute and by climbing out, stay inside: not found.
        let host_tool = t.path().join("host-tool");
        symlink(&host_tool, bin.join("abs-escape")).unwrap();
        symlink("../../../host-tool", bin.join("rel-escape")).unwrap();
        assert!(host_tool.is_file());
        assert!(!path.finds(root.as_fd(), "abs-escape").unwrap());
        assert!(!path.finds(root.as_fd(), "rel-escape").unwrap());
        assert!(!path.finds(root.as_fd(), "/../host-tool").unwrap());
        // A link to the host's root ("/") is the container's root.
        symlink("/", t.path().join("root/hostroot")).unwrap();
        let abs = format!("/hostroot{}", host_tool.display());
        assert!(!path.finds(root.as_fd(), &abs).unwrap());
    }
}
