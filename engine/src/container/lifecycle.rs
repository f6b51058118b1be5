//! The lifecycle steps the CLI and the shim share: [`prepare_start`] (mount the root, set up
//! networking, write the /etc files and the OCI bundle, undoing it all on failure),
//! [`teardown`] (what the shim does when the container ends: network DEL, netns removal,
//! unmount, record the exit), [`reconcile`] (a record that says running with no shim behind it,
//! e.g. after a reboot, becomes exited and its leftovers are collected) and [`remove`].

use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use berth_core::cni::RawExec;
use berth_core::invoke::Invoker;

use super::net::{self, NetCtx};
use super::record::{Attachment, ContainerRecord, Status};
use super::spec::{self, Bind, SpecInput};
use super::{ContainerStore, files, init};
use crate::network::NetworkStore;
use crate::storage::RwLayerId;
use crate::store::Store;

/// Everything container operations need.
pub struct Engine<'a> {
    /// Images, layers, volumes.
    pub store: &'a Store,
    /// Container records.
    pub containers: ContainerStore,
    /// Network definitions.
    pub networks: NetworkStore,
    /// The CNI invoker.
    pub invoker: Invoker<RawExec>,
    /// `<run-root>/netns`.
    pub netns_dir: PathBuf,
    /// berth-runtime's state: `<run-root>/runtime`.
    pub runtime_root: PathBuf,
    /// The DNS server of user networks.
    pub dns: crate::dns::DnsControl,
}

impl Engine<'_> {
    /// The network part.
    pub fn net(&self) -> NetCtx<'_> {
        NetCtx {
            networks: &self.networks,
            invoker: &self.invoker,
            netns_dir: &self.netns_dir,
        }
    }

    /// The OCI runtime.
    pub fn runtime(&self) -> berth_runtime::Runtime {
        berth_runtime::Runtime::new(&self.runtime_root)
    }

    /// The bundle directory of a container.
    pub fn bundle_dir(&self, id: &str) -> PathBuf {
        self.containers.run_dir(id).join("bundle")
    }
}

/// Resolves `-u` (`uid[:gid]` or names from the image's /etc/passwd and /etc/group).
pub fn resolve_user(rootfs: &Path, user: &str) -> anyhow::Result<(u32, u32)> {
    if user.is_empty() {
        return Ok((0, 0));
    }
    let (u, g) = match user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (user, None),
    };
    let lookup = |file: &str, name: &str, field: usize| -> Option<(u32, Option<u32>)> {
        let text = read_in_root(rootfs, file)?;
        text.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.first() == Some(&name)).then(|| {
                let id = f.get(field)?.parse().ok()?;
                Some((id, f.get(3).and_then(|g| g.parse().ok())))
            })?
        })
    };
    let (uid, primary) = match u.parse::<u32>() {
        Ok(n) => (n, lookup_by_uid(rootfs, n)),
        Err(_) => lookup("etc/passwd", u, 2).with_context(|| {
            format!("unable to find user {u}: no matching entries in passwd file")
        })?,
    };
    let gid = match g {
        Some(g) => match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => lookup("etc/group", g, 2)
                .map(|(id, _)| id)
                .with_context(|| format!("unable to find group {g}"))?,
        },
        None => primary.unwrap_or(0),
    };
    Ok((uid, gid))
}

/// Reads `file` of the image as the container would see it: symlinks (an `etc/passwd` that
/// points at `/etc/passwd`, say) resolve inside the root, never to the host's files.
fn read_in_root(rootfs: &Path, file: &str) -> Option<String> {
    let path = berth_runtime::mounts::secure_join(rootfs, Path::new(file)).ok()?;
    fs::read_to_string(path).ok()
}

fn lookup_by_uid(rootfs: &Path, uid: u32) -> Option<u32> {
    let text = read_in_root(rootfs, "etc/passwd")?;
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.get(2)?.parse::<u32>().ok()? == uid).then(|| f.get(3)?.parse().ok())?
    })
}

