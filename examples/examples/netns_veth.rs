//! Creates two named network namespaces, joins them with a veth pair whose second end is born
//! inside the second namespace, gives both ends addresses and lists them. Needs root; leaves
//! nothing behind:
//!
//!     sudo cargo run -p berth-examples --example netns_veth
#![allow(clippy::print_stdout)] // printing is what an example does

use std::os::fd::AsFd;

use berth_core::netlink::{LinuxNetlink, Netlink, VethSpec};
use berth_core::netns::Netns;

fn main() -> anyhow::Result<()> {
    let dir = tempfile_dir()?;
    let a = Netns::create_named(&dir, "example-a")?;
    let b = Netns::create_named(&dir, "example-b")?;
    let result = wire(&a, &b);
    Netns::remove_named(&dir, "example-a")?;
    Netns::remove_named(&dir, "example-b")?;
    Netns::release_dir(&dir)?;
    std::fs::remove_dir(&dir)?;
    result
}

fn wire(a: &Netns, b: &Netns) -> anyhow::Result<()> {
    let (nl_a, nl_b) = (LinuxNetlink::open_in(a)?, LinuxNetlink::open_in(b)?);
    nl_a.create_veth_with(&VethSpec {
        name: "va",
        peer: "vb",
        peer_ns: b.as_fd(),
        mtu: Some(1400),
        peer_mac: None,
        master: None,
        up: true,
    })?;
    for (nl, name, addr) in [(&nl_a, "va", "192.0.2.1/24"), (&nl_b, "vb", "192.0.2.2/24")] {
        let link = nl
            .link_by_name(name)?
            .ok_or_else(|| anyhow::anyhow!("{name} missing"))?;
        nl.add_address(link.index, addr.parse()?)?;
        nl.set_up(link.index)?;
    }
    for (label, nl) in [("a", &nl_a), ("b", &nl_b)] {
        for link in nl.links()? {
            let addrs: Vec<String> = nl
                .addresses(Some(link.index))?
                .iter()
                .map(|a| a.addr.to_string())
                .collect();
            println!(
                "{label}: {} mtu {} up={} {addrs:?}",
                link.name, link.mtu, link.admin_up
            );
        }
    }
    Ok(())
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("berth-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
