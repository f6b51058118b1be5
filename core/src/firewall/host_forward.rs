//! Letting berth's networks through a host firewall that drops forwarded traffic.
//!
//! Docker sets the policy of iptables' `filter FORWARD` chain to DROP, and so do ufw and many
//! hardened hosts. A packet is forwarded only if every base chain on the forward hook lets it
//! pass, so berth's own `inet berth` table cannot override such a policy: containers would lose
//! their way out and published ports would stop answering. When a network's firewall is first
//! set up and `FORWARD`'s policy is DROP, berth inserts two rules at the top of that chain, both
//! tagged `berth net=<name>`: traffic from the network's subnet, and traffic to it that belongs
//! to a known flow or to a published port (`--ctstate RELATED,ESTABLISHED,DNAT`). berth's own
//! table still decides everything else (isolation, `internal`). `berth net rm` removes them.
//!
//! Through the `iptables`/`ip6tables` programs, so it works whichever backend (nft or legacy)
//! the host's iptables uses; a host without them has no such chain to worry about.

use std::path::{Path, PathBuf};
use std::process::Command;

use ipnetwork::IpNetwork;

use super::{FirewallError, NetworkRules};

/// iptables for IPv4 subnets, ip6tables for IPv6 ones.
fn program(v6: bool) -> Option<PathBuf> {
    let name = if v6 { "ip6tables" } else { "iptables" };
    ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
        .into_iter()
        .map(|dir| PathBuf::from(dir).join(name))
        .find(|p| p.exists())
}

/// The comment that tags a network's rules.
fn tag(network: &str) -> String {
    format!("berth net={network}")
}

/// The two rules (arguments after `-I FORWARD`) for one subnet of `network`.
fn rules(network: &str, subnet: &IpNetwork) -> [Vec<String>; 2] {
    let s = subnet.to_string();
    let comment = ["-m", "comment", "--comment"].map(String::from);
    let out = [
        vec!["-s".into(), s.clone()],
        vec![
            "-d".into(),
            s,
            "-m".into(),
            "conntrack".into(),
            "--ctstate".into(),
            "RELATED,ESTABLISHED,DNAT".into(),
        ],
    ];
    out.map(|mut r| {
        r.extend(comment.iter().cloned());
        r.push(tag(network));
        r.extend(["-j".into(), "ACCEPT".into()]);
        r
    })
}

/// True when `iptables -S FORWARD` says the policy is DROP.
fn policy_is_drop(listing: &str) -> bool {
    listing.lines().any(|l| l.trim() == "-P FORWARD DROP")
}

/// Runs `prog -w <args>`: (true, stdout) on exit 0, (false, stdout) on exit 1 (iptables' "no
/// such rule"), an error with iptables' message otherwise.
fn run(prog: &Path, args: &[String], op: &str) -> Result<(bool, String), FirewallError> {
    let out = Command::new(prog)
        .arg("-w")
        .args(args)
        .output()
        .map_err(|e| FirewallError::Iptables {
            op: op.into(),
            reason: format!("run {}: {e}", prog.display()),
        })?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    match out.status.code() {
        Some(0) => Ok((true, stdout)),
        Some(1) => Ok((false, stdout)),
        _ => Err(FirewallError::Iptables {
            op: op.into(),
            reason: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        }),
    }
}

/// The subnets of `net` per family: (false, v4 subnets), (true, v6 subnets).
fn by_family(net: &NetworkRules) -> [(bool, Vec<&IpNetwork>); 2] {
    [false, true].map(|v6| {
        let subnets = net.subnets.iter().filter(|s| s.is_ipv6() == v6).collect();
        (v6, subnets)
    })
}

/// Inserts the network's rules where `FORWARD`'s policy is DROP (once: present rules are
/// left alone). Returns how many were inserted.
pub(super) fn allow(net: &NetworkRules) -> Result<usize, FirewallError> {
    let mut inserted = 0;
    for (v6, subnets) in by_family(net) {
        let Some(prog) = program(v6).filter(|_| !subnets.is_empty()) else {
            continue;
        };
        let op = format!("let network {} through the host's FORWARD chain", net.name);
        let (listed, listing) = run(&prog, &["-S".into(), "FORWARD".into()], &op)?;
        if !listed || !policy_is_drop(&listing) {
            continue;
        }
        for subnet in subnets {
            // Inserted in reverse so they read in order at the top of the chain.
            for rule in rules(&net.name, subnet).iter().rev() {
                let check: Vec<String> = ["-C", "FORWARD"].map(String::from).into();
                if run(&prog, &[check, rule.clone()].concat(), &op)?.0 {
                    continue;
                }
                let insert: Vec<String> = ["-I", "FORWARD"].map(String::from).into();
                run(&prog, &[insert, rule.clone()].concat(), &op)?;
                inserted += 1;
            }
        }
    }
    Ok(inserted)
}

/// Removes the network's rules (every copy; none present is fine). Returns how many went.
pub(super) fn revoke(net: &NetworkRules) -> Result<usize, FirewallError> {
    let mut removed = 0;
    for (v6, subnets) in by_family(net) {
        let Some(prog) = program(v6).filter(|_| !subnets.is_empty()) else {
            continue;
        };
        let op = format!(
            "remove network {}'s rules from the host's FORWARD chain",
            net.name
        );
        for subnet in subnets {
            for rule in rules(&net.name, subnet) {
                let delete: Vec<String> = ["-D", "FORWARD"].map(String::from).into();
                let args = [delete, rule].concat();
                while run(&prog, &args, &op)?.0 {
                    removed += 1;
                }
            }
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_tagged_accept_rules_per_subnet() {
        let [out, back] = rules("web", &"10.89.0.0/24".parse().unwrap());
        assert_eq!(
            out.join(" "),
            "-s 10.89.0.0/24 -m comment --comment berth net=web -j ACCEPT"
        );
        assert_eq!(
            back.join(" "),
            "-d 10.89.0.0/24 -m conntrack --ctstate RELATED,ESTABLISHED,DNAT \
             -m comment --comment berth net=web -j ACCEPT"
        );
    }

    #[test]
    fn only_a_drop_policy_counts() {
        assert!(policy_is_drop("-P FORWARD DROP\n-N DOCKER-USER\n"));
        assert!(!policy_is_drop("-P FORWARD ACCEPT\n-A FORWARD -j DROP\n"));
        assert!(!policy_is_drop(""));
    }

    #[test]
    fn subnets_are_split_by_family() {
        let net = NetworkRules {
            name: "n".into(),
            subnets: vec!["10.1.0.0/24".parse().unwrap(), "fd00::/64".parse().unwrap()],
            masquerade: true,
            internal: false,
            untracked: false,
            ipam_dir: None,
        };
        let [(v4, a), (v6, b)] = by_family(&net);
        assert!(!v4 && v6);
        assert_eq!(a.len(), 1);
        assert_eq!(b[0].to_string(), "fd00::/64");
    }
}
