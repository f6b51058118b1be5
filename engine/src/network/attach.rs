//! Attaching network namespaces to networks: resolving a target (a named netns or a path) to a
//! netns path and a container id, parsing `-p` port specs, and building the CNI runtime config.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use berth_core::invoke::RuntimeConf;
use berth_core::names::{ContainerId, IfName, is_cni_name};
use berth_core::netlink::MacAddr;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// What went wrong with attach arguments.
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    /// A `-p` value could not be parsed.
    #[error(
        "invalid port mapping {spec:?}: {reason} (expected [HOSTIP:]HOSTPORT:PORT[/tcp|udp|sctp])"
    )]
    BadPort {
        /// What was typed.
        spec: String,
        /// Why.
        reason: String,
    },
    /// `--mac` is not a MAC address.
    #[error("invalid --mac {0:?}: expected six hex pairs like 02:42:ac:11:00:02")]
    BadMac(String),
    /// `--ifname` or the derived container id is not valid.
    #[error(transparent)]
    Name(#[from] berth_core::names::NameError),
    /// A named netns does not exist.
    #[error("netns {name} not found in {}", dir.display())]
    NoNetns {
        /// The name.
        name: String,
        /// The netns dir.
        dir: PathBuf,
    },
}

/// A namespace to attach: its path and the container id used for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The netns file.
    pub path: PathBuf,
    /// `CNI_CONTAINERID`: the netns name, or `ns-` + 16 hex digits of sha256(path).
    pub container_id: ContainerId,
}

impl Target {
    /// Resolves `arg`: a path (contains `/`) or a name under `netns_dir`. A path inside
    /// `netns_dir` is treated as that name, so both spellings give the same container id.
    /// With `must_exist`, a named netns that is not there is an error.
    pub fn resolve(arg: &str, netns_dir: &Path, must_exist: bool) -> Result<Target, AttachError> {
        let (path, name) = if arg.contains('/') {
            let path = PathBuf::from(arg);
            let name = (path.parent() == Some(netns_dir))
                .then(|| path.file_name().map(|n| n.to_string_lossy().into_owned()))
                .flatten();
            (path, name)
        } else {
            (netns_dir.join(arg), Some(arg.to_string()))
        };
        if must_exist && !path.exists() {
            if let Some(name) = &name {
                return Err(AttachError::NoNetns {
                    name: name.clone(),
                    dir: netns_dir.to_owned(),
                });
            }
        }
        let id = match name.filter(|n| is_cni_name(n)) {
            Some(n) => n,
            None => {
                let digest = Sha256::digest(path.as_os_str().as_encoded_bytes());
                let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
                format!("ns-{hex}")
            }
        };
        Ok(Target {
            path,
            container_id: ContainerId::new(id)?,
        })
    }
}

/// Parses `[HOSTIP:]HOSTPORT:PORT[/PROTO]` (an IPv6 host IP in brackets) into a CNI
/// `portMappings` entry.
pub fn parse_port(spec: &str) -> Result<Value, AttachError> {
    let bad = |reason: &str| AttachError::BadPort {
        spec: spec.to_string(),
        reason: reason.to_string(),
    };
    let (rest, proto) = match spec.rsplit_once('/') {
        Some((r, p)) => (r, p.to_ascii_lowercase()),
        None => (spec, "tcp".to_string()),
    };
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(bad("protocol must be tcp, udp or sctp"));
    }
    let (host_ip, ports) = if let Some(v6) = rest.strip_prefix('[') {
        let (ip, ports) = v6.split_once("]:").ok_or_else(|| bad("unclosed [IPv6]"))?;
        (Some(ip), ports)
    } else {
        match rest.matches(':').count() {
            1 => (None, rest),
            2 => rest
                .split_once(':')
                .map(|(ip, p)| (Some(ip), p))
                .unwrap_or((None, rest)),
            _ => return Err(bad("expected HOSTPORT:PORT")),
        }
    };
    let (host, ctr) = ports
        .split_once(':')
        .ok_or_else(|| bad("expected HOSTPORT:PORT"))?;
    let port = |s: &str| {
        s.parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| bad(&format!("{s:?} is not a port (1-65535)")))
    };
    let mut m = json!({"hostPort": port(host)?, "containerPort": port(ctr)?, "protocol": proto});
    if let Some(ip) = host_ip.filter(|s| !s.is_empty()) {
        let ip: IpAddr = ip
            .parse()
            .map_err(|_| bad(&format!("{ip:?} is not an IP")))?;
        m["hostIP"] = json!(ip.to_string());
    }
    Ok(m)
}

