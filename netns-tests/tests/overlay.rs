//! Root tests of overlay networks across three "hosts": each host is a throwaway namespace
//! with its own berth (roots in temp dirs) and its own node agent (`berth node join`), all
//! plugged into one switch namespace (the underlay) together with an etcd member in its own
//! namespace and an "outside" peer. The machine's own network is never touched. Each host's
//! resolv.conf (as berth sees it) names no server, so names berth does not know fail at once
//! and no query leaves the test's world.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

#[path = "containers/mod.rs"]
mod containers;
#[path = "cli_net/fixture.rs"]
mod fixture;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use berth_netns_tests::TestNetns;
use berth_netns_tests::etcd::Etcd;
use berth_netns_tests::underlay::Underlay;
use containers::{Cleanup, code, ip_of};
use fixture::Berth;

const ETCD_IP: &str = "192.168.77.100";
const OUTSIDE_IP: &str = "192.168.77.200";

fn underlay_ip(n: usize) -> String {
    format!("192.168.77.{n}")
}

/// A node agent of one host, killed on drop (as a crash would: it does not leave).
struct Agent {
    child: Option<Child>,
    log: std::path::PathBuf,
}

impl Agent {
    fn start(b: &Berth, n: usize, store: &str) -> Agent {
        let log = b
            .run
            .path()
            .join(format!("agent-{}.log", Instant::now().elapsed().as_nanos()));
        let file = std::fs::File::create(&log).unwrap();
        let child = b
            .command(&[
                "node",
                "join",
                "--store",
                store,
                "--underlay-ip",
                &underlay_ip(n),
                "--name",
                &format!("h{n}"),
                "--ttl",
                "3",
            ])
            .env("BERTH_LOG", "info")
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .unwrap();
        Agent {
            child: Some(child),
            log,
        }
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `ip` output lines for the VXLAN device of `vni` on host `b`: (routes, neighbours, fdb).
fn entries(b: &Berth, vni: u64) -> (Vec<String>, Vec<String>, Vec<String>) {
    let dev = format!("bvx-{vni}");
    // No device yet (the agent is starting) lists nothing.
    let ip = |cmd: &str, args: &[&str]| {
        String::from_utf8_lossy(&b.host.run(cmd, args).stdout).into_owned()
    };
    let lines = |out: String| -> Vec<String> {
        out.lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect()
    };
    let routes = lines(ip("ip", &["-4", "route", "show", "dev", &dev]))
        .into_iter()
        .filter(|l| l.contains(" via "))
        .collect();
    let neigh = lines(ip(
        "ip",
        &["-4", "neigh", "show", "dev", &dev, "nud", "permanent"],
    ));
    let fdb = lines(ip("bridge", &["fdb", "show", "dev", &dev]))
        .into_iter()
        .filter(|l| l.contains(" dst "))
        .collect();
    (routes, neigh, fdb)
}

/// Waits (up to `secs`) until host `b` has exactly `peers` peers programmed.
fn wait_peers(b: &Berth, vni: u64, peers: usize, secs: u64, agents: &[&Agent]) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let (r, n, f) = entries(b, vni);
        if r.len() == peers && n.len() == peers && f.len() == peers {
            return;
        }
        if Instant::now() > deadline {
            let logs: Vec<String> = agents.iter().map(|a| a.log()).collect();
            panic!(
                "host {} has routes {r:?}, neighbours {n:?}, fdb {f:?}; wanted {peers} each\n{}",
                b.host.name(),
                logs.join("\n----\n")
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A detached busybox httpd called `name` on network `ov`, with `extra` run flags.
fn serve(b: &Berth, name: &str, extra: &[&str]) {
    let mut args = vec!["run", "-d", "--name", name, "--network", "ov"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["bb", "httpd", "-f", "-p", "80", "-h", "/www"]);
    b.ok(&args);
}

/// A switch, an etcd member in its own namespace on it (client port `port`), and `n` hosts
/// plugged in, each a berth with the busybox image.
fn cluster(prefix: &str, n: usize, port: u16) -> (Underlay, TestNetns, Etcd, Vec<Berth>) {
    let sw = Underlay::new(&format!("{prefix}sw"));
    let etcd_ns = TestNetns::new(&format!("{prefix}etcd"));
    sw.plug(&etcd_ns, "eth0", format!("{ETCD_IP}/24").parse().unwrap());
    let etcd = Etcd::start_at(&etcd_ns, ETCD_IP.parse().unwrap(), port);
    let hosts = (1..=n)
        .map(|i| {
            let mut b = Berth::with_busybox(&format!("{prefix}h{i}"));
            let resolv = b.root.path().join("host-resolv.conf");
            std::fs::write(&resolv, "# no upstream server\n").unwrap();
            b.resolv_conf = Some(resolv);
            let addr = format!("{}/24", underlay_ip(i)).parse().unwrap();
            sw.plug(&b.host, "ul0", addr);
            b
        })
        .collect();
    (sw, etcd_ns, etcd, hosts)
}

fn fetch(b: &Berth, ip: &str) -> String {
    let out = b.run(&[
        "run",
        "--rm",
        "--network",
        "ov",
        "bb",
        // busybox's wget -T crashes; timeout(1) bounds it instead.
        "timeout",
        "5",
        "wget",
        "-qO-",
        &format!("http://{ip}/index.html"),
    ]);
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// What `nslookup NAME` in container `from` prints, if it resolves.
fn lookup(b: &Berth, from: &str, name: &str) -> Option<String> {
    let out = b.run(&["exec", from, "nslookup", name]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    // The first "Address" is the server's; a resolved name adds its own.
    (out.status.success() && text.matches("Address").count() > 1).then_some(text)
}

/// Waits (up to `secs`) until container `from` on host `b` resolves `name` (`want`) or no
/// longer does; returns the last answer.
fn wait_lookup(
    b: &Berth,
    from: &str,
    name: &str,
    want: bool,
    secs: u64,
    agents: &[&Agent],
) -> Option<String> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let got = lookup(b, from, name);
        if got.is_some() == want {
            return got;
        }
        if Instant::now() > deadline {
            let logs: Vec<String> = agents.iter().map(|a| a.log()).collect();
            panic!(
                "{from} on {} still {} {name}: {got:?}\n{}",
                b.host.name(),
                if want { "does not resolve" } else { "resolves" },
                logs.join("\n----\n")
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn exec_ping(b: &Berth, from: &str, ip: &str) -> bool {
    b.run(&["exec", from, "ping", "-c", "1", "-W", "2", ip])
        .status
        .success()
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn containers_on_three_hosts_share_one_overlay_network() {
    let (sw, etcd_ns, mut etcd, hosts) = cluster("ov", 3, 23800);
    let store = etcd.url();
    let outside = TestNetns::new("ovout");
    sw.plug(
        &outside,
        "eth0",
        format!("{OUTSIDE_IP}/24").parse().unwrap(),
    );
    let _cleanups: Vec<Cleanup> = hosts.iter().map(Cleanup).collect();

    // Created once, on host 1; the others learn it from the store.
    let created = hosts[0].ok(&[
        "net",
        "create",
        "--driver",
        "overlay",
        "--subnet",
        "10.100.0.0/16",
        "--opt",
        "vni=4242",
        "--store",
        &store,
        "ov",
    ]);
    assert_eq!(created.trim(), "ov");
    // Bad input is refused before anything is recorded.
    let e = hosts[0].fails(&[
        "net",
        "create",
        "--driver",
        "overlay",
        "--subnet",
        "10.101.0.0/16",
        "--opt",
        "vni=4242",
        "--store",
        &store,
        "ov2",
    ]);
    assert!(e.contains("already uses"), "{e}");
    let e = hosts[1].fails(&[
        "net", "create", "--driver", "overlay", "--store", &store, "ov3",
    ]);
    assert!(e.contains("--subnet"), "{e}");
    // A container on a host that has not joined yet: try again later.
    let early = hosts[0].run(&["run", "--rm", "--network", "ov", "bb", "true"]);
    assert_eq!(code(&early), 125, "a failed run exits 125");
    assert!(
        String::from_utf8_lossy(&early.stderr).contains("berth node join"),
        "{}",
        String::from_utf8_lossy(&early.stderr)
    );

    let mut agents: Vec<Agent> = (0..3)
        .map(|i| Agent::start(&hosts[i], i + 1, &store))
        .collect();
    for b in &hosts {
        wait_peers(b, 4242, 2, 20, &agents.iter().collect::<Vec<_>>());
    }
    // The VXLAN device leaves room for its header.
    let link = hosts[1]
        .host
        .run_ok("ip", &["-d", "link", "show", "bvx-4242"]);
    assert!(
        link.contains("mtu 1450") && link.contains("vxlan id 4242"),
        "{link}"
    );
    assert!(!link.contains(" learning"), "learning must be off: {link}");

    // A web server on every host, and containers on the others reaching it by address.
    let mut ips = Vec::new();
    for (i, b) in hosts.iter().enumerate() {
        serve(b, "web", &["--network-alias", &format!("web{}", i + 1)]);
        ips.push(ip_of(b, "web"));
    }
    let slices: std::collections::BTreeSet<String> = ips
        .iter()
        .map(|ip| ip.rsplit_once('.').unwrap().0.to_owned())
        .collect();
    assert_eq!(slices.len(), 3, "one slice per host: {ips:?}");
    for (i, b) in hosts.iter().enumerate() {
        for (j, ip) in ips.iter().enumerate() {
            if i != j {
                assert_eq!(fetch(b, ip), "served by berth\n", "host {} -> {ip}", i + 1);
            }
        }
    }
    // And by name: each host's DNS server answers for the other hosts' containers.
    for (i, b) in hosts.iter().enumerate() {
        for (j, ip) in ips.iter().enumerate() {
            if i != j {
                let name = format!("web{}", j + 1);
                let all: Vec<&Agent> = agents.iter().collect();
                let answer = wait_lookup(b, "web", &name, true, 20, &all).unwrap();
                assert!(
                    answer.contains(ip.as_str()),
                    "{name} from host {}: {answer}",
                    i + 1
                );
                assert_eq!(
                    fetch(b, &name),
                    "served by berth\n",
                    "host {} -> {name}",
                    i + 1
                );
            }
        }
    }
    // Traffic between the overlay's containers is not connection-tracked on the hosts (its
    // path is routed and stateless); the containers' queries to their own host's DNS server,
    // addressed to the host, are.
    for (i, b) in hosts.iter().enumerate() {
        let ct = b.host.run_ok("cat", &["/proc/net/nf_conntrack"]);
        let from_overlay = |port: &str| {
            ct.lines()
                .filter(|l| l.contains("src=10.100.") && l.contains(port))
                .count()
        };
        assert_eq!(from_overlay(" dport=80 "), 0, "host {}: {ct}", i + 1);
        assert!(from_overlay(" dport=53 ") > 0, "host {}: {ct}", i + 1);
    }
    // A container started on host 2 is found from host 1, and forgotten once it is removed.
    serve(&hosts[1], "late", &[]);
    let late = ip_of(&hosts[1], "late");
    let all: Vec<&Agent> = agents.iter().collect();
    let answer = wait_lookup(&hosts[0], "web", "late", true, 20, &all).unwrap();
    assert!(answer.contains(late.as_str()), "{answer}");
    hosts[1].ok(&["rm", "-f", "late"]);
    wait_lookup(&hosts[0], "web", "late", false, 20, &all);

    // The container MTU follows the VXLAN device.
    let mtu = hosts[0].ok(&["exec", "web", "cat", "/sys/class/net/eth0/mtu"]);
    assert_eq!(mtu.trim(), "1450");
    // The agent's firewall covers the whole subnet, on every host.
    for b in &hosts {
        let nft = b
            .host
            .run_ok("nft", &["list", "set", "inet", "berth", "masq4"]);
        assert!(nft.contains("10.100.0.0/16"), "{nft}");
    }
    // Leaving the overlay is masqueraded (the outside peer has no route back to 10.100/16).
    assert!(
        exec_ping(&hosts[0], "web", OUTSIDE_IP),
        "no way out of the overlay"
    );
    // A published port works on the host running the container.
    serve(&hosts[1], "pub", &["-p", "8080:80"]);
    let got = outside.run(
        "timeout",
        &[
            "5",
            "busybox",
            "wget",
            "-qO-",
            &format!("http://{}:8080/", underlay_ip(2)),
        ],
    );
    assert_eq!(String::from_utf8_lossy(&got.stdout), "served by berth\n");

    // Host 2's agent dies: traffic goes on; restarted, it rebuilds without duplicates.
    agents[1].kill();
    assert_eq!(fetch(&hosts[0], &ips[1]), "served by berth\n");
    agents[1] = Agent::start(&hosts[1], 2, &store);
    wait_for_log(&agents[1], "in step", 20);
    for b in &hosts {
        wait_peers(b, 4242, 2, 10, &agents.iter().collect::<Vec<_>>());
    }
    assert_eq!(fetch(&hosts[2], &ips[1]), "served by berth\n");
    assert_eq!(
        ip_of(&hosts[1], "web"),
        ips[1],
        "same slice after a restart"
    );

    // etcd goes away for a while: the kernel keeps its entries; back, the agents reconcile.
    etcd.stop();
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(fetch(&hosts[0], &ips[2]), "served by berth\n");
    for b in &hosts {
        wait_peers(b, 4242, 2, 1, &agents.iter().collect::<Vec<_>>());
    }
    etcd.resume(&etcd_ns);
    for a in &agents {
        wait_for_log_count(a, "in step", 2, 30);
    }
    for b in &hosts {
        wait_peers(b, 4242, 2, 10, &agents.iter().collect::<Vec<_>>());
    }
    assert_eq!(fetch(&hosts[2], &ips[0]), "served by berth\n");

    // Names survived the restarts and etcd's absence.
    let all: Vec<&Agent> = agents.iter().collect();
    wait_lookup(&hosts[0], "web", "web2", true, 20, &all);
    wait_lookup(&hosts[1], "web", "web3", true, 20, &all);

    // Host 3 dies: its lease expires and the others drop its entries and its names.
    agents[2].kill();
    for b in &hosts[..2] {
        wait_peers(b, 4242, 1, 20, &agents.iter().collect::<Vec<_>>());
    }
    assert_eq!(fetch(&hosts[0], &ips[1]), "served by berth\n");
    let all: Vec<&Agent> = agents.iter().collect();
    wait_lookup(&hosts[0], "web", "web3", false, 10, &all);
    assert!(lookup(&hosts[0], "web", "web2").is_some());

    for b in &hosts {
        let _ = b.run(&["rm", "-f", "web", "pub"]);
    }
    // Without containers, a joined host keeps the network: removing only its definition is
    // refused (its agent would define it again), with a hint, and prune skips it; here with
    // its agent running and there with it dead.
    for b in [&hosts[0], &hosts[2]] {
        let e = b.fails(&["net", "rm", "ov"]);
        assert!(e.contains("node leave") && e.contains("--cluster"), "{e}");
        let pruned = b.ok(&["net", "prune"]);
        assert!(!pruned.lines().any(|l| l.trim() == "ov"), "{pruned}");
        b.ok(&["net", "inspect", "ov"]);
    }

    // Leaving: devices, lease files and store entries go.
    for (i, b) in hosts.iter().enumerate() {
        agents[i].kill();
        b.ok(&[
            "node",
            "leave",
            "--store",
            &store,
            "--name",
            &format!("h{}", i + 1),
        ]);
        let links = b.host.run_ok("ip", &["-o", "link", "show"]);
        assert!(!links.contains("bvx-4242"), "{links}");
        assert!(!b.run.path().join("overlay/ov.json").exists());
        assert!(!b.run.path().join("overlay/ov.names.json").exists());
        let nft = b.host.run_ok("nft", &["list", "table", "inet", "berth"]);
        assert!(!nft.contains("10.100.0.0/16"), "{nft}");
    }
    // Asked from inside the etcd namespace: the store is only reachable there and on the
    // switch.
    let left = etcd_ns
        .netns()
        .run_in(|| {
            berth_overlay::block_on(async {
                let opts = berth_overlay::StoreOptions::from_url(&store).unwrap();
                let mut s = berth_overlay::Store::connect(&opts).await.unwrap();
                let net = s.network("ov").await.unwrap().unwrap();
                let names = s.names_and_watch(&net).await.unwrap().0;
                (s.peers(&net).await.unwrap(), names)
            })
            .unwrap()
        })
        .unwrap();
    assert!(left.0.is_empty() && left.1.is_empty(), "{left:?}");
}

fn wait_for_log(a: &Agent, needle: &str, secs: u64) {
    wait_for_log_count(a, needle, 1, secs);
}

fn wait_for_log_count(a: &Agent, needle: &str, count: usize, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while a.log().matches(needle).count() < count {
        assert!(
            Instant::now() < deadline,
            "agent never logged {needle:?} {count} times:\n{}",
            a.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Runs `berth ARGS` in `b`'s host and returns the new container's address on `net`.
fn run_on(b: &Berth, name: &str, net: &str) -> String {
    b.ok(&[
        "run",
        "-d",
        "--name",
        name,
        "--network",
        net,
        "bb",
        "sleep",
        "600",
    ]);
    ip_of(b, name)
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn overlay_networks_are_isolated_and_hostile_entries_are_never_programmed() {
    let (_sw, etcd_ns, etcd, hosts) = cluster("ovi", 2, 23810);
    let store = etcd.url();
    let _cleanups: Vec<Cleanup> = hosts.iter().map(Cleanup).collect();
    for (net, subnet, vni) in [
        ("ova", "10.110.0.0/16", "5001"),
        ("ovb", "10.111.0.0/16", "5002"),
    ] {
        hosts[0].ok(&[
            "net",
            "create",
            "--driver",
            "overlay",
            "--subnet",
            subnet,
            "--opt",
            &format!("vni={vni}"),
            "--store",
            &store,
            net,
        ]);
    }
    let agents: Vec<Agent> = (0..2)
        .map(|i| Agent::start(&hosts[i], i + 1, &store))
        .collect();
    let all: Vec<&Agent> = agents.iter().collect();
    for b in &hosts {
        wait_peers(b, 5001, 1, 20, &all);
        wait_peers(b, 5002, 1, 20, &all);
    }
    let a1 = run_on(&hosts[0], "a1", "ova");
    let a2 = run_on(&hosts[1], "a2", "ova");
    let b2 = run_on(&hosts[1], "b2", "ovb");
    assert!(exec_ping(&hosts[0], "a1", &a2), "same overlay, other host");
    assert!(
        !exec_ping(&hosts[0], "a1", &b2),
        "ova reached ovb's container"
    );
    assert!(
        !exec_ping(&hosts[1], "b2", &a1),
        "ovb reached ova's container"
    );
    assert!(
        !exec_ping(&hosts[1], "a2", &b2),
        "ova reached ovb's container on its own host"
    );
    // Names stay within their network too.
    let answer = wait_lookup(&hosts[0], "a1", "a2", true, 20, &all).unwrap();
    assert!(answer.contains(a2.as_str()), "{answer}");
    assert_eq!(
        lookup(&hosts[0], "a1", "b2"),
        None,
        "ovb's name reached ova"
    );

    // Hostile entries: one stealing host 2's slice (its traffic would go to 192.168.77.9),
    // one that is not a record, one for a slice outside the network.
    let (h2_slice, vtep_mac) = (
        a2.rsplit_once('.').unwrap().0.to_owned() + ".0/24",
        "02:00:00:00:00:09",
    );
    let entries_before = entries(&hosts[0], 5001);
    etcd_ns
        .netns()
        .run_in(|| {
            berth_overlay::block_on(async {
                let opts = berth_overlay::StoreOptions::from_url(&store).unwrap();
                let mut s = berth_overlay::Store::connect(&opts).await.unwrap();
                let thief = format!(
                    r#"{{"host":"evil","underlay_ip":"192.168.77.9","vtep_mac":"{vtep_mac}","slice":"{h2_slice}"}}"#
                );
                s.put_raw_host("ova", "evil", thief.as_bytes()).await.unwrap();
                s.put_raw_host("ova", "junk", b"{not json").await.unwrap();
                let outside = r#"{"host":"far","underlay_ip":"192.168.77.8","vtep_mac":"02:00:00:00:00:08","slice":"10.99.0.0/24"}"#;
                s.put_raw_host("ova", "far", outside.as_bytes()).await.unwrap();
                // A name of host 2 pointing into host 1's slice, and one that is not JSON.
                let evil = format!(r#"{{"host":"h2","id":"e1","names":["evil"],"addrs":["{a1}"]}}"#);
                s.put_raw_name("ova", "h2", "e1", evil.as_bytes()).await.unwrap();
                s.put_raw_name("ova", "h2", "e2", b"[1,2").await.unwrap();
            })
            .unwrap()
        })
        .unwrap();
    wait_for_log_count(&agents[0], "refused", 5, 10);
    assert_eq!(
        lookup(&hosts[0], "a1", "evil"),
        None,
        "a hostile name was answered"
    );
    let names =
        std::fs::read_to_string(hosts[0].run.path().join("overlay/ova.names.json")).unwrap();
    assert!(names.contains("a2") && !names.contains("evil"), "{names}");
    assert_eq!(
        entries(&hosts[0], 5001),
        entries_before,
        "a hostile entry was programmed"
    );
    assert!(
        exec_ping(&hosts[0], "a1", &a2),
        "a hostile entry cut the overlay"
    );
    // Credentials go to etcd's auth and never into a log, whatever etcd answers the login.
    let secret = "pw-s3cret-77";
    let creds = store.replace("etcd://", &format!("etcd://root:{secret}@"));
    let probe = Agent::start(&hosts[0], 1, &creds);
    let deadline = Instant::now() + Duration::from_secs(15);
    while !probe.log().contains("retrying") && !probe.log().contains("in step") {
        assert!(Instant::now() < deadline, "{}", probe.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!probe.log().contains(secret), "{}", probe.log());
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn the_overlay_plugin_speaks_cni_on_this_hosts_slice() {
    use berth_core::plugins::overlay::HostLease;
    use berth_netns_tests::cni::Call;
    let host = TestNetns::new("ovcni");
    let ctr = TestNetns::new("ovcnic");
    let state = tempfile::tempdir().unwrap();
    let ipam = tempfile::tempdir().unwrap();
    let conf = serde_json::json!({
        "cniVersion": "1.0.0", "name": "ovc", "type": "overlay",
        "stateDir": state.path(), "subnet": "10.120.0.0/16",
        "ipam": {"type": "host-local", "dataDir": ipam.path()},
    });
    let add = Call::new("overlay", "ADD", "c1", Some(ctr.path()));
    // Not joined yet: try again later.
    let msg = add.run(&host, &conf).err(11);
    assert!(msg.contains("berth node join"), "{msg}");
    // The agent's lease of slice 10.120.5.0/24.
    HostLease {
        network: "ovc".into(),
        subnet: "10.120.0.0/16".parse().unwrap(),
        slice: "10.120.5.0/24".parse().unwrap(),
        vni: 77,
        bridge: "bov-77".into(),
        mtu: 1400,
    }
    .write(state.path())
    .unwrap();
    let result = add.run(&host, &conf).ok();
    assert_eq!(result["ips"][0]["address"], "10.120.5.2/24", "{result}");
    assert_eq!(result["ips"][0]["gateway"], "10.120.5.1");
    // (ip, not /sys/class/net: entering only the netns keeps the host's sysfs)
    let link = ctr.run_ok("ip", &["-o", "link", "show", "dev", "eth0"]);
    assert!(link.contains(" mtu 1400 "), "{link}");
    let routes = ctr.run_ok("ip", &["route"]);
    assert!(routes.contains("default via 10.120.5.1"), "{routes}");
    let br = host.run_ok("ip", &["-br", "addr", "show", "bov-77"]);
    assert!(br.contains("10.120.5.1/24"), "{br}");
    // A lease of another network's subnet is refused.
    let mut wrong = conf.clone();
    wrong["subnet"] = "10.121.0.0/16".into();
    Call::new("overlay", "ADD", "c2", Some(ctr.path()))
        .run(&host, &wrong)
        .err(7);
    // DEL works, twice, and also once the host has left (no lease).
    let del = Call::new("overlay", "DEL", "c1", Some(ctr.path()));
    del.run(&host, &conf).ok();
    HostLease::remove(state.path(), "ovc").unwrap();
    del.run(&host, &conf).ok();
    let links = ctr.run_ok("ip", &["-o", "link"]);
    assert!(!links.contains("eth0"), "{links}");
    let left: Vec<_> = std::fs::read_dir(ipam.path().join("ovc"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("10."))
        .collect();
    assert!(left.is_empty(), "addresses left reserved");
}
