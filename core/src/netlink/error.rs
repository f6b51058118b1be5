//! The netlink layer's error type.

use std::io;

use crate::netns::NetnsError;
use crate::sysctl::SysctlError;

/// What went wrong talking to the kernel about links, addresses, routes or sysctls.
#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    /// The kernel refused a request; `op` says what was attempted, like
    /// `add 10.88.0.5/16 to eth0`.
    #[error("{op}: {source}")]
    Kernel {
        /// What was attempted.
        op: String,
        /// The errno the kernel answered with.
        #[source]
        source: io::Error,
    },
    /// Sending to or receiving from the netlink socket failed.
    #[error("netlink socket, {op}: {source}")]
    Socket {
        /// What was attempted.
        op: String,
        /// The underlying socket error.
        #[source]
        source: io::Error,
    },
    /// The kernel's reply could not be decoded.
    #[error("decode reply to {op}: {reason}")]
    Decode {
        /// What was attempted.
        op: String,
        /// The decoder's explanation.
        reason: String,
    },
    /// A dump kept being interrupted by concurrent changes (NLM_F_DUMP_INTR), even after retries.
    #[error("{op}: dump interrupted {attempts} times by concurrent changes")]
    DumpInterrupted {
        /// What was attempted.
        op: String,
        /// How many times it was tried.
        attempts: u32,
    },
    /// A link with the bridge's name exists but is not a bridge.
    #[error("link {name} exists but is not a bridge (kind {kind})")]
    NotABridge {
        /// The requested bridge name.
        name: String,
        /// The existing link's kind, or `none`.
        kind: String,
    },
    /// Entering the handle's network namespace failed.
    #[error(transparent)]
    Netns(#[from] NetnsError),
    /// Reading or writing a sysctl failed.
    #[error(transparent)]
    Sysctl(#[from] SysctlError),
}

impl NetlinkError {
    /// Builds a [`NetlinkError::Kernel`] from an operation and a raw errno (positive).
    pub fn kernel(op: impl Into<String>, errno: i32) -> NetlinkError {
        NetlinkError::Kernel {
            op: op.into(),
            source: io::Error::from_raw_os_error(errno),
        }
    }

    /// The errno behind this error, when there is one.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Self::Kernel { source, .. } | Self::Socket { source, .. } => source.raw_os_error(),
            Self::Sysctl(e) => e.raw_os_error(),
            Self::Netns(e) => e.errno().map(|e| e as i32),
            Self::Decode { .. } | Self::DumpInterrupted { .. } | Self::NotABridge { .. } => None,
        }
    }

    /// Whether the thing acted on does not exist (ENODEV, ENOENT, ESRCH, EADDRNOTAVAIL): DEL
    /// treats these as done.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self.raw_os_error(),
            Some(libc::ENODEV | libc::ENOENT | libc::ESRCH | libc::EADDRNOTAVAIL)
        )
    }

    /// Whether the thing being added already exists (EEXIST).
    pub fn is_exists(&self) -> bool {
        self.raw_os_error() == Some(libc::EEXIST)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_error_message_names_the_operation() {
        let err = NetlinkError::kernel("add 10.88.0.5/16 to eth0", libc::EEXIST);
        assert_eq!(
            err.to_string(),
            "add 10.88.0.5/16 to eth0: File exists (os error 17)"
        );
        assert!(err.is_exists());
        assert!(!err.is_not_found());
    }

    #[test]
    fn not_found_covers_the_usual_errnos() {
        for errno in [libc::ENODEV, libc::ENOENT, libc::ESRCH, libc::EADDRNOTAVAIL] {
            assert!(NetlinkError::kernel("x", errno).is_not_found());
        }
        assert!(!NetlinkError::kernel("x", libc::EPERM).is_not_found());
    }
}
