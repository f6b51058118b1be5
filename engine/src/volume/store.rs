//! [`VolumeStore`]: `<root>/volumes/NAME/_data` plus `NAME/volume.json` (labels, creation
//! time, whether anonymous and whether the image content was already copied in).

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{VolumeError, VolumeName};
use crate::clock::now_rfc3339;
use crate::storage::copy::copy_tree;

/// `berth volume inspect` output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Volume {
    /// The name.
    pub name: String,
    /// Always `local`.
    pub driver: String,
    /// The host directory mounted into containers.
    pub mountpoint: PathBuf,
    /// Creation time, RFC 3339.
    pub created_at: String,
    /// User labels.
    pub labels: BTreeMap<String, String>,
    /// Created for a `-v /path` without a name.
    pub anonymous: bool,
    /// Whether image content was copied in (copy-up happens once).
    pub copied_up: bool,
    /// The `local` driver's options (`type`, `device`, `o`); empty for a plain directory.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

/// What `prune` removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VolumePrune {
    /// Names removed.
    pub removed: Vec<String>,
    /// Bytes freed.
    pub reclaimed: u64,
}

/// Volumes under `<root>/volumes`.
#[derive(Debug, Clone)]
pub struct VolumeStore {
    dir: PathBuf,
}

impl VolumeStore {
    /// Opens (creating) `<root>/volumes`.
    pub fn open(root: &Path) -> Result<Self, VolumeError> {
        let dir = root.join("volumes");
        fs::create_dir_all(&dir).map_err(VolumeError::io("create dir", &dir))?;
        Ok(Self { dir })
    }

    fn meta_path(&self, name: &str) -> PathBuf {
        self.dir.join(name).join("volume.json")
    }

    fn write(&self, v: &Volume) -> Result<(), VolumeError> {
        let p = self.meta_path(&v.name);
        let bytes = serde_json::to_vec_pretty(v).map_err(|source| VolumeError::Json {
            path: p.clone(),
            source,
        })?;
        let tmp = p.with_extension("json.tmp");
        fs::write(&tmp, bytes).map_err(VolumeError::io("write", &tmp))?;
        fs::rename(&tmp, &p).map_err(VolumeError::io("replace", &p))
    }

    /// `berth volume create [NAME]`: creates the volume, or returns it if it exists. Without
    /// a name, creates an anonymous volume with a random 64-hex name.
    pub fn create(
        &self,
        name: Option<&VolumeName>,
        labels: BTreeMap<String, String>,
    ) -> Result<Volume, VolumeError> {
        self.create_with(name, labels, BTreeMap::new())
    }

    /// [`Self::create`] with the `local` driver's options ([`super::options::validate`]d); an
    /// existing volume is returned as it is.
    pub fn create_with(
        &self,
        name: Option<&VolumeName>,
        labels: BTreeMap<String, String>,
        options: BTreeMap<String, String>,
    ) -> Result<Volume, VolumeError> {
        super::options::validate(&options)?;
        let (name, anonymous) = match name {
            Some(n) => (n.to_string(), false),
            None => (
                crate::ids::random_hex64().map_err(VolumeError::io("read", "/dev/urandom"))?,
                true,
            ),
        };
        if let Ok(v) = self.inspect(&name) {
            return Ok(v);
        }
        let data = self.dir.join(&name).join("_data");
        fs::create_dir_all(&data).map_err(VolumeError::io("create dir", &data))?;
        let v = Volume {
            name,
            driver: "local".into(),
            mountpoint: data,
            created_at: now_rfc3339(),
            labels,
            anonymous,
            copied_up: false,
            options,
        };
        self.write(&v)?;
        self.emit(&v.name, "create");
        Ok(v)
    }

    /// Logs a volume event (`create`, `destroy`) with Docker's `driver` attribute.
    fn emit(&self, name: &str, action: &str) {
        let log = crate::events::EventLog::new(self.dir.parent().unwrap_or(&self.dir));
        let attrs = crate::events::attributes(&[("driver", "local")], &Default::default());
        log.record(crate::events::Kind::Volume, action, name, attrs);
    }

    /// `berth volume inspect NAME`.
    pub fn inspect(&self, name: &str) -> Result<Volume, VolumeError> {
        VolumeName::new(name)?;
        let p = self.meta_path(name);
        match fs::read(&p) {
            Ok(b) => {
                serde_json::from_slice(&b).map_err(|source| VolumeError::Json { path: p, source })
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Err(VolumeError::NotFound(name.to_owned()))
            }
            Err(e) => Err(VolumeError::Io {
                op: "read",
                path: p,
                source: e,
            }),
        }
    }

