//! `--init`: PID 1 of the container becomes a small init (podman's default, catatonit, or tini)
//! that forwards signals to the command and reaps orphaned processes. The binary is found at
//! create ([`find`]), recorded in the container's `HostConfig`, and at start bind-mounted
//! read-only at [`INIT_TARGET`] with the command behind `--` ([`wrap`]). berth-runtime creates
//! the missing mount target; writing the init itself is left to the distribution (Debian's
//! `catatonit` package). The runtime only looks for the init; the command behind it is looked
//! for in the created container ([`check_command`]), so a missing one fails the start with 127
//! and the runtime's message, as without `--init`, instead of the init's exit code 1.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use berth_runtime::oci_spec::runtime::Spec;
use berth_runtime::process::ProcessError;
use berth_runtime::process::finalize::{DEFAULT_PATH, FinalizeError};
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use super::ContainerError;
use super::command_path::Lookup;
use super::spec::Bind;

/// Where the init appears inside the container (podman uses `/run/podman-init`).
pub const INIT_TARGET: &str = "/run/berth-init";

/// The environment variable naming the init binary when `--init-path` is not given.
pub const INIT_PATH_ENV: &str = "BERTH_INIT_PATH";

/// Where the init is looked for, in order: podman's catatonit as Debian installs it, other
/// distributions' places, and a static tini.
pub const CANDIDATES: &[&str] = &[
    "/usr/libexec/podman/catatonit",
    "/usr/libexec/catatonit/catatonit",
    "/usr/bin/catatonit",
    "/usr/bin/tini-static",
];

/// The init binary: `explicit` (from `--init-path` or [`INIT_PATH_ENV`]) when given, else the
/// first of `candidates` that is a file. Symlinks are resolved, so the bind mount gets the
/// binary itself.
pub fn find(explicit: Option<&Path>, candidates: &[&str]) -> Result<PathBuf, ContainerError> {
    if let Some(p) = explicit {
        return match p.canonicalize() {
            Ok(real) if real.is_file() => Ok(real),
            Ok(_) => Err(ContainerError::BadArg {
                flag: "--init-path",
                value: p.display().to_string(),
                reason: "not a file".into(),
            }),
            Err(e) => Err(ContainerError::BadArg {
                flag: "--init-path",
                value: p.display().to_string(),
                reason: e.to_string(),
            }),
        };
    }
    candidates
        .iter()
        .map(Path::new)
        .filter(|p| p.is_file())
        .find_map(|p| p.canonicalize().ok())
        .ok_or_else(|| ContainerError::NoInit {
            searched: candidates.join(", "),
        })
}

/// Bind-mounts `init` at [`INIT_TARGET`] (read-only) and returns the argv that runs `args`
/// under it: `INIT_TARGET -- args...` (both catatonit and tini take that form).
pub fn wrap(init: &Path, args: &[String], binds: &mut Vec<Bind>) -> Vec<String> {
    binds.push(Bind {
        source: init.to_owned(),
        target: PathBuf::from(INIT_TARGET),
        read_only: true,
    });
    let mut out = vec![INIT_TARGET.to_owned(), "--".to_owned()];
    out.extend(args.iter().cloned());
    out
}

/// When `spec` runs its command under the init ([`wrap`]), checks that the command can be
/// found in the root of the created container whose init is `pid` (`/proc/<pid>/root`: its
/// mounts and volumes in place) with the process's `PATH` and working directory. A missing
/// one is the runtime's own "not found" error. A kernel without openat2 skips the check.
pub fn check_command(spec: &Spec, pid: i32) -> anyhow::Result<()> {
    let Some(p) = spec.process() else {
        return Ok(());
    };
    let args = p.args().as_deref().unwrap_or_default();
    let cmd = match args {
        [init, dashes, cmd, ..] if init == INIT_TARGET && dashes == "--" => cmd,
        _ => return Ok(()),
    };
    let path = p
        .env()
        .iter()
        .flatten()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or(DEFAULT_PATH);
    let lookup = Lookup { path, cwd: p.cwd() };
    let root = nix::fcntl::open(
        &PathBuf::from(format!("/proc/{pid}/root")),
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    match lookup.finds(root.as_fd(), cmd) {
        Ok(false) => {
            let not_found = FinalizeError::missing(cmd.clone());
            Err(ProcessError::Child(not_found.to_string()).into())
        }
        Ok(true) | Err(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_path_wins_and_must_be_a_file() {
        let t = tempfile::tempdir().unwrap();
        let bin = t.path().join("my-init");
        std::fs::write(&bin, b"").unwrap();
        let found = find(Some(&bin), &["/nonexistent"]).unwrap();
        assert_eq!(found, bin.canonicalize().unwrap());
        let e = find(Some(t.path()), &[]).unwrap_err().to_string();
        assert!(e.contains("--init-path") && e.contains("not a file"), "{e}");
        let e = find(Some(&t.path().join("gone")), &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("No such file"), "{e}");
    }

    #[test]
    fn candidates_are_tried_in_order_through_symlinks() {
        let t = tempfile::tempdir().unwrap();
        let real = t.path().join("catatonit");
        std::fs::write(&real, b"").unwrap();
        let link = t.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let missing = t.path().join("missing");
        let cands = [missing.to_str().unwrap(), link.to_str().unwrap()];
        assert_eq!(find(None, &cands).unwrap(), real.canonicalize().unwrap());
        let e = find(None, &cands[..1]).unwrap_err().to_string();
        assert!(e.contains("no init binary") && e.contains("missing"), "{e}");
    }

    #[test]
    fn wrap_mounts_the_init_and_puts_the_command_behind_it() {
        let mut binds = Vec::new();
        let args = wrap(
            Path::new("/usr/bin/catatonit"),
            &["sh".into(), "-c".into(), "exit 7".into()],
            &mut binds,
        );
        assert_eq!(args, ["/run/berth-init", "--", "sh", "-c", "exit 7"]);
        assert_eq!(
            binds,
            [Bind {
                source: "/usr/bin/catatonit".into(),
                target: INIT_TARGET.into(),
                read_only: true,
            }]
        );
    }
}
