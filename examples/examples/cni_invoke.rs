//! Runs a network config list (berth's `bridge`, then `portmap` publishing host port 8080) for
//! one container the way a runtime does, through `berth_core::invoke`: ADD (the result printed
//! as JSON), CHECK, then DEL, which removes the interface, the address reservation and the
//! published port. Everything happens in two throwaway namespaces, one playing the host, and
//! nothing is left behind. Needs root and the plugins built:
//!
//!     cargo build --workspace --bins && sudo cargo run -p berth-examples --example cni_invoke
#![allow(clippy::print_stdout)] // printing is what an example does

use std::path::{Path, PathBuf};

use anyhow::Context;
use berth_core::cni::exec::RawExec;
use berth_core::invoke::conflist::NetworkList;
use berth_core::invoke::{Invoker, RuntimeConf};
use berth_core::names::{ContainerId, IfName};
use berth_core::netns::Netns;
use serde_json::json;

fn main() -> anyhow::Result<()> {
    let plugins = plugin_dir()?;
    let dir = std::env::temp_dir().join(format!("berth-example-cni-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let host = Netns::create_named(&dir.join("netns"), "example-host")?;
    let ctr = Netns::create_named(&dir.join("netns"), "example-ctr")?;
    // Plugins run in the namespace of the thread that starts them: this one plays the host.
    let result = host.run_in(|| attach_and_detach(&plugins, &dir, ctr.path()));
    drop((host, ctr));
    Netns::remove_named(&dir.join("netns"), "example-host")?;
    Netns::remove_named(&dir.join("netns"), "example-ctr")?;
    Netns::release_dir(&dir.join("netns"))?;
    std::fs::remove_dir_all(&dir)?;
    result?
}

fn attach_and_detach(plugins: &Path, dir: &Path, netns: &Path) -> anyhow::Result<()> {
    let conflist = json!({
        "cniVersion": "1.0.0",
        "name": "example",
        "plugins": [
            {"type": "bridge", "bridge": "br-example", "isGateway": true, "ipMasq": true,
             "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.123.0.0/24"}]],
                      "routes": [{"dst": "0.0.0.0/0"}], "dataDir": dir.join("ipam")}},
            {"type": "portmap", "capabilities": {"portMappings": true}}
        ]
    });
    let list = NetworkList::parse(serde_json::to_vec(&conflist)?)?;
    let invoker = Invoker::new(
        RawExec::new(vec![plugins.to_path_buf()]),
        vec![plugins.to_path_buf()],
        dir.join("cache"),
        dir.join("locks"),
    );
    let mut rt = RuntimeConf::new(
        ContainerId::new("example")?,
        IfName::new("eth0")?,
        Some(netns.to_path_buf()),
    );
    rt.capability_args.insert(
        "portMappings".into(),
        json!([{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]),
    );
    let result = invoker.add(&list, &rt)?;
    println!("ADD result:\n{:#}", result.to_json(list.version));
    invoker.check(&list, &rt)?;
    println!("CHECK: the interface, its addresses and the published port are in place");
    invoker.del(&list, &rt)?;
    println!("DEL: done (a second DEL would succeed too)");
    Ok(())
}

/// The directory the plugin binaries were built into (`target/<profile>/`, next to
/// `examples/`).
fn plugin_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .context("the example runs from target/<profile>/examples")?;
    anyhow::ensure!(
        dir.join("bridge").is_file() && dir.join("portmap").is_file(),
        "no plugins in {}: run `cargo build --workspace --bins` first",
        dir.display()
    );
    Ok(dir.to_path_buf())
}