    /// `berth volume ls`, sorted by name.
    pub fn list(&self) -> Result<Vec<Volume>, VolumeError> {
        let mut out = Vec::new();
        for e in fs::read_dir(&self.dir).map_err(VolumeError::io("read dir", &self.dir))? {
            let e = e.map_err(VolumeError::io("read dir", &self.dir))?;
            if let Some(name) = e.file_name().to_str() {
                match self.inspect(name) {
                    Ok(v) => out.push(v),
                    Err(VolumeError::NotFound(_) | VolumeError::InvalidName { .. }) => {}
                    Err(err) => return Err(err),
                }
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// `berth volume rm [--force] NAME`: refused while `in_use` says a container mounts it.
    pub fn remove(
        &self,
        name: &str,
        force: bool,
        in_use: &dyn Fn(&str) -> bool,
    ) -> Result<(), VolumeError> {
        let v = self.inspect(name)?;
        if in_use(name) && !force {
            return Err(VolumeError::InUse(name.to_owned()));
        }
        // What a device holds is not the volume's to delete: unmounted first, and a volume
        // whose device stays mounted (stacked mounts) stays too. A plain volume's directory
        // is never mounted by berth, so its removal reads no mount table.
        if !v.options.is_empty() {
            let _held = self.mount_lock(name)?;
            super::options::unmount(name, &v.mountpoint)?;
            if super::options::is_mounted(&v.mountpoint)? {
                return Err(VolumeError::Unmount {
                    name: name.to_owned(),
                    source: io::Error::from_raw_os_error(libc::EBUSY),
                });
            }
        }
        let d = self.dir.join(name);
        fs::remove_dir_all(&d).map_err(VolumeError::io("remove volume", d))?;
        self.emit(name, "destroy");
        Ok(())
    }

    /// `berth volume prune [--all]`: removes unused anonymous volumes, or with `all` every
    /// unused volume.
    pub fn prune(
        &self,
        all: bool,
        in_use: &dyn Fn(&str) -> bool,
    ) -> Result<VolumePrune, VolumeError> {
        self.prune_where(&|v| all || v.anonymous, in_use)
    }

    /// Removes every volume `select` picks that no container uses (`in_use`); what
    /// `POST /volumes/prune` does with its filters.
    pub fn prune_where(
        &self,
        select: &dyn Fn(&Volume) -> bool,
        in_use: &dyn Fn(&str) -> bool,
    ) -> Result<VolumePrune, VolumeError> {
        let mut report = VolumePrune::default();
        for v in self.list()? {
            if select(&v) && !in_use(&v.name) {
                report.reclaimed += self.size(&v.name)?;
                self.remove(&v.name, false, in_use)?;
                report.removed.push(v.name);
            }
        }
        Ok(report)
    }

    /// Bytes of file content in the volume.
    pub fn size(&self, name: &str) -> Result<u64, VolumeError> {
        let v = self.inspect(name)?;
        crate::size::dir_content_size(&v.mountpoint).map_err(|source| VolumeError::Measure {
            name: name.to_owned(),
            source,
        })
    }

    /// Mounts the volume's device on its directory if it has options and it is not mounted
    /// yet (before a container that uses it starts).
    pub fn mount(&self, name: &str) -> Result<(), VolumeError> {
        let v = self.inspect(name)?;
        if v.options.is_empty() {
            return Ok(());
        }
        // Two containers starting at once must not stack two mounts.
        let _held = self.mount_lock(name)?;
        super::options::ensure_mounted(name, &v.options, &v.mountpoint)
    }

    /// The volume's mount lock (`NAME/mount.lock`), held while its device is mounted or
    /// unmounted.
    fn mount_lock(&self, name: &str) -> Result<nix::fcntl::Flock<fs::File>, VolumeError> {
        let p = self.dir.join(name).join("mount.lock");
        let f = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&p)
            .map_err(VolumeError::io("open", &p))?;
        nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusive)
            .map_err(|(_, e)| VolumeError::io("lock", &p)(io::Error::from(e)))
    }

    /// Fills an empty volume with the content of `src` (the image's directory at the mount
    /// point), once, as Docker does on the first mount of a named volume over a non-empty
    /// image directory. Returns whether anything was copied.
    pub fn copy_up(&self, name: &str, src: &Path) -> Result<bool, VolumeError> {
        let mut v = self.inspect(name)?;
        if v.copied_up || !src.is_dir() {
            return Ok(false);
        }
        let empty = |p: &Path| fs::read_dir(p).map(|mut d| d.next().is_none());
        let dst_empty = empty(&v.mountpoint).map_err(VolumeError::io("read dir", &v.mountpoint))?;
        let src_empty = empty(src).map_err(VolumeError::io("read dir", src))?;
        if !dst_empty || src_empty {
            return Ok(false);
        }
        copy_tree(src, &v.mountpoint).map_err(|source| VolumeError::CopyUp {
            name: name.to_owned(),
            source,
        })?;
        v.copied_up = true;
        self.write(&v)?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, VolumeStore) {
        let t = tempfile::tempdir().unwrap();
        let s = VolumeStore::open(t.path()).unwrap();
        (t, s)
    }

    fn unused(_: &str) -> bool {
        false
    }

    #[test]
    fn create_list_inspect_and_remove() {
        let (t, s) = store();
        let v = s
            .create(
                Some(&VolumeName::new("db").unwrap()),
                BTreeMap::from([("a".into(), "b".into())]),
            )
            .unwrap();
        assert_eq!(v.mountpoint, t.path().join("volumes/db/_data"));
        fs::write(v.mountpoint.join("x"), b"keep").unwrap();
        let again = s
            .create(Some(&VolumeName::new("db").unwrap()), BTreeMap::new())
            .unwrap();
        assert_eq!(again, v, "create of an existing volume must not reset it");
        assert_eq!(fs::read(v.mountpoint.join("x")).unwrap(), b"keep");
        let anon = s.create(None, BTreeMap::new()).unwrap();
        assert!(anon.anonymous && anon.name.len() == 64);
        assert_eq!(s.list().unwrap().len(), 2);
        assert!(matches!(
            s.remove("db", false, &|n| n == "db"),
            Err(VolumeError::InUse(_))
        ));
        s.remove("db", false, &unused).unwrap();
        assert!(matches!(s.inspect("db"), Err(VolumeError::NotFound(_))));
        assert!(matches!(
            s.inspect("../etc"),
            Err(VolumeError::InvalidName { .. })
        ));
    }

    #[test]
    fn prune_removes_unused_anonymous_volumes_only_by_default() {
        let (_t, s) = store();
        s.create(Some(&VolumeName::new("named").unwrap()), BTreeMap::new())
            .unwrap();
        let a = s.create(None, BTreeMap::new()).unwrap();
        fs::write(a.mountpoint.join("f"), vec![0u8; 100]).unwrap();
        let used = s.create(None, BTreeMap::new()).unwrap();
        let in_use = |n: &str| n == used.name;
        let r = s.prune(false, &in_use).unwrap();
        assert_eq!(
            r,
            VolumePrune {
                removed: vec![a.name.clone()],
                reclaimed: 100
            }
        );
        let r = s.prune(true, &in_use).unwrap();
        assert_eq!(r.removed, ["named"]);
        assert_eq!(s.list().unwrap().len(), 1);
    }

    #[test]
    fn prune_where_removes_only_picked_unused_volumes() {
        let (_t, s) = store();
        let labels = BTreeMap::from([("keep".into(), "1".into())]);
        for (n, l) in [("a", BTreeMap::new()), ("b", labels.clone()), ("c", labels)] {
            s.create(Some(&VolumeName::new(n).unwrap()), l).unwrap();
        }
        let r = s
            .prune_where(&|v| v.labels.contains_key("keep"), &|n| n == "c")
            .unwrap();
        assert_eq!(r.removed, ["b"]);
        let left: Vec<String> = s.list().unwrap().into_iter().map(|v| v.name).collect();
        assert_eq!(left, ["a", "c"]);
    }

    #[test]
    fn copy_up_fills_an_empty_volume_once() {
        let (t, s) = store();
        let img = t.path().join("img");
        fs::create_dir_all(img.join("sub")).unwrap();
        fs::write(img.join("sub/conf"), b"c").unwrap();
        std::os::unix::fs::symlink("sub/conf", img.join("link")).unwrap();
        let v = s
            .create(Some(&VolumeName::new("v").unwrap()), BTreeMap::new())
            .unwrap();
        assert!(s.copy_up("v", &img).unwrap());
        assert_eq!(fs::read(v.mountpoint.join("sub/conf")).unwrap(), b"c");
        assert_eq!(
            fs::read_link(v.mountpoint.join("link")).unwrap(),
            Path::new("sub/conf")
        );
        fs::remove_file(v.mountpoint.join("sub/conf")).unwrap();
        assert!(
            !s.copy_up("v", &img).unwrap(),
            "copy-up must happen only once"
        );
        let w = s
            .create(Some(&VolumeName::new("w").unwrap()), BTreeMap::new())
            .unwrap();
        fs::write(w.mountpoint.join("mine"), b"m").unwrap();
        assert!(
            !s.copy_up("w", &img).unwrap(),
            "a non-empty volume is not overwritten"
        );
        assert!(!w.mountpoint.join("sub").exists());
    }
}
