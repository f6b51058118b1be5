//! The OCI runtime config (`config.json` of the bundle) for a container: Docker's defaults
//! (namespaces, the default capability set, masked paths) with the container's root, argv,
//! environment, user, hostname, netns, mounts and resource limits.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{
    BoxBuilder, Capabilities, Capability, LinuxCapabilitiesBuilder, LinuxCpuBuilder,
    LinuxMemoryBuilder, LinuxNamespace, LinuxNamespaceBuilder, LinuxNamespaceType,
    LinuxPidsBuilder, LinuxResourcesBuilder, Mount, MountBuilder, RootBuilder, Spec, UserBuilder,
};

use super::ContainerError;
use super::record::HostConfig;

/// Docker's default capabilities.
const DEFAULT_CAPS: &[&str] = &[
    "CHOWN",
    "DAC_OVERRIDE",
    "FSETID",
    "FOWNER",
    "MKNOD",
    "NET_RAW",
    "SETGID",
    "SETUID",
    "SETFCAP",
    "SETPCAP",
    "NET_BIND_SERVICE",
    "SYS_CHROOT",
    "KILL",
    "AUDIT_WRITE",
];

/// One bind mount into the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bind {
    /// Host path.
    pub source: PathBuf,
    /// Container path.
    pub target: PathBuf,
    /// Read-only.
    pub read_only: bool,
}

/// What the spec is built from.
#[derive(Debug, Clone)]
pub struct SpecInput<'a> {
    /// The container id (names its cgroup).
    pub id: &'a str,
    /// The mounted root filesystem.
    pub rootfs: &'a Path,
    /// argv.
    pub args: Vec<String>,
    /// `KEY=VALUE`.
    pub env: Vec<String>,
    /// Working directory.
    pub cwd: String,
    /// Numeric user and group.
    pub uid: u32,
    /// Numeric group.
    pub gid: u32,
    /// Hostname.
    pub hostname: String,
    /// The netns to join; `None` shares the host's.
    pub netns: Option<PathBuf>,
    /// Volumes, binds and the generated /etc files.
    pub binds: Vec<Bind>,
    /// Limits and security.
    pub host: &'a HostConfig,
    /// `-t`: the process gets a pty.
    pub terminal: bool,
    /// The pty's size (rows, columns) when known.
    pub console_size: Option<(u16, u16)>,
}

fn oci(what: &'static str) -> impl FnOnce(oci_spec::OciSpecError) -> ContainerError {
    move |e| ContainerError::BadArg {
        flag: what,
        value: String::new(),
        reason: e.to_string(),
    }
}

/// Parses `NET_ADMIN`, `cap_net_admin` or `ALL`-free capability names.
pub fn parse_cap(name: &str) -> Result<Capability, ContainerError> {
    let up = name.to_ascii_uppercase();
    let full = if up.starts_with("CAP_") {
        up
    } else {
        format!("CAP_{up}")
    };
    serde_json::from_value(serde_json::Value::String(full)).map_err(|_| ContainerError::BadArg {
        flag: "capability",
        value: name.to_owned(),
        reason: "not a Linux capability".into(),
    })
}

/// The capability set: Docker's default, `--cap-add`, `--cap-drop` (`ALL` works for both),
/// or every capability with `--privileged`.
pub fn capabilities(host: &HostConfig) -> Result<Capabilities, ContainerError> {
    let mut caps: Capabilities =
        if host.privileged || host.cap_add.iter().any(|c| c.eq_ignore_ascii_case("all")) {
            all_caps()?
        } else {
            DEFAULT_CAPS
                .iter()
                .map(|c| parse_cap(c))
                .collect::<Result<_, _>>()?
        };
    for c in host
        .cap_add
        .iter()
        .filter(|c| !c.eq_ignore_ascii_case("all"))
    {
        caps.insert(parse_cap(c)?);
    }
    if host.cap_drop.iter().any(|c| c.eq_ignore_ascii_case("all")) {
        caps.clear();
    }
    for c in host
        .cap_drop
        .iter()
        .filter(|c| !c.eq_ignore_ascii_case("all"))
    {
        caps.remove(&parse_cap(c)?);
    }
    Ok(caps)
}

