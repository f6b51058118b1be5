//! The OCI process of an exec (`berth exec`, berthd's `POST /exec/{id}/start`): the command
//! in a running container with its environment (the container's, then `-e`), working
//! directory and user (resolved in the container's root, `/proc/<pid>/root`), the
//! container's capabilities and no-new-privileges setting, and a pty size with a tty.

use std::path::PathBuf;

use oci_spec::runtime::{BoxBuilder, LinuxCapabilitiesBuilder, Process, UserBuilder};

use super::create::merge_env;
use super::record::ContainerRecord;

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct ExecSpec {
    /// The command and its arguments.
    pub cmd: Vec<String>,
    /// `KEY=VALUE` on top of the container's environment.
    pub env: Vec<String>,
    /// Working directory (default: the container's).
    pub workdir: Option<String>,
    /// `NAME|UID[:GROUP|GID]` (default: the container's user).
    pub user: Option<String>,
    /// Run on a pty.
    pub tty: bool,
    /// The pty's rows and columns, when known.
    pub console_size: Option<(u16, u16)>,
}

/// The process to hand to the runtime's `exec` for the running container `rec`.
pub fn process(rec: &ContainerRecord, spec: &ExecSpec) -> anyhow::Result<Process> {
    let rootfs = PathBuf::from(format!("/proc/{}/root", rec.state.pid));
    let user = spec.user.clone().unwrap_or_else(|| rec.config.user.clone());
    let (uid, gid) = super::lifecycle::resolve_user(&rootfs, &user)?;
    let caps = super::spec::capabilities(&rec.host_config)?;
    let mut p = Process::default();
    p.set_terminal(Some(spec.tty));
    if let Some((rows, cols)) = spec.console_size.filter(|_| spec.tty) {
        let size = BoxBuilder::default()
            .height(u64::from(rows))
            .width(u64::from(cols))
            .build()?;
        p.set_console_size(Some(size));
    }
    p.set_args(Some(spec.cmd.clone()));
    p.set_env(Some(merge_env(&rec.config.env, &spec.env)));
    p.set_cwd(
        spec.workdir
            .clone()
            .unwrap_or_else(|| rec.config.working_dir.clone())
            .into(),
    );
    p.set_user(UserBuilder::default().uid(uid).gid(gid).build()?);
    p.set_capabilities(Some(
        LinuxCapabilitiesBuilder::default()
            .bounding(caps.clone())
            .effective(caps.clone())
            .permitted(caps)
            .build()?,
    ));
    p.set_no_new_privileges(Some(!rec.host_config.privileged));
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_and_workdir_come_from_the_container_unless_given() {
        let mut rec = ContainerRecord::default();
        rec.state.pid = std::process::id() as i32;
        rec.config.env = vec!["PATH=/bin".into(), "A=1".into()];
        rec.config.working_dir = "/srv".into();
        let spec = ExecSpec {
            cmd: vec!["ls".into()],
            env: vec!["A=2".into()],
            ..Default::default()
        };
        let p = process(&rec, &spec).unwrap();
        assert_eq!(p.env().as_deref().unwrap(), ["PATH=/bin", "A=2"]);
        assert_eq!(p.cwd(), &PathBuf::from("/srv"));
        assert_eq!(p.user().uid(), 0);
        assert!(p.console_size().is_none());
        let p = process(
            &rec,
            &ExecSpec {
                workdir: Some("/tmp".into()),
                tty: true,
                console_size: Some((10, 20)),
                ..spec
            },
        )
        .unwrap();
        assert_eq!(p.cwd(), &PathBuf::from("/tmp"));
        assert_eq!(p.console_size().unwrap().width(), 20);
    }
}
