//! Reading and writing kernel parameters under `/proc/sys` (`sysctl -w net.ipv4.ip_forward=1`).
//!
//! Files under `/proc/sys/net` belong to the network namespace of the thread that opens them, so
//! these functions act on the calling thread's netns. To act on another namespace, call them
//! inside [`crate::netns::Netns::run_in`] (which is what the netlink seam's `set_sysctl` does).

use std::fs;
use std::io;
use std::path::PathBuf;

/// Why a sysctl could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum SysctlError {
    /// The key is empty, absolute, or contains `..` or empty components.
    #[error("invalid sysctl key {key:?}: must look like net/ipv4/ip_forward")]
    InvalidKey {
        /// The refused key.
        key: String,
    },
    /// The kernel refused the read or write (missing key, bad value, no permission).
    #[error("{op} sysctl {key}: {source}")]
    Io {
        /// `read` or `write`.
        op: &'static str,
        /// The key, like `net/ipv4/ip_forward`.
        key: String,
        /// The underlying I/O error; keeps the errno.
        #[source]
        source: io::Error,
    },
}

impl SysctlError {
    /// The errno, when the kernel gave one.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Self::InvalidKey { .. } => None,
            Self::Io { source, .. } => source.raw_os_error(),
        }
    }
}

/// Maps a key (`net/ipv4/ip_forward` or `net.ipv4.ip_forward`) to its file under `/proc/sys`.
///
/// Dots are separators only when the key has no `/`; interface names may contain dots
/// (`net/ipv4/conf/eth0.100/forwarding`), so prefer the slash form.
pub fn key_path(key: &str) -> Result<PathBuf, SysctlError> {
    let normalized = if key.contains('/') {
        key.to_owned()
    } else {
        key.replace('.', "/")
    };
    let valid = !normalized.is_empty()
        && !normalized.starts_with('/')
        && normalized
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..");
    if !valid {
        return Err(SysctlError::InvalidKey {
            key: key.to_owned(),
        });
    }
    Ok(PathBuf::from("/proc/sys").join(normalized))
}

/// Writes `value` to the sysctl `key` in the calling thread's namespaces (`sysctl -w`).
pub fn write(key: &str, value: &str) -> Result<(), SysctlError> {
    let path = key_path(key)?;
    fs::write(&path, value).map_err(|source| SysctlError::Io {
        op: "write",
        key: key.to_owned(),
        source,
    })
}

/// Reads the sysctl `key` in the calling thread's namespaces, without the trailing newline.
pub fn read(key: &str) -> Result<String, SysctlError> {
    let path = key_path(key)?;
    let mut value = fs::read_to_string(&path).map_err(|source| SysctlError::Io {
        op: "read",
        key: key.to_owned(),
        source,
    })?;
    let trimmed_len = value.trim_end_matches('\n').len();
    value.truncate(trimmed_len);
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_path_accepts_slash_and_dot_forms() {
        assert_eq!(
            key_path("net/ipv4/ip_forward").unwrap(),
            PathBuf::from("/proc/sys/net/ipv4/ip_forward")
        );
        assert_eq!(
            key_path("net.ipv4.ip_forward").unwrap(),
            PathBuf::from("/proc/sys/net/ipv4/ip_forward")
        );
        assert_eq!(
            key_path("net/ipv4/conf/eth0.100/forwarding").unwrap(),
            PathBuf::from("/proc/sys/net/ipv4/conf/eth0.100/forwarding")
        );
    }

    #[test]
    fn key_path_refuses_escapes() {
        for bad in [
            "",
            "/net/ipv4",
            "net/../../etc/passwd",
            "net//ipv4",
            "net/./x",
        ] {
            assert!(
                matches!(key_path(bad), Err(SysctlError::InvalidKey { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn read_reports_missing_key_with_errno() {
        let err = read("net/berth_no_such_key").unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
        assert!(
            err.to_string()
                .starts_with("read sysctl net/berth_no_such_key")
        );
    }
}
