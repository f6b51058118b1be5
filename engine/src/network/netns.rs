//! Named network namespaces as berth makes them for containers and `berth netns add`: the
//! namespace under `<run-root>/netns/<name>` with `lo` up, so 127.0.0.1 works inside it as in
//! Docker's and podman's containers.

use std::path::Path;

use anyhow::Context as _;
use berth_core::netlink::{LinuxNetlink, Netlink};
use berth_core::netns::Netns;

/// Creates the named netns and brings its `lo` up; on failure nothing is left.
pub fn create_with_loopback(dir: &Path, name: &str) -> anyhow::Result<Netns> {
    let ns = Netns::create_named(dir, name).with_context(|| format!("create netns {name}"))?;
    let up = LinuxNetlink::open_in(&ns).and_then(|nl| {
        let lo = nl.link_by_name("lo")?;
        lo.map(|lo| nl.set_up(lo.index)).transpose()
    });
    if let Err(e) = up {
        let _ = Netns::remove_named(dir, name);
        return Err(e).with_context(|| format!("bring lo up in netns {name}"));
    }
    Ok(ns)
}
