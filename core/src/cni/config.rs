//! Network configuration as a plugin receives it on stdin: the keys every plugin shares.
//!
//! A plugin reads its own keys from [`PluginConfig::raw`] with [`PluginConfig::plugin_keys`];
//! unknown keys are allowed (the spec says runtimes pass them through untouched).

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::CniError;
use super::result::{CniResult, Dns};
use super::version::Version;
use crate::names::is_cni_name;

/// The keys shared by every plugin's config.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetConf {
    /// The spec version of this config.
    pub cni_version: String,
    /// The network's name.
    pub name: String,
    /// The plugin's binary name.
    #[serde(rename = "type")]
    pub plugin_type: String,
    /// The IPAM section, if any; `type` names the IPAM binary.
    #[serde(default)]
    pub ipam: Option<IpamSection>,
    /// DNS settings the plugin should report.
    #[serde(default)]
    pub dns: Option<Dns>,
    /// The previous plugin's result, in a chain.
    #[serde(default)]
    pub prev_result: Option<Value>,
    /// Capability arguments from the runtime.
    #[serde(default)]
    pub runtime_config: Option<Value>,
    /// Structured arguments (`args.cni`).
    #[serde(default)]
    pub args: Option<Value>,
}

/// The part of the `ipam` object every IPAM plugin shares.
#[derive(Debug, Clone, Deserialize)]
pub struct IpamSection {
    /// The IPAM binary's name; empty means "no IPAM" (pure L2).
    #[serde(rename = "type", default)]
    pub ipam_type: String,
}

/// A parsed and validated plugin config, with the raw JSON kept for plugin-specific keys and
/// for delegation (an IPAM plugin receives the whole config unchanged).
#[derive(Debug, Clone)]
pub struct PluginConfig {
    /// The shared keys.
    pub net: NetConf,
    /// The spec version, validated.
    pub version: Version,
    /// The config as received.
    pub raw: Value,
    /// The exact bytes received on stdin.
    pub bytes: Vec<u8>,
}

impl PluginConfig {
    /// Parses and validates a plugin config from stdin bytes.
    pub fn parse(bytes: Vec<u8>) -> Result<Self, CniError> {
        let raw: Value = serde_json::from_slice(&bytes).map_err(|source| CniError::Decode {
            what: "network config",
            source,
        })?;
        if !raw.is_object() {
            return Err(CniError::invalid_config(
                "",
                "the config must be a JSON object",
            ));
        }
        require_string(&raw, "cniVersion")?;
        let version = raw["cniVersion"].as_str().unwrap_or_default().parse()?;
        require_string(&raw, "type")?;
        if !raw.get("name").is_some_and(Value::is_string) {
            return Err(CniError::invalid_config("name", "missing or not a string"));
        }
        let net: NetConf =
            serde_json::from_value(raw.clone()).map_err(|source| CniError::Decode {
                what: "network config",
                source,
            })?;
        if !is_cni_name(&net.name) {
            return Err(CniError::invalid_config(
                "name",
                format!("{:?} must match ^[A-Za-z0-9][A-Za-z0-9_.-]*$", net.name),
            ));
        }
        Ok(PluginConfig {
            net,
            version,
            raw,
            bytes,
        })
    }

    /// Deserializes the plugin's own keys from the raw config (unknown keys are ignored).
    pub fn plugin_keys<T: DeserializeOwned>(&self) -> Result<T, CniError> {
        serde_json::from_value(self.raw.clone()).map_err(|source| CniError::Decode {
            what: "plugin config",
            source,
        })
    }

    /// The previous plugin's result, decoded, if the config carries one.
    pub fn prev_result(&self) -> Result<Option<CniResult>, CniError> {
        self.net
            .prev_result
            .as_ref()
            .map(CniResult::from_json)
            .transpose()
    }

    /// A capability argument from `runtimeConfig`, if present.
    pub fn runtime_config(&self, key: &str) -> Option<&Value> {
        self.net.runtime_config.as_ref()?.get(key)
    }

    /// The IPAM plugin's name, or `None` for no IPAM (absent section or empty `type`).
    pub fn ipam_type(&self) -> Option<&str> {
        self.net
            .ipam
            .as_ref()
            .map(|i| i.ipam_type.as_str())
            .filter(|t| !t.is_empty())
    }
}

fn require_string(raw: &Value, key: &str) -> Result<(), CniError> {
    match raw.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(()),
        Some(_) => Err(CniError::invalid_config(key, "must be a non-empty string")),
        None => Err(CniError::invalid_config(key, "missing")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<PluginConfig, CniError> {
        PluginConfig::parse(s.as_bytes().to_vec())
    }

    #[test]
    fn parses_common_keys_and_keeps_unknown() {
        let c = parse(
            r#"{"cniVersion":"1.0.0","name":"n1","type":"bridge","bridge":"br0",
                "ipam":{"type":"host-local","subnet":"10.1.0.0/24"},"extra":1}"#,
        )
        .unwrap();
        assert_eq!(c.version, Version::V1_0_0);
        assert_eq!(c.ipam_type(), Some("host-local"));
        assert_eq!(c.raw["extra"], 1);
    }

    #[test]
    fn errors_have_spec_codes() {
        assert_eq!(parse("{not json").unwrap_err().code(), 6);
        assert_eq!(parse("[]").unwrap_err().code(), 7);
        assert_eq!(
            parse(r#"{"cniVersion":"9.0.0","name":"n","type":"t"}"#)
                .unwrap_err()
                .code(),
            1
        );
        assert_eq!(
            parse(r#"{"cniVersion":"1.0.0","type":"t"}"#)
                .unwrap_err()
                .code(),
            7
        );
        assert_eq!(
            parse(r#"{"cniVersion":"1.0.0","name":"../x","type":"t"}"#)
                .unwrap_err()
                .code(),
            7
        );
        assert_eq!(
            parse(r#"{"cniVersion":"1.0.0","name":"n","type":"t","prevResult":5}"#)
                .unwrap()
                .prev_result()
                .unwrap_err()
                .code(),
            6
        );
    }

    #[test]
    fn empty_ipam_type_means_none() {
        let c = parse(r#"{"cniVersion":"1.0.0","name":"n","type":"bridge","ipam":{}}"#).unwrap();
        assert_eq!(c.ipam_type(), None);
    }
}
