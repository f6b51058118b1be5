//! Bundle loading and validation: `config.json` is parsed once (with the JSON path of any bad
//! field), checked for everything that can be checked without touching the kernel, and handed on
//! as a [`Bundle`]. Applying the config is left to [`crate::mounts`], [`crate::namespaces`],
//! [`crate::cgroups`], [`crate::seccomp`] and [`crate::process`].

use std::collections::HashSet;
use std::fmt;
use std::path::{Component, Path, PathBuf};

use oci_spec::runtime::{LinuxIdMapping, LinuxNamespaceType, Spec};

/// Errors found while loading or validating a bundle; each names the offending field.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `config.json` could not be read.
    #[error("read {path}: {source}")]
    Read {
        /// The file that was being read.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// `config.json` is not valid JSON or does not match the runtime spec.
    #[error("parse {path}: field `{field}`: {source}")]
    Parse {
        /// The file being parsed.
        path: PathBuf,
        /// JSON path of the field that failed (e.g. `linux.namespaces[0].type`).
        field: String,
        /// The serde error.
        #[source]
        source: serde_json::Error,
    },
    /// A field has a value the runtime cannot honour.
    #[error("invalid config field `{field}`: {reason}")]
    Invalid {
        /// JSON path of the field (e.g. `linux.uidMappings[0].size`).
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A container id with characters that cannot be a directory name.
    #[error(
        "invalid container id {0:?}: use 1-1024 characters from [A-Za-z0-9_.+-], not starting with '.'"
    )]
    BadId(String),
}

impl ConfigError {
    /// Shorthand for [`ConfigError::Invalid`].
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// A validated container id: safe to use as a file name in the state directory.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContainerId(String);

impl ContainerId {
    /// Validate an id as given on the command line.
    pub fn new(id: &str) -> Result<Self, ConfigError> {
        let ok = !id.is_empty()
            && id.len() <= 1024
            && !id.starts_with('.')
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.+-".contains(c));
        if ok {
            Ok(Self(id.to_owned()))
        } else {
            Err(ConfigError::BadId(id.to_owned()))
        }
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ContainerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A loaded and validated bundle.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// Absolute path of the bundle directory.
    pub dir: PathBuf,
    /// Absolute path of the root filesystem.
    pub rootfs: PathBuf,
    /// The parsed config.
    pub spec: Spec,
}

/// JSON that does not match the expected type, with the JSON path of the offending field.
#[derive(Debug, thiserror::Error)]
#[error("field `{field}`: {source}")]
pub struct JsonError {
    /// JSON path of the field (e.g. `linux.namespaces[0].type`; empty for the whole document).
    pub field: String,
    /// The serde error.
    #[source]
    pub source: serde_json::Error,
}

/// Deserialize JSON, keeping the JSON path of a bad field. Every spec type the runtime reads
/// (`config.json`, `state.json`, `exec --process`, `update --resources`) goes through here, so
/// the binary holds one copy of the spec's deserialisation code: each other `Deserializer` type
/// would add a copy of several hundred KiB, and a `create` that ran two copies kept both in its
/// resident set.
pub fn from_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, JsonError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|e| JsonError {
        field: e.path().to_string(),
        source: e.into_inner(),
    })?;
    de.end().map_err(|source| JsonError {
        field: String::new(),
        source,
    })?;
    Ok(value)
}

/// Parse a spec from JSON bytes, reporting the JSON path of a bad field.
pub fn parse_spec(bytes: &[u8], path: &Path) -> Result<Spec, ConfigError> {
    from_json(bytes).map_err(|e| ConfigError::Parse {
        path: path.to_owned(),
        field: e.field,
        source: e.source,
    })
}

/// Load `<dir>/config.json` and validate it.
pub fn load_bundle(dir: &Path) -> Result<Bundle, ConfigError> {
    let dir = std::path::absolute(dir).map_err(|source| ConfigError::Read {
        path: dir.to_owned(),
        source,
    })?;
    let path = dir.join("config.json");
    let bytes = std::fs::read(&path).map_err(|source| ConfigError::Read {
        path: path.clone(),
        source,
    })?;
    let spec = parse_spec(&bytes, &path)?;
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| ConfigError::invalid("root", "missing"))?;
    let rootfs = dir.join(root.path());
    if !rootfs.is_dir() {
        return Err(ConfigError::invalid(
            "root.path",
            format!("{} is not a directory", rootfs.display()),
        ));
    }
    validate(&spec)?;
    Ok(Bundle { dir, rootfs, spec })
}

