//! Tests of the public API against a real file system in a tempdir.

use std::collections::HashSet;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Instant;

use serde_json::{Value, json};
use tempfile::TempDir;

use super::*;

const NET: &str = "testnet";

fn cfg_with(dir: &Path, ranges: Value) -> HostLocalConfig {
    let net = json!({"ipam": {"ranges": ranges, "dataDir": dir,
                              "routes": [{"dst": "0.0.0.0/0"}]}});
    HostLocalConfig::from_net_config(&net).unwrap()
}

/// A /29 whose gateway is .1: .2-.6 are the five usable addresses.
fn small(dir: &Path) -> HostLocalConfig {
    cfg_with(dir, json!([[{"subnet": "10.0.0.0/29"}]]))
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn add(cfg: &HostLocalConfig, id: &str) -> Result<String, IpamError> {
    allocate(NET, cfg, id, "eth0", &[]).map(|a| a.ips[0].address.ip().to_string())
}

fn ip_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir.join(NET))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.parse::<IpAddr>().is_ok())
        .collect();
    names.sort();
    names
}

#[test]
fn allocation_reports_prefix_gateway_routes_and_reference_files() {
    let tmp = TempDir::new().unwrap();
    let a = allocate(NET, &small(tmp.path()), "c1", "eth0", &[]).unwrap();
    assert_eq!(a.ips[0].address.to_string(), "10.0.0.2/29");
    assert_eq!(a.ips[0].gateway, Some(ip("10.0.0.1")));
    assert_eq!(a.routes.len(), 1);
    assert_eq!(a.dns, None);
    let dir = tmp.path().join(NET);
    assert_eq!(
        fs::read_to_string(dir.join("10.0.0.2")).unwrap(),
        "c1\r\neth0"
    );
    assert_eq!(
        fs::read_to_string(dir.join("last_reserved_ip.0")).unwrap(),
        "10.0.0.2"
    );
    assert!(dir.join("lock").exists());
}

#[test]
fn allocation_is_round_robin_and_wraps() {
    let tmp = TempDir::new().unwrap();
    let cfg = small(tmp.path());
    assert_eq!(add(&cfg, "a").unwrap(), "10.0.0.2");
    assert_eq!(add(&cfg, "b").unwrap(), "10.0.0.3");
    release(NET, &cfg, "a", "eth0").unwrap();
    // .2 is free again, but round robin continues after the last one handed out.
    assert_eq!(add(&cfg, "c").unwrap(), "10.0.0.4");
    assert_eq!(add(&cfg, "d").unwrap(), "10.0.0.5");
    assert_eq!(add(&cfg, "e").unwrap(), "10.0.0.6");
    // Wraps past the end (and past the gateway .1) back to the free .2.
    assert_eq!(add(&cfg, "f").unwrap(), "10.0.0.2");
}

#[test]
fn allocation_skips_a_gateway_inside_the_range() {
    let tmp = TempDir::new().unwrap();
    let cfg = cfg_with(
        tmp.path(),
        json!([[{"subnet": "10.0.0.0/29", "gateway": "10.0.0.3"}]]),
    );
    let got: Vec<String> = ["a", "b", "c"]
        .iter()
        .map(|id| add(&cfg, id).unwrap())
        .collect();
    assert_eq!(got, ["10.0.0.1", "10.0.0.2", "10.0.0.4"]);
}

#[test]
fn full_slash_29_gives_five_addresses_then_exhausted() {
    let tmp = TempDir::new().unwrap();
    let cfg = small(tmp.path());
    let got: Vec<String> = (0..5)
        .map(|i| add(&cfg, &format!("c{i}")).unwrap())
        .collect();
    assert_eq!(
        got,
        ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"]
    );
    let err = add(&cfg, "c5").unwrap_err();
    assert!(
        matches!(&err, IpamError::Exhausted { network, range }
            if network == NET && range == "10.0.0.0/29 (10.0.0.1-10.0.0.6)"),
        "{err:?}"
    );
    assert_eq!(ip_files(tmp.path()).len(), 5);
    assert!(matches!(
        status(NET, &cfg),
        Err(IpamError::AllRangesExhausted { .. })
    ));
    release(NET, &cfg, "c3", "eth0").unwrap();
    status(NET, &cfg).unwrap();
}

