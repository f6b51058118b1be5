//! The plugin skeleton every berth plugin runs: read and validate the `CNI_*` environment and the
//! config on stdin, negotiate the version, dispatch to the plugin, and write the result or the
//! error JSON on stdout with the exit code. Logs go to stderr only (that is the binary's job).

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use serde::Deserialize;
use serde_json::{Value, json};

use super::args::CniArgs;
use super::config::PluginConfig;
use super::error::CniError;
use super::result::CniResult;
use super::version::Version;
use crate::names::{ContainerId, IfName};

/// The CNI operation asked for in `CNI_COMMAND`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Attach a container to the network.
    Add,
    /// Detach it (idempotent).
    Del,
    /// Verify an attachment.
    Check,
    /// Remove everything not in the valid attachments (1.1.0).
    Gc,
    /// Report readiness (1.1.0).
    Status,
    /// Report the versions the plugin speaks.
    Version,
}

impl Command {
    fn parse(s: &str) -> Result<Self, CniError> {
        Ok(match s {
            "ADD" => Command::Add,
            "DEL" => Command::Del,
            "CHECK" => Command::Check,
            "GC" => Command::Gc,
            "STATUS" => Command::Status,
            "VERSION" => Command::Version,
            other => {
                return Err(CniError::InvalidEnv {
                    var: "CNI_COMMAND",
                    reason: format!("unknown command {other:?}"),
                });
            }
        })
    }

    /// The command as `CNI_COMMAND` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Command::Add => "ADD",
            Command::Del => "DEL",
            Command::Check => "CHECK",
            Command::Gc => "GC",
            Command::Status => "STATUS",
            Command::Version => "VERSION",
        }
    }
}

/// Which container interface an ADD, DEL or CHECK is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// `CNI_CONTAINERID`.
    pub container_id: ContainerId,
    /// `CNI_IFNAME`.
    pub ifname: IfName,
    /// `CNI_NETNS`; always set for ADD and CHECK, optional for DEL.
    pub netns: Option<PathBuf>,
}

impl Attachment {
    /// The netns path, or the spec's error when it is missing.
    pub fn netns(&self) -> Result<&std::path::Path, CniError> {
        self.netns.as_deref().ok_or(CniError::InvalidEnv {
            var: "CNI_NETNS",
            reason: "missing".into(),
        })
    }
}

/// An attachment that GC must keep.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ValidAttachment {
    /// The container's id.
    #[serde(rename = "containerID")]
    pub container_id: String,
    /// The interface name in the container.
    pub ifname: String,
}

/// One plugin invocation, validated.
#[derive(Debug, Clone)]
pub struct CniRequest {
    /// The operation.
    pub command: Command,
    /// `CNI_ARGS`, parsed.
    pub args: CniArgs,
    /// `CNI_PATH`, split on `:`.
    pub cni_path: Vec<PathBuf>,
    /// The config from stdin.
    pub config: PluginConfig,
}

impl CniRequest {
    /// GC's valid attachments (`cni.dev/valid-attachments`, or the older `cni.dev/attachments`).
    pub fn valid_attachments(&self) -> Result<Vec<ValidAttachment>, CniError> {
        let raw = &self.config.raw;
        let list = raw
            .get("cni.dev/valid-attachments")
            .or_else(|| raw.get("cni.dev/attachments"));
        match list {
            None => Ok(Vec::new()),
            Some(v) => serde_json::from_value(v.clone()).map_err(|source| CniError::Decode {
                what: "cni.dev/valid-attachments",
                source,
            }),
        }
    }
}

/// What a CNI plugin implements. The skeleton validates the request before calling these.
pub trait Plugin {
    /// ADD: attach and return the result.
    fn add(&self, req: &CniRequest, att: &Attachment) -> Result<CniResult, CniError>;
    /// DEL: detach; must succeed when things are already gone.
    fn del(&self, req: &CniRequest, att: &Attachment) -> Result<(), CniError>;
    /// CHECK: verify the attachment against `prevResult`.
    fn check(&self, req: &CniRequest, att: &Attachment) -> Result<(), CniError>;
    /// GC: release everything not in `valid`.
    fn gc(&self, req: &CniRequest, valid: &[ValidAttachment]) -> Result<(), CniError>;
    /// STATUS: Ok when ready for ADD.
    fn status(&self, req: &CniRequest) -> Result<(), CniError>;
}

/// Where the skeleton reads its environment from (the process env, or a map in tests).
pub trait Env {
    /// The variable's value, if set.
    fn var(&self, name: &str) -> Option<String>;
}

/// The real process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl<F: Fn(&str) -> Option<String>> Env for F {
    fn var(&self, name: &str) -> Option<String> {
        self(name)
    }
}

/// What a dispatch produced: the JSON for stdout (if any) and the exit code.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// JSON to print on stdout.
    pub stdout: Option<Value>,
    /// Process exit code.
    pub exit: u8,
}

