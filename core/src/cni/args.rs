//! `CNI_ARGS`: `K1=V1;K2=V2` pairs (deprecated by the spec in favour of `args`, still what podman
//! uses for `IP=` and `MAC=`).

use super::error::CniError;

/// Parsed `CNI_ARGS`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CniArgs {
    pairs: Vec<(String, String)>,
}

impl CniArgs {
    /// Parses `K1=V1;K2=V2`. Empty segments are skipped; a segment without `=` is an error.
    pub fn parse(s: &str) -> Result<Self, CniError> {
        let mut pairs = Vec::new();
        for seg in s.split(';').filter(|seg| !seg.is_empty()) {
            let (k, v) = seg.split_once('=').ok_or_else(|| CniError::InvalidEnv {
                var: "CNI_ARGS",
                reason: format!("{seg:?} is not KEY=VALUE"),
            })?;
            pairs.push((k.to_string(), v.to_string()));
        }
        Ok(CniArgs { pairs })
    }

    /// The value of `key`, the last one if repeated.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pairs() {
        let a = CniArgs::parse("IgnoreUnknown=1;K8S_POD_NAME=web;IP=10.0.0.5;;").unwrap();
        assert_eq!(a.get("IP"), Some("10.0.0.5"));
        assert_eq!(a.get("MAC"), None);
        assert_eq!(CniArgs::parse("IP").unwrap_err().code(), 4);
    }
}
