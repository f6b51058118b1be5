//! IPAM delegation (CNI SPEC section 4): the main plugin runs the IPAM plugin named in
//! `ipam.type` with the same environment and the whole config, and applies what it returns.

use super::error::CniError;
use super::exec::PluginExec;
use super::result::CniResult;
use super::skel::CniRequest;

/// Runs the IPAM plugin's ADD and returns its (abbreviated) result.
pub fn ipam_add(
    exec: &dyn PluginExec,
    req: &CniRequest,
    ipam: &str,
) -> Result<CniResult, CniError> {
    let out = run(exec, req, ipam, "ADD")?;
    let value: serde_json::Value =
        serde_json::from_slice(&out).map_err(|source| CniError::Decode {
            what: "IPAM result",
            source,
        })?;
    CniResult::from_json(&value)
}

/// Runs the IPAM plugin's DEL (also used to roll back a failed ADD).
pub fn ipam_del(exec: &dyn PluginExec, req: &CniRequest, ipam: &str) -> Result<(), CniError> {
    run(exec, req, ipam, "DEL").map(drop)
}

/// Runs the IPAM plugin's CHECK.
pub fn ipam_check(exec: &dyn PluginExec, req: &CniRequest, ipam: &str) -> Result<(), CniError> {
    run(exec, req, ipam, "CHECK").map(drop)
}

/// Runs the IPAM plugin's GC (the config carries the valid attachments).
pub fn ipam_gc(exec: &dyn PluginExec, req: &CniRequest, ipam: &str) -> Result<(), CniError> {
    run(exec, req, ipam, "GC").map(drop)
}

/// Runs the IPAM plugin's STATUS.
pub fn ipam_status(exec: &dyn PluginExec, req: &CniRequest, ipam: &str) -> Result<(), CniError> {
    run(exec, req, ipam, "STATUS").map(drop)
}

fn run(
    exec: &dyn PluginExec,
    req: &CniRequest,
    ipam: &str,
    command: &str,
) -> Result<Vec<u8>, CniError> {
    tracing::debug!(ipam, command, "delegating to IPAM");
    exec.exec(ipam, &[("CNI_COMMAND", command)], &req.config.bytes)
}
