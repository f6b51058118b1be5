//! The overlay driver's part of the network commands: the network's record in the store
//! (`net create --driver overlay`, `net rm --cluster`), and this host's local definition of
//! it, which `berth run --network` uses (written by `net create` and by the node agent when it
//! joins a network created elsewhere).

use anyhow::Context;
use berth_engine::network::{CreateRequest, Driver, NetworkError};
use berth_overlay::{NetworkSpec as OverlaySpec, Store, StoreOptions};
use ipnetwork::Ipv4Network;

use crate::Ctx;

/// Where the node agent leaves this host's leases: `<run root>/overlay`.
pub fn state_dir(ctx: &Ctx) -> std::path::PathBuf {
    ctx.run_root.join("overlay")
}

/// The slice size for a subnet when `--opt slice` is not given: /24 slices of anything
/// larger, else a quarter of it.
fn default_slice(subnet: &Ipv4Network) -> u8 {
    if subnet.prefix() < 24 {
        24
    } else {
        (subnet.prefix() + 2).min(30)
    }
}

/// A VNI no other network in the store uses: from the name's hash, then the next free one.
fn pick_vni(name: &str, taken: &[u32]) -> u32 {
    use std::hash::{Hash, Hasher};
    const FIRST: u32 = 4096;
    const SPAN: u32 = (1 << 24) - FIRST;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    name.hash(&mut h);
    let start = (h.finish() % u64::from(SPAN)) as u32;
    (0..SPAN)
        .map(|i| FIRST + (start + i) % SPAN)
        .find(|v| !taken.contains(v))
        .unwrap_or(FIRST)
}

/// Records the network in the store (or finds it recorded with the same settings).
pub fn create_in_store(
    store: &StoreOptions,
    name: &str,
    subnet: &str,
    options: &std::collections::BTreeMap<String, String>,
) -> anyhow::Result<OverlaySpec> {
    let subnet: Ipv4Network = subnet
        .parse()
        .with_context(|| format!("--subnet {subnet:?} is not an IPv4 CIDR"))?;
    let number = |key: &str| -> anyhow::Result<Option<u32>> {
        options
            .get(key)
            .map(|v| {
                v.parse()
                    .with_context(|| format!("--opt {key}={v}: not a number"))
            })
            .transpose()
    };
    let vni = number("vni")?;
    let slice = number("slice")?;
    let slice_prefix = match slice {
        Some(s) => u8::try_from(s).context("--opt slice: not a prefix length")?,
        None => default_slice(&subnet),
    };
    berth_overlay::block_on(async {
        let mut s = Store::connect(store).await?;
        if let Some(existing) = s.network(name).await? {
            let same = existing.subnet == subnet
                && vni.is_none_or(|v| v == existing.vni)
                && slice.is_none_or(|_| slice_prefix == existing.slice_prefix);
            anyhow::ensure!(
                same,
                "overlay network {name} exists in the store with subnet {} and VNI {}",
                existing.subnet,
                existing.vni
            );
            return Ok(existing);
        }
        let others = s.networks().await?;
        if let Some(o) = others.iter().find(|o| {
            o.name != name && (o.subnet.overlaps(subnet) || vni.is_some_and(|v| v == o.vni))
        }) {
            anyhow::bail!(
                "overlay network {} in the store already uses subnet {} / VNI {}",
                o.name,
                o.subnet,
                o.vni
            );
        }
        let taken: Vec<u32> = others.iter().map(|o| o.vni).collect();
        let spec = OverlaySpec {
            name: name.to_owned(),
            subnet,
            vni: vni.unwrap_or_else(|| pick_vni(name, &taken)),
            slice_prefix,
        };
        Ok(s.create_network(&spec).await?)
    })?
}

/// Removes the network's record from the store: every joined agent leaves it.
pub fn remove_from_store(store: &StoreOptions, name: &str) -> anyhow::Result<bool> {
    berth_overlay::block_on(async {
        let mut s = Store::connect(store).await?;
        Ok::<_, anyhow::Error>(s.delete_network(name).await?)
    })?
}

/// This host's definition of `net` (what `berth run --network` reads); Ok when it exists
/// with the same subnet.
pub fn ensure_local(ctx: &Ctx, net: &OverlaySpec) -> anyhow::Result<()> {
    let store = ctx.networks();
    if let Ok(local) = store.get(&net.name) {
        let same = local.spec.as_ref().is_some_and(|s| {
            s.driver == Driver::Overlay
                && s.subnets
                    .iter()
                    .any(|x| x.subnet == ipnetwork::IpNetwork::V4(net.subnet))
        });
        anyhow::ensure!(
            same,
            "network {} exists on this host and is not overlay network {} ({})",
            net.name,
            net.name,
            net.subnet
        );
        return Ok(());
    }
    let mut options = std::collections::BTreeMap::new();
    options.insert("vni".to_owned(), net.vni.to_string());
    options.insert("slice".to_owned(), net.slice_prefix.to_string());
    let req = CreateRequest {
        driver: Driver::Overlay,
        subnets: vec![net.subnet.to_string()],
        options,
        overlay_state_dir: Some(state_dir(ctx)),
        ..CreateRequest::bridge(&net.name, &[])
    };
    match store.create(req, &ctx.lock_dir(), std::path::Path::new("/proc")) {
        Ok(_) | Err(NetworkError::Exists { .. }) => Ok(()),
        Err(e) => Err(e).with_context(|| format!("define overlay network {} here", net.name)),
    }
}
