//! Storage benchmark driver for bench/storage/run.sh (needs root for overlay mounts).
//!
//! `storage_bench mkimage OUT.tar LAYER.tar...`: builds a docker-save archive of one image
//! with those layers. `storage_bench load ROOT ARCHIVE`: prints `store_ms unpack_ms
//! rehash_ms`: loading the archive into a fresh store (every blob hashed and verified), then
//! unpacking its layers as `berth load` does (no second hash of the bytes just verified), then,
//! after deleting the unpacked layers, unpacking them again from the stored blobs with the
//! diff ids re-checked in the same pass (`LayerCheck::Rehash`, as a later lazy unpack does).
//! `storage_bench mount ROOT LAYERS ITERS`: prints the median milliseconds of one mount and of
//! create+mount of a container root over an image with LAYERS layers.
#![allow(clippy::print_stdout)] // the benchmark's figures are its output

use std::collections::HashSet;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use berth_engine::image::{ImageOptions, ImageRef, ImageStore};
use berth_engine::storage::{DriverKind, LayerCheck, RwLayerId};
use berth_engine::store::Store;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["mkimage", out, ref layers @ ..] => mkimage(Path::new(out), layers),
        ["load", root, archive] => load(Path::new(root), Path::new(archive)),
        ["mount", root, layers, iters] => mount(Path::new(root), layers.parse()?, iters.parse()?),
        _ => bail!(
            "usage: storage_bench mkimage OUT LAYER... | load ROOT ARCHIVE | mount ROOT LAYERS ITERS"
        ),
    }
}

fn mkimage(out: &Path, layers: &[&str]) -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let store = ImageStore::open(tmp.path())?;
    let mut id = None;
    for (i, l) in layers.iter().enumerate() {
        let f = BufReader::new(File::open(l).with_context(|| format!("open {l}"))?);
        let layer = store.put_layer(Box::new(f), None)?;
        let last = i + 1 == layers.len();
        let reference = last.then(|| ImageRef::parse("bench:big")).transpose()?;
        id = Some(store.create_image(
            id.as_ref(),
            &layer,
            &ImageOptions {
                reference,
                ..Default::default()
            },
        )?);
    }
    store.save(&["bench:big"], File::create(out)?)?;
    Ok(())
}

fn load(root: &Path, archive: &Path) -> Result<()> {
    let store = Store::open(root, DriverKind::Overlay)?;
    let t = Instant::now();
    let loaded = store.images().load(BufReader::new(File::open(archive)?))?;
    let store_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    for l in &loaded {
        store.unpack_with(&l.id, LayerCheck::Ingested)?;
    }
    let unpack_ms = t.elapsed().as_secs_f64() * 1e3;
    let removed = store.layers().remove_unused(&HashSet::new())?;
    anyhow::ensure!(!removed.is_empty(), "no layers to unpack again");
    let t = Instant::now();
    for l in &loaded {
        store.unpack_with(&l.id, LayerCheck::Rehash)?;
    }
    let rehash_ms = t.elapsed().as_secs_f64() * 1e3;
    println!("{store_ms:.1} {unpack_ms:.1} {rehash_ms:.1}");
    Ok(())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn mount(root: &Path, layers: usize, iters: usize) -> Result<()> {
    let store = Store::open(root, DriverKind::Overlay)?;
    let images = store.images();
    let mut id = None;
    for i in 0..layers {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(8);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        b.append_data(&mut h, format!("layer{i}"), &b"content\n"[..])?;
        let layer = images.put_layer(Box::new(std::io::Cursor::new(b.into_inner()?)), None)?;
        id = Some(images.create_image(id.as_ref(), &layer, &ImageOptions::default())?);
    }
    let id = id.context("no layers")?;
    images.tag(id.as_str(), &ImageRef::parse("stack")?)?;
    store.unpack(&id)?;
    let (mut mounts, mut creates) = (Vec::new(), Vec::new());
    for i in 0..iters {
        let c = RwLayerId::new(&format!("c{i}"))?;
        let t = Instant::now();
        store.create_container_root(&c, "stack")?;
        let t_mount = Instant::now();
        let merged = store.mount_container_root(&c)?;
        let done = Instant::now();
        anyhow::ensure!(merged.join("layer0").exists(), "mount shows no base layer");
        mounts.push((done - t_mount).as_secs_f64() * 1e3);
        creates.push((done - t).as_secs_f64() * 1e3);
        store.remove_container_root(&c)?;
    }
    println!("{:.3} {:.3}", median(mounts), median(creates));
    Ok(())
}
