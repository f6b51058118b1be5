//! berth-netns-tests: root-only integration tests, each in throwaway network namespaces.
//!
//! [`TestNetns`] is a fresh, uniquely named network namespace that plays a host or a container
//! in one test and disappears on drop (also when the test panics). Nothing here touches the
//! machine's own network namespace.

pub mod build;
pub mod certs;
pub mod cni;
pub mod containerd;
pub mod daemon;
pub mod dns_upstream;
pub mod etcd;
pub mod fault_proxy;
pub mod fw_world;
pub mod oci_bundle;
pub mod registry;
pub mod tcp;
pub mod token_server;
pub mod underlay;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

use berth_core::netlink::{LinuxNetlink, Netlink};
use berth_core::netns::Netns;
use ipnetwork::IpNetwork;

/// Where test namespaces are bind-mounted.
pub const TEST_NETNS_DIR: &str = "/run/berth-test/netns";

/// `CAP_NET_ADMIN` bit in the capability sets.
const CAP_NET_ADMIN: u32 = 12;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A throwaway named network namespace with `lo` up, removed on drop.
pub struct TestNetns {
    name: String,
    dir: PathBuf,
    ns: Netns,
    nl: LinuxNetlink,
}

impl TestNetns {
    /// Creates `<prefix>-<pid>-<n>` under [`TEST_NETNS_DIR`] and brings `lo` up.
    ///
    /// Panics (never skips) without CAP_NET_ADMIN.
    pub fn new(prefix: &str) -> TestNetns {
        assert_net_admin();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("{prefix}-{}-{n}", std::process::id());
        let dir = PathBuf::from(TEST_NETNS_DIR);
        let ns = Netns::create_named(&dir, &name)
            .unwrap_or_else(|e| panic!("create test netns {name}: {e}"));
        let nl = LinuxNetlink::open_in(&ns).unwrap_or_else(|e| panic!("netlink in {name}: {e}"));
        let this = TestNetns { name, dir, ns, nl };
        let lo = this
            .nl
            .link_by_name("lo")
            .expect("get lo")
            .expect("lo exists");
        this.nl.set_up(lo.index).expect("set lo up");
        this
    }

    /// The namespace.
    pub fn netns(&self) -> &Netns {
        &self.ns
    }

    /// The bind mount's path.
    pub fn path(&self) -> &Path {
        self.ns.path()
    }

    /// The namespace's name (file name under [`TEST_NETNS_DIR`]).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A netlink handle bound to this namespace.
    pub fn netlink(&self) -> &LinuxNetlink {
        &self.nl
    }

    /// Runs `cmd args…` with only its network namespace switched to this one
    /// (`nsenter --net=PATH`), and returns its output whatever the exit status.
    pub fn run(&self, cmd: &str, args: &[&str]) -> Output {
        Command::new("nsenter")
            .arg(format!("--net={}", self.path().display()))
            .arg("--")
            .arg(cmd)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("run {cmd} in {}: {e}", self.name))
    }

    /// Like [`TestNetns::run`], but panics unless the command succeeds; returns its stdout.
    pub fn run_ok(&self, cmd: &str, args: &[&str]) -> String {
        let out = self.run(cmd, args);
        assert!(
            out.status.success(),
            "{cmd} {args:?} in {} failed: {}\n{}",
            self.name,
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for TestNetns {
    fn drop(&mut self) {
        if let Err(e) = Netns::remove_named(&self.dir, &self.name) {
            eprintln!("removing test netns {}: {e}", self.name);
        }
    }
}

/// Joins two test namespaces with a veth pair (`a_if` in `a`, `b_if` in `b`), assigns the
/// addresses and brings both ends up.
pub fn veth_between(
    a: &TestNetns,
    a_if: &str,
    a_addr: IpNetwork,
    b: &TestNetns,
    b_if: &str,
    b_addr: IpNetwork,
) {
    a.netlink()
        .create_veth(a_if, b_if, std::os::fd::AsFd::as_fd(b.netns()), None, None)
        .expect("create veth between test namespaces");
    for (ns, ifname, addr) in [(a, a_if, a_addr), (b, b_if, b_addr)] {
        let link = ns
            .netlink()
            .link_by_name(ifname)
            .expect("get")
            .expect("veth end");
        ns.netlink()
            .add_address(link.index, addr)
            .expect("add address");
        ns.netlink().set_up(link.index).expect("set up");
    }
}

/// Panics unless this process has CAP_NET_ADMIN in its effective set.
fn assert_net_admin() {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let cap_eff = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .unwrap_or(0);
    assert!(
        cap_eff & (1 << CAP_NET_ADMIN) != 0,
        "root tests need CAP_NET_ADMIN: run them as root \
         (cargo test -p berth-netns-tests -- --ignored)"
    );
}
