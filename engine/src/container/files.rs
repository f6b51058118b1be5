//! The files berth writes for each container and bind-mounts into it, as Docker does:
//! `/etc/hosts` (localhost, then the container's addresses with its hostname and name),
//! `/etc/resolv.conf` (the host's, with loopback resolvers dropped since they cannot be
//! reached from the container's netns) and `/etc/hostname`. [`update_hosts`] changes the
//! container's own lines of a running container's `/etc/hosts` in place (`net connect`),
//! [`rename_in_hosts`] the name on them (`rename`).

use std::fs;
use std::net::IpAddr;
use std::path::Path;

use super::ContainerError;

/// Resolvers used when the host only has loopback ones (Docker's fallback).
const FALLBACK_DNS: &[&str] = &["8.8.8.8", "8.8.4.4"];

/// The lines every `/etc/hosts` starts with.
const HOSTS_HEADER: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";

/// `/etc/hosts` content.
pub fn hosts(hostname: &str, name: &str, addrs: &[IpAddr]) -> String {
    edit_hosts(HOSTS_HEADER, hostname, name, addrs, &[])
}

/// `content` of an `/etc/hosts` with the container's own lines (`ADDR\tHOSTNAME NAME`) for
/// `remove` dropped and for `add` appended; other lines stay as they are. Without an own
/// address left, the container's names go to 127.0.1.1 as in [`hosts`].
pub fn edit_hosts(
    content: &str,
    hostname: &str,
    name: &str,
    add: &[IpAddr],
    remove: &[IpAddr],
) -> String {
    let names = format!("{hostname} {name}");
    let mut own: Vec<IpAddr> = Vec::new();
    let mut out = String::new();
    for line in content.lines() {
        match own_addr(line, &names) {
            Some(a) => own.push(a),
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    own.retain(|a| !remove.contains(a) && *a != IpAddr::from([127, 0, 1, 1]));
    for a in add {
        if !own.contains(a) {
            own.push(*a);
        }
    }
    if own.is_empty() {
        own.push(IpAddr::from([127, 0, 1, 1]));
    }
    for a in own {
        out.push_str(&format!("{a}\t{names}\n"));
    }
    out
}

/// Rewrites `dir/hosts` with [`edit_hosts`]. The file is bind-mounted into the container, so it
/// is written in place (same inode), not replaced.
pub fn update_hosts(
    dir: &Path,
    hostname: &str,
    name: &str,
    add: &[IpAddr],
    remove: &[IpAddr],
) -> Result<(), ContainerError> {
    let p = dir.join("hosts");
    let old = fs::read_to_string(&p).map_err(ContainerError::io("read", &p))?;
    let new = edit_hosts(&old, hostname, name, add, remove);
    fs::write(&p, new).map_err(ContainerError::io("write", &p))
}

/// `content` with the container's own lines (`ADDR\tHOSTNAME OLD`) naming it `new` instead;
/// other lines stay as they are.
pub fn renamed_hosts(content: &str, hostname: &str, old: &str, new: &str) -> String {
    let (was, now) = (format!("{hostname} {old}"), format!("{hostname} {new}"));
    let mut out = String::new();
    for line in content.lines() {
        match own_addr(line, &was) {
            Some(addr) => out.push_str(&format!("{addr}\t{now}\n")),
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// The address of a container's own line (`ADDR\tHOSTNAME NAME`, `names` being the part
/// after the tab), or `None` for any other line.
fn own_addr(line: &str, names: &str) -> Option<IpAddr> {
    line.split_once('\t')
        .filter(|(_, rest)| rest.trim() == names)
        .and_then(|(a, _)| a.parse().ok())
}

/// Rewrites `dir/hosts` (in place, as [`update_hosts`]) with [`renamed_hosts`]. A container
/// whose files are not written yet has nothing to rename.
pub fn rename_in_hosts(
    dir: &Path,
    hostname: &str,
    old: &str,
    new: &str,
) -> Result<(), ContainerError> {
    let p = dir.join("hosts");
    let content = match fs::read_to_string(&p) {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(ContainerError::io("read", &p)(e)),
    };
    let renamed = renamed_hosts(&content, hostname, old, new);
    if renamed == content {
        return Ok(());
    }
    fs::write(&p, renamed).map_err(ContainerError::io("write", &p))
}

/// `/etc/resolv.conf` from the host's: loopback nameservers are removed; if none remain,
/// public fallbacks are used (unless `keep_loopback`, for `--network host`).
pub fn resolv_conf(host: &str, keep_loopback: bool) -> String {
    let mut out = String::new();
    let mut servers = 0;
    for line in host.lines() {
        let mut words = line.split_whitespace();
        if words.next() == Some("nameserver") {
            let loopback = words
                .next()
                .and_then(|a| a.parse::<IpAddr>().ok())
                .is_some_and(|a| a.is_loopback());
            if loopback && !keep_loopback {
                continue;
            }
            servers += 1;
        }
        out.push_str(line);
        out.push('\n');
    }
    if servers == 0 {
        for s in FALLBACK_DNS {
            out.push_str(&format!("nameserver {s}\n"));
        }
    }
    out
}

/// The files berth writes per container and bind-mounts over `/etc/<name>`.
pub const ETC_FILES: [&str; 3] = ["hosts", "resolv.conf", "hostname"];

/// The mount points berth may have created as empty files in the container's writable layer
/// (relative to the root): `berth commit` leaves them out, as Docker keeps them in a separate
/// init layer.
pub fn made_mount_points() -> Vec<std::path::PathBuf> {
    let mut out: Vec<std::path::PathBuf> = ETC_FILES
        .iter()
        .map(|f| std::path::Path::new("etc").join(f))
        .collect();
    out.push(super::init::INIT_TARGET.trim_start_matches('/').into());
    out
}

/// Writes `hosts`, `resolv.conf` (with the container's DNS settings, [`super::dns`]) and
/// `hostname` into `dir`. `resolvers`, when not empty, are the DNS servers of the container's
/// user networks ([`crate::dns`]): they are its only `nameserver`s (`--dns` servers are
/// where they forward to, as with Docker's embedded DNS).
pub fn write_all(
    dir: &Path,
    hostname: &str,
    name: &str,
    addrs: &[IpAddr],
    host_network: bool,
    settings: &super::record::HostConfig,
    resolvers: &[IpAddr],
) -> Result<(), ContainerError> {
    let host_resolv = fs::read_to_string(crate::dns::host_resolv_path()).unwrap_or_default();
    let resolv = if resolvers.is_empty() {
        super::dns::apply(&resolv_conf(&host_resolv, host_network), settings)
    } else {
        let embedded = super::record::HostConfig {
            dns: resolvers.iter().map(IpAddr::to_string).collect(),
            ..settings.clone()
        };
        super::dns::apply(&host_resolv, &embedded)
    };
    let files = [
        ("hosts", hosts(hostname, name, addrs)),
        ("resolv.conf", resolv),
        ("hostname", format!("{hostname}\n")),
    ];
    for (file, content) in files {
        let p = dir.join(file);
        fs::write(&p, content).map_err(ContainerError::io("write", &p))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_resolvers_are_dropped() {
        let host = "search lan\nnameserver 127.0.0.53\nnameserver 10.0.0.1\noptions edns0\n";
        let r = resolv_conf(host, false);
        assert!(
            !r.contains("127.0.0.53") && r.contains("nameserver 10.0.0.1"),
            "{r}"
        );
        assert!(r.contains("search lan") && r.contains("options edns0"));
        let only_lo = resolv_conf("nameserver 127.0.0.53\nnameserver ::1\n", false);
        assert_eq!(only_lo, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
        assert!(resolv_conf("nameserver 127.0.0.53\n", true).contains("127.0.0.53"));
    }

    #[test]
    fn hosts_edits_touch_only_the_containers_own_lines() {
        let a: IpAddr = "10.88.0.2".parse().unwrap();
        let b: IpAddr = "10.89.0.7".parse().unwrap();
        let start = hosts("abc", "web", &[a]) + "192.0.2.1\tdb\n";
        let both = edit_hosts(&start, "abc", "web", &[b], &[]);
        assert!(
            both.contains("10.88.0.2\tabc web\n") && both.contains("10.89.0.7\tabc web\n"),
            "{both}"
        );
        assert!(both.contains("192.0.2.1\tdb\n") && both.contains("127.0.0.1\tlocalhost\n"));
        assert_eq!(edit_hosts(&both, "abc", "web", &[b], &[]), both);
        let back = edit_hosts(&both, "abc", "web", &[], &[b]);
        assert!(!back.contains("10.89.0.7"), "{back}");
        let none = edit_hosts(&back, "abc", "web", &[], &[a]);
        assert!(
            none.contains("127.0.1.1\tabc web\n") && !none.contains("10.88"),
            "{none}"
        );
        let again = edit_hosts(&none, "abc", "web", &[b], &[]);
        assert!(!again.contains("127.0.1.1") && again.contains("10.89.0.7\tabc web"));
    }

    #[test]
    fn a_rename_changes_only_the_containers_own_lines() {
        let a: IpAddr = "10.0.0.2".parse().unwrap();
        let b: IpAddr = "10.1.0.2".parse().unwrap();
        let before = format!("{}10.9.9.9\tother web\n", hosts("abc123", "web", &[a, b]));
        let after = renamed_hosts(&before, "abc123", "web", "api");
        assert_eq!(
            after,
            format!(
                "{HOSTS_HEADER}10.0.0.2\tabc123 api\n10.1.0.2\tabc123 api\n10.9.9.9\tother web\n"
            )
        );
        // Edits that follow find the lines under the new name.
        let dropped = edit_hosts(&after, "abc123", "api", &[], &[b]);
        assert_eq!(
            dropped,
            format!("{HOSTS_HEADER}10.9.9.9\tother web\n10.0.0.2\tabc123 api\n")
        );
    }

    #[test]
    fn hosts_name_the_container_at_each_address() {
        let h = hosts("abc", "web", &["10.88.0.2".parse().unwrap()]);
        assert!(h.contains("127.0.0.1\tlocalhost\n"));
        assert!(h.contains("10.88.0.2\tabc web\n"), "{h}");
    }
}
