//! Building the root filesystem inside the container's new mount namespace: propagation, the
//! rootfs bind mount, the config's mounts in order, pivot_root, masked and read-only paths and
//! a read-only root. Runs in the container's init, before the user process is exec'd.

use std::fs;
use std::path::{Path, PathBuf};

use nix::mount::{MntFlags, MsFlags};
use oci_spec::runtime::{Mount, Spec};

use super::{MountError, devices, parse_options, propagation_flags, secure_join};

/// What the rootfs setup needs to know beyond the spec.
#[derive(Debug)]
pub struct RootfsContext<'a> {
    /// Absolute rootfs path on the host.
    pub rootfs: &'a Path,
    /// Bundle dir (relative bind sources are relative to it).
    pub bundle: &'a Path,
    /// The container's cgroup directories (hierarchy name, host dir) for `cgroup` mounts.
    pub cgroup_dirs: &'a [(String, PathBuf)],
    /// The init runs in a new user namespace: device nodes are bind mounts, not mknod.
    pub in_userns: bool,
    /// The config neither creates nor joins a mount namespace: the init shares the caller's.
    /// Then nothing outside the rootfs is touched (no propagation change on `/`, no self
    /// bind), the root is entered with chroot, and `delete` detaches what was mounted under
    /// the rootfs ([`detach_under`]).
    pub shared_mount_ns: bool,
}

/// mount(2) with the mount error type.
pub fn mount(
    src: Option<&Path>,
    target: &Path,
    fstype: Option<&str>,
    flags: MsFlags,
    data: Option<&str>,
) -> Result<(), MountError> {
    #[allow(clippy::disallowed_methods)] // this is the wrapper
    nix::mount::mount(src, target, fstype, flags, data).map_err(|source| MountError::Sys {
        op: format!("mount {}", fstype.unwrap_or("(bind/remount)")),
        target: target.to_owned(),
        source,
    })
}

fn io<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> MountError + 'a {
    move |source| MountError::Io {
        op,
        path: path.to_owned(),
        source,
    }
}

/// Everything before pivot_root: propagation, rootfs bind, mounts, devices.
pub fn prepare(spec: &Spec, ctx: &RootfsContext<'_>) -> Result<(), MountError> {
    let linux = spec.linux().as_ref();
    let prop = match linux.and_then(|l| l.rootfs_propagation().as_deref()) {
        None | Some("") => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        Some(p) => {
            let f = propagation_flags(p).ok_or_else(|| MountError::BadPropagation(p.to_owned()))?;
            // Shared propagation would reach the host, and an unbindable `/` could not be
            // bound below: both are set on the new root afterwards ([`finish`]).
            if f.intersects(MsFlags::MS_SHARED | MsFlags::MS_UNBINDABLE) {
                MsFlags::MS_SLAVE | MsFlags::MS_REC
            } else {
                f | MsFlags::MS_REC
            }
        }
    };
    if !ctx.shared_mount_ns {
        mount(None, Path::new("/"), None, prop, None)?;
        let bind = MsFlags::MS_BIND | MsFlags::MS_REC;
        mount(Some(ctx.rootfs), ctx.rootfs, None, bind, None)?;
    }
    for m in spec.mounts().iter().flatten() {
        mount_one(m, ctx)?;
    }
    devices::create_default(ctx.rootfs, ctx.in_userns)?;
    for d in linux
        .and_then(|l| l.devices().as_ref())
        .into_iter()
        .flatten()
    {
        devices::create_device(ctx.rootfs, d, ctx.in_userns)?;
    }
    Ok(())
}

