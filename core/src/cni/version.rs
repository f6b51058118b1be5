//! CNI specification versions: which ones berth speaks, parsing, and ordering.

use std::fmt;
use std::str::FromStr;

use super::error::CniError;

/// A CNI specification version berth implements. Ordered oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    /// 0.3.0: rich results, chaining.
    V0_3_0,
    /// 0.3.1: same wire format as 0.3.0.
    V0_3_1,
    /// 0.4.0: CHECK, prevResult on DEL.
    V0_4_0,
    /// 1.0.0: the per-IP `version` field is gone from results.
    V1_0_0,
    /// 1.1.0: GC, STATUS, interface mtu, route mtu/advmss/priority/table/scope.
    V1_1_0,
}

impl Version {
    /// Every version berth speaks, oldest first.
    pub const ALL: [Version; 5] = [
        Version::V0_3_0,
        Version::V0_3_1,
        Version::V0_4_0,
        Version::V1_0_0,
        Version::V1_1_0,
    ];

    /// The newest version berth speaks.
    pub const LATEST: Version = Version::V1_1_0;

    /// The version as it is written in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V0_3_0 => "0.3.0",
            Version::V0_3_1 => "0.3.1",
            Version::V0_4_0 => "0.4.0",
            Version::V1_0_0 => "1.0.0",
            Version::V1_1_0 => "1.1.0",
        }
    }

    /// True for versions whose results carry `ips[].version` ("4"/"6").
    pub fn has_ip_version_field(self) -> bool {
        self < Version::V1_0_0
    }

    /// True for versions that know CHECK (0.4.0 and later).
    pub fn supports_check(self) -> bool {
        self >= Version::V0_4_0
    }

    /// True for versions that know GC and STATUS (1.1.0 and later).
    pub fn supports_gc_status(self) -> bool {
        self >= Version::V1_1_0
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Version {
    type Err = CniError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Version::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| CniError::IncompatibleVersion {
                version: s.to_string(),
            })
    }
}

/// The newest version in `candidates` that berth speaks, if any (how a runtime picks among a
/// config list's `cniVersion` and `cniVersions`).
pub fn newest_supported<'a>(candidates: impl IntoIterator<Item = &'a str>) -> Option<Version> {
    candidates
        .into_iter()
        .filter_map(|c| c.parse::<Version>().ok())
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_and_refuses_unknown() {
        assert_eq!("1.0.0".parse::<Version>().unwrap(), Version::V1_0_0);
        let err = "2.0.0".parse::<Version>().unwrap_err();
        assert_eq!(err.code(), 1);
        assert!("0.2.0".parse::<Version>().is_err());
    }

    #[test]
    fn newest_supported_skips_unknown() {
        assert_eq!(
            newest_supported(["0.4.0", "9.9.9", "1.0.0"]),
            Some(Version::V1_0_0)
        );
        assert_eq!(newest_supported(["9.9.9"]), None);
    }
}
