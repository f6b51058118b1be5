//! host-local IPAM as a library: reserve addresses in a /29 for a few containers, show that a
//! repeated ADD gets the same address back and that a full range gives a clear error, then
//! release them (GC and DEL). Files go to a temp dir in the reference plugin's on-disk format.
//! No root needed:
//!
//!     cargo run -p berth-examples --example host_local
#![allow(clippy::print_stdout)] // printing is what an example does

use berth_core::ipam::{self, HostLocalConfig};

fn main() -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("berth-host-local-{}", std::process::id()));
    let net = serde_json::json!({
        "cniVersion": "1.0.0", "name": "demo", "type": "bridge",
        "ipam": {
            "type": "host-local",
            "ranges": [[{"subnet": "10.99.0.0/29"}]],
            "dataDir": dir,
        },
    });
    let cfg = HostLocalConfig::from_net_config(&net)?;
    for id in ["c1", "c2", "c3"] {
        let a = ipam::allocate("demo", &cfg, id, "eth0", &[])?;
        println!("{id} eth0 -> {}", a.ips[0].address);
    }
    let again = ipam::allocate("demo", &cfg, "c1", "eth0", &[])?;
    println!("c1 eth0 again -> {} (the same)", again.ips[0].address);
    for id in ["c4", "c5", "c6"] {
        match ipam::allocate("demo", &cfg, id, "eth0", &[]) {
            Ok(a) => println!("{id} eth0 -> {}", a.ips[0].address),
            Err(e) => println!("{id} eth0 -> error: {e}"),
        }
    }
    for r in ipam::reservations("demo", &cfg)? {
        println!("reserved {} by {} {:?}", r.ip, r.id, r.ifname);
    }
    let valid = vec![("c1".to_owned(), "eth0".to_owned())];
    println!(
        "GC keeping only c1 released {:?}",
        ipam::gc("demo", &cfg, &valid)?
    );
    ipam::release("demo", &cfg, "c1", "eth0")?;
    ipam::release("demo", &cfg, "c1", "eth0")?; // DEL is idempotent
    println!("left: {}", ipam::reservations("demo", &cfg)?.len());
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
