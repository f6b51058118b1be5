//! Root tests of the overlay networks' state in etcd (`berth-overlay`'s store) against a real
//! etcd member (Debian's etcd-server) that each test starts in a throwaway netns: a network
//! recorded once (and refused with other settings), hosts taking distinct slices, a host that
//! joins again keeping its slice, a lease that is not renewed expiring and freeing its slice,
//! renewal keeping it, leaving, exhaustion, hostile entries refused, the peer watch, and etcd
//! auth, and etcd over TLS with client certificates (through the library and `berth`'s
//! `--store-ca`/`--store-cert`/`--store-key`).

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

#[path = "cli_net/fixture.rs"]
mod fixture;

use std::net::Ipv4Addr;
use std::time::Duration;

use berth_netns_tests::TestNetns;
use berth_netns_tests::etcd::Etcd;
use berth_overlay::{NetworkSpec, PeerChange, Store, StoreError, StoreOptions, StoreTls};
use fixture::Berth;

/// Runs the future `make` gives to completion, on a thread inside the test's namespace
/// (where etcd listens).
fn block_in<T: Send, F: Future<Output = T>>(ns: &TestNetns, make: impl FnOnce() -> F + Send) -> T {
    ns.netns()
        .run_in(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(make())
        })
        .unwrap()
}

/// Runs `f` with a connected store, inside the test's namespace.
fn with_store<T: Send>(
    ns: &TestNetns,
    etcd: &Etcd,
    f: impl AsyncFnOnce(&mut Store) -> T + Send,
) -> T {
    let url = etcd.url();
    block_in(ns, move || async move {
        let opts = StoreOptions::from_url(&url).unwrap();
        let mut store = Store::connect(&opts).await.unwrap();
        f(&mut store).await
    })
}

fn net(name: &str, subnet: &str, slice_prefix: u8) -> NetworkSpec {
    NetworkSpec {
        name: name.into(),
        subnet: subnet.parse().unwrap(),
        vni: 100,
        slice_prefix,
    }
}

fn underlay(i: u8) -> Ipv4Addr {
    Ipv4Addr::new(192, 0, 2, i)
}

