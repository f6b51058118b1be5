//! The server's sockets on a network: UDP and TCP on the gateway address, port 53, bound to
//! the network's bridge (`SO_BINDTODEVICE`), so only packets that arrive on that bridge reach
//! them: the host's other interfaces never see a DNS server, whatever their addresses.
//! `IP_FREEBIND` lets a just-added IPv6 gateway (still in duplicate address detection) be
//! bound at once.

use std::io;
use std::net::{IpAddr, SocketAddr};

use berth_engine::dns::table::PORT;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::{TcpListener, UdpSocket};

/// Pending TCP connections the kernel keeps.
const BACKLOG: i32 = 128;

/// A datagram socket queue big enough for bursts (the kernel caps it at `rmem_max`).
const RECV_BUFFER: usize = 4 << 20;

fn socket(gateway: IpAddr, bridge: &str, kind: Type, proto: Protocol) -> io::Result<Socket> {
    let domain = if gateway.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let s = Socket::new(domain, kind, Some(proto))?;
    if gateway.is_ipv6() {
        s.set_only_v6(true)?;
        s.set_freebind_v6(true)?;
    } else {
        s.set_freebind_v4(true)?;
    }
    s.set_reuse_address(true)?;
    s.bind_device(Some(bridge.as_bytes()))?;
    s.set_nonblocking(true)?;
    s.bind(&SocketAddr::new(gateway, PORT).into())?;
    Ok(s)
}

/// The UDP socket on `gateway` of `bridge`.
pub fn udp(gateway: IpAddr, bridge: &str) -> io::Result<UdpSocket> {
    let s = socket(gateway, bridge, Type::DGRAM, Protocol::UDP)?;
    let _ = s.set_recv_buffer_size(RECV_BUFFER);
    UdpSocket::from_std(s.into())
}

/// The TCP listener on `gateway` of `bridge`.
pub fn tcp(gateway: IpAddr, bridge: &str) -> io::Result<TcpListener> {
    let s = socket(gateway, bridge, Type::STREAM, Protocol::TCP)?;
    s.listen(BACKLOG)?;
    TcpListener::from_std(s.into())
}