/// Mounts the root, connects the networks, writes the /etc files and the bundle, and records
/// the attachments (in `rec` and on disk). `console_size` (rows, columns) sizes a `-t`
/// container's pty. On failure everything done is undone. Holds the container's network lock,
/// so a `net connect|disconnect` comes before (and is used) or after (and sees the attachments).
pub fn prepare_start(
    eng: &Engine<'_>,
    rec: &mut ContainerRecord,
    console_size: Option<(u16, u16)>,
) -> anyhow::Result<()> {
    let _net_lock = eng.containers.lock_networks(&rec.id)?;
    rec.host_config = eng.containers.load(&rec.id)?.host_config;
    let rw = RwLayerId::new(&rec.id)?;
    let ips = rec.host_config.static_ips()?;
    let rootfs = eng.store.mount_container_root(&rw)?;
    let host = net::is_host(&rec.host_config.networks);
    let (netns, attachments) = if host {
        (None, Vec::new())
    } else {
        match net::connect(
            &eng.net(),
            &rec.id,
            &rec.host_config.networks,
            &rec.host_config.port_bindings,
            &ips,
        ) {
            Ok((p, a)) => (Some(p), a),
            Err(e) => {
                let _ = eng.store.unmount_container_root(&rw);
                return Err(e);
            }
        }
    };
    rec.network_settings.sandbox_key = netns
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    rec.network_settings.networks = attachments.iter().cloned().collect();
    let settings = rec.network_settings.clone();
    // The DNS servers of its user networks, when berth-dns is there to answer.
    let resolvers = if eng.dns.available() {
        crate::dns::nameservers_for(&eng.networks, rec)
    } else {
        Vec::new()
    };
    let written =
        write_bundle(eng, rec, &rootfs, netns, host, &resolvers, console_size).and_then(|()| {
            eng.containers
                .update(&rec.id, |r| r.network_settings = settings)
                .map_err(Into::into)
        });
    if let Err(e) = written {
        if let Some(e2) = net::disconnect(&eng.net(), &rec.id, &attachments) {
            tracing::warn!(error = %format!("{e2:#}"), "undo networking");
        }
        let _ = eng.store.unmount_container_root(&rw);
        return Err(e);
    }
    emit_network_events(eng, &rec.id, &attachments, "connect");
    sync_dns(
        eng,
        !resolvers.is_empty(),
        attachments.iter().map(|(n, _)| n.as_str()),
    );
    Ok(())
}

/// Tells the DNS server about changed attachments on `networks` (starting it when `start`),
/// and the node agent of each overlay network among them, which publishes the names to the
/// other hosts. A server that cannot be reached or started costs the container its names, not
/// its start: warned only.
pub fn sync_dns<'a>(eng: &Engine<'_>, start: bool, networks: impl IntoIterator<Item = &'a str>) {
    if let Err(e) = eng.dns.sync(start) {
        tracing::warn!(error = %format!("{e:#}"), "container DNS");
    }
    crate::dns::overlay::notify_agents(&eng.networks, networks);
}

/// Logs `connect` or `disconnect` of the container `id` for each of its attachments.
fn emit_network_events(
    eng: &Engine<'_>,
    id: &str,
    attachments: &[(String, Attachment)],
    action: &str,
) {
    for (name, _) in attachments {
        if let Ok(net) = eng.networks.get(name) {
            eng.networks.emit(&net, action, Some(id));
        }
    }
}

