//! cni-bench: berth's CNI plugins against the reference plugins, in one run, on the same configs.
//!
//! Everything happens inside a throwaway host namespace (the machine's own network is never
//! touched). For each case it times ADD and DEL of fresh containers, alternating reference and
//! berth, then has `--scale` containers join one bridge and reports the time of the first and
//! the last ADDs. Prints a markdown report on stdout.
//!
//! Usage: cni-bench [--suite plugins|firewall|all] [--runs N] [--scale N] [--ref-dir DIR]
//!                  [--berth-dir DIR]
//!
//! berth's plugins come from `target/plugins` by default, where `scripts/build-plugins.sh` puts
//! the shipped (static) build; `--berth-dir target/release` times the plain cargo build.
#![allow(clippy::print_stdout)] // the report is this program's output

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use berth_bench::cni_run::{Chain, PluginCall};
use berth_bench::stats::{median, ms, ratio};
use berth_core::netns::Netns;
use serde_json::{Value, json};

struct Opts {
    suite: String,
    runs: usize,
    scale: usize,
    ref_dir: PathBuf,
    berth_dir: PathBuf,
}

fn parse_opts() -> anyhow::Result<Opts> {
    let mut o = Opts {
        suite: "all".into(),
        runs: 30,
        scale: 1000,
        ref_dir: "/usr/lib/cni".into(),
        berth_dir: "target/plugins".into(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().context("flag needs a value");
        match a.as_str() {
            "--runs" => o.runs = val()?.parse()?,
            "--suite" => o.suite = val()?,
            "--scale" => o.scale = val()?.parse()?,
            "--ref-dir" => o.ref_dir = val()?.into(),
            "--berth-dir" => o.berth_dir = val()?.into(),
            other => anyhow::bail!("unknown flag {other}"),
        }
    }
    o.berth_dir = std::fs::canonicalize(&o.berth_dir).with_context(|| {
        format!(
            "berth plugin dir {}: run scripts/build-plugins.sh, or pass --berth-dir",
            o.berth_dir.display()
        )
    })?;
    Ok(o)
}

/// A bench world: a temp dir, the host namespace, and a counter for unique names.
struct World {
    dir: tempfile::TempDir,
    next: std::sync::atomic::AtomicUsize,
}

impl World {
    fn netns_dir(&self) -> PathBuf {
        self.dir.path().join("netns")
    }

    fn new_container(&self) -> anyhow::Result<(String, Netns)> {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let id = format!("bench{n}");
        let ns = Netns::create_named(&self.netns_dir(), &id)?;
        Ok((id, ns))
    }

    fn remove_container(&self, id: &str) -> anyhow::Result<()> {
        Ok(Netns::remove_named(&self.netns_dir(), id)?)
    }

    fn data_dir(&self, name: &str) -> PathBuf {
        self.dir.path().join("ipam").join(name)
    }
}

fn ipam(world: &World, name: &str, subnet: &str) -> Value {
    json!({
        "type": "host-local",
        "ranges": [[{"subnet": subnet}]],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dataDir": world.data_dir(name),
    })
}

fn bridge_conf(world: &World, name: &str, bridge: &str, subnet: &str) -> Value {
    json!({
        "cniVersion": "1.0.0", "name": name, "type": "bridge", "bridge": bridge,
        "isGateway": true, "ipam": ipam(world, name, subnet),
    })
}

fn ptp_conf(world: &World, name: &str, plugin: &str, subnet: &str) -> Value {
    json!({
        "cniVersion": "1.0.0", "name": name, "type": plugin,
        "ipam": ipam(world, name, subnet),
    })
}

/// ADD then DEL of `runs` fresh containers per implementation, alternating.
fn add_del(
    world: &World,
    chains: &[&Chain],
    runs: usize,
) -> anyhow::Result<Vec<[Vec<Duration>; 2]>> {
    let mut out = vec![[Vec::new(), Vec::new()]; chains.len()];
    for _ in 0..runs {
        for (i, chain) in chains.iter().enumerate() {
            let (id, ns) = world.new_container()?;
            let (add, result) = chain.add(&id, ns.path())?;
            let del = chain.del(&id, ns.path(), &result)?;
            drop(ns);
            world.remove_container(&id)?;
            out[i][0].push(add);
            out[i][1].push(del);
        }
    }
    Ok(out)
}

/// `n` containers join one network; returns every ADD's time, then removes them all.
fn scale(world: &World, chain: &Chain, n: usize, ports: usize) -> anyhow::Result<Vec<Duration>> {
    let mut made = Vec::with_capacity(n);
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let (id, ns) = world.new_container()?;
        let mut chain = chain.clone();
        chain.maps = port_maps(10000 + i * ports, ports);
        let (t, result) = chain.add(&id, ns.path())?;
        times.push(t);
        made.push((id, ns.path().to_path_buf(), chain, result));
    }
    for (id, path, chain, result) in &made {
        chain.del(id, path, result)?;
        world.remove_container(id)?;
    }
    Ok(times)
}

