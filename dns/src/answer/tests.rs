use super::*;
use berth_engine::container::record::{Attachment, ContainerRecord};
use berth_engine::network::{CreateRequest, NetworkStore};

/// A container on network `web` at `10.89.0.N` with the alias `many`.
fn member(n: u8, name: &str) -> ContainerRecord {
    let mut r = ContainerRecord {
        id: format!("{n:064}"),
        name: name.into(),
        ..Default::default()
    };
    r.network_settings.networks.insert(
        "web".into(),
        Attachment {
            if_name: "eth0".into(),
            ip_addresses: vec![format!("10.89.0.{n}/24")],
            result: serde_json::Value::Null,
        },
    );
    r.host_config
        .network_aliases
        .insert("web".into(), vec!["many".into()]);
    r
}

/// The table of `recs` on one network `web` (10.89.0.0/24), forwarding to 192.0.2.53.
fn table_of(recs: &[ContainerRecord]) -> Table {
    let d = tempfile::tempdir().unwrap();
    let store = NetworkStore::new(d.path(), Vec::new());
    store
        .create(
            CreateRequest::bridge("web", &["10.89.0.0/24"]),
            d.path(),
            d.path(),
        )
        .unwrap();
    Table::build(recs, &store.list().unwrap(), "nameserver 192.0.2.53\n")
}

/// `a` at 10.89.0.2 and `b` at 10.89.0.3.
fn table() -> Table {
    table_of(&[member(2, "a"), member(3, "b")])
}

fn query(name: &str, t: RecordType, edns: bool) -> Vec<u8> {
    let mut m = Message::new();
    m.set_id(0x1234).set_recursion_desired(true);
    m.add_query(Query::query(Name::from_ascii(name).unwrap(), t));
    if edns {
        let mut e = Edns::new();
        e.set_max_payload(1232);
        m.set_edns(e);
    }
    m.to_vec().unwrap()
}

fn ask(t: &Table, packet: &[u8], udp: bool) -> Message {
    match answer(t, 0, "10.89.0.2".parse().unwrap(), packet, udp) {
        Reply::Answer(b) => Message::from_vec(&b).unwrap(),
        other => panic!("{other:?}"),
    }
}

fn rdata(m: &Message) -> Vec<String> {
    m.answers().iter().map(|r| r.data().to_string()).collect()
}

#[test]
fn names_get_their_addresses_and_addresses_their_names() {
    let t = table();
    let m = ask(&t, &query("b.", RecordType::A, false), true);
    assert_eq!(m.id(), 0x1234);
    assert_eq!(m.response_code(), ResponseCode::NoError);
    assert!(m.authoritative() && m.recursion_available());
    assert_eq!(rdata(&m), ["10.89.0.3"]);
    assert_eq!(m.answers()[0].ttl(), TTL);
    assert_eq!(
        rdata(&ask(&t, &query("B.web.", RecordType::A, false), true)),
        ["10.89.0.3"]
    );
    // Known, but no IPv6 address: an empty answer, not NXDOMAIN, not forwarded.
    let m = ask(&t, &query("b.", RecordType::AAAA, false), true);
    assert_eq!(
        (m.response_code(), m.answers().len()),
        (ResponseCode::NoError, 0)
    );
    let m = ask(
        &t,
        &query("3.0.89.10.in-addr.arpa.", RecordType::PTR, false),
        true,
    );
    assert_eq!(rdata(&m), ["b.web."]);
    let m = ask(&t, &query("nobody.", RecordType::A, false), true);
    assert_eq!(m.response_code(), ResponseCode::NXDomain);
    assert_eq!(m.queries()[0].name().to_ascii(), "nobody.");
}

#[test]
fn other_names_are_forwarded() {
    let t = table();
    let from = "10.89.0.2".parse().unwrap();
    for (name, ty) in [
        ("example.org.", RecordType::A),
        ("b.example.org.", RecordType::A),
        ("1.2.0.192.in-addr.arpa.", RecordType::PTR),
    ] {
        assert_eq!(
            answer(&t, 0, from, &query(name, ty, false), true),
            Reply::Forward,
            "{name}"
        );
    }
}

#[test]
fn malformed_packets_get_formerr_or_nothing() {
    let t = table();
    let from = "10.89.0.2".parse().unwrap();
    assert_eq!(answer(&t, 0, from, b"\x12", true), Reply::Drop);
    let mut junk = query("b.", RecordType::A, false);
    junk.truncate(15);
    let Reply::Answer(b) = answer(&t, 0, from, &junk, true) else {
        panic!("no FORMERR")
    };
    let m = Message::from_vec(&b).unwrap();
    assert_eq!((m.id(), m.response_code()), (0x1234, ResponseCode::FormErr));
    // A response sent to the server is not answered (no reflection loops).
    let mut resp = query("b.", RecordType::A, false);
    resp[2] |= 0x80;
    assert_eq!(answer(&t, 0, from, &resp, true), Reply::Drop);
    let two = {
        let mut m = Message::from_vec(&query("a.", RecordType::A, false)).unwrap();
        m.add_query(Query::query(Name::from_ascii("b.").unwrap(), RecordType::A));
        m.to_vec().unwrap()
    };
    assert_eq!(ask(&t, &two, true).response_code(), ResponseCode::FormErr);
    assert!(servfail(&query("x.org.", RecordType::A, false)).is_some());
}

#[test]
fn long_udp_answers_are_truncated_unless_edns_or_tcp_allows_them() {
    // 40 containers share the alias `many`: 40 A records do not fit in 512 bytes.
    let recs: Vec<ContainerRecord> = (10..50).map(|n| member(n, &format!("c{n}"))).collect();
    let t = table_of(&recs);
    let q = query("many.", RecordType::A, false);
    let m = ask(&t, &q, true);
    assert!(m.truncated() && m.answers().is_empty());
    assert_eq!(ask(&t, &q, false).answers().len(), 40);
    let m = ask(&t, &query("many.", RecordType::A, true), true);
    assert!(!m.truncated());
    assert_eq!(m.answers().len(), 40);
}
