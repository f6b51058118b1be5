//! `berthd exec-helper CONTAINER EXEC` (hidden): the parent of one exec process. berthd starts
//! it with pipes as its stdio ([`crate::containers::exec`]); being a fresh single-threaded
//! process, it can let the runtime fork the exec into the container safely, which a
//! multi-threaded daemon cannot. It marks the exec running, waits for it, records its exit code
//! (126/127 with the error on stderr when it cannot be started) and exits with it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use berth_engine::container::exec_process::{self, ExecSpec};

use crate::backend::{Backend, container_paths};
use crate::containers::exec::ExecRecord;
use crate::error::ApiError;

/// `exec-helper` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The container's full id
    container: String,
    /// The exec's id
    exec: String,
}

/// Runs the exec; the process's exit code is ours.
pub fn main(args: Args, root: &Path, run_root: &Path, cni_path: Vec<PathBuf>) -> ExitCode {
    let backend = match Backend::new(root.to_owned(), run_root.to_owned(), cni_path) {
        Ok(b) => b,
        Err(e) => return fail(None, &format!("{e:#}"), 126),
    };
    let path = ExecRecord::path(
        &container_paths(&backend).run_dir(&args.container),
        &args.exec,
    );
    let mut rec = match ExecRecord::load(&path) {
        Ok(r) => r,
        Err(e) => {
            return fail(
                None,
                &format!("read the exec record {}: {e}", path.display()),
                126,
            );
        }
    };
    let console = match rec.tty.then(crate::exec_tty::Console::new).transpose() {
        Ok(c) => c,
        Err(e) => return fail(Some((&path, &mut rec)), &format!("{e:#}"), 126),
    };
    let started = backend.with_env(|env| {
        let c = env.resolve_running(&rec.container_id)?;
        let spec = ExecSpec {
            cmd: rec.cmd.clone(),
            env: rec.env.clone(),
            workdir: Some(rec.working_dir.clone()).filter(|w| !w.is_empty()),
            user: Some(rec.user.clone()).filter(|u| !u.is_empty()),
            tty: rec.tty,
            console_size: None,
        };
        let process = exec_process::process(&c, &spec)?;
        let opts = berth_runtime::container::ExecOptions {
            id: c.id.clone(),
            process,
            console_socket: console.as_ref().map(crate::exec_tty::Console::path),
            pid_file: None,
            preserve_fds: 0,
        };
        env.eng
            .runtime()
            .exec(&opts)
            .map_err(|e| ApiError::from_engine(&anyhow::Error::from(e)))
    });
    let pid = match started {
        Ok(pid) => pid,
        Err(e) => {
            let code = berth_engine::shim::exit_code_of(&anyhow::anyhow!(e.message.clone()));
            return fail(Some((&path, &mut rec)), &e.message, code);
        }
    };
    let master = match console
        .as_ref()
        .map(crate::exec_tty::Console::receive_master)
    {
        Some(Ok(m)) => Some(m),
        Some(Err(e)) => return fail(Some((&path, &mut rec)), &format!("{e:#}"), 126),
        None => None,
    };
    rec.started = true;
    rec.running = true;
    rec.pid = pid.as_raw();
    let _ = rec.save(&path);
    let wait = || berth_runtime::process::wait_exit_code(pid).unwrap_or(255);
    let code = match master {
        Some(m) => crate::exec_tty::relay(m, rec.attach_stdin, wait).unwrap_or(255),
        None => wait(),
    };
    rec.running = false;
    rec.exit_code = Some(code);
    let _ = rec.save(&path);
    ExitCode::from(u8::try_from(code).unwrap_or(255))
}

/// Says why on stderr (the client's), records `code` and exits with it.
fn fail(rec: Option<(&Path, &mut ExecRecord)>, message: &str, code: i32) -> ExitCode {
    eprintln!("OCI runtime exec failed: {message}");
    if let Some((path, r)) = rec {
        r.started = true;
        r.running = false;
        r.exit_code = Some(code);
        let _ = r.save(path);
    }
    ExitCode::from(u8::try_from(code).unwrap_or(126))
}