fn mount_one(m: &Mount, ctx: &RootfsContext<'_>) -> Result<(), MountError> {
    let opts = parse_options(m.options().as_deref().unwrap_or_default());
    let dest = secure_join(ctx.rootfs, m.destination())?;
    let typ = m.typ().as_deref().unwrap_or("");
    if typ == "cgroup" || typ == "cgroup2" {
        return mount_cgroup(&dest, &opts, ctx.cgroup_dirs);
    }
    if opts.bind || typ == "bind" {
        let src = m.source().clone().unwrap_or_default();
        let src = if src.is_absolute() {
            src
        } else {
            ctx.bundle.join(src)
        };
        let md = fs::metadata(&src).map_err(io("stat bind source", &src))?;
        ensure_mountpoint(&dest, md.is_dir())?;
        let flags = opts.flags | MsFlags::MS_BIND;
        mount(
            Some(&src),
            &dest,
            None,
            flags & (MsFlags::MS_BIND | MsFlags::MS_REC),
            None,
        )?;
        let extra = flags & !(MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_REMOUNT);
        if !extra.is_empty() {
            remount_bind(&dest, extra)?;
        }
    } else {
        ensure_mountpoint(&dest, true)?;
        let src = m.source().clone().unwrap_or_else(|| PathBuf::from(typ));
        let data = (!opts.data.is_empty()).then_some(opts.data.as_str());
        let r = mount(Some(&src), &dest, Some(typ), opts.flags, data);
        match r {
            // Without a new net namespace a sysfs cannot be mounted in a user namespace.
            Err(MountError::Sys { source, .. })
                if typ == "sysfs" && ctx.in_userns && source == nix::Error::EPERM =>
            {
                let flags = MsFlags::MS_BIND | MsFlags::MS_REC;
                mount(Some(Path::new("/sys")), &dest, None, flags, None)?;
                remount_bind(&dest, opts.flags)?;
            }
            other => other?,
        }
    }
    if !opts.propagation.is_empty() {
        mount(None, &dest, None, opts.propagation, None)?;
    }
    Ok(())
}

