//! Running the agent's and store's async code from a synchronous front end: one
//! current-thread runtime with a local task set (netlink handles are not `Send`).

use std::future::Future;

/// Runs `fut` to completion on a new current-thread runtime.
pub fn block_on<F: Future>(fut: F) -> std::io::Result<F::Output> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    Ok(local.block_on(&rt, fut))
}
