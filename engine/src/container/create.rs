//! `berth create` (and the first half of `run`): everything is validated first (image, name,
//! networks, network aliases, ports, mounts, capabilities, user), then the record and the writable layer are
//! made, removing both again if the second fails. Networking is set up at start.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context as _;

use super::lifecycle::Engine;
use super::record::{
    ContainerRecord, ContainerState, HostConfig, MountPoint, RunConfig, StdioConfig,
};
use super::{ContainerError, init, net, spec};
use crate::storage::RwLayerId;
use crate::volume::MountSpec;

/// What `create`/`run` asks for.
#[derive(Debug, Clone, Default)]
pub struct CreateRequest {
    /// `--name`.
    pub name: Option<String>,
    /// The image name or id.
    pub image: String,
    /// CMD... after the image.
    pub cmd: Vec<String>,
    /// `--entrypoint`.
    pub entrypoint: Option<String>,
    /// `-e`, after `--env-file` entries.
    pub env: Vec<String>,
    /// `-v`.
    pub volumes: Vec<String>,
    /// `-w`.
    pub workdir: Option<String>,
    /// `-u`.
    pub user: Option<String>,
    /// `--hostname`.
    pub hostname: Option<String>,
    /// `--label`, over the image's labels.
    pub labels: BTreeMap<String, String>,
    /// Networks, ports, limits, security.
    pub host: HostConfig,
    /// `-i`, `-t`.
    pub stdio: StdioConfig,
}

/// argv from the image's Entrypoint/Cmd and the overrides, as Docker combines them: a
/// `--entrypoint` drops the image's Cmd; CMD... replaces it.
pub fn argv(
    image_entrypoint: &[String],
    image_cmd: &[String],
    entrypoint: Option<&str>,
    cmd: &[String],
) -> Vec<String> {
    let (ep, default_cmd): (Vec<String>, &[String]) = match entrypoint {
        Some("") => (Vec::new(), &[]),
        Some(e) => (vec![e.to_owned()], &[]),
        None => (image_entrypoint.to_vec(), image_cmd),
    };
    let mut out = ep;
    out.extend(if cmd.is_empty() {
        default_cmd.to_vec()
    } else {
        cmd.to_vec()
    });
    out
}

/// Merges `KEY=VALUE` lists; later keys replace earlier ones in place.
pub fn merge_env(base: &[String], extra: &[String]) -> Vec<String> {
    let mut out: Vec<String> = base.to_vec();
    for e in extra {
        let key = e.split('=').next().unwrap_or(e);
        match out.iter_mut().find(|o| o.split('=').next() == Some(key)) {
            Some(slot) => *slot = e.clone(),
            None => out.push(e.clone()),
        }
    }
    out
}

fn mounts_of(specs: &[MountSpec]) -> anyhow::Result<()> {
    for s in specs {
        if let MountSpec::Bind { host, .. } = s {
            if !host.exists() {
                anyhow::bail!("invalid -v: bind source {} does not exist", host.display());
            }
        }
    }
    Ok(())
}

/// Creates the container; returns its record.
pub fn create(eng: &Engine<'_>, req: &CreateRequest) -> anyhow::Result<ContainerRecord> {
    let images = eng.store.images();
    let image = images
        .record(&req.image)
        .with_context(|| format!("image {}", req.image))?;
    let config = images.config(&image.id)?;
    let ic = config.config().clone().unwrap_or_default();
    let specs: Vec<MountSpec> = req
        .volumes
        .iter()
        .map(|v| MountSpec::parse(v))
        .collect::<Result<_, _>>()?;
    mounts_of(&specs)?;
    let targets: Vec<String> = specs
        .iter()
        .map(|s| match s {
            MountSpec::Bind { target, .. }
            | MountSpec::Named { target, .. }
            | MountSpec::Anonymous { target } => target.display().to_string(),
        })
        .collect();
    super::tmpfs::validate(&req.host.tmpfs, &targets)?;
    super::dns::validate(&req.host)?;
    super::aliases::validate(&req.host)?;
    net::validate(&eng.networks, &req.host.networks, &req.host.port_bindings)?;
    spec::capabilities(&req.host)?;
    let host = with_init(&req.host)?;
    let args = argv(
        ic.entrypoint().as_deref().unwrap_or_default(),
        ic.cmd().as_deref().unwrap_or_default(),
        req.entrypoint.as_deref(),
        &req.cmd,
    );
    if args.is_empty() {
        return Err(ContainerError::BadArg {
            flag: "command",
            value: String::new(),
            reason: "the image has no Cmd or Entrypoint and none was given".into(),
        }
        .into());
    }
    let default_path =
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string();
    let mut env = ic
        .env()
        .clone()
        .unwrap_or_else(|| vec![default_path.clone()]);
    if !env.iter().any(|e| e.starts_with("PATH=")) {
        env.insert(0, default_path);
    }
    if req.stdio.tty && !env.iter().chain(&req.env).any(|e| e.starts_with("TERM=")) {
        env.push("TERM=xterm".into());
    }
    let run = RunConfig {
        image: req.image.clone(),
        hostname: req.hostname.clone().unwrap_or_default(),
        env: merge_env(&env, &req.env),
        cmd: args,
        working_dir: req
            .workdir
            .clone()
            .or_else(|| ic.working_dir().clone().filter(|w| !w.is_empty()))
            .unwrap_or_else(|| "/".into()),
        user: req
            .user
            .clone()
            .or_else(|| ic.user().clone())
            .unwrap_or_default(),
        labels: ic
            .labels()
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone()))
            .chain(req.labels.clone())
            .collect(),
        stdio: req.stdio,
    };
    let rec = eng
        .containers
        .create(req.name.as_deref(), |id, name| ContainerRecord {
            log_path: eng.containers.log_path(&id).display().to_string(),
            created: crate::clock::now_rfc3339(),
            image: image.id.to_string(),
            config: run,
            host_config: host,
            state: ContainerState::default(),
            id,
            name,
            ..Default::default()
        })?;
    match finish_create(eng, rec.clone(), &specs) {
        Ok(r) => {
            super::events::emit(eng, &r, "create", &[]);
            Ok(r)
        }
        Err(e) => {
            if let Ok(rw) = RwLayerId::new(&rec.id) {
                let _ = eng.store.remove_container_root(&rw);
            }
            let _ = eng.containers.remove(&rec.id);
            Err(e)
        }
    }
}