#[test]
fn re_add_of_same_attachment_returns_the_same_address() {
    let tmp = TempDir::new().unwrap();
    let cfg = small(tmp.path());
    let first = allocate(NET, &cfg, "c1", "eth0", &[]).unwrap();
    let again = allocate(NET, &cfg, "c1", "eth0", &[]).unwrap();
    assert_eq!(first, again);
    assert_eq!(ip_files(tmp.path()), ["10.0.0.2"]);
    // Another interface of the same container is another attachment.
    assert_eq!(
        allocate(NET, &cfg, "c1", "eth1", &[]).unwrap().ips[0]
            .address
            .ip(),
        ip("10.0.0.3")
    );
    // Asking again for the held address is fine; asking for another is not.
    allocate(NET, &cfg, "c1", "eth0", &[ip("10.0.0.2")]).unwrap();
    let err = allocate(NET, &cfg, "c1", "eth0", &[ip("10.0.0.5")]).unwrap_err();
    assert!(matches!(err, IpamError::AlreadyHolds { .. }), "{err:?}");
}

#[test]
fn stale_hint_after_external_release_gives_a_fresh_address() {
    let tmp = TempDir::new().unwrap();
    let cfg = small(tmp.path());
    add(&cfg, "c1").unwrap();
    // The reference plugin (or an admin) releases the address without knowing our hint.
    fs::remove_file(tmp.path().join(NET).join("10.0.0.2")).unwrap();
    add(&cfg, "other").unwrap(); // takes .3
    assert_eq!(add(&cfg, "c1").unwrap(), "10.0.0.4");
}

#[test]
fn requested_addresses_are_honoured_or_refused_clearly() {
    let tmp = TempDir::new().unwrap();
    let cfg = small(tmp.path());
    let a = allocate(NET, &cfg, "c1", "eth0", &[ip("10.0.0.5")]).unwrap();
    assert_eq!(a.ips[0].address.to_string(), "10.0.0.5/29");
    let taken = allocate(NET, &cfg, "c2", "eth0", &[ip("10.0.0.5")]).unwrap_err();
    assert!(
        matches!(&taken, IpamError::RequestedUnavailable { holder, .. } if holder == "c1/eth0"),
        "{taken:?}"
    );
    assert!(taken.to_string().contains("already allocated to c1/eth0"));
    let out = allocate(NET, &cfg, "c2", "eth0", &[ip("10.0.1.5")]).unwrap_err();
    assert!(
        matches!(out, IpamError::RequestedOutOfRange { .. }),
        "{out:?}"
    );
    let gw = allocate(NET, &cfg, "c2", "eth0", &[ip("10.0.0.1")]).unwrap_err();
    assert!(matches!(gw, IpamError::RequestedGateway { .. }), "{gw:?}");
    let two = allocate(NET, &cfg, "c2", "eth0", &[ip("10.0.0.3"), ip("10.0.0.4")]).unwrap_err();
    assert!(
        matches!(two, IpamError::RequestedTwiceInSet { set: 0, .. }),
        "{two:?}"
    );
    assert_eq!(ip_files(tmp.path()), ["10.0.0.5"]);
}

#[test]
fn release_is_idempotent_and_ok_without_data_dir() {
    let tmp = TempDir::new().unwrap();
    let cfg = small(tmp.path());
    release(NET, &cfg, "c1", "eth0").unwrap();
    assert!(
        !tmp.path().join(NET).exists(),
        "release must not create the data dir"
    );
    add(&cfg, "c1").unwrap();
    release(NET, &cfg, "c1", "eth0").unwrap();
    release(NET, &cfg, "c1", "eth0").unwrap();
    assert!(ip_files(tmp.path()).is_empty());
    assert!(matches!(
        check(NET, &cfg, "c1", "eth0"),
        Err(IpamError::NotFound { .. })
    ));
}

