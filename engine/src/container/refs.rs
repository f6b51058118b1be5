//! Which images and volumes containers use, for `rmi`, `image prune`, `volume rm|prune` and
//! `system df` in both front ends. Reads only the Docker-shaped part of every
//! `<root>/containers/<id>/config.json` (the [`ContainerRecord`](super::ContainerRecord)):
//!
//! ```json
//! {"Image": "sha256:<image id>", "MountPoints": {"/data": {"Name": "vol"}}, "State": {"Running": true}}
//! ```
//!
//! Every field is optional. A directory without `config.json` is skipped; a `config.json`
//! that cannot be read or parsed is an error, so an image or volume is never removed on a guess.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::Path;

use anyhow::Context as _;
use serde::Deserialize;

use crate::digest::Digest;
use crate::image::ImageUser;

/// What a container uses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerRef {
    /// The container id (its directory name).
    #[serde(skip)]
    pub id: String,
    /// The image id it was created from.
    #[serde(default)]
    pub image: Option<Digest>,
    /// Mounts by destination; named volumes carry `Name`.
    #[serde(default)]
    pub mount_points: BTreeMap<String, MountPoint>,
    /// Runtime state.
    #[serde(default)]
    pub state: State,
}

/// One mount of a container.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MountPoint {
    /// The volume name, empty for bind mounts.
    #[serde(default)]
    pub name: String,
}

/// A container's state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct State {
    /// Whether it is running.
    #[serde(default)]
    pub running: bool,
}

impl ContainerRef {
    /// Whether the container mounts the volume `name`.
    pub fn uses_volume(&self, name: &str) -> bool {
        self.mount_points.values().any(|m| m.name == name)
    }
}

/// Every container under `<root>/containers`, sorted by id; none if the directory is missing.
pub fn scan(root: &Path) -> anyhow::Result<Vec<ContainerRef>> {
    let dir = root.join("containers");
    let entries = match fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("list containers in {}", dir.display())),
    };
    let mut out = Vec::new();
    for e in entries {
        let e = e.with_context(|| format!("list containers in {}", dir.display()))?;
        let path = e.path().join("config.json");
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
            Err(err) => {
                return Err(err).with_context(|| format!("read container {}", path.display()));
            }
        };
        let mut c: ContainerRef = serde_json::from_slice(&bytes)
            .with_context(|| format!("parse container config {}", path.display()))?;
        c.id = e.file_name().to_string_lossy().into_owned();
        out.push(c);
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// Whether any of `containers` was created from `image`.
pub fn image_in_use(containers: &[ContainerRef], image: &Digest) -> bool {
    containers.iter().any(|c| c.image.as_ref() == Some(image))
}

/// The container (a running one first) of `containers` created from `image`, for `rmi` and
/// `image prune`.
pub fn image_user(containers: &[ContainerRef], image: &Digest) -> Option<ImageUser> {
    let users = || {
        containers
            .iter()
            .filter(|c| c.image.as_ref() == Some(image))
    };
    users()
        .find(|c| c.state.running)
        .or_else(|| users().next())
        .map(|c| ImageUser {
            container: c.id.clone(),
            running: c.state.running,
        })
}

/// Whether any of `containers` mounts the volume `name`.
pub fn volume_in_use(containers: &[ContainerRef], name: &str) -> bool {
    containers.iter().any(|c| c.uses_volume(name))
}

/// The ids of `containers` that mount the volume `name`, in their order.
pub fn volume_users(containers: &[ContainerRef], name: &str) -> Vec<String> {
    containers
        .iter()
        .filter(|c| c.uses_volume(name))
        .map(|c| c.id.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_image_volumes_and_state_of_each_container() {
        let t = tempfile::tempdir().unwrap();
        let img = Digest::of_bytes(b"img");
        let c1 = t.path().join("containers/c1");
        fs::create_dir_all(&c1).unwrap();
        fs::write(
            c1.join("config.json"),
            format!(
                r#"{{"Image":"{img}","MountPoints":{{"/d":{{"Name":"data"}}}},"State":{{"Running":true}}}}"#
            ),
        )
        .unwrap();
        fs::create_dir_all(t.path().join("containers/no-config")).unwrap();
        let cs = scan(t.path()).unwrap();
        assert_eq!(cs.len(), 1);
        assert_eq!(cs[0].id, "c1");
        assert!(cs[0].state.running);
        assert!(image_in_use(&cs, &img));
        assert!(!image_in_use(&cs, &Digest::of_bytes(b"other")));
        let u = image_user(&cs, &img).unwrap();
        assert_eq!((u.container.as_str(), u.running), ("c1", true));
        assert_eq!(image_user(&cs, &Digest::of_bytes(b"other")), None);
        assert!(volume_in_use(&cs, "data") && !volume_in_use(&cs, "x"));
        assert_eq!(volume_users(&cs, "data"), ["c1"]);
        assert!(volume_users(&cs, "x").is_empty());
    }

    #[test]
    fn unparsable_config_is_an_error_and_missing_dir_is_none() {
        let t = tempfile::tempdir().unwrap();
        assert!(scan(t.path()).unwrap().is_empty());
        let c = t.path().join("containers/bad");
        fs::create_dir_all(&c).unwrap();
        fs::write(c.join("config.json"), b"{not json").unwrap();
        let e = format!("{:#}", scan(t.path()).unwrap_err());
        assert!(e.contains("parse container config"), "{e}");
    }
}
