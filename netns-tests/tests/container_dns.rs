//! Root tests of the DNS of user networks (berth-dns): containers resolve each other's names,
//! short ids and aliases on a shared network and not across networks; starts, stops, connects
//! and disconnects show at once; other names are forwarded to the host's resolvers (played by
//! a server in an "outside" netns), over UDP and TCP; a server killed with SIGKILL comes back;
//! nothing is left once the last container is gone. Then the same through berthd with the
//! docker CLI: `docker run --network n IMG wget -qO- http://NAME`.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

#[path = "daemon_common/mod.rs"]
mod common;
#[path = "containers/mod.rs"]
mod containers;
#[path = "cli_net/fixture.rs"]
mod fixture;

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::Output;
use std::time::{Duration, Instant};

use berth_core::netns::Netns;
use berth_netns_tests::dns_upstream;
use berth_netns_tests::{TestNetns, veth_between};
use containers::{Cleanup, ip_of, processes_with};
use fixture::Berth;

const UPSTREAM: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);

/// A berth whose "host" resolves through a name server in an outside netns.
struct World {
    b: Berth,
    _outside: TestNetns,
    upstream: dns_upstream::Upstream,
    resolv: PathBuf,
}

fn world(prefix: &str) -> World {
    let b = Berth::with_busybox(prefix);
    let outside = TestNetns::new(&format!("{prefix}-out"));
    veth_between(
        &b.host,
        "up0",
        "198.51.100.2/24".parse().unwrap(),
        &outside,
        "up1",
        "198.51.100.1/24".parse().unwrap(),
    );
    let mut names = HashMap::new();
    names.insert(
        "outside.example.".into(),
        vec![Ipv4Addr::new(203, 0, 113, 7)],
    );
    let big: Vec<Ipv4Addr> = (1..=60).map(|i| Ipv4Addr::new(203, 0, 113, i)).collect();
    names.insert("big.example.".into(), big);
    let upstream = dns_upstream::serve(outside.netns(), UPSTREAM, names);
    let resolv = b.root.path().join("host-resolv.conf");
    std::fs::write(&resolv, format!("search example\nnameserver {UPSTREAM}\n")).unwrap();
    World {
        b,
        _outside: outside,
        upstream,
        resolv,
    }
}

