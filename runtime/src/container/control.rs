//! The small verbs: pause, resume, ps, update and stats. Each loads the container, checks its
//! status and talks to its cgroup.

use oci_spec::runtime::LinuxResources;

use super::{ContainerError, Runtime};
use crate::cgroups::Stats;
use crate::state::Status;

impl Runtime {
    /// Freeze every process of a running container.
    pub fn pause(&self, id: &str) -> Result<(), ContainerError> {
        let c = self.load(id)?;
        if c.status != Status::Running {
            return Err(ContainerError::BadStatus {
                op: "pause",
                id: id.to_owned(),
                status: c.status,
            });
        }
        Ok(c.cgroup.set_frozen(true)?)
    }

    /// Thaw a paused container.
    pub fn resume(&self, id: &str) -> Result<(), ContainerError> {
        let c = self.load(id)?;
        if c.status != Status::Paused {
            return Err(ContainerError::BadStatus {
                op: "resume",
                id: id.to_owned(),
                status: c.status,
            });
        }
        Ok(c.cgroup.set_frozen(false)?)
    }

    /// Host pids of every process in the container.
    pub fn ps(&self, id: &str) -> Result<Vec<i32>, ContainerError> {
        Ok(self.load(id)?.cgroup.pids()?)
    }

    /// Apply new resource limits to a live container.
    pub fn update(&self, id: &str, resources: &LinuxResources) -> Result<(), ContainerError> {
        let c = self.load(id)?;
        if c.status == Status::Stopped {
            return Err(ContainerError::BadStatus {
                op: "update",
                id: id.to_owned(),
                status: c.status,
            });
        }
        Ok(c.cgroup.apply(resources)?)
    }

    /// Resource usage.
    pub fn stats(&self, id: &str) -> Result<Stats, ContainerError> {
        Ok(self.load(id)?.cgroup.stats())
    }
}