#[test]
fn release_and_check_find_reference_written_files() {
    let tmp = TempDir::new().unwrap();
    let cfg = small(tmp.path());
    add(&cfg, "keep").unwrap();
    let dir = tmp.path().join(NET);
    fs::write(dir.join("10.0.0.4"), "c1\r\neth0").unwrap(); // current reference format
    fs::write(dir.join("10.0.0.5"), "old").unwrap(); // old id-only format
    assert_eq!(check(NET, &cfg, "c1", "eth0").unwrap(), [ip("10.0.0.4")]);
    release(NET, &cfg, "c1", "eth0").unwrap();
    release(NET, &cfg, "old", "eth0").unwrap();
    assert_eq!(ip_files(tmp.path()), ["10.0.0.2"]);
    let res = reservations(NET, &cfg).unwrap();
    assert_eq!(res.len(), 1);
    assert_eq!(
        (res[0].id.as_str(), res[0].ifname.as_deref()),
        ("keep", Some("eth0"))
    );
}

#[test]
fn hint_is_a_link_to_the_reservation_tagged_with_its_addresses() {
    let tmp = TempDir::new().unwrap();
    let cfg = small(tmp.path());
    add(&cfg, "c1").unwrap();
    let dir = tmp.path().join(NET);
    let (hint, file) = (dir.join("by-id/c1:eth0"), dir.join("10.0.0.2"));
    assert_eq!(
        fs::metadata(&hint).unwrap().ino(),
        fs::metadata(&file).unwrap().ino()
    );
    // The reference plugin reads the hint as one more file of the attachment.
    assert_eq!(fs::read_to_string(&hint).unwrap(), "c1\r\neth0");
    let tag = xattr::get(&hint, "user.berth.ips").unwrap().unwrap();
    assert_eq!(tag, b"10.0.0.2\n");
    release(NET, &cfg, "c1", "eth0").unwrap();
    assert!(!hint.exists() && !file.exists());
}

#[test]
fn hint_files_of_older_versions_are_still_used() {
    let tmp = TempDir::new().unwrap();
    let cfg = small(tmp.path());
    let dir = tmp.path().join(NET);
    fs::create_dir_all(dir.join("by-id")).unwrap();
    fs::write(dir.join("10.0.0.4"), "c1\r\neth0").unwrap();
    fs::write(dir.join("by-id/c1:eth0"), "10.0.0.4\n").unwrap();
    // Re-ADD finds the address through the old hint, and rewrites the hint in the new form.
    assert_eq!(add(&cfg, "c1").unwrap(), "10.0.0.4");
    let tag = xattr::get(dir.join("by-id/c1:eth0"), "user.berth.ips").unwrap();
    assert_eq!(tag.as_deref(), Some(&b"10.0.0.4\n"[..]));
    assert_eq!(check(NET, &cfg, "c1", "eth0").unwrap(), [ip("10.0.0.4")]);
}