/// `host` with the init binary resolved for `--init` (before anything is made, so a missing
/// init leaves nothing behind).
fn with_init(host: &HostConfig) -> Result<HostConfig, ContainerError> {
    let mut host = host.clone();
    if host.init {
        let explicit = (!host.init_path.is_empty()).then(|| PathBuf::from(&host.init_path));
        host.init_path = init::find(explicit.as_deref(), init::CANDIDATES)?
            .display()
            .to_string();
    } else {
        host.init_path.clear();
    }
    Ok(host)
}

fn finish_create(
    eng: &Engine<'_>,
    mut rec: ContainerRecord,
    specs: &[MountSpec],
) -> anyhow::Result<ContainerRecord> {
    let rw = RwLayerId::new(&rec.id)?;
    eng.store.create_container_root(&rw, &rec.image)?;
    let mut points = BTreeMap::new();
    for s in specs {
        let (target, mp) = mount_point(eng, s)?;
        points.insert(target.display().to_string(), mp);
    }
    rec.mount_points = points;
    eng.containers.save(&rec)?;
    Ok(rec)
}

fn mount_point(eng: &Engine<'_>, s: &MountSpec) -> anyhow::Result<(PathBuf, MountPoint)> {
    Ok(match s {
        MountSpec::Bind {
            host,
            target,
            read_only,
        } => (
            target.clone(),
            MountPoint {
                kind: "bind".into(),
                source: host.display().to_string(),
                destination: target.display().to_string(),
                rw: !read_only,
                ..Default::default()
            },
        ),
        MountSpec::Named {
            name,
            target,
            read_only,
        } => {
            let v = eng.store.volumes().create(Some(name), BTreeMap::new())?;
            (target.clone(), volume_point(&v, target, !read_only, false))
        }
        MountSpec::Anonymous { target } => {
            let v = eng.store.volumes().create(None, BTreeMap::new())?;
            (target.clone(), volume_point(&v, target, true, true))
        }
    })
}

fn volume_point(
    v: &crate::volume::Volume,
    target: &std::path::Path,
    rw: bool,
    anonymous: bool,
) -> MountPoint {
    MountPoint {
        kind: "volume".into(),
        name: v.name.clone(),
        source: v.mountpoint.display().to_string(),
        destination: target.display().to_string(),
        rw,
        anonymous,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn argv_combines_like_docker() {
        let ep = v(&["/entry"]);
        let cmd = v(&["serve"]);
        assert_eq!(argv(&ep, &cmd, None, &[]), v(&["/entry", "serve"]));
        assert_eq!(argv(&ep, &cmd, None, &v(&["x"])), v(&["/entry", "x"]));
        assert_eq!(argv(&ep, &cmd, Some("sh"), &[]), v(&["sh"]));
        assert_eq!(argv(&[], &cmd, Some(""), &v(&["ls"])), v(&["ls"]));
        assert_eq!(argv(&[], &cmd, None, &[]), v(&["serve"]));
    }

    #[test]
    fn env_overrides_keep_order() {
        let e = merge_env(&v(&["PATH=/bin", "A=1"]), &v(&["A=2", "B=3"]));
        assert_eq!(e, v(&["PATH=/bin", "A=2", "B=3"]));
    }
}
