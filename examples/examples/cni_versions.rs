//! Reads a CNI result written for 0.4.0 and writes it for 1.1.0 and 0.3.1; parses a plugin
//! config and shows the error JSON a plugin prints for bad input. No root needed:
//!
//!     cargo run -p berth-examples --example cni_versions
#![allow(clippy::print_stdout)] // printing is what an example does

use berth_core::cni::{CniResult, PluginConfig, Version};

fn main() -> anyhow::Result<()> {
    let old = serde_json::json!({
        "cniVersion": "0.4.0",
        "interfaces": [{"name": "eth0", "sandbox": "/run/netns/c1"}],
        "ips": [{"version": "4", "address": "10.88.0.5/16", "gateway": "10.88.0.1", "interface": 0}],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dns": {}
    });
    let result = CniResult::from_json(&old)?;
    for v in [Version::V1_1_0, Version::V0_3_1] {
        println!("{v}: {}", result.to_json(v));
    }
    let config = PluginConfig::parse(
        br#"{"cniVersion":"1.0.0","name":"web","type":"bridge","ipam":{"type":"host-local"}}"#
            .to_vec(),
    )?;
    println!(
        "network {} uses IPAM {:?}",
        config.net.name,
        config.ipam_type()
    );
    if let Err(e) = PluginConfig::parse(b"{\"cniVersion\": 1".to_vec()) {
        println!("bad input -> {}", e.to_json(Version::LATEST));
    }
    Ok(())
}
