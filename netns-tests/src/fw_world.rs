//! The world of the firewall tests: a "host" namespace holding the bridges and berth's
//! nftables table, joined by a veth to an "outside" namespace, a temp IPAM data dir, and
//! bridge configs for it.

use std::net::SocketAddr;

use serde_json::{Value, json};

use crate::TestNetns;

/// The host's address on the outside network.
pub const HOST_OUT: &str = "192.168.77.1";
/// The outside server's address.
pub const OUTSIDE: &str = "192.168.77.2";

/// A host, the outside network and an IPAM data dir, all removed on drop.
pub struct World {
    /// Plays the host.
    pub host: TestNetns,
    /// Plays the network outside the host.
    pub outside: TestNetns,
    /// host-local's `dataDir`.
    pub data: tempfile::TempDir,
}

/// A new world; `prefix` names its namespaces.
pub fn world(prefix: &str) -> World {
    let host = TestNetns::new(&format!("{prefix}-h"));
    let outside = TestNetns::new(&format!("{prefix}-o"));
    crate::veth_between(
        &host,
        "out0",
        format!("{HOST_OUT}/24").parse().expect("address"),
        &outside,
        "eth0",
        format!("{OUTSIDE}/24").parse().expect("address"),
    );
    World {
        host,
        outside,
        data: tempfile::tempdir().expect("temp dir"),
    }
}

/// A masquerading bridge config for network `name` on `bridge` with host-local in `subnet`,
/// with the keys of `extra` set on top.
pub fn conf(w: &World, name: &str, bridge: &str, subnet: &str, extra: Value) -> Value {
    let mut c = json!({
        "cniVersion": "1.0.0", "name": name, "type": "bridge", "bridge": bridge,
        "isGateway": true, "ipMasq": true, "hairpinMode": true,
        "ipam": {"type": "host-local", "ranges": [[{"subnet": subnet}]],
                 "routes": [{"dst": "0.0.0.0/0"}], "dataDir": w.data.path()}
    });
    for (k, v) in extra.as_object().into_iter().flatten() {
        c[k] = v.clone();
    }
    c
}

/// The first address of a CNI result, without its prefix.
pub fn ip_of(result: &Value) -> String {
    result["ips"][0]["address"]
        .as_str()
        .and_then(|a| a.split('/').next())
        .expect("an address in the result")
        .to_string()
}

/// `ip:port` as a socket address.
pub fn sa(ip: &str, port: u16) -> SocketAddr {
    format!("{ip}:{port}").parse().expect("socket address")
}

/// `nft list table inet berth` in the host.
pub fn ruleset(host: &TestNetns) -> String {
    host.run_ok("nft", &["list", "table", "inet", "berth"])
}
