//! Which storage driver a root uses: the `--storage-driver` flag if given, else
//! `storage-driver` in `<root>/config.json`, else overlay.

use std::path::Path;

use anyhow::Context as _;

use crate::storage::DriverKind;
use crate::store::Store;

/// The driver to use: `flag`, else `storage-driver` in `<root>/config.json`, else overlay.
pub fn resolve_driver(root: &Path, flag: Option<DriverKind>) -> anyhow::Result<DriverKind> {
    if let Some(d) = flag {
        return Ok(d);
    }
    let path = root.join("config.json");
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(DriverKind::default()),
        Err(e) => return Err(e).with_context(|| format!("read {}", path.display())),
    };
    let config: serde_json::Value =
        serde_json::from_slice(&bytes).with_context(|| format!("parse {}", path.display()))?;
    match config.get("storage-driver") {
        None | Some(serde_json::Value::Null) => Ok(DriverKind::default()),
        Some(serde_json::Value::String(s)) => s
            .parse::<DriverKind>()
            .with_context(|| format!("storage-driver in {}", path.display())),
        Some(other) => anyhow::bail!(
            "storage-driver in {}: want a string, got {other}",
            path.display()
        ),
    }
}

/// Opens the store under `root` with the resolved driver.
pub fn open_store(root: &Path, flag: Option<DriverKind>) -> anyhow::Result<Store> {
    let driver = resolve_driver(root, flag)?;
    Store::open(root, driver)
        .with_context(|| format!("open the {} store under {}", driver.name(), root.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_wins_over_config_file_which_wins_over_default() {
        let t = tempfile::tempdir().unwrap();
        assert_eq!(resolve_driver(t.path(), None).unwrap(), DriverKind::Overlay);
        std::fs::write(
            t.path().join("config.json"),
            br#"{"storage-driver": "vfs"}"#,
        )
        .unwrap();
        assert_eq!(resolve_driver(t.path(), None).unwrap(), DriverKind::Vfs);
        assert_eq!(
            resolve_driver(t.path(), Some(DriverKind::Overlay)).unwrap(),
            DriverKind::Overlay
        );
    }

    #[test]
    fn bad_config_file_is_a_clear_error() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(
            t.path().join("config.json"),
            br#"{"storage-driver": "zfs"}"#,
        )
        .unwrap();
        let e = format!("{:#}", resolve_driver(t.path(), None).unwrap_err());
        assert!(e.contains("unknown storage driver \"zfs\""), "{e}");
        std::fs::write(t.path().join("config.json"), b"{").unwrap();
        let e = format!("{:#}", resolve_driver(t.path(), None).unwrap_err());
        assert!(e.contains("config.json"), "{e}");
    }
}
