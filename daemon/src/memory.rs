//! Keeping berthd small: glibc gives every thread that allocates an arena of its own and
//! keeps freed memory in it, so a burst of requests on the blocking pool leaves the process
//! larger than it needs to be long after. berthd caps the arenas at two and hands free
//! memory back to the system every few seconds (`malloc_trim`, which costs microseconds on a
//! heap this size). Other C libraries: nothing to do.

use std::time::Duration;

/// How often free memory is handed back.
const TRIM_EVERY: Duration = Duration::from_secs(5);

/// Caps glibc's malloc arenas; call before any thread is started.
pub fn limit_arenas() {
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt only sets an allocator parameter; it is called before other threads exist.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Hands free heap memory back to the system, every [`TRIM_EVERY`], for as long as
/// berthd runs.
pub async fn trim_periodically() {
    loop {
        tokio::time::sleep(TRIM_EVERY).await;
        #[cfg(target_env = "gnu")]
        // SAFETY: malloc_trim is thread-safe and only releases memory malloc does not use.
        unsafe {
            libc::malloc_trim(0);
        }
    }
}
