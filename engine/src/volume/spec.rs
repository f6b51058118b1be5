//! Volume names and `-v` arguments, validated once.

use std::fmt;
use std::path::PathBuf;

use super::VolumeError;

/// A volume name: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`, at most 255 bytes (Docker's rule).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VolumeName(String);

impl VolumeName {
    /// Validates `name`.
    pub fn new(name: &str) -> Result<Self, VolumeError> {
        let ok = name.len() <= 255
            && name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if ok {
            Ok(Self(name.to_owned()))
        } else {
            Err(VolumeError::InvalidName {
                name: name.to_owned(),
            })
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for VolumeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One `-v` argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountSpec {
    /// `/host/path:/ctr/path[:ro]`.
    Bind {
        /// Absolute host path.
        host: PathBuf,
        /// Absolute path in the container.
        target: PathBuf,
        /// Mounted read-only.
        read_only: bool,
    },
    /// `NAME:/ctr/path[:ro]`: created on first use.
    Named {
        /// The volume.
        name: VolumeName,
        /// Absolute path in the container.
        target: PathBuf,
        /// Mounted read-only.
        read_only: bool,
    },
    /// `/ctr/path`: a fresh anonymous volume.
    Anonymous {
        /// Absolute path in the container.
        target: PathBuf,
    },
}

impl MountSpec {
    /// Parses `HOST:CTR[:ro|rw]`, `NAME:CTR[:ro|rw]` or `CTR`.
    pub fn parse(spec: &str) -> Result<Self, VolumeError> {
        let bad = |reason| VolumeError::InvalidSpec {
            spec: spec.to_owned(),
            reason,
        };
        let parts: Vec<&str> = spec.split(':').collect();
        let (src, target, mode) = match parts[..] {
            [t] => (None, t, None),
            [s, t] => (Some(s), t, None),
            [s, t, m] => (Some(s), t, Some(m)),
            _ => return Err(bad("want HOST:CTR[:ro], NAME:CTR[:ro] or CTR")),
        };
        let read_only = match mode {
            None | Some("rw") => false,
            Some("ro") => true,
            Some(_) => return Err(bad("mode must be ro or rw")),
        };
        if !target.starts_with('/') {
            return Err(bad("container path must be absolute"));
        }
        let target = PathBuf::from(target);
        Ok(match src {
            None => Self::Anonymous { target },
            Some(s) if s.starts_with('/') => Self::Bind {
                host: s.into(),
                target,
                read_only,
            },
            Some(s) => Self::Named {
                name: VolumeName::new(s)?,
                target,
                read_only,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bind_named_and_anonymous_specs() {
        assert_eq!(
            MountSpec::parse("/srv/data:/data:ro").unwrap(),
            MountSpec::Bind {
                host: "/srv/data".into(),
                target: "/data".into(),
                read_only: true
            }
        );
        assert_eq!(
            MountSpec::parse("db:/var/lib/db").unwrap(),
            MountSpec::Named {
                name: VolumeName::new("db").unwrap(),
                target: "/var/lib/db".into(),
                read_only: false
            }
        );
        assert_eq!(
            MountSpec::parse("/cache").unwrap(),
            MountSpec::Anonymous {
                target: "/cache".into()
            }
        );
        for bad in ["db:rel", "a:/b:rx", "a:/b:ro:x", "../x:/y", "rel"] {
            assert!(MountSpec::parse(bad).is_err(), "{bad}");
        }
    }
}
