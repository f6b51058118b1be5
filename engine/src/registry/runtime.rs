//! The async runtime under the registry client. The engine's API is synchronous (the CLI
//! and berthd's blocking workers call it); each pull, push or login runs on a short-lived
//! single-threaded tokio runtime of its own, with the CPU-heavy work (decompressing,
//! hashing, writing, unpacking) on blocking threads. One runtime per operation, because
//! the HTTP client's pooled connections belong to the runtime that opened them.

use std::future::Future;

use tokio::runtime::Runtime;

use super::RegistryError;

/// A new current-thread runtime.
pub(crate) fn new_runtime() -> Result<Runtime, RegistryError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| RegistryError::Io {
            op: "start the registry client's runtime",
            source,
        })
}

/// Runs `f` to completion on a new runtime.
pub(crate) fn block_on<F: Future>(f: F) -> Result<F::Output, RegistryError> {
    Ok(new_runtime()?.block_on(f))
}