fn all_caps() -> Result<Capabilities, ContainerError> {
    const NAMES: &[&str] = &[
        "CHOWN",
        "DAC_OVERRIDE",
        "DAC_READ_SEARCH",
        "FOWNER",
        "FSETID",
        "KILL",
        "SETGID",
        "SETUID",
        "SETPCAP",
        "LINUX_IMMUTABLE",
        "NET_BIND_SERVICE",
        "NET_BROADCAST",
        "NET_ADMIN",
        "NET_RAW",
        "IPC_LOCK",
        "IPC_OWNER",
        "SYS_MODULE",
        "SYS_RAWIO",
        "SYS_CHROOT",
        "SYS_PTRACE",
        "SYS_PACCT",
        "SYS_ADMIN",
        "SYS_BOOT",
        "SYS_NICE",
        "SYS_RESOURCE",
        "SYS_TIME",
        "SYS_TTY_CONFIG",
        "MKNOD",
        "LEASE",
        "AUDIT_WRITE",
        "AUDIT_CONTROL",
        "SETFCAP",
        "MAC_OVERRIDE",
        "MAC_ADMIN",
        "SYSLOG",
        "WAKE_ALARM",
        "BLOCK_SUSPEND",
        "AUDIT_READ",
    ];
    NAMES.iter().map(|c| parse_cap(c)).collect()
}

fn bind_mount(b: &Bind) -> Result<Mount, ContainerError> {
    let mut options = vec!["rbind".to_string(), "rprivate".to_string()];
    if b.read_only {
        options.push("ro".into());
    }
    MountBuilder::default()
        .destination(&b.target)
        .typ("bind")
        .source(&b.source)
        .options(options)
        .build()
        .map_err(oci("mount"))
}

fn namespaces(netns: Option<&Path>) -> Result<Vec<LinuxNamespace>, ContainerError> {
    let mut out = Vec::new();
    for typ in [
        LinuxNamespaceType::Pid,
        LinuxNamespaceType::Ipc,
        LinuxNamespaceType::Uts,
        LinuxNamespaceType::Mount,
    ] {
        out.push(
            LinuxNamespaceBuilder::default()
                .typ(typ)
                .build()
                .map_err(oci("namespace"))?,
        );
    }
    if let Some(p) = netns {
        let ns = LinuxNamespaceBuilder::default()
            .typ(LinuxNamespaceType::Network)
            .path(p)
            .build()
            .map_err(oci("namespace"))?;
        out.push(ns);
    }
    Ok(out)
}

fn resources(host: &HostConfig) -> Result<oci_spec::runtime::LinuxResources, ContainerError> {
    let mut r = LinuxResourcesBuilder::default();
    if host.memory > 0 {
        r = r.memory(
            LinuxMemoryBuilder::default()
                .limit(host.memory)
                .build()
                .map_err(oci("--memory"))?,
        );
    }
    if host.nano_cpus > 0 {
        let period: u64 = 100_000;
        let quota = host.nano_cpus * 100_000 / 1_000_000_000;
        r = r.cpu(
            LinuxCpuBuilder::default()
                .period(period)
                .quota(quota)
                .build()
                .map_err(oci("--cpus"))?,
        );
    }
    if host.pids_limit > 0 {
        r = r.pids(
            LinuxPidsBuilder::default()
                .limit(host.pids_limit)
                .build()
                .map_err(oci("--pids-limit"))?,
        );
    }
    r.build().map_err(oci("resources"))
}