/// The runtime config for attaching `target` as `ifname`, with the static IP, MAC and ports
/// as capability arguments (only plugins declaring them receive them).
pub fn runtime_conf(
    target: &Target,
    ifname: &str,
    ip: Option<IpAddr>,
    mac: Option<&str>,
    ports: &[String],
) -> Result<RuntimeConf, AttachError> {
    let mut rt = RuntimeConf::new(
        target.container_id.clone(),
        IfName::new(ifname)?,
        Some(target.path.clone()),
    );
    rt.cni_args.push(("IgnoreUnknown".into(), "1".into()));
    if let Some(ip) = ip {
        rt.capability_args
            .insert("ips".into(), json!([ip.to_string()]));
    }
    if let Some(mac) = mac {
        let parsed: MacAddr = mac.parse().map_err(|_| AttachError::BadMac(mac.into()))?;
        rt.capability_args
            .insert("mac".into(), json!(parsed.to_string()));
    }
    let maps: Vec<Value> = ports
        .iter()
        .map(|p| parse_port(p))
        .collect::<Result<_, _>>()?;
    if !maps.is_empty() {
        rt.capability_args
            .insert("portMappings".into(), json!(maps));
    }
    Ok(rt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_parse_in_every_documented_shape() {
        assert_eq!(
            parse_port("8080:80").unwrap(),
            json!({"hostPort": 8080, "containerPort": 80, "protocol": "tcp"})
        );
        assert_eq!(
            parse_port("127.0.0.1:53:53/UDP").unwrap()["hostIP"],
            "127.0.0.1"
        );
        assert_eq!(
            parse_port("127.0.0.1:53:53/udp").unwrap()["protocol"],
            "udp"
        );
        assert_eq!(parse_port("[::1]:8443:443").unwrap()["hostIP"], "::1");
        for bad in [
            "80",
            "x:80",
            "0:80",
            "1:2:3:4",
            "8080:80/icmp",
            "nope:1:2",
            "[::1:1:2",
        ] {
            let e = parse_port(bad).unwrap_err().to_string();
            assert!(e.contains(bad), "{bad}: {e}");
        }
    }

    #[test]
    fn targets_by_name_and_path_share_an_id() {
        let dir = Path::new("/run/berth/netns");
        let a = Target::resolve("c1", dir, false).unwrap();
        let b = Target::resolve("/run/berth/netns/c1", dir, false).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.container_id.as_str(), "c1");
        let p = Target::resolve("/proc/42/ns/net", dir, false).unwrap();
        assert!(p.container_id.as_str().starts_with("ns-"));
        assert_eq!(p.container_id.as_str().len(), 19);
        let e = Target::resolve("missing", Path::new("/nonexistent"), true).unwrap_err();
        assert!(e.to_string().contains("netns missing not found"), "{e}");
    }

    #[test]
    fn runtime_conf_carries_capabilities() {
        let t = Target::resolve("c1", Path::new("/x"), false).unwrap();
        let rt = runtime_conf(
            &t,
            "eth1",
            Some("10.0.0.9".parse().unwrap()),
            Some("02:00:00:00:00:09"),
            &["8080:80".into()],
        )
        .unwrap();
        assert_eq!(rt.capability_args["ips"], json!(["10.0.0.9"]));
        assert_eq!(rt.capability_args["mac"], "02:00:00:00:00:09");
        assert_eq!(rt.capability_args["portMappings"][0]["hostPort"], 8080);
        assert!(runtime_conf(&t, "eth0", None, Some("zz"), &[]).is_err());
        assert!(runtime_conf(&t, "a/b", None, None, &[]).is_err());
    }
}
