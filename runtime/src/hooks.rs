//! OCI hooks: run each hook's program with its args and env, the container state JSON on stdin,
//! and its timeout. Which hooks run when, and in which namespace, is decided by the lifecycle
//! code in [`crate::container`] and [`crate::process`]; this module only runs them.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use oci_spec::runtime::Hook;

/// A hook that failed.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// The program could not be started.
    #[error("{kind} hook {path}: start: {source}")]
    Spawn {
        /// Hook kind (prestart, poststop, ...).
        kind: &'static str,
        /// Program path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// It exited non-zero or was killed by a signal.
    #[error("{kind} hook {path}: exited with {status}: {stderr}")]
    Failed {
        /// Hook kind.
        kind: &'static str,
        /// Program path.
        path: PathBuf,
        /// Exit status.
        status: std::process::ExitStatus,
        /// What it wrote to stderr (trimmed).
        stderr: String,
    },
    /// It ran past its timeout and was killed.
    #[error("{kind} hook {path}: timed out after {secs}s")]
    Timeout {
        /// Hook kind.
        kind: &'static str,
        /// Program path.
        path: PathBuf,
        /// The timeout.
        secs: i64,
    },
}

/// Run `hooks` in order, stopping at the first failure.
pub fn run_all(kind: &'static str, hooks: &[Hook], state_json: &[u8]) -> Result<(), HookError> {
    for h in hooks {
        run_one(kind, h, state_json)?;
    }
    Ok(())
}

/// Run every one of `hooks` in order; a failure is logged as a warning and the rest still
/// run (the spec's rule for poststart and poststop). Returns the failures, for the caller to
/// report.
pub fn run_all_warn(kind: &'static str, hooks: &[Hook], state_json: &[u8]) -> Vec<HookError> {
    let mut failed = Vec::new();
    for h in hooks {
        if let Err(e) = run_one(kind, h, state_json) {
            tracing::warn!(error = %e, "{kind} hook failed; going on");
            failed.push(e);
        }
    }
    failed
}

fn run_one(kind: &'static str, h: &Hook, state_json: &[u8]) -> Result<(), HookError> {
    let path = h.path().clone();
    let spawn_err = |source| HookError::Spawn {
        kind,
        path: path.clone(),
        source,
    };
    let args = h.args().clone().unwrap_or_default();
    let mut cmd = Command::new(&path);
    if let Some((argv0, rest)) = args.split_first() {
        cmd.arg0(argv0).args(rest);
    }
    cmd.env_clear();
    for kv in h.env().iter().flatten() {
        if let Some((k, v)) = kv.split_once('=') {
            cmd.env(k, v);
        }
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    tracing::debug!(kind, path = %path.display(), "running hook");
    let mut child = cmd.spawn().map_err(spawn_err)?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that ignores stdin may close it early; that is not an error.
        let _ = stdin.write_all(state_json);
    }
    let deadline = h
        .timeout()
        .filter(|t| *t > 0)
        .map(|t| (t, Instant::now() + Duration::from_secs(t as u64)));
    loop {
        if let Some(status) = child.try_wait().map_err(spawn_err)? {
            if status.success() {
                return Ok(());
            }
            let mut stderr = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
            }
            return Err(HookError::Failed {
                kind,
                path,
                status,
                stderr: stderr.trim().to_owned(),
            });
        }
        if let Some((secs, at)) = deadline {
            if Instant::now() >= at {
                let _ = child.kill();
                let _ = child.wait();
                return Err(HookError::Timeout { kind, path, secs });
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(v: serde_json::Value) -> Hook {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn hook_gets_state_on_stdin_and_env() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let h = hook(serde_json::json!({
            "path": "/bin/sh",
            "args": ["sh", "-c", format!("cat > {}; echo $FOO >> {}", out.display(), out.display())],
            "env": ["FOO=bar"]
        }));
        run_all("prestart", &[h], br#"{"id":"c1"}"#).unwrap();
        assert_eq!(
            std::fs::read_to_string(out).unwrap(),
            "{\"id\":\"c1\"}bar\n"
        );
    }

    #[test]
    fn failing_hook_reports_status_and_stderr() {
        let h = hook(
            serde_json::json!({"path": "/bin/sh", "args": ["sh", "-c", "echo nope >&2; exit 3"]}),
        );
        let err = run_all("poststop", &[h], b"{}").unwrap_err().to_string();
        assert!(
            err.contains("poststop hook /bin/sh") && err.contains("nope"),
            "{err}"
        );
    }

    #[test]
    fn warned_hooks_all_run_past_a_failure() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let failing = hook(serde_json::json!({"path": "/bin/false", "args": ["false"]}));
        let ok = hook(serde_json::json!({
            "path": "/bin/sh", "args": ["sh", "-c", format!("echo ran >> {}", out.display())]
        }));
        let failed = run_all_warn("poststart", &[failing, ok], b"{}");
        assert_eq!(failed.len(), 1);
        assert!(failed[0].to_string().contains("poststart hook /bin/false"));
        assert_eq!(std::fs::read_to_string(out).unwrap(), "ran\n");
    }

    #[test]
    fn slow_hook_times_out() {
        let h = hook(
            serde_json::json!({"path": "/bin/sh", "args": ["sh", "-c", "sleep 5"], "timeout": 1}),
        );
        let started = Instant::now();
        let err = run_all("createRuntime", &[h], b"{}").unwrap_err();
        assert!(matches!(err, HookError::Timeout { secs: 1, .. }), "{err}");
        assert!(started.elapsed() < Duration::from_secs(4));
    }
}