/// Builds the runtime config.
pub fn build(input: &SpecInput<'_>) -> Result<Spec, ContainerError> {
    let mut spec = Spec::default();
    spec.set_hostname(Some(input.hostname.clone()));
    spec.set_root(Some(
        RootBuilder::default()
            .path(input.rootfs)
            .readonly(input.host.readonly_rootfs)
            .build()
            .map_err(oci("root"))?,
    ));
    let caps: HashSet<Capability> = capabilities(input.host)?;
    let cap_set = LinuxCapabilitiesBuilder::default()
        .bounding(caps.clone())
        .effective(caps.clone())
        .permitted(caps)
        .build()
        .map_err(oci("capabilities"))?;
    if let Some(p) = spec.process_mut() {
        p.set_terminal(Some(input.terminal));
        if let Some((rows, cols)) = input.console_size.filter(|_| input.terminal) {
            let size = BoxBuilder::default()
                .height(u64::from(rows))
                .width(u64::from(cols))
                .build()
                .map_err(oci("console size"))?;
            p.set_console_size(Some(size));
        }
        p.set_args(Some(input.args.clone()));
        p.set_env(Some(input.env.clone()));
        p.set_cwd(PathBuf::from(&input.cwd));
        p.set_user(
            UserBuilder::default()
                .uid(input.uid)
                .gid(input.gid)
                .build()
                .map_err(oci("user"))?,
        );
        p.set_capabilities(Some(cap_set));
        p.set_no_new_privileges(Some(!input.host.privileged));
    }
    let mut mounts = spec.mounts().clone().unwrap_or_default();
    for b in &input.binds {
        mounts.push(bind_mount(b)?);
    }
    for (dest, opts) in &input.host.tmpfs {
        mounts.push(super::tmpfs::mount(dest, opts)?);
    }
    spec.set_mounts(Some(mounts));
    if let Some(l) = spec.linux_mut() {
        l.set_namespaces(Some(namespaces(input.netns.as_deref())?));
        l.set_cgroups_path(Some(PathBuf::from(format!("/berth/{}", input.id))));
        l.set_resources(Some(resources(input.host)?));
        if input.host.privileged {
            l.set_masked_paths(None);
            l.set_readonly_paths(None);
        }
    }
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_follow_add_and_drop() {
        let mut h = HostConfig::default();
        let d = capabilities(&h).unwrap();
        assert!(d.contains(&Capability::NetRaw) && !d.contains(&Capability::NetAdmin));
        h.cap_add = vec!["net_admin".into()];
        h.cap_drop = vec!["CAP_NET_RAW".into()];
        let c = capabilities(&h).unwrap();
        assert!(c.contains(&Capability::NetAdmin) && !c.contains(&Capability::NetRaw));
        h.cap_drop = vec!["ALL".into()];
        assert!(capabilities(&h).unwrap().is_empty());
        h.cap_add = vec!["BOGUS".into()];
        assert!(capabilities(&h).is_err());
    }

    #[test]
    fn spec_joins_the_netns_and_limits_resources() {
        let h = HostConfig {
            memory: 64 << 20,
            nano_cpus: 500_000_000,
            pids_limit: 10,
            ..Default::default()
        };
        let input = SpecInput {
            id: "c1",
            rootfs: Path::new("/r"),
            args: vec!["true".into()],
            env: vec!["A=1".into()],
            cwd: "/".into(),
            uid: 0,
            gid: 0,
            hostname: "h".into(),
            netns: Some("/run/berth/netns/c1".into()),
            binds: vec![Bind {
                source: "/x".into(),
                target: "/y".into(),
                read_only: true,
            }],
            host: &h,
            terminal: false,
            console_size: None,
        };
        let s = serde_json::to_value(build(&input).unwrap()).unwrap();
        assert_eq!(s["process"]["terminal"], false);
        assert!(s["process"].get("consoleSize").is_none());
        let ns = &s["linux"]["namespaces"];
        assert!(
            ns.as_array()
                .unwrap()
                .iter()
                .any(|n| n["type"] == "network" && n["path"] == "/run/berth/netns/c1")
        );
        assert_eq!(s["linux"]["resources"]["cpu"]["quota"], 50_000);
        assert_eq!(s["linux"]["resources"]["pids"]["limit"], 10);
        assert_eq!(s["linux"]["cgroupsPath"], "/berth/c1");
        let m = s["mounts"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(m["destination"], "/y");
        assert!(m["options"].as_array().unwrap().contains(&"ro".into()));
    }

    #[test]
    fn a_tty_container_gets_a_terminal_of_the_given_size() {
        let h = HostConfig::default();
        let input = SpecInput {
            id: "c1",
            rootfs: Path::new("/r"),
            args: vec!["sh".into()],
            env: Vec::new(),
            cwd: "/".into(),
            uid: 0,
            gid: 0,
            hostname: "h".into(),
            netns: None,
            binds: Vec::new(),
            host: &h,
            terminal: true,
            console_size: Some((33, 101)),
        };
        let s = serde_json::to_value(build(&input).unwrap()).unwrap();
        assert_eq!(s["process"]["terminal"], true);
        assert_eq!(s["process"]["consoleSize"]["height"], 33);
        assert_eq!(s["process"]["consoleSize"]["width"], 101);
    }
}
