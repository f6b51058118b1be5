//! The JSON records kept in etcd and their checks. A network's record ([`NetworkSpec`]) says
//! its subnet, VNI and slice size; a host's ([`HostEntry`]) says where its VTEP is and which
//! slice it holds. Everything read back is [`HostEntry::check`]ed against the network before
//! anyone uses it: etcd may hold what another (buggy or hostile) writer put there.

use std::net::{IpAddr, Ipv4Addr};

use ipnetwork::Ipv4Network;
use serde::{Deserialize, Serialize};

/// A record that must not be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RecordError {
    /// Not the JSON of a record.
    #[error("not a valid record: {0}")]
    Malformed(String),
    /// A field with a value no honest writer puts there.
    #[error("{field}: {why}")]
    Refused {
        /// The field.
        field: &'static str,
        /// Why.
        why: String,
    },
}

fn refused(field: &'static str, why: impl Into<String>) -> RecordError {
    RecordError::Refused {
        field,
        why: why.into(),
    }
}

/// An overlay network, as `berth net create --driver overlay` records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    /// The network's name.
    pub name: String,
    /// The whole subnet (e.g. 10.100.0.0/16).
    pub subnet: Ipv4Network,
    /// The VXLAN network identifier (24 bits, not 0).
    pub vni: u32,
    /// The prefix length of each host's slice (e.g. 24).
    pub slice_prefix: u8,
}

impl NetworkSpec {
    /// Checks the record's own consistency.
    pub fn check(&self) -> Result<(), RecordError> {
        if self.name.is_empty()
            || self.name.len() > 64
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(refused(
                "name",
                format!("{:?} is not a network name", self.name),
            ));
        }
        if self.vni == 0 || self.vni >= 1 << 24 {
            return Err(refused(
                "vni",
                format!("{} is not a VXLAN id (1..2^24)", self.vni),
            ));
        }
        if self.subnet.network() != self.subnet.ip() {
            return Err(refused(
                "subnet",
                format!("{} has host bits set", self.subnet),
            ));
        }
        if self.slice_prefix <= self.subnet.prefix() || self.slice_prefix > 30 {
            return Err(refused(
                "slice_prefix",
                format!(
                    "/{} does not split {} into host slices of at least 4 addresses",
                    self.slice_prefix, self.subnet
                ),
            ));
        }
        Ok(())
    }

    /// Parses and checks a record read from etcd.
    pub fn from_json(bytes: &[u8]) -> Result<Self, RecordError> {
        let n: Self =
            serde_json::from_slice(bytes).map_err(|e| RecordError::Malformed(e.to_string()))?;
        n.check()?;
        Ok(n)
    }
}

/// One joined host of a network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostEntry {
    /// The host's id (its name in the cluster).
    pub host: String,
    /// The underlay address other hosts send VXLAN packets to.
    pub underlay_ip: Ipv4Addr,
    /// The MAC address of the host's VXLAN device.
    pub vtep_mac: String,
    /// The slice of the network's subnet the host's containers get addresses from.
    pub slice: Ipv4Network,
}

impl HostEntry {
    /// Checks the entry against its network: a slice of the network's subnet of the
    /// network's slice size, a unicast underlay address, a unicast MAC.
    pub fn check(&self, net: &NetworkSpec) -> Result<(), RecordError> {
        if self.host.is_empty()
            || self.host.len() > 253
            || !self
                .host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(refused("host", format!("{:?} is not a host id", self.host)));
        }
        let ip = IpAddr::V4(self.underlay_ip);
        if self.underlay_ip.is_unspecified()
            || self.underlay_ip.is_multicast()
            || self.underlay_ip.is_broadcast()
            || ip.is_loopback()
        {
            return Err(refused(
                "underlay_ip",
                format!("{ip} is not a host's unicast address"),
            ));
        }
        let mac = parse_mac(&self.vtep_mac)
            .ok_or_else(|| refused("vtep_mac", format!("{:?} is not a MAC", self.vtep_mac)))?;
        if mac[0] & 1 == 1 || mac == [0; 6] {
            return Err(refused(
                "vtep_mac",
                format!("{} is not unicast", self.vtep_mac),
            ));
        }
        let slice_ok = self.slice.prefix() == net.slice_prefix
            && self.slice.network() == self.slice.ip()
            && net.subnet.contains(self.slice.ip());
        if !slice_ok {
            return Err(refused(
                "slice",
                format!(
                    "{} is not a /{} slice of {}",
                    self.slice, net.slice_prefix, net.subnet
                ),
            ));
        }
        Ok(())
    }

    /// Parses and checks an entry read from etcd.
    pub fn from_json(bytes: &[u8], net: &NetworkSpec) -> Result<Self, RecordError> {
        let h: Self =
            serde_json::from_slice(bytes).map_err(|e| RecordError::Malformed(e.to_string()))?;
        h.check(net)?;
        Ok(h)
    }
}

