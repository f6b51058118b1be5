//! Network configuration lists as a runtime loads them: validation, version negotiation, and the
//! per-plugin request config (libcni's `buildOneConfig` + `injectRuntimeConfig`).
//!
//! Executing the plugins and caching results is left to [`super::Invoker`].

use std::path::Path;

use serde_json::{Map, Value};

use super::error::InvokeError;
use crate::cni::Version;
use crate::cni::version::newest_supported;
use crate::names::is_cni_name;

/// A validated network configuration list.
#[derive(Debug, Clone)]
pub struct NetworkList {
    /// The list's `name`.
    pub name: String,
    /// The version negotiated from `cniVersion` and `cniVersions`.
    pub version: Version,
    /// `disableCheck`: CHECK is skipped.
    pub disable_check: bool,
    /// `disableGC`: GC is skipped.
    pub disable_gc: bool,
    /// The plugin objects, in order, as written.
    pub plugins: Vec<Value>,
    /// The whole list as parsed (extra top-level keys included).
    pub raw: Value,
    /// The bytes the list was loaded from (cached with every result, as libcni does).
    pub bytes: Vec<u8>,
}

impl NetworkList {
    /// Reads and validates a `.conflist` file.
    pub fn load(path: &Path) -> Result<Self, InvokeError> {
        let bytes = std::fs::read(path).map_err(|source| InvokeError::Io {
            op: "read network config",
            path: path.to_owned(),
            source,
        })?;
        Self::parse(bytes)
    }

    /// Parses and validates a config list. A single plugin config (a legacy `.conf`, with
    /// `type` and no `plugins`) is wrapped into a one-plugin list, as libcni does.
    pub fn parse(bytes: Vec<u8>) -> Result<Self, InvokeError> {
        let raw: Value = serde_json::from_slice(&bytes).map_err(|source| InvokeError::Decode {
            what: "network config list",
            source,
        })?;
        let Value::Object(obj) = &raw else {
            return Err(invalid("", "the config list must be a JSON object"));
        };
        let name = match obj.get("name") {
            Some(Value::String(n)) if is_cni_name(n) => n.clone(),
            Some(Value::String(n)) => {
                return Err(invalid(
                    "name",
                    format!("{n:?} must match ^[A-Za-z0-9][A-Za-z0-9_.-]*$"),
                ));
            }
            _ => return Err(invalid("name", "missing or not a string")),
        };
        let version = negotiate_version(obj)?;
        let plugins = match (obj.get("plugins"), obj.get("type")) {
            (Some(Value::Array(p)), _) => p.clone(),
            (Some(_), _) => return Err(invalid("plugins", "must be a list")),
            (None, Some(_)) => vec![raw.clone()],
            (None, None) => return Err(invalid("plugins", "missing")),
        };
        if plugins.is_empty() {
            return Err(invalid("plugins", "the list has no plugins"));
        }
        for (i, p) in plugins.iter().enumerate() {
            validate_plugin(i, p)?;
        }
        Ok(NetworkList {
            name,
            version,
            disable_check: bool_key(obj, "disableCheck")?,
            disable_gc: bool_key(obj, "disableGC")?,
            plugins,
            raw,
            bytes,
        })
    }

    /// The `type` of each plugin, in order.
    pub fn plugin_types(&self) -> Vec<&str> {
        self.plugins.iter().map(plugin_type).collect()
    }
}

/// The `type` of a validated plugin object.
pub(crate) fn plugin_type(plugin: &Value) -> &str {
    plugin.get("type").and_then(Value::as_str).unwrap_or("")
}

fn invalid(field: &str, reason: impl Into<String>) -> InvokeError {
    InvokeError::InvalidList {
        field: field.to_string(),
        reason: reason.into(),
    }
}

/// The newest version among `cniVersion` and `cniVersions` that berth speaks.
fn negotiate_version(obj: &Map<String, Value>) -> Result<Version, InvokeError> {
    let mut offered: Vec<&str> = Vec::new();
    match obj.get("cniVersion") {
        Some(Value::String(v)) => offered.push(v),
        Some(_) => return Err(invalid("cniVersion", "must be a string")),
        None => {}
    }
    match obj.get("cniVersions") {
        Some(Value::Array(list)) => {
            for v in list {
                let s = v
                    .as_str()
                    .ok_or_else(|| invalid("cniVersions", "must be a list of strings"))?;
                offered.push(s);
            }
        }
        Some(_) => return Err(invalid("cniVersions", "must be a list of strings")),
        None => {}
    }
    if offered.is_empty() {
        return Err(invalid("cniVersion", "missing"));
    }
    newest_supported(offered.iter().copied()).ok_or_else(|| InvokeError::NoSupportedVersion {
        offered: offered.iter().map(|s| s.to_string()).collect(),
    })
}

fn validate_plugin(i: usize, p: &Value) -> Result<(), InvokeError> {
    let field = format!("plugins[{i}]");
    let Value::Object(obj) = p else {
        return Err(invalid(&field, "must be a JSON object"));
    };
    match obj.get("type") {
        Some(Value::String(t)) if is_cni_name(t) => {}
        Some(Value::String(t)) => {
            return Err(invalid(
                &format!("{field}.type"),
                format!("{t:?} is not a safe plugin name"),
            ));
        }
        _ => return Err(invalid(&format!("{field}.type"), "missing or not a string")),
    }
    match obj.get("capabilities") {
        None | Some(Value::Object(_)) => Ok(()),
        Some(_) => Err(invalid(
            &format!("{field}.capabilities"),
            "must be an object",
        )),
    }
}

/// A boolean key, also accepting the strings Go's `strconv.ParseBool` takes, as libcni does.
fn bool_key(obj: &Map<String, Value>, key: &str) -> Result<bool, InvokeError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) => match s.as_str() {
            "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
            "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
            other => Err(invalid(key, format!("{other:?} is not a boolean"))),
        },
        Some(other) => Err(invalid(key, format!("{other} is not a boolean"))),
    }
}

/// The runtime config one plugin receives: the capabilities it declares (`true`) that the
/// runtime provides. Empty when there are none.
pub fn runtime_config_for(
    plugin: &Value,
    capability_args: &Map<String, Value>,
) -> Map<String, Value> {
    let Some(Value::Object(caps)) = plugin.get("capabilities") else {
        return Map::new();
    };
    caps.iter()
        .filter(|(_, on)| on.as_bool() == Some(true))
        .filter_map(|(cap, _)| capability_args.get(cap).map(|v| (cap.clone(), v.clone())))
        .collect()
}

/// The config a plugin receives on stdin: the plugin object with `cniVersion` and `name`
/// injected, `runtimeConfig` when it has capability data, `prevResult` when given, and
/// `capabilities` removed. Every other key is passed through untouched.
pub fn request_config(
    list: &NetworkList,
    plugin: &Value,
    prev_result: Option<&Value>,
    capability_args: &Map<String, Value>,
) -> Value {
    let mut obj = match plugin {
        Value::Object(o) => o.clone(),
        _ => Map::new(),
    };
    let rc = runtime_config_for(plugin, capability_args);
    obj.remove("capabilities");
    obj.insert("cniVersion".into(), Value::from(list.version.as_str()));
    obj.insert("name".into(), Value::from(list.name.clone()));
    if !rc.is_empty() {
        obj.insert("runtimeConfig".into(), Value::Object(rc));
    }
    match prev_result {
        Some(prev) => {
            obj.insert("prevResult".into(), prev.clone());
        }
        None => {
            obj.remove("prevResult");
        }
    }
    Value::Object(obj)
}
