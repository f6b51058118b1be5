//! What the API's create carries that berth's container record has no field for (labels,
//! exposed ports, the restart policy, `Cmd` and `Entrypoint` as sent), in
//! `<root>/containers/<id>/api-config.json` beside the record: written once at create, read by
//! inspect and list, removed with the container's directory. Containers made by the `berth`
//! CLI have none; readers then fall back to the record alone.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The file's name in the container's directory.
pub const FILE: &str = "api-config.json";

/// Docker-only settings of one container.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Extra {
    /// `Labels` of containers made before labels moved into the engine's record (read only;
    /// see [`labels`]).
    pub labels: BTreeMap<String, String>,
    /// `ExposedPorts` keys (`80/tcp`).
    pub exposed_ports: Vec<String>,
    /// `HostConfig.RestartPolicy` as sent (recorded, not acted on).
    pub restart_policy: Value,
    /// `Cmd` as sent (`None`: the image's).
    pub cmd: Option<Vec<String>>,
    /// `Entrypoint` as sent (`None`: the image's).
    pub entrypoint: Option<Vec<String>>,
    /// `HostConfig.NetworkMode` as sent.
    pub network_mode: String,
    /// `HostConfig.Binds` as sent.
    pub binds: Vec<String>,
    /// `AttachStdin`, `AttachStdout`, `AttachStderr`.
    pub attach: [bool; 3],
}

impl Extra {
    /// Reads the file in `dir`; none (or unreadable) is the default.
    pub fn read(dir: &Path) -> Self {
        std::fs::read(dir.join(FILE))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Writes the file into `dir`.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(self).map_err(std::io::Error::other)?;
        let tmp = dir.join(format!(".{FILE}.tmp"));
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, dir.join(FILE))
    }
}

/// The container's labels: the record's, over any this file still holds.
pub fn labels(
    rec: &berth_engine::container::ContainerRecord,
    extra: &Extra,
) -> BTreeMap<String, String> {
    let mut l = extra.labels.clone();
    l.extend(rec.config.labels.clone());
    l
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_defaults_when_missing() {
        let t = tempfile::tempdir().unwrap();
        assert_eq!(Extra::read(t.path()), Extra::default());
        let mut e = Extra::default();
        e.labels.insert("a".into(), "b".into());
        e.cmd = Some(vec!["sh".into()]);
        e.write(t.path()).unwrap();
        assert_eq!(Extra::read(t.path()), e);
    }
}
