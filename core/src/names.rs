//! Validated names that cross the CNI boundary: interface names and container ids.
//!
//! Validation happens once, here; everything downstream takes the newtype.

use std::fmt;

/// A network interface name as the kernel accepts it: 1..=15 bytes, not `.` or `..`,
/// no `/`, `:` or whitespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IfName(String);

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The interface name breaks a kernel rule.
    #[error("invalid interface name {name:?}: {reason}")]
    IfName {
        /// The refused name.
        name: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// The container id breaks the CNI rule `^[A-Za-z0-9][A-Za-z0-9_.-]*$`.
    #[error("invalid container id {id:?}: must match ^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
    ContainerId {
        /// The refused id.
        id: String,
    },
}

impl IfName {
    /// The longest name the kernel takes (IFNAMSIZ - 1).
    pub const MAX_LEN: usize = 15;

    /// Validates `name` as an interface name.
    pub fn new(name: impl Into<String>) -> Result<Self, NameError> {
        let name = name.into();
        let reason = if name.is_empty() {
            Some("it is empty")
        } else if name.len() > Self::MAX_LEN {
            Some("it is longer than 15 bytes")
        } else if name == "." || name == ".." {
            Some("it is '.' or '..'")
        } else if name.contains('/') {
            Some("it contains '/'")
        } else if name.contains(':') {
            Some("it contains ':'")
        } else if name.chars().any(char::is_whitespace) {
            Some("it contains whitespace")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(NameError::IfName { name, reason }),
            None => Ok(Self(name)),
        }
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IfName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A CNI container id: non-empty, `^[A-Za-z0-9][A-Za-z0-9_.-]*$`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContainerId(String);

impl ContainerId {
    /// Validates `id` as a container id.
    pub fn new(id: impl Into<String>) -> Result<Self, NameError> {
        let id = id.into();
        if is_cni_name(&id) {
            Ok(Self(id))
        } else {
            Err(NameError::ContainerId { id })
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ContainerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// True when `s` matches `^[A-Za-z0-9][A-Za-z0-9_.-]*$`, the CNI rule for container ids,
/// network names and plugin types (all of them safe to use as a path component).
pub fn is_cni_name(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphanumeric() => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ifname_rules() {
        assert!(IfName::new("eth0").is_ok());
        assert!(IfName::new("a23456789012345").is_ok());
        for bad in [
            "",
            "a234567890123456",
            ".",
            "..",
            "a/b",
            "a:b",
            "a b",
            "a\tb",
        ] {
            assert!(IfName::new(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn container_id_rules() {
        assert!(ContainerId::new("abc-1.2_3").is_ok());
        for bad in ["", "-a", ".a", "a/b", "a b", "a;b"] {
            assert!(ContainerId::new(bad).is_err(), "{bad:?} accepted");
        }
    }
}
