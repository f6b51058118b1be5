//! Finding and running CNI plugin binaries: the `PluginExec` seam.
//!
//! A main plugin delegates to its IPAM plugin through this (CNI SPEC section 4), and the runtime
//! side (the invoker) runs every plugin of a list through it. The real implementation execs a
//! binary found in `CNI_PATH`; tests use a fake.

use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

use super::error::CniError;

/// Runs a CNI plugin and returns its stdout.
pub trait PluginExec {
    /// Runs `plugin` with `env` set on top of the inherited environment and `stdin` as its
    /// input. A non-zero exit becomes [`CniError::Plugin`] carrying the plugin's own code and
    /// message.
    fn exec(&self, plugin: &str, env: &[(&str, &str)], stdin: &[u8]) -> Result<Vec<u8>, CniError>;
}

/// Execs plugin binaries found in a search path.
#[derive(Debug, Clone)]
pub struct RawExec {
    /// Directories searched in order (`CNI_PATH`).
    pub search_path: Vec<PathBuf>,
    /// Kill a plugin that has not finished after this long.
    pub timeout: Option<Duration>,
}

impl RawExec {
    /// An executor searching `search_path`, without a timeout.
    pub fn new(search_path: Vec<PathBuf>) -> Self {
        RawExec {
            search_path,
            timeout: None,
        }
    }
}

/// The first executable file named `plugin` in `search_path`.
pub fn find_plugin(plugin: &str, search_path: &[PathBuf]) -> Result<PathBuf, CniError> {
    if !crate::names::is_cni_name(plugin) {
        return Err(CniError::invalid_config(
            "type",
            format!("{plugin:?} is not a valid plugin name"),
        ));
    }
    search_path
        .iter()
        .map(|dir| dir.join(plugin))
        .find(|p| is_executable(p))
        .ok_or_else(|| {
            let dirs: Vec<String> = search_path
                .iter()
                .map(|d| d.display().to_string())
                .collect();
            CniError::invalid_config(
                "type",
                format!(
                    "plugin {plugin:?} not found in CNI_PATH [{}]",
                    dirs.join(":")
                ),
            )
        })
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

impl PluginExec for RawExec {
    fn exec(&self, plugin: &str, env: &[(&str, &str)], stdin: &[u8]) -> Result<Vec<u8>, CniError> {
        let bin = find_plugin(plugin, &self.search_path)?;
        let (status, stdout) = run_binary(&bin, env, stdin, self.timeout, plugin)?;
        if status.success() {
            return Ok(stdout);
        }
        Err(plugin_failure_json(
            plugin,
            &stdout,
            &format!("exited with {status}"),
        ))
    }
}

fn spawn(bin: &Path, env: &[(&str, &str)]) -> std::io::Result<std::process::Child> {
    // A plugin being upgraded gives ETXTBSY for a moment; libcni retries too.
    let mut attempt = 0;
    loop {
        let mut cmd = Command::new(bin);
        cmd.envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        match cmd.spawn() {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && attempt < 5 => {
                attempt += 1;
                std::thread::sleep(Duration::from_millis(100 * attempt));
            }
            other => return other,
        }
    }
}

fn run_binary(
    bin: &Path,
    env: &[(&str, &str)],
    stdin: &[u8],
    timeout: Option<Duration>,
    plugin: &str,
) -> Result<(std::process::ExitStatus, Vec<u8>), CniError> {
    let io_err = |op: &str, source| CniError::Io {
        op: format!("{op} plugin {plugin} ({})", bin.display()),
        source,
    };
    let mut child = spawn(bin, env).map_err(|e| io_err("run", e))?;
    if let Some(mut input) = child.stdin.take() {
        // A plugin may exit without reading stdin; a broken pipe is then not our failure.
        if let Err(e) = input.write_all(stdin) {
            if e.kind() != ErrorKind::BrokenPipe {
                return Err(io_err("write config to", e));
            }
        }
    }
    let mut out = child.stdout.take();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let res = out.as_mut().map(|o| o.read_to_end(&mut buf));
        let _ = tx.send((res, buf));
    });
    let received = match timeout {
        Some(t) => rx.recv_timeout(t).ok(),
        None => rx.recv().ok(),
    };
    let Some((read, stdout)) = received else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(CniError::Plugin {
            plugin: plugin.to_string(),
            code: 11,
            msg: format!("timed out after {:?}", timeout.unwrap_or_default()),
            details: String::new(),
        });
    };
    if let Some(Err(e)) = read {
        return Err(io_err("read output of", e));
    }
    let status = child.wait().map_err(|e| io_err("wait for", e))?;
    Ok((status, stdout))
}

