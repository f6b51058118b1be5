//! The shims berthd starts are its children until they exit (containers belong to their
//! shims, so a shim outlives the request that started it). One [`Reaper`] holds them all
//! and collects each when it ends, on `SIGCHLD` and every few seconds, instead of a thread
//! per shim waiting for it: berthd's memory does not grow with the containers it started.
//! Only these children are waited for (by pid), so exec helpers' own waits are untouched.

use std::process::Child;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// How often children are looked at without a `SIGCHLD`.
const SWEEP: Duration = Duration::from_secs(5);

/// Children still to be collected.
#[derive(Default)]
pub struct Reaper {
    children: Mutex<Vec<Child>>,
}

impl Reaper {
    /// Takes `child` to be collected when it exits.
    pub fn adopt(&self, child: Child) {
        self.lock().push(child);
    }

    /// Collects every child that has exited; returns how many are left.
    pub fn reap(&self) -> usize {
        let mut children = self.lock();
        children.retain_mut(|c| matches!(c.try_wait(), Ok(None)));
        children.len()
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Child>> {
        self.children.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Collects children as they exit, for as long as berthd runs.
    pub async fn run(self: Arc<Self>) {
        use tokio::signal::unix::{SignalKind, signal};
        let mut chld = match signal(SignalKind::child()) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!(error = %e, "no SIGCHLD handler; shims are collected every {SWEEP:?}");
                None
            }
        };
        loop {
            match chld.as_mut() {
                Some(s) => {
                    tokio::select! {
                        _ = s.recv() => {}
                        _ = tokio::time::sleep(SWEEP) => {}
                    }
                }
                None => tokio::time::sleep(SWEEP).await,
            }
            self.reap();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exited_children_are_collected_and_running_ones_kept() {
        let r = Reaper::default();
        r.adopt(std::process::Command::new("true").spawn().unwrap());
        let sleeper = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = nix::unistd::Pid::from_raw(sleeper.id() as i32);
        r.adopt(sleeper);
        let gone_to = |left: usize| {
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while r.reap() > left && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            r.reap()
        };
        assert_eq!(gone_to(1), 1, "the exited child was not collected");
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).unwrap();
        assert_eq!(gone_to(0), 0, "the killed child was not collected");
        // Collected means no zombie is left behind.
        assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
    }
}
