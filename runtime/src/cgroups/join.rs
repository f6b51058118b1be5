//! Moving a freshly cloned child into its cgroup without the 5-15 ms stall of `cgroup.procs`.
//!
//! Writing another process's pid to `cgroup.procs` (or `tasks`) makes the kernel take the
//! global threadgroup rwsem for writing, and that waits for an RCU grace period: several
//! milliseconds, more on a busy machine, the largest single cost of `create`. A thread that
//! moves *itself* by writing `0` to a v1 `tasks` file skips that lock. So on v1 the parent
//! opens each hierarchy's `tasks` file before clone ([`Cgroup::self_join`]) and the child,
//! which is single-threaded (a clone is), writes `0` to each ([`SelfJoin::enter`]) before it
//! does anything else; moving its only thread moves the process. The files are opened by the
//! parent, so the kernel checks the parent's credentials, as for its own write.
//!
//! On v2 only threaded cgroups have such a file, so there the parent writes `cgroup.procs`
//! as before ([`Cgroup::add_pid`]).

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;

use super::{Cgroup, CgroupError};

/// Each hierarchy's `tasks` file of one cgroup, opened for writing.
#[derive(Debug)]
pub struct SelfJoin {
    files: Vec<(PathBuf, File)>,
}

impl Cgroup {
    /// Open what a child needs to join this cgroup by itself; `None` when the parent must add
    /// it (v2).
    pub fn self_join(&self) -> Result<Option<SelfJoin>, CgroupError> {
        let Self::V1(c) = self else {
            return Ok(None);
        };
        let files = c
            .dirs()
            .into_iter()
            .map(|(_, dir)| {
                let path = dir.join("tasks");
                match std::fs::OpenOptions::new().write(true).open(&path) {
                    Ok(f) => Ok((path, f)),
                    Err(source) => Err(CgroupError::Io {
                        op: "open",
                        path,
                        source,
                    }),
                }
            })
            .collect::<Result<_, _>>()?;
        Ok(Some(SelfJoin { files }))
    }
}

impl SelfJoin {
    /// Move the calling thread into every hierarchy. Call it from the single-threaded child.
    pub fn enter(&self) -> Result<(), CgroupError> {
        for (path, file) in &self.files {
            let mut f = file;
            f.write_all(b"0").map_err(|source| CgroupError::Io {
                op: "write",
                path: path.clone(),
                source,
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use super::*;
    use crate::cgroups::v1::V1Cgroup;
    use crate::cgroups::v2::V2Cgroup;

    #[test]
    fn v1_child_writes_zero_to_each_tasks_file_once() {
        let tmp = tempfile::tempdir().unwrap();
        let mut hierarchies = BTreeMap::new();
        for (ctrl, dir) in [
            ("cpu", "cpu,cpuacct"),
            ("cpuacct", "cpu,cpuacct"),
            ("pids", "pids"),
        ] {
            hierarchies.insert(ctrl.to_owned(), tmp.path().join(dir));
        }
        let cg = Cgroup::V1(V1Cgroup::new(&hierarchies, Path::new("b/c1")));
        assert!(
            cg.self_join().is_err(),
            "missing tasks files must be an error"
        );
        for dir in ["cpu,cpuacct", "pids"] {
            let d = tmp.path().join(dir).join("b/c1");
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("tasks"), "").unwrap();
        }
        let join = cg.self_join().unwrap().expect("v1 joins by itself");
        join.enter().unwrap();
        for dir in ["cpu,cpuacct", "pids"] {
            let got = std::fs::read_to_string(tmp.path().join(dir).join("b/c1/tasks")).unwrap();
            assert_eq!(got, "0");
        }
    }

    #[test]
    fn v2_leaves_the_join_to_the_parent() {
        let tmp = tempfile::tempdir().unwrap();
        let cg = Cgroup::V2(V2Cgroup::new(tmp.path(), Path::new("c1")));
        assert!(cg.self_join().unwrap().is_none());
    }
}