impl World {
    fn run(&self, args: &[&str]) -> Output {
        self.b
            .command(args)
            .env("BERTH_RESOLV_CONF", &self.resolv)
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "berth {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `nslookup NAME` from a new container on `net`: the addresses it printed for the name
    /// (empty when the name did not resolve).
    fn lookup(&self, net: &str, name: &str) -> Vec<String> {
        let out = self.run(&["run", "--rm", "--network", net, "bb", "nslookup", name]);
        let text = String::from_utf8_lossy(&out.stdout);
        addresses_after_name(&text)
    }

    fn dns_dir(&self) -> PathBuf {
        self.b.run.path().join("dns")
    }

    fn server_pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.dns_dir().join("server.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    fn container_netns(&self, name: &str) -> Netns {
        let v = self.b.json(&["inspect", name]);
        let key = v[0]["NetworkSettings"]["SandboxKey"]
            .as_str()
            .unwrap()
            .to_owned();
        Netns::open(std::path::Path::new(&key)).unwrap()
    }
}

/// busybox nslookup prints the server first, then `Name:` and `Address: A` lines.
fn addresses_after_name(text: &str) -> Vec<String> {
    let Some((_, answers)) = text.split_once("Name:") else {
        return Vec::new();
    };
    answers
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Address:"))
        .filter_map(|a| a.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// `berth-dns` processes of the run-root `run_root`.
fn dns_processes(run_root: &str) -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains("berth-dns") && c.contains(&format!("--run-root {run_root} ")))
        .count()
}

fn gateway(w: &World, net: &str) -> String {
    let v = w.b.json(&["net", "inspect", net]);
    v[0]["config"]["args"]["berth"]["subnets"][0]["gateway"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
#[ignore = "needs root"]
fn names_aliases_and_forwarding_on_user_networks() {
    let w = world("cdns");
    let _c = Cleanup(&w.b);
    w.ok(&["net", "create", "n1"]);
    w.ok(&["net", "create", "n2"]);
    w.ok(&[
        "run",
        "-d",
        "--network",
        "n1",
        "--name",
        "a",
        "--network-alias",
        "alpha",
        "bb",
        "sleep",
        "600",
    ]);
    w.ok(&[
        "run",
        "-d",
        "--network",
        "n2",
        "--name",
        "c",
        "bb",
        "sleep",
        "600",
    ]);
    let a_ip = ip_of(&w.b, "a");
    let c_ip = ip_of(&w.b, "c");

    // The container's resolver is its network's gateway, where berth-dns listens.
    let resolv = w.ok(&[
        "run",
        "--rm",
        "--network",
        "n1",
        "bb",
        "cat",
        "/etc/resolv.conf",
    ]);
    assert!(
        resolv.contains(&format!("nameserver {}\n", gateway(&w, "n1")))
            && resolv.contains("search example"),
        "{resolv}"
    );
    assert!(!resolv.contains(&UPSTREAM.to_string()), "{resolv}");

    assert_eq!(w.lookup("n1", "a"), [a_ip.as_str()]);
    assert_eq!(w.lookup("n1", "alpha"), [a_ip.as_str()]);
    assert_eq!(w.lookup("n1", "a.n1"), [a_ip.as_str()]);
    let short_a = w.b.json(&["inspect", "a"])[0]["Id"].as_str().unwrap()[..12].to_owned();
    assert_eq!(w.lookup("n1", &short_a), [a_ip.as_str()]);
    // c is on n2 only: NXDOMAIN from n1, found from n2.
    let out = w.run(&["run", "--rm", "--network", "n1", "bb", "nslookup", "c"]);
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && text.contains("NXDOMAIN"), "{text}");
    assert_eq!(w.lookup("n2", "c"), [c_ip.as_str()]);
    // The reverse of a's address names it.
    let out = w.ok(&["run", "--rm", "--network", "n1", "bb", "nslookup", &a_ip]);
    assert!(out.contains("a.n1"), "{out}");

    // Forwarded to the host's resolver (the outside server), and its answers come back.
    let before = w.upstream.queries.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(w.lookup("n1", "outside.example"), ["203.0.113.7"]);
    assert!(w.upstream.queries.load(std::sync::atomic::Ordering::SeqCst) > before);
    let gw1: SocketAddr = format!("{}:53", gateway(&w, "n1")).parse().unwrap();
    let ns_a = w.container_netns("a");
    let udp = dns_upstream::query(&ns_a, gw1, "big.example.", false).unwrap();
    assert!(udp.truncated() && udp.answers().is_empty(), "{udp:?}");
    let tcp = dns_upstream::query(&ns_a, gw1, "big.example.", true).unwrap();
    assert_eq!(tcp.answers().len(), 60);
    assert_eq!(tcp.id(), 0x4242);
    let local = dns_upstream::query(&ns_a, gw1, "alpha.", true).unwrap();
    assert_eq!(local.answers()[0].data().to_string(), a_ip);

    // Live changes: stop, start, connect, disconnect.
    w.ok(&["stop", "-t", "0", "a"]);
    assert!(w.lookup("n1", "a").is_empty());
    w.ok(&["start", "a"]);
    let a_ip = ip_of(&w.b, "a");
    assert_eq!(w.lookup("n1", "a"), [a_ip.as_str()]);
    w.ok(&["net", "connect", "n1", "c"]);
    let v = w.b.json(&["inspect", "c"]);
    let c_n1 = v[0]["NetworkSettings"]["Networks"]["n1"]["IpAddresses"][0]
        .as_str()
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(w.lookup("n1", "c"), [c_n1]);
    w.ok(&["net", "disconnect", "n1", "c"]);
    assert!(w.lookup("n1", "c").is_empty());

    // SIGKILL: the supervisor starts the server again; it answers the same.
    let pid = w.server_pid().unwrap();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::SIGKILL).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while w.server_pid().is_none_or(|p| p == pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_ne!(w.server_pid(), Some(pid), "no new server");
    assert_eq!(w.lookup("n1", "alpha"), [a_ip.as_str()]);

    // The last container gone, the server goes, with its socket and pid file.
    let run_root = w.b.run.path().display().to_string();
    assert_eq!(dns_processes(&run_root), 2, "a supervisor and its server");
    w.ok(&["rm", "-f", "a", "c"]);
    let deadline = Instant::now() + Duration::from_secs(5);
    while processes_with(&run_root) > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(dns_processes(&run_root), 0);
    assert_eq!(processes_with(&run_root), 0);
    assert!(!w.dns_dir().join("control.sock").exists());
    assert!(!w.dns_dir().join("server.pid").exists());
    w.ok(&["net", "rm", "n1", "n2"]);
}

#[test]
#[ignore = "needs root"]
fn docker_run_reaches_another_container_by_name_through_berthd() {
    let w = world("cdnsd");
    let _c = Cleanup(&w.b);
    let d = common::daemon(&w.b);
    d.docker_ok(&["network", "create", "n"]);
    d.docker_ok(&[
        "run",
        "-d",
        "--network",
        "n",
        "--name",
        "web",
        "bb",
        "sh",
        "-c",
        "mkdir -p /srv && echo hello-from-web > /srv/index.html && exec httpd -f -p 80 -h /srv",
    ]);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut got = String::new();
    while Instant::now() < deadline {
        let out = d.docker(&[
            "run",
            "--rm",
            "--network",
            "n",
            "bb",
            "wget",
            "-qO-",
            "http://web",
        ]);
        got = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(got, "hello-from-web\n");
    d.docker_ok(&["rm", "-f", "web"]);
    d.docker_ok(&["network", "rm", "n"]);
    // berthd started the DNS server; once it is gone, berthd holds no zombie of it.
    let run_root = w.b.run.path().display().to_string();
    let deadline = Instant::now() + Duration::from_secs(5);
    while dns_processes(&run_root) > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(dns_processes(&run_root), 0);
    std::thread::sleep(Duration::from_millis(100));
    let zombies = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("stat")).ok())
        .filter(|stat| {
            let rest = stat.rsplit_once(") ").map(|(_, r)| r).unwrap_or("");
            let f: Vec<&str> = rest.split_whitespace().collect();
            f.first() == Some(&"Z") && f.get(1) == Some(&d.pid().to_string().as_str())
        })
        .count();
    assert_eq!(zombies, 0);
}