/// Runs `plugin` as a CNI plugin process: env, stdin, stdout, exit code.
pub fn run<P: Plugin>(plugin: &P) -> ExitCode {
    let mut stdin = Vec::new();
    let outcome = match std::io::stdin().read_to_end(&mut stdin) {
        Ok(_) => dispatch(plugin, &ProcessEnv, stdin),
        Err(source) => failure(
            Version::LATEST,
            &CniError::Io {
                op: "read config from stdin".into(),
                source,
            },
        ),
    };
    if let Some(out) = &outcome.stdout {
        let mut w = std::io::stdout().lock();
        // Nothing sensible can be done if stdout is gone; the exit code still tells.
        let _ = writeln!(w, "{out}");
    }
    ExitCode::from(outcome.exit)
}

/// Validates the request and calls the plugin. Pure apart from what the plugin does.
pub fn dispatch<P: Plugin>(plugin: &P, env: &dyn Env, stdin: Vec<u8>) -> Outcome {
    tracing::trace!(bytes = stdin.len(), "dispatching");
    let command = match required(env, "CNI_COMMAND").and_then(|c| Command::parse(&c)) {
        Ok(c) => c,
        Err(e) => return failure(Version::LATEST, &e),
    };
    if command == Command::Version {
        return version_info(&stdin);
    }
    let config = match PluginConfig::parse(stdin) {
        Ok(c) => c,
        Err(e) => return failure(Version::LATEST, &e),
    };
    let version = config.version;
    match dispatch_config(plugin, env, command, config) {
        Ok(stdout) => Outcome { stdout, exit: 0 },
        Err(e) => {
            tracing::debug!(code = e.code(), "{} failed: {e}", command.as_str());
            failure(version, &e)
        }
    }
}

fn dispatch_config<P: Plugin>(
    plugin: &P,
    env: &dyn Env,
    command: Command,
    config: PluginConfig,
) -> Result<Option<Value>, CniError> {
    let version = config.version;
    match command {
        Command::Check if !version.supports_check() => {
            return Err(CniError::CommandNotInVersion {
                command: "CHECK",
                version,
            });
        }
        Command::Gc | Command::Status if !version.supports_gc_status() => {
            return Err(CniError::CommandNotInVersion {
                command: command.as_str(),
                version,
            });
        }
        _ => {}
    }
    let req = CniRequest {
        command,
        args: CniArgs::parse(&env.var("CNI_ARGS").unwrap_or_default())?,
        cni_path: cni_path(env, command)?,
        config,
    };
    match command {
        Command::Add => {
            let att = attachment(env, true)?;
            Ok(Some(plugin.add(&req, &att)?.to_json(version)))
        }
        Command::Del => plugin.del(&req, &attachment(env, false)?).map(|()| None),
        Command::Check => plugin.check(&req, &attachment(env, true)?).map(|()| None),
        Command::Gc => plugin.gc(&req, &req.valid_attachments()?).map(|()| None),
        Command::Status => plugin.status(&req).map(|()| None),
        Command::Version => Ok(None),
    }
}

fn attachment(env: &dyn Env, netns_required: bool) -> Result<Attachment, CniError> {
    let id = required(env, "CNI_CONTAINERID")?;
    let container_id = ContainerId::new(id).map_err(|e| CniError::InvalidEnv {
        var: "CNI_CONTAINERID",
        reason: e.to_string(),
    })?;
    let ifname = IfName::new(required(env, "CNI_IFNAME")?).map_err(|e| CniError::InvalidEnv {
        var: "CNI_IFNAME",
        reason: e.to_string(),
    })?;
    let netns = match env.var("CNI_NETNS").filter(|s| !s.is_empty()) {
        Some(p) => Some(PathBuf::from(p)),
        None if netns_required => {
            return Err(CniError::InvalidEnv {
                var: "CNI_NETNS",
                reason: "missing".into(),
            });
        }
        None => None,
    };
    Ok(Attachment {
        container_id,
        ifname,
        netns,
    })
}

fn cni_path(env: &dyn Env, command: Command) -> Result<Vec<PathBuf>, CniError> {
    let raw = match command {
        Command::Status => env.var("CNI_PATH").unwrap_or_default(),
        _ => required(env, "CNI_PATH")?,
    };
    Ok(raw
        .split(':')
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .collect())
}

fn required(env: &dyn Env, var: &'static str) -> Result<String, CniError> {
    env.var(var)
        .filter(|v| !v.is_empty())
        .ok_or(CniError::InvalidEnv {
            var,
            reason: "missing".into(),
        })
}

fn version_info(stdin: &[u8]) -> Outcome {
    // VERSION's stdin only carries `cniVersion`; an empty or odd stdin still gets an answer.
    let asked = serde_json::from_slice::<Value>(stdin).ok().and_then(|v| {
        v.get("cniVersion")
            .and_then(Value::as_str)
            .map(str::to_owned)
    });
    if let Some(asked) = asked.filter(|a| !a.is_empty()) {
        if let Err(e) = asked.parse::<Version>() {
            return failure(Version::LATEST, &e);
        }
    }
    let supported: Vec<&str> = Version::ALL.iter().map(|v| v.as_str()).collect();
    Outcome {
        stdout: Some(json!({
            "cniVersion": Version::LATEST.as_str(),
            "supportedVersions": supported,
        })),
        exit: 0,
    }
}

fn failure(version: Version, e: &CniError) -> Outcome {
    Outcome {
        stdout: Some(e.to_json(version)),
        exit: 1,
    }
}

#[cfg(test)]
mod tests;