#[test]
fn a_released_file_is_the_next_reservation_but_never_a_linked_one() {
    let tmp = TempDir::new().unwrap();
    let cfg = small(tmp.path());
    let dir = tmp.path().join(NET);
    add(&cfg, "a-long-container-id").unwrap();
    let ino = fs::metadata(dir.join("10.0.0.2")).unwrap().ino();
    release(NET, &cfg, "a-long-container-id", "eth0").unwrap();
    assert_eq!(fs::metadata(dir.join(".reserving")).unwrap().ino(), ino);
    assert_eq!(add(&cfg, "b").unwrap(), "10.0.0.3");
    assert_eq!(fs::metadata(dir.join("10.0.0.3")).unwrap().ino(), ino);
    assert_eq!(
        fs::read_to_string(dir.join("10.0.0.3")).unwrap(),
        "b\r\neth0"
    );
    assert!(!dir.join(".reserving").exists());
    // A scratch file still linked to a reservation (a crash between two steps) is replaced,
    // not written through.
    fs::hard_link(dir.join("10.0.0.3"), dir.join(".reserving")).unwrap();
    assert_eq!(add(&cfg, "c").unwrap(), "10.0.0.4");
    assert_eq!(
        fs::read_to_string(dir.join("10.0.0.3")).unwrap(),
        "b\r\neth0"
    );
    assert_eq!(
        fs::read_to_string(dir.join("10.0.0.4")).unwrap(),
        "c\r\neth0"
    );
    assert_eq!(
        reservations(NET, &cfg).unwrap().len(),
        2,
        "{:?}",
        ip_files(tmp.path())
    );
}

#[test]
fn last_reserved_ip_is_rewritten_whole_when_it_gets_shorter() {
    let tmp = TempDir::new().unwrap();
    let cfg = cfg_with(tmp.path(), json!([[{"subnet": "10.0.0.0/24"}]]));
    let dir = tmp.path().join(NET);
    allocate(NET, &cfg, "a", "eth0", &[ip("10.0.0.100")]).unwrap();
    allocate(NET, &cfg, "b", "eth0", &[ip("10.0.0.9")]).unwrap();
    assert_eq!(
        fs::read_to_string(dir.join("last_reserved_ip.0")).unwrap(),
        "10.0.0.9"
    );
    assert_eq!(add(&cfg, "c").unwrap(), "10.0.0.10");
}

#[test]
fn empty_reservation_file_from_a_crash_is_reused() {
    let tmp = TempDir::new().unwrap();
    let cfg = small(tmp.path());
    fs::create_dir_all(tmp.path().join(NET)).unwrap();
    fs::write(tmp.path().join(NET).join("10.0.0.2"), "").unwrap();
    assert_eq!(add(&cfg, "c1").unwrap(), "10.0.0.2");
    assert!(
        reservations(NET, &cfg)
            .unwrap()
            .iter()
            .all(|r| r.id == "c1")
    );
}

