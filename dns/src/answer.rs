//! Answering one query from the table: A and AAAA for container names and aliases, PTR for
//! their addresses, an empty answer for other types of a known name; everything else is
//! forwarded (or refused on an internal network). The wire format is hickory-proto's; a
//! message that does not parse gets FORMERR when it has a header, and nothing otherwise.

use std::net::IpAddr;

use berth_engine::dns::table::{Lookup, Table};
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, PTR};
use hickory_proto::rr::{Name, RData, Record, RecordType};

/// How long clients may cache an answer: short, since containers come and go.
pub const TTL: u32 = 60;

/// The EDNS payload size advertised (the DNS flag day's safe size).
pub const EDNS_PAYLOAD: u16 = 1232;

/// What to do with a query.
#[derive(Debug, PartialEq, Eq)]
pub enum Reply {
    /// Send these bytes back.
    Answer(Vec<u8>),
    /// Forward the query as it is to the client's upstream servers.
    Forward,
    /// Not even a header: ignore it.
    Drop,
}

/// The reply to `packet`, which came from `client` on the served network `network`, over
/// UDP (`udp`: an answer too long for the client is sent truncated, so it asks over TCP)
/// or TCP.
pub fn answer(table: &Table, network: usize, client: IpAddr, packet: &[u8], udp: bool) -> Reply {
    let req = match Message::from_vec(packet) {
        Ok(m) => m,
        Err(_) => return error_for(packet, ResponseCode::FormErr),
    };
    if req.message_type() != MessageType::Query {
        return Reply::Drop;
    }
    if req.op_code() != OpCode::Query {
        return respond(&req, ResponseCode::NotImp, Vec::new(), udp);
    }
    let [q] = req.queries() else {
        return respond(&req, ResponseCode::FormErr, Vec::new(), udp);
    };
    let name = q.name();
    if q.query_type() == RecordType::PTR {
        if let Some(target) = name
            .parse_arpa_name()
            .ok()
            .filter(|net| net.prefix_len() == net.max_prefix_len())
            .and_then(|net| table.reverse(network, client, net.addr()))
        {
            let Ok(target) = Name::from_ascii(format!("{target}.")) else {
                return respond(&req, ResponseCode::ServFail, Vec::new(), udp);
            };
            let rec = Record::from_rdata(name.clone(), TTL, RData::PTR(PTR(target)));
            return respond(&req, ResponseCode::NoError, vec![rec], udp);
        }
        return Reply::Forward;
    }
    let ascii = name.to_ascii();
    match table.lookup(network, client, &ascii) {
        Lookup::Found(addrs) => {
            let records = addrs
                .into_iter()
                .filter_map(|a| match (a, q.query_type()) {
                    (IpAddr::V4(v4), RecordType::A | RecordType::ANY) => Some(RData::A(A(v4))),
                    (IpAddr::V6(v6), RecordType::AAAA | RecordType::ANY) => {
                        Some(RData::AAAA(AAAA(v6)))
                    }
                    _ => None,
                })
                .map(|rdata| Record::from_rdata(name.clone(), TTL, rdata))
                .collect();
            respond(&req, ResponseCode::NoError, records, udp)
        }
        // A single label that is no container's name is nobody's: the host's resolvers
        // would only say so more slowly.
        Lookup::Unknown if name.num_labels() <= 1 => {
            respond(&req, ResponseCode::NXDomain, Vec::new(), udp)
        }
        Lookup::Unknown => Reply::Forward,
    }
}

/// SERVFAIL for `packet` (no upstream answered, or none may be asked).
pub fn servfail(packet: &[u8]) -> Option<Vec<u8>> {
    match Message::from_vec(packet) {
        Ok(req) => match respond(&req, ResponseCode::ServFail, Vec::new(), false) {
            Reply::Answer(b) => Some(b),
            _ => None,
        },
        Err(_) => None,
    }
}

/// The response to `req` with `code` and `answers`, authoritative, echoing the question and
/// EDNS when the client used it. Over UDP, answers longer than the client takes (512 bytes,
/// or its EDNS size) are left out and the response is marked truncated.
fn respond(req: &Message, code: ResponseCode, answers: Vec<Record>, udp: bool) -> Reply {
    let limit = match req.extensions() {
        _ if !udp => usize::MAX,
        Some(e) => usize::from(e.max_payload().clamp(512, EDNS_PAYLOAD)),
        None => 512,
    };
    match build(req, code, answers, false) {
        Some(b) if b.len() <= limit => Reply::Answer(b),
        Some(_) => build(req, code, Vec::new(), true).map_or(Reply::Drop, Reply::Answer),
        None => Reply::Drop,
    }
}

fn build(
    req: &Message,
    code: ResponseCode,
    answers: Vec<Record>,
    truncated: bool,
) -> Option<Vec<u8>> {
    let mut m = Message::new();
    m.set_truncated(truncated);
    m.set_id(req.id())
        .set_message_type(MessageType::Response)
        .set_op_code(req.op_code())
        .set_authoritative(code == ResponseCode::NoError || code == ResponseCode::NXDomain)
        .set_recursion_desired(req.recursion_desired())
        .set_recursion_available(true)
        .set_response_code(code);
    for q in req.queries() {
        m.add_query(Query::query(q.name().clone(), q.query_type()));
    }
    for a in answers {
        m.add_answer(a);
    }
    if req.extensions().is_some() {
        let mut edns = Edns::new();
        edns.set_max_payload(EDNS_PAYLOAD);
        m.set_edns(edns);
    }
    m.to_vec().ok()
}

/// A bare error response for a packet hickory could not parse: its id and opcode with the
/// QR bit and `code`, no sections. Shorter than a header: dropped.
fn error_for(packet: &[u8], code: ResponseCode) -> Reply {
    if packet.len() < 12 || packet[2] & 0x80 != 0 {
        return Reply::Drop;
    }
    let mut out = vec![0u8; 12];
    out[..2].copy_from_slice(&packet[..2]);
    out[2] = 0x80 | (packet[2] & 0x79);
    out[3] = 0x80 | (u16::from(code) as u8 & 0x0f);
    Reply::Answer(out)
}

#[cfg(test)]
mod tests;