/// Check everything that needs no kernel: process, namespaces, id mappings, mounts, hostname.
pub fn validate(spec: &Spec) -> Result<(), ConfigError> {
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| ConfigError::invalid("process", "missing"))?;
    if process.args().as_ref().is_none_or(|a| a.is_empty()) {
        return Err(ConfigError::invalid("process.args", "must not be empty"));
    }
    if !process.cwd().is_absolute() {
        return Err(ConfigError::invalid(
            "process.cwd",
            "must be an absolute path",
        ));
    }
    let linux = spec
        .linux()
        .as_ref()
        .ok_or_else(|| ConfigError::invalid("linux", "missing"))?;
    let namespaces = linux.namespaces().clone().unwrap_or_default();
    let mut seen = HashSet::new();
    for (i, ns) in namespaces.iter().enumerate() {
        if !seen.insert(ns.typ()) {
            return Err(ConfigError::invalid(
                format!("linux.namespaces[{i}].type"),
                format!("namespace {} listed twice", ns.typ()),
            ));
        }
        if let Some(p) = ns.path() {
            if !p.is_absolute() || !p.exists() {
                return Err(ConfigError::invalid(
                    format!("linux.namespaces[{i}].path"),
                    format!("{} is not an existing absolute path", p.display()),
                ));
            }
        }
    }
    let has_new_userns = namespaces
        .iter()
        .any(|n| n.typ() == LinuxNamespaceType::User && n.path().is_none());
    validate_mappings("linux.uidMappings", linux.uid_mappings(), has_new_userns)?;
    validate_mappings("linux.gidMappings", linux.gid_mappings(), has_new_userns)?;
    let has_uts = seen.contains(&LinuxNamespaceType::Uts);
    if spec.hostname().as_ref().is_some_and(|h| !h.is_empty()) && !has_uts {
        return Err(ConfigError::invalid(
            "hostname",
            "setting the hostname needs a uts namespace",
        ));
    }
    if spec.domainname().as_ref().is_some_and(|h| !h.is_empty()) && !has_uts {
        return Err(ConfigError::invalid(
            "domainname",
            "setting the domainname needs a uts namespace",
        ));
    }
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        check_inside_root(&format!("mounts[{i}].destination"), m.destination())?;
    }
    for (field, list) in [
        ("linux.maskedPaths", linux.masked_paths()),
        ("linux.readonlyPaths", linux.readonly_paths()),
    ] {
        for (i, p) in list.iter().flatten().enumerate() {
            check_inside_root(&format!("{field}[{i}]"), Path::new(p))?;
        }
    }
    for (i, d) in linux.devices().iter().flatten().enumerate() {
        check_inside_root(&format!("linux.devices[{i}].path"), d.path())?;
    }
    Ok(())
}

fn validate_mappings(
    field: &str,
    maps: &Option<Vec<LinuxIdMapping>>,
    has_new_userns: bool,
) -> Result<(), ConfigError> {
    let maps = maps.as_deref().unwrap_or_default();
    if maps.is_empty() {
        if has_new_userns {
            return Err(ConfigError::invalid(
                field,
                "a new user namespace needs at least one mapping",
            ));
        }
        return Ok(());
    }
    if !has_new_userns {
        return Err(ConfigError::invalid(
            field,
            "mappings given but no new user namespace is requested",
        ));
    }
    if maps.len() > 340 {
        return Err(ConfigError::invalid(field, "more than 340 mappings"));
    }
    for (i, m) in maps.iter().enumerate() {
        let overflow = m.container_id().checked_add(m.size()).is_none()
            || m.host_id().checked_add(m.size()).is_none();
        if m.size() == 0 || overflow {
            return Err(ConfigError::invalid(
                format!("{field}[{i}].size"),
                format!("size {} is zero or overflows the id range", m.size()),
            ));
        }
    }
    Ok(())
}

