//! Waiting for the machine to go quiet between bench phases.
//!
//! Removing a thousand network namespaces returns at once, but the kernel tears them down
//! afterwards on a workqueue, for tens of seconds, holding the rtnl lock in stretches. A phase
//! started right after another's teardown would share the CPUs and the lock with it: its first
//! ADDs would read slow and its growth small. [`quiet`] waits until the CPUs are idle instead.

use std::time::{Duration, Instant};

use anyhow::Context;

/// Busy and total jiffies of all CPUs, from the first line of `/proc/stat`.
fn cpu_jiffies() -> anyhow::Result<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").context("read /proc/stat")?;
    let line = stat.lines().next().context("/proc/stat is empty")?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().context("a /proc/stat field"))
        .collect::<anyhow::Result<_>>()?;
    // user nice system idle iowait irq softirq steal ...: steal (time the hypervisor gave to
    // others) counts as neither busy nor idle.
    let field = |i: usize| fields.get(i).copied().unwrap_or(0);
    let busy = field(0) + field(1) + field(2) + field(5) + field(6);
    Ok((busy, busy + field(3) + field(4)))
}

/// Waits until the CPUs were at least 95 % idle over each of `in_a_row` `window`s in a row, for
/// at most `limit`. Returns how long it waited, or `None` when the machine never went quiet.
pub fn quiet(window: Duration, in_a_row: u32, limit: Duration) -> anyhow::Result<Option<Duration>> {
    let start = Instant::now();
    let mut calm = 0;
    let (mut busy0, mut total0) = cpu_jiffies()?;
    while calm < in_a_row {
        if start.elapsed() > limit {
            return Ok(None);
        }
        std::thread::sleep(window);
        let (busy, total) = cpu_jiffies()?;
        let (db, dt) = (busy - busy0, total - total0);
        (busy0, total0) = (busy, total);
        calm = if dt > 0 && db * 20 <= dt { calm + 1 } else { 0 };
    }
    Ok(Some(start.elapsed()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jiffies_are_read_and_busy_is_part_of_total() {
        let (busy, total) = cpu_jiffies().unwrap();
        assert!(total > 0);
        assert!(busy <= total);
    }
}