fn write_bundle(
    eng: &Engine<'_>,
    rec: &ContainerRecord,
    rootfs: &Path,
    netns: Option<PathBuf>,
    host: bool,
    resolvers: &[IpAddr],
    console_size: Option<(u16, u16)>,
) -> anyhow::Result<()> {
    let hostname = rec.hostname().to_owned();
    let addrs: Vec<IpAddr> = rec
        .network_settings
        .networks
        .values()
        .flat_map(|a| a.addresses())
        .collect();
    let dir = eng.containers.dir(&rec.id);
    files::write_all(
        &dir,
        &hostname,
        &rec.name,
        &addrs,
        host,
        &rec.host_config,
        resolvers,
    )?;
    let mut binds: Vec<Bind> = files::ETC_FILES
        .iter()
        .map(|f| Bind {
            source: dir.join(f),
            target: PathBuf::from("/etc").join(f),
            read_only: false,
        })
        .collect();
    for mp in rec.mount_points.values() {
        if mp.kind == "volume" && !mp.name.is_empty() {
            let src = rootfs.join(mp.destination.trim_start_matches('/'));
            // A volume with a device has it mounted first: the copy-up goes onto the device.
            eng.store.volumes().mount(&mp.name)?;
            eng.store.volumes().copy_up(&mp.name, &src)?;
        }
        binds.push(Bind {
            source: mp.source.clone().into(),
            target: mp.destination.clone().into(),
            read_only: !mp.rw,
        });
    }
    let (uid, gid) = resolve_user(rootfs, &rec.config.user)?;
    let args = if rec.host_config.init {
        let binary = init::find(Some(Path::new(&rec.host_config.init_path)), &[])?;
        init::wrap(&binary, &rec.config.cmd, &mut binds)
    } else {
        rec.config.cmd.clone()
    };
    let spec = spec::build(&SpecInput {
        id: &rec.id,
        rootfs,
        args,
        env: rec.config.env.clone(),
        cwd: rec.config.working_dir.clone(),
        uid,
        gid,
        hostname,
        netns,
        binds,
        host: &rec.host_config,
        terminal: rec.config.stdio.tty,
        console_size,
    })?;
    let bundle = eng.bundle_dir(&rec.id);
    fs::create_dir_all(&bundle).with_context(|| format!("create {}", bundle.display()))?;
    let path = bundle.join("config.json");
    fs::write(&path, serde_json::to_vec_pretty(&spec)?)
        .with_context(|| format!("write {}", path.display()))?;
    Ok(())
}

/// After the container ended (or was found dead): the runtime's state and cgroup, the
/// networks, the netns and the root mount go; the record says exited with `exit_code`.
/// Every step is tried; the first error is returned. The attachments are read from the record
/// under the container's network lock, held until the record no longer lists them, so networks
/// connected while the container ran are deleted too and none can be connected meanwhile.
pub fn teardown(
    eng: &Engine<'_>,
    id: &str,
    exit_code: Option<i32>,
) -> anyhow::Result<ContainerRecord> {
    let mut first: Option<anyhow::Error> = None;
    let rt = eng.runtime();
    if rt.load(id).is_ok() {
        if let Err(e) = rt.delete(id, true) {
            first.get_or_insert(e.into());
        }
    }
    let _net_lock = eng.containers.lock_networks(id)?;
    let rec = eng.containers.load(id)?;
    let attachments: Vec<_> = rec.network_settings.networks.clone().into_iter().collect();
    if let Some(e) = net::disconnect(&eng.net(), id, &attachments) {
        first.get_or_insert(e);
    }
    emit_network_events(eng, id, &attachments, "disconnect");
    if let Some(e) = net::collect_leftovers(&eng.net(), id) {
        first.get_or_insert(e);
    }
    if let Err(e) = RwLayerId::new(id)
        .map_err(Into::into)
        .and_then(|rw| eng.store.unmount_container_root(&rw))
    {
        first.get_or_insert(e.into());
    }
    let _ = fs::remove_dir_all(eng.bundle_dir(id));
    let rec = eng.containers.update(id, |r| {
        r.state.running = false;
        r.state.paused = false;
        r.state.pid = 0;
        r.state.shim_pid = 0;
        if r.state.status != Status::Created || exit_code.is_some() {
            r.state.status = Status::Exited;
        }
        if let Some(c) = exit_code {
            r.state.exit_code = c;
        }
        r.state.finished_at = crate::clock::now_rfc3339();
        r.network_settings.networks.clear();
        r.network_settings.sandbox_key.clear();
    })?;
    sync_dns(eng, false, attachments.iter().map(|(n, _)| n.as_str()));
    match first {
        Some(e) => Err(e),
        None => Ok(rec),
    }
}

