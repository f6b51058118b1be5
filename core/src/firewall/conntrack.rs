//! Forgetting stale UDP flows when a port is published, as the reference portmap does after
//! adding its rules.
//!
//! NAT is decided once per flow, on its first packet; later packets follow the conntrack entry.
//! A UDP client that was already sending to a host port before it was published (a resolver
//! retrying, a game client, a metrics agent) has an entry that delivers to the host itself, and
//! as long as it keeps sending, the entry never times out and the new DNAT rule is never
//! consulted. So on ADD berth dumps the conntrack table (ctnetlink, in the plugin's netns),
//! picks the UDP entries whose original destination port was just published, and deletes each
//! by its original tuple, zone and id (an entry replaced meanwhile is left alone). TCP needs
//! none of this: a new connection is a new flow.
//!
//! Encoding follows `include/uapi/linux/netfilter/nfnetlink_conntrack.h`.

use std::io;

use super::nfnl::{NLA_F_NESTED, Nfnl, attrs, put_attr};

const NFNL_SUBSYS_CTNETLINK: u16 = 1;
const IPCTNL_MSG_CT_GET: u16 = 1;
const IPCTNL_MSG_CT_DELETE: u16 = 2;

const CTA_TUPLE_ORIG: u16 = 1;
const CTA_ID: u16 = 12;
const CTA_ZONE: u16 = 18;
const CTA_TUPLE_PROTO: u16 = 2;
const CTA_PROTO_NUM: u16 = 1;
const CTA_PROTO_DST_PORT: u16 = 3;

const AF_UNSPEC: u8 = 0;
const IPPROTO_UDP: u8 = 17;

/// One conntrack entry to delete: its layer-3 family and the attributes that name it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Doomed {
    family: u8,
    attrs: Vec<u8>,
}

fn ct_type(msg: u16) -> u16 {
    (NFNL_SUBSYS_CTNETLINK << 8) | msg
}

/// Deletes the conntrack entries of UDP flows whose original destination port is in `ports`,
/// in every layer-3 family; returns how many were deleted.
pub(super) fn forget_udp_flows(nl: &Nfnl, ports: &[u16]) -> io::Result<usize> {
    if ports.is_empty() {
        return Ok(0);
    }
    // Collect first: deleting while the dump is running would disturb it.
    let mut doomed = Vec::new();
    nl.dump_each(ct_type(IPCTNL_MSG_CT_GET), AF_UNSPEC, &mut |payload| {
        doomed.extend(udp_entry_to(payload, ports));
    })?;
    let mut deleted = 0;
    for d in &doomed {
        match nl.request(ct_type(IPCTNL_MSG_CT_DELETE), d.family, &d.attrs) {
            Ok(()) => deleted += 1,
            // Expired or replaced since the dump.
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(deleted)
}

/// The delete request for a dumped entry (nfgenmsg + attributes) when it is a UDP flow to one
/// of `ports`.
fn udp_entry_to(payload: &[u8], ports: &[u16]) -> Option<Doomed> {
    let family = *payload.first()?;
    let top = attrs(payload.get(4..)?);
    let orig = top.iter().find(|(k, _)| *k == CTA_TUPLE_ORIG)?.1;
    let proto = attrs(orig)
        .into_iter()
        .find(|(k, _)| *k == CTA_TUPLE_PROTO)?
        .1;
    let l4 = attrs(proto);
    let num = l4.iter().find(|(k, _)| *k == CTA_PROTO_NUM)?.1;
    let port = l4.iter().find(|(k, _)| *k == CTA_PROTO_DST_PORT)?.1;
    let port = u16::from_be_bytes(port.get(..2)?.try_into().ok()?);
    if num.first() != Some(&IPPROTO_UDP) || !ports.contains(&port) {
        return None;
    }
    let mut out = Vec::new();
    put_attr(&mut out, CTA_TUPLE_ORIG | NLA_F_NESTED, orig);
    for (kind, value) in &top {
        if *kind == CTA_ZONE || *kind == CTA_ID {
            put_attr(&mut out, *kind, value);
        }
    }
    Some(Doomed { family, attrs: out })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A dumped entry: nfgenmsg for `family`, then the original tuple, an id and a status.
    fn entry(family: u8, proto: u8, dport: u16, zone: Option<u16>) -> Vec<u8> {
        let mut ip = Vec::new();
        put_attr(&mut ip, 1, &[10, 0, 0, 2]); // CTA_IP_V4_SRC
        put_attr(&mut ip, 2, &[10, 0, 0, 1]); // CTA_IP_V4_DST
        let mut l4 = Vec::new();
        put_attr(&mut l4, CTA_PROTO_NUM, &[proto]);
        put_attr(&mut l4, 2, &40000u16.to_be_bytes());
        put_attr(&mut l4, CTA_PROTO_DST_PORT, &dport.to_be_bytes());
        let mut tuple = Vec::new();
        put_attr(&mut tuple, 1 | NLA_F_NESTED, &ip);
        put_attr(&mut tuple, CTA_TUPLE_PROTO | NLA_F_NESTED, &l4);
        let mut p = vec![family, 0, 0, 0];
        put_attr(&mut p, CTA_TUPLE_ORIG | NLA_F_NESTED, &tuple);
        put_attr(&mut p, 3, &8u32.to_be_bytes()); // CTA_STATUS: not copied
        put_attr(&mut p, CTA_ID, &77u32.to_be_bytes());
        if let Some(z) = zone {
            put_attr(&mut p, CTA_ZONE, &z.to_be_bytes());
        }
        p
    }

    #[test]
    fn a_udp_flow_to_a_published_port_is_named_by_tuple_zone_and_id() {
        let d = udp_entry_to(&entry(2, 17, 5353, Some(4)), &[80, 5353]).unwrap();
        assert_eq!(d.family, 2);
        let a = attrs(&d.attrs);
        let kinds: Vec<u16> = a.iter().map(|(k, _)| *k).collect();
        assert_eq!(kinds, [CTA_TUPLE_ORIG, CTA_ID, CTA_ZONE]);
        assert_eq!(a[1].1, 77u32.to_be_bytes());
        assert_eq!(a[2].1, 4u16.to_be_bytes());
        // The tuple goes back exactly as the kernel gave it, flagged nested.
        let src = entry(2, 17, 5353, Some(4));
        let orig = attrs(&src[4..])[0].1.to_vec();
        assert_eq!(a[0].1, orig);
        assert_ne!(
            u16::from_ne_bytes([d.attrs[2], d.attrs[3]]) & NLA_F_NESTED,
            0
        );
    }

    #[test]
    fn other_ports_tcp_and_garbage_are_left_alone() {
        assert_eq!(udp_entry_to(&entry(2, 17, 53, None), &[5353]), None);
        assert_eq!(udp_entry_to(&entry(10, 6, 5353, None), &[5353]), None);
        assert_eq!(udp_entry_to(&[], &[5353]), None);
        assert_eq!(udp_entry_to(&[2, 0, 0, 0, 9, 9], &[5353]), None);
        let v6 = udp_entry_to(&entry(10, 17, 5353, None), &[5353]).unwrap();
        assert_eq!(v6.family, 10);
        assert_eq!(
            attrs(&v6.attrs).len(),
            2,
            "no zone attribute when none was dumped"
        );
    }
}