/// The error a failed plugin reported on stdout, or code 999 naming `how` it failed when it
/// printed no error JSON.
pub fn plugin_failure_json(plugin: &str, stdout: &[u8], how: &str) -> CniError {
    let parsed: Option<Value> = serde_json::from_slice(stdout).ok();
    let field = |k: &str| {
        parsed
            .as_ref()
            .and_then(|v| v.get(k))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let code = parsed
        .as_ref()
        .and_then(|v| v.get("code"))
        .and_then(Value::as_u64)
        .and_then(|c| u32::try_from(c).ok());
    match code {
        Some(code) => CniError::Plugin {
            plugin: plugin.to_string(),
            code,
            msg: field("msg"),
            details: field("details"),
        },
        None => CniError::Plugin {
            plugin: plugin.to_string(),
            code: 999,
            msg: format!("{how} and printed no error JSON"),
            details: String::from_utf8_lossy(stdout).trim().to_string(),
        },
    }
}

/// A fake executor for tests: answers from a closure and records every call.
#[cfg(any(test, feature = "testing"))]
pub mod fake {
    use std::sync::Mutex;

    use super::{CniError, PluginExec};

    /// One recorded call.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct ExecCall {
        /// The plugin name.
        pub plugin: String,
        /// `CNI_COMMAND` from the env overrides, if set.
        pub command: Option<String>,
        /// The stdin bytes.
        pub stdin: Vec<u8>,
    }

    type Answer = Box<dyn Fn(&ExecCall) -> Result<Vec<u8>, CniError> + Send + Sync>;

    /// Records calls and answers them with a closure.
    pub struct FakeExec {
        answer: Answer,
        /// Every call made, in order.
        pub calls: Mutex<Vec<ExecCall>>,
    }

    impl FakeExec {
        /// A fake that answers every call with `answer`.
        pub fn new(
            answer: impl Fn(&ExecCall) -> Result<Vec<u8>, CniError> + Send + Sync + 'static,
        ) -> Self {
            FakeExec {
                answer: Box::new(answer),
                calls: Mutex::new(Vec::new()),
            }
        }

        /// The commands seen so far, e.g. `["ADD", "DEL"]`.
        pub fn commands(&self) -> Vec<String> {
            self.calls
                .lock()
                .map(|c| c.iter().filter_map(|c| c.command.clone()).collect())
                .unwrap_or_default()
        }
    }

    impl PluginExec for FakeExec {
        fn exec(
            &self,
            plugin: &str,
            env: &[(&str, &str)],
            stdin: &[u8],
        ) -> Result<Vec<u8>, CniError> {
            let call = ExecCall {
                plugin: plugin.to_string(),
                command: env
                    .iter()
                    .find(|(k, _)| *k == "CNI_COMMAND")
                    .map(|(_, v)| v.to_string()),
                stdin: stdin.to_vec(),
            };
            let out = (self.answer)(&call);
            if let Ok(mut calls) = self.calls.lock() {
                calls.push(call);
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn script(dir: &Path, name: &str, body: &str) {
        let p = dir.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn runs_plugin_from_path_and_returns_stdout() {
        let d = tempfile::tempdir().unwrap();
        script(d.path(), "echoer", "cat; echo \" $CNI_COMMAND\"");
        let exec = RawExec::new(vec![PathBuf::from("/nonexistent"), d.path().into()]);
        let out = exec
            .exec("echoer", &[("CNI_COMMAND", "ADD")], b"{}")
            .unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "{} ADD\n");
    }

    #[test]
    fn failure_keeps_the_plugins_code_and_message() {
        let d = tempfile::tempdir().unwrap();
        script(
            d.path(),
            "bad",
            r#"echo '{"cniVersion":"1.0.0","code":100,"msg":"no more addresses"}'; exit 1"#,
        );
        script(d.path(), "crash", "echo boom; exit 2");
        let exec = RawExec::new(vec![d.path().into()]);
        let e = exec.exec("bad", &[], b"{}").unwrap_err();
        assert_eq!(e.code(), 100);
        assert!(e.to_string().contains("no more addresses"), "{e}");
        let e = exec.exec("crash", &[], b"{}").unwrap_err();
        assert_eq!(e.code(), 999);
        assert!(e.to_string().contains("crash"), "{e}");
    }

    #[test]
    fn missing_plugin_and_bad_name_are_config_errors() {
        let exec = RawExec::new(vec![PathBuf::from("/nonexistent")]);
        let e = exec.exec("nope", &[], b"{}").unwrap_err();
        assert_eq!(e.code(), 7);
        assert!(e.to_string().contains("nope"));
        assert_eq!(exec.exec("../x", &[], b"{}").unwrap_err().code(), 7);
    }

    #[test]
    fn hanging_plugin_is_killed_after_timeout() {
        let d = tempfile::tempdir().unwrap();
        script(d.path(), "hang", "exec sleep 30");
        let exec = RawExec {
            search_path: vec![d.path().into()],
            timeout: Some(Duration::from_millis(200)),
        };
        let e = exec.exec("hang", &[], b"{}").unwrap_err();
        assert!(e.to_string().contains("timed out"), "{e}");
    }
}
