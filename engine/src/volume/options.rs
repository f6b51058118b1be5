//! Options of the `local` driver, as Docker's: `type`, `device` and `o` (`volume create -o
//! type=tmpfs -o device=tmpfs -o o=size=64m`, or `-o type=none -o o=bind -o device=/srv/x`).
//! A volume with options has `device` mounted on its `_data` directory the first time a
//! container needs it ([`ensure_mounted`]), and unmounted before the volume is removed
//! ([`unmount`]), so removing a volume never deletes what a bind or a network filesystem
//! holds. dockerd also unmounts when the last container using the volume stops; berth keeps it
//! mounted until `volume rm`.

use std::collections::BTreeMap;
use std::path::Path;

use nix::mount::{MntFlags, MsFlags, mount, umount2};

use super::VolumeError;

/// The keys the `local` driver takes.
pub const KEYS: [&str; 3] = ["type", "device", "o"];

/// Checks options for `volume create`: only [`KEYS`], and `device` whenever any is given
/// (with `type`, unless `o` binds).
pub fn validate(opts: &BTreeMap<String, String>) -> Result<(), VolumeError> {
    if opts.is_empty() {
        return Ok(());
    }
    if let Some(k) = opts.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(VolumeError::BadOption(format!(
            "invalid option key: {k:?} (the local driver takes type, device and o)"
        )));
    }
    let plan = Plan::from(opts);
    if plan.device.is_empty() {
        return Err(VolumeError::BadOption(
            "the option device is required".into(),
        ));
    }
    if plan.fstype.is_none() && !plan.flags.contains(MsFlags::MS_BIND) {
        return Err(VolumeError::BadOption(
            "the option type is required (or o=bind)".into(),
        ));
    }
    Ok(())
}

/// What to mount, from the options.
struct Plan<'a> {
    device: &'a str,
    fstype: Option<&'a str>,
    flags: MsFlags,
    data: String,
}

impl<'a> Plan<'a> {
    fn from(opts: &'a BTreeMap<String, String>) -> Self {
        let o: Vec<String> = opts
            .get("o")
            .map(|o| o.split(',').map(str::to_owned).collect())
            .unwrap_or_default();
        let parsed = berth_runtime::mounts::parse_options(&o);
        Plan {
            device: opts.get("device").map_or("", String::as_str),
            fstype: opts
                .get("type")
                .map(String::as_str)
                .filter(|t| !t.is_empty() && *t != "none"),
            flags: parsed.flags,
            data: parsed.data,
        }
    }
}

/// Whether `path` is a mount point in this mount namespace.
pub fn is_mounted(path: &Path) -> Result<bool, VolumeError> {
    let points = berth_runtime::mounts::mountinfo::mount_points().map_err(VolumeError::io(
        "read",
        berth_runtime::mounts::mountinfo::PATH,
    ))?;
    Ok(points.iter().any(|p| p == path))
}

/// Mounts the volume's device on `data` unless it is mounted already.
pub fn ensure_mounted(
    name: &str,
    opts: &BTreeMap<String, String>,
    data: &Path,
) -> Result<(), VolumeError> {
    if opts.is_empty() || is_mounted(data)? {
        return Ok(());
    }
    let p = Plan::from(opts);
    let extra = (!p.data.is_empty()).then_some(p.data.as_str());
    let fail = |e: nix::Error| VolumeError::Mount {
        name: name.to_owned(),
        device: p.device.to_owned(),
        source: std::io::Error::from(e),
    };
    if p.flags.contains(MsFlags::MS_BIND) {
        let bind = p.flags & (MsFlags::MS_BIND | MsFlags::MS_REC);
        mount(Some(p.device), data, None::<&str>, bind, None::<&str>).map_err(fail)?;
        let rest = p.flags & !(MsFlags::MS_BIND | MsFlags::MS_REC);
        if !rest.is_empty() {
            let remount = MsFlags::MS_REMOUNT | MsFlags::MS_BIND | rest;
            if let Err(e) = mount(None::<&str>, data, None::<&str>, remount, None::<&str>) {
                let _ = umount2(data, MntFlags::MNT_DETACH);
                return Err(fail(e));
            }
        }
        return Ok(());
    }
    mount(Some(p.device), data, p.fstype, p.flags, extra).map_err(fail)
}

/// Unmounts the volume's device from `data` if it is mounted; an error leaves it mounted
/// (and the volume in place).
pub fn unmount(name: &str, data: &Path) -> Result<(), VolumeError> {
    if !is_mounted(data)? {
        return Ok(());
    }
    umount2(data, MntFlags::empty()).map_err(|e| VolumeError::Unmount {
        name: name.to_owned(),
        source: std::io::Error::from(e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn options_are_checked_as_dockerd_does() {
        assert!(validate(&opts(&[])).is_ok());
        let tmpfs = opts(&[
            ("type", "tmpfs"),
            ("device", "tmpfs"),
            ("o", "size=1m,uid=1000"),
        ]);
        assert!(validate(&tmpfs).is_ok());
        let p = Plan::from(&tmpfs);
        assert_eq!(
            (p.fstype, p.data.as_str()),
            (Some("tmpfs"), "size=1m,uid=1000")
        );
        assert!(
            validate(&opts(&[
                ("type", "none"),
                ("o", "bind,ro"),
                ("device", "/srv")
            ]))
            .is_ok()
        );
        let e = validate(&opts(&[("size", "1g")])).unwrap_err().to_string();
        assert!(e.contains("invalid option key: \"size\""), "{e}");
        let e = validate(&opts(&[("type", "tmpfs")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("device is required"), "{e}");
        let e = validate(&opts(&[("device", "/dev/sdb1")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("type is required"), "{e}");
    }
}