/// `aa:bb:cc:dd:ee:ff` to bytes.
fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let mut parts = s.split(':');
    for b in &mut out {
        let p = parts.next()?;
        if p.len() != 2 {
            return None;
        }
        *b = u8::from_str_radix(p, 16).ok()?;
    }
    parts.next().is_none().then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net() -> NetworkSpec {
        NetworkSpec {
            name: "ov".into(),
            subnet: "10.100.0.0/16".parse().unwrap(),
            vni: 4242,
            slice_prefix: 24,
        }
    }

    fn host() -> HostEntry {
        HostEntry {
            host: "node-1".into(),
            underlay_ip: "192.0.2.11".parse().unwrap(),
            vtep_mac: "02:42:ac:11:00:02".into(),
            slice: "10.100.7.0/24".parse().unwrap(),
        }
    }

    #[test]
    fn honest_records_pass_and_round_trip() {
        let n = net();
        n.check().unwrap();
        let back = NetworkSpec::from_json(&serde_json::to_vec(&n).unwrap()).unwrap();
        assert_eq!(back, n);
        let h = host();
        let back = HostEntry::from_json(&serde_json::to_vec(&h).unwrap(), &n).unwrap();
        assert_eq!(back, h);
    }

    #[test]
    fn hostile_or_broken_records_are_refused_naming_the_field() {
        let n = net();
        let field = |h: HostEntry| match h.check(&n) {
            Err(RecordError::Refused { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field(HostEntry {
                slice: "10.200.0.0/24".parse().unwrap(),
                ..host()
            }),
            "slice"
        );
        assert_eq!(
            field(HostEntry {
                slice: "10.100.0.0/23".parse().unwrap(),
                ..host()
            }),
            "slice"
        );
        assert_eq!(
            field(HostEntry {
                slice: "10.100.7.5/24".parse().unwrap(),
                ..host()
            }),
            "slice"
        );
        assert_eq!(
            field(HostEntry {
                underlay_ip: "224.0.0.1".parse().unwrap(),
                ..host()
            }),
            "underlay_ip"
        );
        assert_eq!(
            field(HostEntry {
                underlay_ip: "127.0.0.1".parse().unwrap(),
                ..host()
            }),
            "underlay_ip"
        );
        assert_eq!(
            field(HostEntry {
                vtep_mac: "01:00:5e:00:00:01".into(),
                ..host()
            }),
            "vtep_mac"
        );
        assert_eq!(
            field(HostEntry {
                vtep_mac: "zz".into(),
                ..host()
            }),
            "vtep_mac"
        );
        assert_eq!(
            field(HostEntry {
                host: "../etc".into(),
                ..host()
            }),
            "host"
        );
        let e = HostEntry::from_json(b"{\"host\": 1}", &n).unwrap_err();
        assert!(matches!(e, RecordError::Malformed(_)), "{e:?}");
        let extra = br#"{"host":"a","underlay_ip":"192.0.2.1","vtep_mac":"02:00:00:00:00:01","slice":"10.100.1.0/24","x":1}"#;
        assert!(matches!(
            HostEntry::from_json(extra, &n),
            Err(RecordError::Malformed(_))
        ));
        let bad = |n: NetworkSpec| n.check().is_err();
        assert!(bad(NetworkSpec { vni: 0, ..net() }));
        assert!(bad(NetworkSpec {
            vni: 1 << 24,
            ..net()
        }));
        assert!(bad(NetworkSpec {
            slice_prefix: 16,
            ..net()
        }));
        assert!(bad(NetworkSpec {
            slice_prefix: 31,
            ..net()
        }));
        assert!(bad(NetworkSpec {
            subnet: "10.100.0.1/16".parse().unwrap(),
            ..net()
        }));
    }
}
