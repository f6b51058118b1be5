//! Volumes of the `local` driver with options, as `berth volume create -o` and `docker volume
//! create --opt` make them: the options are checked at create (unknown keys, a missing
//! `device`), kept in the volume's record and shown by inspect. Mounting the device happens
//! when a container first uses the volume (that needs root); here only the store, on a temp
//! dir. No root, no network:
//!
//!     cargo run -p berth-examples --example volume_options
#![allow(clippy::print_stdout)] // printing is what an example does

use std::collections::BTreeMap;

use berth_engine::volume::{VolumeName, VolumeStore};

fn opts(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
    kv.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn main() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let store = VolumeStore::open(root.path())?;
    let tmpfs = opts(&[
        ("type", "tmpfs"),
        ("device", "tmpfs"),
        ("o", "size=64m,mode=0750"),
    ]);
    let v = store.create_with(Some(&VolumeName::new("scratch")?), BTreeMap::new(), tmpfs)?;
    println!(
        "{} at {} with {:?}",
        v.name,
        v.mountpoint.display(),
        v.options
    );
    let bind = opts(&[("type", "none"), ("o", "bind"), ("device", "/srv/data")]);
    let v = store.create_with(Some(&VolumeName::new("data")?), BTreeMap::new(), bind)?;
    println!("{} binds {}", v.name, v.options["device"]);
    for bad in [opts(&[("size", "1g")]), opts(&[("type", "tmpfs")])] {
        match store.create_with(Some(&VolumeName::new("bad")?), BTreeMap::new(), bad) {
            Ok(v) => anyhow::bail!("{} was made with bad options", v.name),
            Err(e) => println!("refused: {e}"),
        }
    }
    let names: Vec<String> = store.list()?.into_iter().map(|v| v.name).collect();
    println!("volumes: {names:?}");
    Ok(())
}
