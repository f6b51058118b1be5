//! cni-bench: berth's CNI plugins against the reference plugins, in one run, on the same configs.
//!
//! Everything happens inside a throwaway host namespace (the machine's own network is never
//! touched). For each case it times ADD and DEL of fresh containers, alternating reference and
//! berth, then has `--scale` containers join one bridge and reports the time of the first and
//! the last ADDs. Prints a markdown report on stdout.
//!
//! Usage: cni-bench [--suite plugins|firewall|all] [--runs N] [--scale N] [--trials N]
//!                  [--on-disk] [--ref-dir DIR] [--berth-dir DIR]
//!
//! The scale phases run `--trials` times (default 3), reference and berth alternating, each on
//! a fresh network; the report has a row per trial and the median ratio. The world (netns
//! files, IPAM data) is on a private tmpfs unless `--on-disk` (see `berth_bench::world`).
//!
//! berth's plugins come from `target/plugins` by default, where `scripts/build-plugins.sh` puts
//! the shipped (static) build; `--berth-dir target/release` times the plain cargo build.
#![allow(clippy::print_stdout)] // the report is this program's output

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use berth_bench::cni_run::{Chain, PluginCall};
use berth_bench::settle::quiet;
use berth_bench::stats::{median, median_f64, ms, ratio};
use berth_bench::world::World;
use berth_core::netns::Netns;
use serde_json::{Value, json};

struct Opts {
    suite: String,
    runs: usize,
    scale: usize,
    trials: usize,
    on_disk: bool,
    ref_dir: PathBuf,
    berth_dir: PathBuf,
}

fn parse_opts() -> anyhow::Result<Opts> {
    let mut o = Opts {
        suite: "all".into(),
        runs: 30,
        scale: 1000,
        trials: 3,
        on_disk: false,
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
            "--trials" => o.trials = val()?.parse()?,
            "--on-disk" => o.on_disk = true,
            "--ref-dir" => o.ref_dir = val()?.into(),
            "--berth-dir" => o.berth_dir = val()?.into(),
            other => anyhow::bail!("unknown flag {other}"),
        }
    }
    // Each trial gets its own /20 of a /16.
    if !(1..=16).contains(&o.trials) {
        anyhow::bail!("--trials takes 1 to 16");
    }
    o.berth_dir = std::fs::canonicalize(&o.berth_dir).with_context(|| {
        format!(
            "berth plugin dir {}: run scripts/build-plugins.sh, or pass --berth-dir",
            o.berth_dir.display()
        )
    })?;
    Ok(o)
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

/// A scale phase's bridge config: a network, bridge and /20 of its own per trial, so no trial
/// starts from another's leftovers.
fn scale_bridge_conf(world: &World, name: &str, bridge: &str, octet: usize, trial: usize) -> Value {
    bridge_conf(
        world,
        &format!("{name}{trial}"),
        &format!("{bridge}{trial}"),
        &format!("10.{octet}.{}.0/20", trial * 16),
    )
}

fn scale_bridge(
    world: &World,
    dir: &Path,
    name: &str,
    bridge: &str,
    octet: usize,
    trial: usize,
) -> Chain {
    chain(
        dir,
        &[(
            "bridge",
            scale_bridge_conf(world, name, bridge, octet, trial),
        )],
        0,
    )
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

/// Prints one trial's row and returns its last / first ratio.
fn report_scale(name: &str, trial: usize, times: &[Duration]) -> f64 {
    let k = times.len().min(10);
    let first = median(&times[..k]);
    let last = median(&times[times.len() - k..]);
    if std::env::var_os("CNI_BENCH_SHAPE").is_some() {
        let shape: Vec<String> = (0..times.len())
            .step_by(100)
            .map(|i| ms(median(&times[i..(i + k).min(times.len())])))
            .collect();
        eprintln!("{name} #{trial}: every 100th: {}", shape.join(" "));
        let tail: Vec<String> = times[times.len().saturating_sub(30)..]
            .iter()
            .map(|t| ms(*t))
            .collect();
        eprintln!("{name} #{trial}: last 30: {}", tail.join(" "));
    }
    println!(
        "| {name} | {trial} | {} | {} | {} |",
        ms(first),
        ms(last),
        ratio(last, first)
    );
    last.as_secs_f64() / first.as_secs_f64().max(f64::MIN_POSITIVE)
}

/// Waits for the kernel to finish the last phase's teardown (see `berth_bench::settle`); says so
/// on stderr when the machine stays busy.
fn settle() -> anyhow::Result<()> {
    let limit = Duration::from_secs(120);
    match quiet(Duration::from_millis(500), 2, limit)? {
        Some(waited) => eprintln!(
            "cni-bench: machine quiet after {:.1} s",
            waited.as_secs_f64()
        ),
        None => eprintln!("cni-bench: WARNING: the machine was still busy after {limit:?}"),
    }
    Ok(())
}

/// One network per implementation and trial (`make(trial)`), each joined by `o.scale`
/// containers in turn, the implementations alternating within a trial; a row per trial, then
/// each implementation's median ratio over the trials.
fn scale_trials(
    o: &Opts,
    world: &World,
    ports: usize,
    impls: &[(&str, &dyn Fn(usize) -> Chain)],
) -> anyhow::Result<()> {
    println!("| implementation | trial | first ADDs | last ADDs | last / first |");
    println!("|---|---|---|---|---|");
    let mut ratios = vec![Vec::new(); impls.len()];
    for trial in 0..o.trials {
        for (i, (name, make)) in impls.iter().enumerate() {
            settle()?;
            let times = scale(world, &make(trial), o.scale, ports)?;
            ratios[i].push(report_scale(name, trial + 1, &times));
        }
    }
    if o.trials > 1 {
        for ((name, _), r) in impls.iter().zip(&ratios) {
            println!(
                "| {name} | median of {} | | | {:.2} |",
                o.trials,
                median_f64(r)
            );
        }
    }
    Ok(())
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
        "\n### {} containers join one bridge, {} trial(s) (ms; median of the first and last 10 ADDs)\n",
        o.scale, o.trials
    );
    scale_trials(
        o,
        world,
        0,
        &[
            ("reference bridge + host-local", &|t| {
                scale_bridge(world, &o.ref_dir, "refscale", "br-refs", 204, t)
            }),
            ("berth bridge + host-local", &|t| {
                scale_bridge(world, &o.berth_dir, "berthscale", "br-berths", 205, t)
            }),
        ],
    )?;
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
        "\n### {} containers with 10 published ports each join one network, {} trial(s) (ms; median of the first and last 10 ADDs)\n",
        o.scale, o.trials
    );
    let big = |dir: &Path, name: &str, bridge: &str, octet: usize, trial: usize| {
        let br = masq(scale_bridge_conf(world, name, bridge, octet, trial));
        let name = format!("{name}{trial}");
        chain(dir, &[("bridge", br), ("portmap", portmap_conf(&name))], 10)
    };
    scale_trials(
        o,
        world,
        10,
        &[
            ("reference bridge + portmap", &|t| {
                big(&o.ref_dir, "refbig", "br-rbig", 240, t)
            }),
            ("berth bridge + portmap", &|t| {
                big(&o.berth_dir, "berthbig", "br-bbig", 241, t)
            }),
        ],
    )?;
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
    // Before any thread exists: the tmpfs world moves the process into a mount namespace.
    let world = if o.on_disk {
        World::on_disk()?
    } else {
        World::on_tmpfs()?
    };
    println!(
        "The bench world (netns files, IPAM data) is in {}.\n",
        world.describe()
    );
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
    world.close();
    res
}