/// `count` TCP mappings from host ports `first..` to container ports 80...
fn port_maps(first: usize, count: usize) -> Value {
    Value::Array(
        (0..count)
            .map(|i| json!({"hostPort": first + i, "containerPort": 80 + i, "protocol": "tcp"}))
            .collect(),
    )
}

fn report_pair(name: &str, reference: &[Vec<Duration>; 2], berth: &[Vec<Duration>; 2]) {
    let (ra, rd) = (median(&reference[0]), median(&reference[1]));
    let (ba, bd) = (median(&berth[0]), median(&berth[1]));
    println!(
        "| {name} | {} | {} | {} | {} | {} | {} |",
        ms(ra),
        ms(ba),
        ratio(ba, ra),
        ms(rd),
        ms(bd),
        ratio(bd, rd)
    );
}

fn report_scale(name: &str, times: &[Duration]) {
    let k = times.len().min(10);
    let first = median(&times[..k]);
    let last = median(&times[times.len() - k..]);
    if std::env::var_os("CNI_BENCH_SHAPE").is_some() {
        let shape: Vec<String> = (0..times.len())
            .step_by(100)
            .map(|i| ms(median(&times[i..(i + k).min(times.len())])))
            .collect();
        eprintln!("{name}: every 100th: {}", shape.join(" "));
        let tail: Vec<String> = times[times.len().saturating_sub(30)..]
            .iter()
            .map(|t| ms(*t))
            .collect();
        eprintln!("{name}: last 30: {}", tail.join(" "));
    }
    println!(
        "| {name} | {} | {} | {} | {} |",
        times.len(),
        ms(first),
        ms(last),
        ratio(last, first)
    );
}

fn chain(dir: &Path, plugins: &[(&str, Value)], ports: usize) -> Chain {
    Chain {
        plugins: plugins
            .iter()
            .map(|(plugin, config)| PluginCall {
                dir: dir.to_path_buf(),
                plugin: (*plugin).into(),
                config: config.clone(),
            })
            .collect(),
        maps: port_maps(30000, ports),
    }
}

fn portmap_conf(name: &str) -> Value {
    json!({"cniVersion": "1.0.0", "name": name, "type": "portmap",
           "capabilities": {"portMappings": true}})
}

fn masq(mut conf: Value) -> Value {
    conf["ipMasq"] = json!(true);
    conf
}

fn run_plugins(o: &Opts, world: &World) -> anyhow::Result<()> {
    let single = |dir: &Path, plugin: &str, config: Value| chain(dir, &[(plugin, config)], 0);
    println!(
        "### ADD and DEL of one container (median of {} runs, ms)\n",
        o.runs
    );
    println!("| case | reference ADD | berth ADD | ratio | reference DEL | berth DEL | ratio |");
    println!("|---|---|---|---|---|---|---|");
    let ref_br = single(
        &o.ref_dir,
        "bridge",
        bridge_conf(world, "refbr", "br-ref", "10.200.0.0/16"),
    );
    let berth_br = single(
        &o.berth_dir,
        "bridge",
        bridge_conf(world, "berthbr", "br-berth", "10.201.0.0/16"),
    );
    let r = add_del(world, &[&ref_br, &berth_br], o.runs)?;
    report_pair("bridge + host-local", &r[0], &r[1]);
    let ref_ptp = single(
        &o.ref_dir,
        "ptp",
        ptp_conf(world, "refptp", "ptp", "10.202.0.0/16"),
    );
    let berth_veth = single(
        &o.berth_dir,
        "veth",
        ptp_conf(world, "berthveth", "veth", "10.203.0.0/16"),
    );
    let r = add_del(world, &[&ref_ptp, &berth_veth], o.runs)?;
    report_pair("ptp (reference) / veth (berth) + host-local", &r[0], &r[1]);

    println!(
        "\n### {} containers join one bridge (ms; median of the first and last 10 ADDs)\n",
        o.scale
    );
    println!("| implementation | containers | first ADDs | last ADDs | last / first |");
    println!("|---|---|---|---|---|");
    let ref_scale = single(
        &o.ref_dir,
        "bridge",
        bridge_conf(world, "refscale", "br-refs", "10.204.0.0/16"),
    );
    report_scale(
        "reference bridge + host-local",
        &scale(world, &ref_scale, o.scale, 0)?,
    );
    let berth_scale = single(
        &o.berth_dir,
        "bridge",
        bridge_conf(world, "berthscale", "br-berths", "10.205.0.0/16"),
    );
    report_scale(
        "berth bridge + host-local",
        &scale(world, &berth_scale, o.scale, 0)?,
    );
    Ok(())
}