fn mac(i: u8) -> String {
    format!("02:00:00:00:00:{i:02x}")
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn hosts_take_distinct_slices_and_keep_them_while_their_lease_lives() {
    let ns = TestNetns::new("ovst");
    let etcd = Etcd::start(&ns, 23790);
    with_store(&ns, &etcd, async |s: &mut Store| {
        let ov = net("ov", "10.100.0.0/16", 24);
        assert_eq!(s.create_network(&ov).await.unwrap(), ov);
        assert_eq!(
            s.create_network(&ov).await.unwrap(),
            ov,
            "creating again is a no-op"
        );
        let other = NetworkSpec {
            subnet: "10.200.0.0/16".parse().unwrap(),
            ..ov.clone()
        };
        let e = s.create_network(&other).await.unwrap_err();
        assert!(matches!(e, StoreError::Conflict { .. }), "{e}");
        assert_eq!(s.network("ov").await.unwrap(), Some(ov.clone()));

        let long = s.grant(60).await.unwrap();
        let h1 = s
            .join(&ov, "h1", underlay(1), &mac(1), long, None)
            .await
            .unwrap();
        let h2 = s
            .join(&ov, "h2", underlay(2), &mac(2), long, None)
            .await
            .unwrap();
        assert_eq!(h1.slice.to_string(), "10.100.0.0/24");
        assert_eq!(h2.slice.to_string(), "10.100.1.0/24");
        // A restarted agent joins again: same slice, its new underlay address recorded.
        let again = s
            .join(&ov, "h1", underlay(11), &mac(1), long, None)
            .await
            .unwrap();
        assert_eq!((again.slice, again.underlay_ip), (h1.slice, underlay(11)));
        let mut hosts: Vec<String> = s
            .peers(&ov)
            .await
            .unwrap()
            .into_iter()
            .map(|h| h.host)
            .collect();
        hosts.sort();
        assert_eq!(hosts, ["h1", "h2"]);

        // A host whose lease is not renewed drops out when it expires; its slice is free.
        let short = s.grant(2).await.unwrap();
        let h3 = s
            .join(&ov, "h3", underlay(3), &mac(3), short, None)
            .await
            .unwrap();
        assert_eq!(h3.slice.to_string(), "10.100.2.0/24");
        // One renewed for longer than its TTL stays.
        let renewed = s.grant(2).await.unwrap();
        let h4 = s
            .join(&ov, "h4", underlay(4), &mac(4), renewed, None)
            .await
            .unwrap();
        let mut gone = false;
        for _ in 0..40 {
            assert!(s.renew(renewed).await.unwrap());
            tokio::time::sleep(Duration::from_millis(250)).await;
            if !s.peers(&ov).await.unwrap().iter().any(|h| h.host == "h3") {
                gone = true;
                break;
            }
        }
        assert!(gone, "h3's entry outlived its lease");
        assert!(!s.renew(short).await.unwrap(), "an expired lease renews");
        let hosts: Vec<String> = s
            .peers(&ov)
            .await
            .unwrap()
            .into_iter()
            .map(|h| h.host)
            .collect();
        assert!(hosts.contains(&"h4".to_owned()), "{hosts:?}");
        let h5 = s
            .join(&ov, "h5", underlay(5), &mac(5), long, None)
            .await
            .unwrap();
        assert_eq!(h5.slice, h3.slice, "the expired slice is handed out again");
        assert_ne!(h4.slice, h5.slice);

        // Leaving frees the slice at once.
        s.leave(&ov, "h2").await.unwrap();
        let h6 = s
            .join(&ov, "h6", underlay(6), &mac(6), long, None)
            .await
            .unwrap();
        assert_eq!(h6.slice, h2.slice);

        // A host rejoining after its lease expired asks for its old slice: it gets it while
        // it is free, and the first free one when another host holds it.
        let want: ipnetwork::Ipv4Network = "10.100.9.0/24".parse().unwrap();
        let h7 = s
            .join(&ov, "h7", underlay(7), &mac(7), long, Some(want))
            .await
            .unwrap();
        assert_eq!(h7.slice, want, "a free preferred slice is taken");
        let h8 = s
            .join(&ov, "h8", underlay(8), &mac(8), long, Some(want))
            .await
            .unwrap();
        assert_ne!(h8.slice, want, "a slice another host holds is handed out");
    });
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn hostile_entries_are_never_peers_and_a_full_network_says_so() {
    let ns = TestNetns::new("ovsh");
    let etcd = Etcd::start(&ns, 23792);
    with_store(&ns, &etcd, async |s: &mut Store| {
        // A /29 in /30 slices: two hosts at most.
        let tiny = net("tiny", "10.9.0.0/29", 30);
        s.create_network(&tiny).await.unwrap();
        let lease = s.grant(60).await.unwrap();
        s.join(&tiny, "a", underlay(1), &mac(1), lease, None)
            .await
            .unwrap();
        s.join(&tiny, "b", underlay(2), &mac(2), lease, None)
            .await
            .unwrap();
        let e = s
            .join(&tiny, "c", underlay(3), &mac(3), lease, None)
            .await
            .unwrap_err();
        assert!(matches!(e, StoreError::Exhausted(_)), "{e}");

        // What another writer put there: a slice outside the subnet, a multicast underlay,
        // not JSON, an entry claiming another host's name.
        let outside = br#"{"host":"x","underlay_ip":"192.0.2.9","vtep_mac":"02:00:00:00:00:09","slice":"10.50.0.0/30"}"#;
        let multicast = br#"{"host":"y","underlay_ip":"239.1.1.1","vtep_mac":"02:00:00:00:00:0a","slice":"10.9.0.0/30"}"#;
        let imposter = br#"{"host":"a","underlay_ip":"192.0.2.66","vtep_mac":"02:00:00:00:00:42","slice":"10.9.0.4/30"}"#;
        s.put_raw_host("tiny", "x", outside).await.unwrap();
        s.put_raw_host("tiny", "y", multicast).await.unwrap();
        s.put_raw_host("tiny", "z", b"not json").await.unwrap();
        s.put_raw_host("tiny", "w", imposter).await.unwrap();
        let peers = s.peers(&tiny).await.unwrap();
        let mut hosts: Vec<(String, Ipv4Addr)> =
            peers.into_iter().map(|h| (h.host, h.underlay_ip)).collect();
        hosts.sort();
        assert_eq!(
            hosts,
            [("a".into(), underlay(1)), ("b".into(), underlay(2))]
        );
    });
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn a_store_with_auth_takes_the_credentials_in_its_url_and_never_shows_them() {
    let ns = TestNetns::new("ovsa");
    let etcd = Etcd::start(&ns, 23794);
    let client = etcd.client;
    // Auth on, with a root user, set up with the plain etcd client.
    block_in(&ns, move || async move {
        let mut c = etcd_client::Client::connect([format!("http://{client}")], None)
            .await
            .unwrap();
        c.user_add("root", "Sesame-42", None).await.unwrap();
        c.user_grant_role("root", "root").await.unwrap();
        c.auth_enable().await.unwrap();
    });
    let (good, bad) = (
        format!("etcd://root:Sesame-42@{client}"),
        format!("etcd://root:wrong-Secret@{client}"),
    );
    let outcome = |url: String| {
        block_in(&ns, move || async move {
            let opts = StoreOptions::from_url(&url).unwrap();
            let shown = format!("{opts:?}");
            assert!(
                !shown.contains("Secret") && !shown.contains("Sesame"),
                "{shown}"
            );
            let mut s = Store::connect(&opts).await.map_err(|e| e.to_string())?;
            let ov = net("auth", "10.77.0.0/16", 24);
            s.create_network(&ov).await.map_err(|e| e.to_string())?;
            Ok::<_, String>(())
        })
    };
    assert_eq!(outcome(good), Ok(()));
    let e = outcome(bad).unwrap_err();
    assert!(!e.contains("wrong-Secret"), "the password shows: {e}");
    // Without credentials the store refuses too.
    let e = outcome(format!("etcd://{client}")).unwrap_err();
    assert!(!e.is_empty());
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn a_store_over_tls_needs_its_ca_and_a_client_certificate_it_signed() {
    // etcd in berth's own host namespace, so the CLI reaches it on loopback.
    let b = Berth::new("ovtl");
    let etcd = Etcd::start_tls(&b.host, 23798);
    let (ca, cert, key) = etcd.client_tls();
    let url = etcd.url();
    // A second CA and a client certificate from it: etcd must refuse that one.
    let other = tempfile::tempdir().unwrap();
    berth_netns_tests::certs::ca(other.path());
    berth_netns_tests::certs::client(other.path(), "client", "berth-node");
    let (other_ca, other_cert, other_key) = (
        other.path().join("ca.crt"),
        other.path().join("client.crt"),
        other.path().join("client.key"),
    );
    let outcome = |tls: Option<StoreTls>| {
        let url = url.clone();
        block_in(&b.host, move || async move {
            let mut opts = StoreOptions::from_url(&url).unwrap();
            if let Some(tls) = tls {
                opts = opts.with_tls(tls);
            }
            let mut s = Store::connect(&opts).await.map_err(|e| e.to_string())?;
            s.networks().await.map_err(|e| e.to_string())
        })
    };
    let tls = |ca: &std::path::Path, id: Option<(&std::path::Path, &std::path::Path)>| {
        Some(StoreTls {
            ca: ca.to_owned(),
            identity: id.map(|(c, k)| (c.to_owned(), k.to_owned())),
        })
    };
    assert_eq!(outcome(tls(&ca, Some((&cert, &key)))), Ok(vec![]));
    for (why, t) in [
        ("plain http", None),
        ("no client certificate", tls(&ca, None)),
        (
            "a client certificate of another CA",
            tls(&ca, Some((&other_cert, &other_key))),
        ),
        (
            "a CA that did not sign the server's",
            tls(&other_ca, Some((&cert, &key))),
        ),
    ] {
        assert!(outcome(t).is_err(), "{why}: etcd answered");
    }
    let key_text = std::fs::read_to_string(&key).unwrap();
    let missing = tls(
        &ca,
        Some((&cert, std::path::Path::new("/nonexistent/k.pem"))),
    );
    let e = outcome(missing).unwrap_err();
    assert!(e.contains("/nonexistent/k.pem"), "{e}");

    // The CLI: flags (or BERTH_STORE_* variables) to create and remove a network.
    let (ca, cert, key) = (
        ca.to_str().unwrap(),
        cert.to_str().unwrap(),
        key.to_str().unwrap(),
    );
    let base = [
        "net",
        "create",
        "--driver",
        "overlay",
        "--subnet",
        "10.60.0.0/16",
        "--store",
        &url,
        "--store-ca",
        ca,
    ];
    let e = b.fails(&[&base[..], &["tls"]].concat());
    assert!(e.contains("create overlay network tls"), "{e}");
    let e = b.fails(&[&base[..], &["--store-cert", cert, "tls"]].concat());
    assert!(
        e.contains("--store-cert and --store-key go together"),
        "{e}"
    );
    let out = b.ok(&[
        &base[..],
        &["--store-cert", cert, "--store-key", key, "tls"],
    ]
    .concat());
    assert_eq!(out.trim(), "tls");
    let names = |r: Result<Vec<NetworkSpec>, String>| {
        r.unwrap().into_iter().map(|n| n.name).collect::<Vec<_>>()
    };
    let full = tls(ca.as_ref(), Some((cert.as_ref(), key.as_ref())));
    assert_eq!(names(outcome(full.clone())), ["tls"]);
    let rm = b
        .command(&["net", "rm", "--cluster", "--store", &url, "tls"])
        .env("BERTH_STORE_CA", ca)
        .env("BERTH_STORE_CERT", cert)
        .env("BERTH_STORE_KEY", key)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&rm.stderr);
    assert!(rm.status.success(), "{stderr}");
    assert!(!stderr.contains(key_text.trim()), "{stderr}");
    assert_eq!(names(outcome(full)), Vec::<String>::new());
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn a_peer_watch_sees_joins_rejoins_expiries_and_no_hostile_entry() {
    let ns = TestNetns::new("ovsw");
    let etcd = Etcd::start(&ns, 23796);
    with_store(&ns, &etcd, async |s: &mut Store| {
        let ov = net("w", "10.60.0.0/16", 24);
        s.create_network(&ov).await.unwrap();
        let long = s.grant(60).await.unwrap();
        let h1 = s
            .join(&ov, "h1", underlay(1), &mac(1), long, None)
            .await
            .unwrap();
        let (now, mut watch) = s.peers_and_watch(&ov).await.unwrap();
        assert_eq!(now, std::slice::from_ref(&h1));
        // Collects changes until `want` of them came (10 s at most).
        async fn changes(w: &mut berth_overlay::PeerWatch, want: usize) -> Vec<PeerChange> {
            let mut got = Vec::new();
            while got.len() < want {
                let next = tokio::time::timeout(Duration::from_secs(10), w.next()).await;
                got.extend(next.expect("no change came").unwrap().unwrap());
            }
            got
        }
        let short = s.grant(1).await.unwrap();
        let h2 = s
            .join(&ov, "h2", underlay(2), &mac(2), short, None)
            .await
            .unwrap();
        assert_eq!(
            changes(&mut watch, 1).await,
            [PeerChange::Joined(h2.clone())]
        );
        // A hostile write is no change; the rejoin after it is.
        let outside = br#"{"host":"h9","underlay_ip":"192.0.2.9","vtep_mac":"02:00:00:00:00:09","slice":"10.61.0.0/24"}"#;
        s.put_raw_host("w", "h9", outside).await.unwrap();
        let moved = s
            .join(&ov, "h1", underlay(21), &mac(1), long, None)
            .await
            .unwrap();
        assert_eq!(changes(&mut watch, 1).await, [PeerChange::Joined(moved)]);
        // h2 stops renewing: its lease expires and it leaves the watch's view.
        assert_eq!(
            changes(&mut watch, 1).await,
            [PeerChange::Left("h2".into())]
        );
        s.leave(&ov, "h1").await.unwrap();
        assert_eq!(
            changes(&mut watch, 1).await,
            [PeerChange::Left("h1".into())]
        );
    });
}
