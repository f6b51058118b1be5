//! Device nodes in the container's /dev: the default set every container gets (null, zero,
//! full, random, urandom, tty, the ptmx link and the /dev/fd links) and the config's
//! `linux.devices`. In a user namespace mknod is not allowed, so host nodes are bind-mounted.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use nix::mount::MsFlags;
use nix::sys::stat::{Mode, SFlag, makedev, mknod};
use nix::unistd::{Gid, Uid, chown};
use oci_spec::runtime::{LinuxDevice, LinuxDeviceType};

use super::{MountError, rootfs::mount, secure_join};

/// The devices every container gets: (name, major, minor).
pub const DEFAULT_DEVICES: [(&str, u64, u64); 6] = [
    ("null", 1, 3),
    ("zero", 1, 5),
    ("full", 1, 7),
    ("random", 1, 8),
    ("urandom", 1, 9),
    ("tty", 5, 0),
];

fn io<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> MountError + 'a {
    move |source| MountError::Io {
        op,
        path: path.to_owned(),
        source,
    }
}

/// Create the default devices and links under `<rootfs>/dev`.
pub fn create_default(rootfs: &Path, in_userns: bool) -> Result<(), MountError> {
    let dev = rootfs.join("dev");
    fs::create_dir_all(&dev).map_err(io("mkdir", &dev))?;
    for (name, major, minor) in DEFAULT_DEVICES {
        let path = dev.join(name);
        let host = Path::new("/dev").join(name);
        make_node(
            &path,
            &host,
            SFlag::S_IFCHR,
            (major, minor),
            0o666,
            in_userns,
        )?;
    }
    let links = [
        ("/proc/self/fd", "fd"),
        ("/proc/self/fd/0", "stdin"),
        ("/proc/self/fd/1", "stdout"),
        ("/proc/self/fd/2", "stderr"),
        ("pts/ptmx", "ptmx"),
    ];
    for (target, name) in links {
        let path = dev.join(name);
        if name == "ptmx" && path.exists() && !path.is_symlink() {
            fs::remove_file(&path).map_err(io("remove", &path))?;
        }
        match symlink(target, &path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io("symlink", &path)(e)),
        }
    }
    Ok(())
}

/// Create one of the config's `linux.devices`.
pub fn create_device(rootfs: &Path, d: &LinuxDevice, in_userns: bool) -> Result<(), MountError> {
    let path = secure_join(rootfs, d.path())?;
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(io("mkdir", parent))?;
    }
    let kind = match d.typ() {
        LinuxDeviceType::B => SFlag::S_IFBLK,
        LinuxDeviceType::P => SFlag::S_IFIFO,
        _ => SFlag::S_IFCHR,
    };
    let mode = d.file_mode().unwrap_or(0o666);
    let dev = (d.major() as u64, d.minor() as u64);
    make_node(&path, d.path(), kind, dev, mode, in_userns)?;
    if !in_userns && (d.uid().is_some() || d.gid().is_some()) {
        chown(
            &path,
            d.uid().map(Uid::from_raw),
            d.gid().map(Gid::from_raw),
        )
        .map_err(|source| MountError::Sys {
            op: "chown device".into(),
            target: path.clone(),
            source,
        })?;
    }
    Ok(())
}

/// mknod, or (in a user namespace, or when the devices cgroup forbids mknod) a bind mount of
/// the host's node, as runc does.
fn make_node(
    path: &Path,
    host: &Path,
    kind: SFlag,
    (major, minor): (u64, u64),
    mode: u32,
    in_userns: bool,
) -> Result<(), MountError> {
    if path.is_symlink() || path.exists() {
        fs::remove_file(path).map_err(io("remove", path))?;
    }
    if !in_userns {
        let perm = Mode::from_bits_truncate(mode & 0o7777);
        match mknod(path, kind, perm, makedev(major, minor)) {
            Ok(()) => return Ok(()),
            Err(nix::Error::EPERM) => {}
            Err(source) => {
                return Err(MountError::Sys {
                    op: "mknod".into(),
                    target: path.to_owned(),
                    source,
                });
            }
        }
    }
    fs::File::create(path).map_err(io("create", path))?;
    mount(Some(host), path, None, MsFlags::MS_BIND, None)
}