/// Reject a path whose `..` components climb above the container's root.
pub fn check_inside_root(field: &str, path: &Path) -> Result<(), ConfigError> {
    let mut depth: i64 = 0;
    for c in path.components() {
        match c {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            _ => {}
        }
        if depth < 0 {
            return Err(ConfigError::invalid(
                field,
                format!("{} escapes the container root", path.display()),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> serde_json::Value {
        serde_json::json!({
            "ociVersion": "1.0.2",
            "root": {"path": "rootfs"},
            "process": {"args": ["/bin/true"], "cwd": "/", "user": {"uid": 0, "gid": 0}},
            "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}]}
        })
    }

    fn check(v: serde_json::Value) -> Result<(), ConfigError> {
        let spec = parse_spec(v.to_string().as_bytes(), Path::new("config.json"))?;
        validate(&spec)
    }

    #[test]
    fn minimal_config_is_valid() {
        check(base()).unwrap();
    }

    #[test]
    fn unknown_namespace_type_names_the_field() {
        let mut v = base();
        v["linux"]["namespaces"][1]["type"] = "bogus".into();
        let err = check(v).unwrap_err().to_string();
        assert!(err.contains("linux.namespaces[1].type"), "{err}");
    }

    #[test]
    fn from_json_names_the_field_and_rejects_trailing_data() {
        let err = from_json::<Spec>(br#"{"ociVersion": "1", "process": {"args": 3}}"#).unwrap_err();
        assert_eq!(err.field, "process.args");
        let err = from_json::<Spec>(br#"{"ociVersion": "1"} {}"#).unwrap_err();
        assert_eq!(err.field, "");
        assert!(
            err.source.to_string().contains("trailing"),
            "{}",
            err.source
        );
        let spec: Spec = from_json(base().to_string().as_bytes()).unwrap();
        assert_eq!(spec.version(), "1.0.2");
    }

    #[test]
    fn duplicate_namespace_is_rejected() {
        let mut v = base();
        v["linux"]["namespaces"][1]["type"] = "pid".into();
        let err = check(v).unwrap_err().to_string();
        assert!(err.contains("linux.namespaces[1].type"), "{err}");
    }

    #[test]
    fn zero_size_mapping_is_rejected() {
        let mut v = base();
        v["linux"]["namespaces"] = serde_json::json!([{"type": "user"}]);
        v["linux"]["uidMappings"] =
            serde_json::json!([{"containerID": 0, "hostID": 1000, "size": 0}]);
        v["linux"]["gidMappings"] =
            serde_json::json!([{"containerID": 0, "hostID": 1000, "size": 1}]);
        let err = check(v).unwrap_err().to_string();
        assert!(err.contains("linux.uidMappings[0].size"), "{err}");
    }

    #[test]
    fn user_namespace_without_mappings_is_rejected() {
        let mut v = base();
        v["linux"]["namespaces"] = serde_json::json!([{"type": "user"}]);
        let err = check(v).unwrap_err().to_string();
        assert!(err.contains("linux.uidMappings"), "{err}");
    }

    #[test]
    fn mount_destination_escaping_root_is_rejected() {
        let mut v = base();
        v["mounts"] = serde_json::json!([{"destination": "/a/../../etc", "type": "tmpfs", "source": "tmpfs"}]);
        let err = check(v).unwrap_err().to_string();
        assert!(err.contains("mounts[0].destination"), "{err}");
    }

    #[test]
    fn hostname_without_uts_namespace_is_rejected() {
        let mut v = base();
        v["hostname"] = "box".into();
        let err = check(v).unwrap_err().to_string();
        assert!(err.contains("`hostname`"), "{err}");
    }

    #[test]
    fn empty_args_are_rejected() {
        let mut v = base();
        v["process"]["args"] = serde_json::json!([]);
        let err = check(v).unwrap_err().to_string();
        assert!(err.contains("process.args"), "{err}");
    }

    #[test]
    fn missing_rootfs_names_root_path() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.json"), base().to_string()).unwrap();
        let err = load_bundle(dir.path()).unwrap_err().to_string();
        assert!(err.contains("root.path"), "{err}");
    }

    #[test]
    fn container_id_rejects_slashes_and_dots() {
        assert!(ContainerId::new("a/b").is_err());
        assert!(ContainerId::new("..").is_err());
        assert!(ContainerId::new("").is_err());
        assert_eq!(ContainerId::new("web-1.x").unwrap().as_str(), "web-1.x");
    }
}