/// A record that says running or paused while no shim watches it (the shim was killed, or the
/// machine rebooted and the run-root is empty) is torn down and marked exited (code 255 unless
/// known). Returns the current record.
pub fn reconcile(eng: &Engine<'_>, rec: ContainerRecord) -> ContainerRecord {
    if !matches!(rec.state.status, Status::Running | Status::Paused)
        || eng.containers.shim_alive(&rec.id)
    {
        return rec;
    }
    let rt = eng.runtime();
    if let Ok(c) = rt.load(&rec.id) {
        let _ = rt.kill(c.id.as_str(), nix::sys::signal::Signal::SIGKILL, true);
    }
    match teardown(eng, &rec.id, Some(255)) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(id = %rec.id, error = %format!("{e:#}"), "collecting a dead container's leftovers");
            eng.containers.load(&rec.id).unwrap_or(rec)
        }
    }
}

/// Sends `sig` to the container's init (logged as a `kill` event).
pub fn kill(
    eng: &Engine<'_>,
    rec: &ContainerRecord,
    sig: nix::sys::signal::Signal,
) -> anyhow::Result<()> {
    eng.runtime().kill(&rec.id, sig, false)?;
    let num = (sig as i32).to_string();
    super::events::emit(eng, rec, "kill", &[("signal", &num)]);
    Ok(())
}

/// Removes a stopped container: its writable layer, anonymous volumes (with `volumes`), its
/// record and logs. Leftover network state is collected first.
pub fn remove(eng: &Engine<'_>, rec: &ContainerRecord, volumes: bool) -> anyhow::Result<()> {
    if let Some(e) = net::collect_leftovers(&eng.net(), &rec.id) {
        tracing::warn!(error = %format!("{e:#}"), "collecting network leftovers");
    }
    let rw = RwLayerId::new(&rec.id)?;
    let _ = eng.store.unmount_container_root(&rw);
    eng.store
        .remove_container_root(&rw)
        .with_context(|| format!("remove the root of container {}", rec.short_id()))?;
    eng.containers.remove(&rec.id)?;
    super::events::emit(eng, rec, "destroy", &[]);
    if volumes {
        for mp in rec.mount_points.values().filter(|m| m.anonymous) {
            if let Err(e) = eng.store.volumes().remove(&mp.name, false, &|_| false) {
                tracing::warn!(volume = %mp.name, error = %e, "removing an anonymous volume");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_resolve_by_number_and_name() {
        let t = tempfile::tempdir().unwrap();
        fs::create_dir_all(t.path().join("etc")).unwrap();
        fs::write(
            t.path().join("etc/passwd"),
            "root:x:0:0::/root:/bin/sh\nwww:x:33:34::/:/bin/sh\n",
        )
        .unwrap();
        fs::write(t.path().join("etc/group"), "root:x:0:\nstaff:x:50:\n").unwrap();
        assert_eq!(resolve_user(t.path(), "").unwrap(), (0, 0));
        assert_eq!(resolve_user(t.path(), "www").unwrap(), (33, 34));
        assert_eq!(resolve_user(t.path(), "33").unwrap(), (33, 34));
        assert_eq!(resolve_user(t.path(), "1000:staff").unwrap(), (1000, 50));
        assert_eq!(resolve_user(t.path(), "5:6").unwrap(), (5, 6));
        assert!(resolve_user(t.path(), "nobody").is_err());
    }

    #[test]
    fn an_image_passwd_that_links_out_of_the_root_is_read_inside_it() {
        let host = tempfile::tempdir().unwrap();
        let host_passwd = host.path().join("passwd");
        fs::write(&host_passwd, "hostonly:x:4242:4242::/:/bin/sh\n").unwrap();
        let root = tempfile::tempdir().unwrap();
        fs::create_dir_all(root.path().join("etc")).unwrap();
        std::os::unix::fs::symlink(&host_passwd, root.path().join("etc/passwd")).unwrap();
        assert!(resolve_user(root.path(), "hostonly").is_err());
        // The same link resolved inside the root finds the image's file there.
        let inside = root.path().join(host_passwd.strip_prefix("/").unwrap());
        fs::create_dir_all(inside.parent().unwrap()).unwrap();
        fs::write(&inside, "imageuser:x:7:8::/:/bin/sh\n").unwrap();
        assert_eq!(resolve_user(root.path(), "imageuser").unwrap(), (7, 8));
        assert_eq!(resolve_user(root.path(), "7").unwrap(), (7, 8));
    }
}
