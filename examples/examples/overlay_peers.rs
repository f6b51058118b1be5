//! How a node agent of an overlay network decides what to program, without a kernel or etcd:
//! checked host records from the store, the peer set's answer to each change (joins, a rejoin
//! with a new underlay address, a slice thief, a leave), and the bridge config the `overlay`
//! CNI plugin hands to `bridge` for this host's slice; and the store options a `--store` URL
//! and the TLS flags give (the password never shows).
//!
//! `cargo run -p berth-examples --example overlay_peers`

use berth_core::plugins::overlay::HostLease;
use berth_core::plugins::overlay::config::bridge_config;
use berth_overlay::peers::PeerSet;
use berth_overlay::{HostEntry, NetworkSpec, PeerChange, StoreOptions, StoreTls};

#[allow(clippy::print_stdout)] // an example prints what it shows
fn main() -> anyhow::Result<()> {
    let net = NetworkSpec {
        name: "ov".into(),
        subnet: "10.100.0.0/16".parse()?,
        vni: 4242,
        slice_prefix: 24,
    };
    net.check()?;
    let host = |name: &str, n: u8| -> anyhow::Result<HostEntry> {
        let mac = berth_overlay::names::vtep_mac(name, net.vni).to_string();
        let json = format!(
            r#"{{"host":"{name}","underlay_ip":"192.0.2.{n}","vtep_mac":"{mac}","slice":"10.100.{n}.0/24"}}"#
        );
        // What the agent does with every record it reads back.
        Ok(HostEntry::from_json(json.as_bytes(), &net)?)
    };
    let me = host("h1", 1)?;
    let mut peers = PeerSet::new(me.clone());
    println!(
        "listed: {:?}",
        peers.reset(vec![me.clone(), host("h2", 2)?])
    );
    println!(
        "h3 joins: {:?}",
        peers.apply(PeerChange::Joined(host("h3", 3)?))
    );
    let mut moved = host("h3", 3)?;
    moved.underlay_ip = "192.0.2.33".parse()?;
    println!(
        "h3 rejoins elsewhere: {:?}",
        peers.apply(PeerChange::Joined(moved))
    );
    let mut thief = host("x", 9)?;
    thief.slice = me.slice;
    println!(
        "x claims h1's slice: {:?}",
        peers.apply(PeerChange::Joined(thief))
    );
    println!(
        "h2 leaves: {:?}",
        peers.apply(PeerChange::Left("h2".into()))
    );
    let outside = br#"{"host":"y","underlay_ip":"192.0.2.7","vtep_mac":"02:00:00:00:00:07","slice":"10.99.0.0/24"}"#;
    match HostEntry::from_json(outside, &net) {
        Ok(e) => anyhow::bail!("a record outside the subnet was accepted: {e:?}"),
        Err(e) => println!("a record outside the subnet: refused: {e}"),
    }

    let lease = HostLease {
        network: net.name.clone(),
        subnet: net.subnet,
        slice: me.slice,
        vni: net.vni,
        bridge: berth_overlay::names::bridge_device(net.vni),
        mtu: 1450,
    };
    let raw = serde_json::json!({"cniVersion": "1.0.0", "name": "ov", "type": "overlay"});
    println!(
        "bridge config: {}",
        serde_json::to_string_pretty(&bridge_config(&raw, &lease))?
    );

    let store = StoreOptions::from_url("etcd://root:s3cret@10.0.0.5:2379,10.0.0.6:2379")?.with_tls(
        StoreTls {
            ca: "/etc/berth/etcd-ca.pem".into(),
            identity: Some((
                "/etc/berth/node.pem".into(),
                "/etc/berth/node-key.pem".into(),
            )),
        },
    );
    println!("store: {store:?} at {:?}", store.endpoints());
    Ok(())
}