fn run_firewall(o: &Opts, world: &World) -> anyhow::Result<()> {
    let fw_chain = |dir: &Path, name: &str, bridge: &str, subnet: &str, ports: usize| {
        let br = masq(bridge_conf(world, name, bridge, subnet));
        chain(
            dir,
            &[("bridge", br), ("portmap", portmap_conf(name))],
            ports,
        )
    };
    println!(
        "\n### bridge (ipMasq) + portmap: ADD and DEL of one container (median of {} runs, ms)\n",
        o.runs
    );
    println!(
        "| case | reference ADD | berth ADD | ratio | reference DEL | berth DEL | ratio | ADD+DEL ratio |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for ports in [1, 10] {
        let r = fw_chain(
            &o.ref_dir,
            &format!("reffw{ports}"),
            &format!("br-rf{ports}"),
            &format!("10.{}.0.0/16", 210 + ports),
            ports,
        );
        let b = fw_chain(
            &o.berth_dir,
            &format!("berthfw{ports}"),
            &format!("br-bf{ports}"),
            &format!("10.{}.0.0/16", 230 + ports),
            ports,
        );
        let res = add_del(world, &[&r, &b], o.runs)?;
        report_fw(&format!("{ports} published port(s)"), &res[0], &res[1]);
    }
    println!(
        "\n### {} containers with 10 published ports each join one network (ms; median of the first and last 10 ADDs)\n",
        o.scale
    );
    println!("| implementation | containers | first ADDs | last ADDs | last / first |");
    println!("|---|---|---|---|---|");
    let r = fw_chain(&o.ref_dir, "refbig", "br-rbig", "10.240.0.0/16", 10);
    report_scale(
        "reference bridge + portmap",
        &scale(world, &r, o.scale, 10)?,
    );
    let b = fw_chain(&o.berth_dir, "berthbig", "br-bbig", "10.241.0.0/16", 10);
    report_scale("berth bridge + portmap", &scale(world, &b, o.scale, 10)?);
    Ok(())
}

fn report_fw(name: &str, reference: &[Vec<Duration>; 2], berth: &[Vec<Duration>; 2]) {
    let (ra, rd) = (median(&reference[0]), median(&reference[1]));
    let (ba, bd) = (median(&berth[0]), median(&berth[1]));
    println!(
        "| {name} | {} | {} | {} | {} | {} | {} | {} |",
        ms(ra),
        ms(ba),
        ratio(ba, ra),
        ms(rd),
        ms(bd),
        ratio(bd, rd),
        ratio(ba + bd, ra + rd)
    );
}

fn run(o: &Opts, world: &World) -> anyhow::Result<()> {
    println!(
        "Reference plugins from `{}`, berth's from `{}`.\n",
        o.ref_dir.display(),
        o.berth_dir.display()
    );
    if o.suite != "firewall" {
        run_plugins(o, world)?;
    }
    if o.suite != "plugins" {
        run_firewall(o, world)?;
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let o = parse_opts()?;
    let world = World {
        dir: tempfile::Builder::new().prefix("berth-bench").tempdir()?,
        next: std::sync::atomic::AtomicUsize::new(0),
    };
    let host = Netns::create_named(&world.netns_dir(), "bench-host")?;
    // Every plugin process is spawned from this thread, so it runs in the bench host netns.
    let res = host.run_in(|| {
        let lo_up = std::process::Command::new("ip")
            .args(["link", "set", "lo", "up"])
            .status();
        if !lo_up.is_ok_and(|s| s.success()) {
            anyhow::bail!("could not bring lo up in the bench host netns");
        }
        run(&o, &world)
    })?;
    drop(host);
    Netns::remove_named(&world.netns_dir(), "bench-host")?;
    // create_named made the netns dir a (shared) mount point of its own; undo it so the temp
    // dir can go.
    let _ = nix::mount::umount2(&world.netns_dir(), nix::mount::MntFlags::MNT_DETACH);
    res
}
