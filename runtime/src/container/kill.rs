//! `kill`: send a signal to a container's init, or with `all` to every process in its cgroup.

use std::str::FromStr;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::{ContainerError, Runtime};
use crate::state::Status;

/// Parse `KILL`, `SIGKILL` or `9`.
pub fn parse_signal(s: &str) -> Result<Signal, ContainerError> {
    if let Ok(n) = s.parse::<i32>() {
        return Signal::try_from(n).map_err(|_| ContainerError::BadSignal(s.to_owned()));
    }
    let upper = s.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    Signal::from_str(&name).map_err(|_| ContainerError::BadSignal(s.to_owned()))
}

impl Runtime {
    /// Signal the init (or, with `all`, every process in the container's cgroup).
    #[tracing::instrument(skip_all, fields(container_id = %id))]
    pub fn kill(&self, id: &str, sig: Signal, all: bool) -> Result<(), ContainerError> {
        let c = self.load(id)?;
        if c.status == Status::Stopped && !all {
            return Err(ContainerError::BadStatus {
                op: "kill",
                id: id.to_owned(),
                status: c.status,
            });
        }
        if all {
            signal_cgroup(&c.cgroup, sig)?;
            return Ok(());
        }
        kill(Pid::from_raw(c.record.pid), sig).map_err(|source| ContainerError::Sys {
            op: format!("kill {} {sig}", c.record.pid),
            source,
        })
    }
}

/// Signal every process in a cgroup; a frozen cgroup is thawed so SIGKILL can land.
pub(crate) fn signal_cgroup(
    cg: &crate::cgroups::Cgroup,
    sig: Signal,
) -> Result<(), ContainerError> {
    for pid in cg.pids()? {
        match kill(Pid::from_raw(pid), sig) {
            Ok(()) | Err(nix::Error::ESRCH) => {}
            Err(source) => {
                return Err(ContainerError::Sys {
                    op: format!("kill {pid} {sig}"),
                    source,
                });
            }
        }
    }
    if sig == Signal::SIGKILL && cg.is_frozen() {
        cg.set_frozen(false)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_signal_spellings() {
        assert_eq!(parse_signal("KILL").unwrap(), Signal::SIGKILL);
        assert_eq!(parse_signal("sigterm").unwrap(), Signal::SIGTERM);
        assert_eq!(parse_signal("9").unwrap(), Signal::SIGKILL);
        assert!(parse_signal("NOPE").is_err());
        assert!(parse_signal("99").is_err());
    }
}