#[test]
fn gc_releases_everything_not_valid() {
    let tmp = TempDir::new().unwrap();
    let cfg = small(tmp.path());
    for id in ["a", "b", "c"] {
        add(&cfg, id).unwrap();
    }
    fs::write(tmp.path().join(NET).join("10.0.0.5"), "old").unwrap();
    fs::write(tmp.path().join(NET).join("10.0.0.6"), "gone").unwrap();
    let valid = [
        ("a".to_owned(), "eth0".to_owned()),
        ("old".to_owned(), "eth0".to_owned()),
    ];
    let mut released = gc(NET, &cfg, &valid).unwrap();
    released.sort();
    assert_eq!(released, [ip("10.0.0.3"), ip("10.0.0.4"), ip("10.0.0.6")]);
    assert_eq!(ip_files(tmp.path()), ["10.0.0.2", "10.0.0.5"]);
    check(NET, &cfg, "a", "eth0").unwrap();
    assert!(check(NET, &cfg, "b", "eth0").is_err());
    assert!(
        gc(NET, &small(&tmp.path().join("missing")), &valid)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn dual_stack_allocates_one_per_set_and_rolls_back_on_failure() {
    let tmp = TempDir::new().unwrap();
    // v6 /126: fd00::1 is the gateway, so fd00::2 and fd00::3 are usable.
    let cfg = cfg_with(
        tmp.path(),
        json!([[{"subnet": "10.0.0.0/24"}], [{"subnet": "fd00::/126"}]]),
    );
    let a = allocate(NET, &cfg, "c1", "eth0", &[]).unwrap();
    let got: Vec<String> = a.ips.iter().map(|i| i.address.to_string()).collect();
    assert_eq!(got, ["10.0.0.2/24", "fd00::2/126"]);
    assert_eq!(
        check(NET, &cfg, "c1", "eth0").unwrap(),
        [ip("10.0.0.2"), ip("fd00::2")]
    );
    allocate(NET, &cfg, "c2", "eth0", &[]).unwrap();
    let err = allocate(NET, &cfg, "c3", "eth0", &[]).unwrap_err();
    assert!(matches!(err, IpamError::Exhausted { .. }), "{err:?}");
    // c3's v4 address was rolled back; only c1 and c2 hold addresses.
    let ids: HashSet<String> = reservations(NET, &cfg)
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, HashSet::from(["c1".to_owned(), "c2".to_owned()]));
    assert_eq!(ip_files(tmp.path()).len(), 4);
    release(NET, &cfg, "c1", "eth0").unwrap();
    assert_eq!(ip_files(tmp.path()).len(), 2);
}

#[test]
fn resolv_conf_becomes_dns() {
    let tmp = TempDir::new().unwrap();
    let resolv = tmp.path().join("resolv.conf");
    fs::write(&resolv, "nameserver 10.0.0.53\nsearch example.com\n").unwrap();
    let mut cfg = small(tmp.path());
    cfg.resolv_conf = Some(resolv);
    let dns = allocate(NET, &cfg, "c1", "eth0", &[]).unwrap().dns.unwrap();
    assert_eq!(dns.nameservers, ["10.0.0.53"]);
    assert_eq!(dns.search, ["example.com"]);
}

#[test]
fn unusable_names_and_data_dir_are_errors() {
    let tmp = TempDir::new().unwrap();
    let cfg = small(tmp.path());
    assert!(matches!(
        add(&cfg, "a/b"),
        Err(IpamError::InvalidName { .. })
    ));
    assert!(matches!(
        allocate("..", &cfg, "c1", "eth0", &[]),
        Err(IpamError::InvalidName { .. })
    ));
    let file = tmp.path().join("not-a-dir");
    fs::write(&file, "").unwrap();
    let err = status(NET, &small(&file)).unwrap_err();
    assert!(matches!(err, IpamError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("not-a-dir"), "{err}");
}

#[test]
fn parallel_allocations_never_share_an_address() {
    let tmp = TempDir::new().unwrap();
    let cfg = cfg_with(tmp.path(), json!([[{"subnet": "10.0.0.0/24"}]]));
    let all: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..16)
            .map(|t| {
                let cfg = &cfg;
                s.spawn(move || {
                    (0..10)
                        .map(|i| add(cfg, &format!("t{t}-{i}")).unwrap())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let distinct: HashSet<&String> = all.iter().collect();
    assert_eq!(all.len(), 160);
    assert_eq!(distinct.len(), 160);
    assert_eq!(ip_files(tmp.path()).len(), 160);
}

#[test]
fn many_allocations_stay_flat() {
    let tmp = TempDir::new().unwrap();
    const N: usize = 300;
    let cfg = cfg_with(tmp.path(), json!([[{"subnet": "10.0.0.0/22"}]]));
    let mut times = Vec::new();
    for i in 0..N {
        let start = Instant::now();
        add(&cfg, &format!("c{i}")).unwrap();
        times.push(start.elapsed());
    }
    let re_add = Instant::now();
    assert_eq!(add(&cfg, "c0").unwrap(), "10.0.0.2");
    let re_add = re_add.elapsed();
    let del = Instant::now();
    release(NET, &cfg, "c150", "eth0").unwrap();
    let del = del.elapsed();
    assert_eq!(ip_files(tmp.path()).len(), N - 1);
    let median = |s: &[std::time::Duration]| {
        let mut s = s.to_vec();
        s.sort();
        s[s.len() / 2]
    };
    eprintln!(
        "host-local: median of first 50 ADDs {:?}, of last 50 {:?}, re-ADD {re_add:?}, DEL {del:?}",
        median(&times[..50]),
        median(&times[N - 50..]),
    );
}