/// A bind-remount that keeps the flags the kernel locks (nodev, nosuid, ... on the source).
pub fn remount_bind(dest: &Path, flags: MsFlags) -> Result<(), MountError> {
    let locked = nix::sys::statvfs::statvfs(dest)
        .map(|s| {
            let f = s.flags();
            let mut out = MsFlags::empty();
            use nix::sys::statvfs::FsFlags as F;
            for (a, b) in [
                (F::ST_NOSUID, MsFlags::MS_NOSUID),
                (F::ST_NODEV, MsFlags::MS_NODEV),
                (F::ST_NOEXEC, MsFlags::MS_NOEXEC),
                (F::ST_NOATIME, MsFlags::MS_NOATIME),
                (F::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
                (F::ST_RELATIME, MsFlags::MS_RELATIME),
            ] {
                if f.contains(a) {
                    out |= b;
                }
            }
            out
        })
        .unwrap_or(MsFlags::empty());
    let all = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | flags | locked;
    mount(None, dest, None, all, None)
}

fn ensure_mountpoint(dest: &Path, dir: bool) -> Result<(), MountError> {
    if dir {
        return fs::create_dir_all(dest).map_err(io("mkdir", dest));
    }
    if let Some(parent) = dest.parent() {
        fs::create_dir_all(parent).map_err(io("mkdir", parent))?;
    }
    if !dest.exists() {
        fs::File::create(dest).map_err(io("create mount point", dest))?;
    }
    Ok(())
}

/// A `cgroup` mount: a tmpfs with the container's own cgroup directories bound into it (v1),
/// or the container's cgroup2 directory bound at the destination (v2).
fn mount_cgroup(
    dest: &Path,
    opts: &super::MountOptions,
    dirs: &[(String, PathBuf)],
) -> Result<(), MountError> {
    ensure_mountpoint(dest, true)?;
    let ro = opts.flags.contains(MsFlags::MS_RDONLY);
    let base = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    let bind = MsFlags::MS_BIND | MsFlags::MS_REC;
    if let [(name, dir)] = dirs {
        if name.is_empty() {
            mount(Some(dir), dest, None, bind, None)?;
            return remount_bind(dest, base | (opts.flags & MsFlags::MS_RDONLY));
        }
    }
    let tmpfs = Some(Path::new("tmpfs"));
    mount(tmpfs, dest, Some("tmpfs"), base, Some("mode=755"))?;
    for (name, dir) in dirs {
        let sub = dest.join(name);
        ensure_mountpoint(&sub, true)?;
        mount(Some(dir), &sub, None, bind, None)?;
        remount_bind(&sub, base | (opts.flags & MsFlags::MS_RDONLY))?;
        if let Some((a, b)) = name.split_once(',') {
            for alias in [a, b] {
                let link = dest.join(alias);
                std::os::unix::fs::symlink(name, &link).map_err(io("symlink", &link))?;
            }
        }
    }
    if ro {
        let f = MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | base;
        mount(None, dest, None, f, Some("mode=755"))?;
    }
    Ok(())
}

/// Make `rootfs` the root: pivot_root (or MS_MOVE + chroot with `no_pivot`), then drop the
/// old root without letting the unmount propagate to the host.
pub fn pivot(rootfs: &Path, no_pivot: bool, shared_mount_ns: bool) -> Result<(), MountError> {
    let sys = |op: &str, target: &Path| {
        let (op, target) = (op.to_owned(), target.to_owned());
        move |source| MountError::Sys { op, target, source }
    };
    nix::unistd::chdir(rootfs).map_err(sys("chdir", rootfs))?;
    if shared_mount_ns {
        // The caller's mount table is the container's: only a chroot (runc's choice too).
        nix::unistd::chroot(".").map_err(sys("chroot", rootfs))?;
    } else if no_pivot {
        mount(Some(rootfs), Path::new("/"), None, MsFlags::MS_MOVE, None)?;
        nix::unistd::chroot(".").map_err(sys("chroot", rootfs))?;
    } else {
        nix::unistd::pivot_root(".", ".").map_err(sys("pivot_root", rootfs))?;
        let old = Path::new(".");
        mount(None, old, None, MsFlags::MS_SLAVE | MsFlags::MS_REC, None)?;
        nix::mount::umount2(old, MntFlags::MNT_DETACH).map_err(sys("umount old root", old))?;
    }
    nix::unistd::chdir("/").map_err(sys("chdir", Path::new("/")))
}

/// After pivot: masked paths, read-only paths, shared root propagation, read-only root (the
/// last two only with a mount namespace of the container's own: else `/` is no mount).
pub fn finish(spec: &Spec, shared_mount_ns: bool) -> Result<(), MountError> {
    let linux = spec.linux().as_ref();
    for p in linux
        .and_then(|l| l.masked_paths().as_ref())
        .into_iter()
        .flatten()
    {
        mask_path(Path::new(p))?;
    }
    for p in linux
        .and_then(|l| l.readonly_paths().as_ref())
        .into_iter()
        .flatten()
    {
        let path = Path::new(p);
        if !path.exists() {
            continue;
        }
        let bind = MsFlags::MS_BIND | MsFlags::MS_REC;
        mount(Some(path), path, None, bind, None)?;
        remount_bind(
            path,
            MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        )?;
    }
    if shared_mount_ns {
        return Ok(());
    }
    let prop = linux.and_then(|l| l.rootfs_propagation().as_deref());
    if let Some(f) = prop
        .and_then(propagation_flags)
        .filter(|f| f.intersects(MsFlags::MS_SHARED | MsFlags::MS_UNBINDABLE))
    {
        mount(None, Path::new("/"), None, f, None)?;
    }
    if spec.root().as_ref().and_then(|r| r.readonly()) == Some(true) {
        remount_bind(Path::new("/"), MsFlags::MS_RDONLY)?;
    }
    Ok(())
}

/// Hide a path: /dev/null over a file, an empty read-only tmpfs over a directory.
fn mask_path(path: &Path) -> Result<(), MountError> {
    let Ok(md) = fs::metadata(path) else {
        return Ok(());
    };
    if md.is_dir() {
        let f = MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
        mount(
            Some(Path::new("tmpfs")),
            path,
            Some("tmpfs"),
            f,
            Some("size=0k"),
        )
    } else {
        mount(
            Some(Path::new("/dev/null")),
            path,
            None,
            MsFlags::MS_BIND,
            None,
        )
    }
}

/// Detaches every mount below `rootfs` in this mount namespace, deepest first: what a
/// container without a mount namespace of its own left there. The rootfs itself, when it is a
/// mount, is the caller's (an overlay berth or containerd made) and stays. Reads
/// `/proc/self/mountinfo`.
pub fn detach_under(rootfs: &Path) -> Result<usize, MountError> {
    let mut points: Vec<PathBuf> = super::mountinfo::mount_points()
        .map_err(io("read", Path::new(super::mountinfo::PATH)))?
        .into_iter()
        .filter(|p| p.starts_with(rootfs) && p != rootfs)
        .collect();
    // Deepest first; a point listed twice has two mounts stacked on it, each detached.
    points.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    let mut n = 0;
    for p in &points {
        // A point under one detached before is gone with it.
        if nix::mount::umount2(p, MntFlags::MNT_DETACH).is_ok() {
            n += 1;
        }
    }
    Ok(n)
}
