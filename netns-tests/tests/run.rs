//! Root tests of `berth run` and the container commands, each in its own world: the berth CLI
//! runs inside a throwaway test host netns (bridges, nft rules and container veths live
//! there), with temp roots, and a busybox image made from the machine's static busybox.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

#[path = "containers/mod.rs"]
mod containers;
#[path = "cli_net/fixture.rs"]
mod fixture;

use std::process::Stdio;
use std::time::{Duration, Instant};

use berth_netns_tests::TestNetns;
use containers::{Cleanup, berth_cgroups, berth_with_busybox, code, ip_of, traces};
use fixture::Berth;

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn two_containers_on_one_network_reach_each_other() {
    let b = Berth::with_busybox("run-two");
    let _c = Cleanup(&b);
    b.ok(&["net", "create", "--subnet", "10.91.0.0/24", "web"]);
    b.ok(&[
        "run",
        "-d",
        "--name",
        "srv",
        "--network",
        "web",
        "bb",
        "httpd",
        "-f",
        "-p",
        "80",
        "-h",
        "/www",
    ]);
    let ip = ip_of(&b, "srv");
    assert!(ip.starts_with("10.91.0."), "{ip}");
    let out = b.ok(&[
        "run",
        "--rm",
        "--network",
        "web",
        "bb",
        "wget",
        "-qO-",
        &format!("http://{ip}/index.html"),
    ]);
    assert_eq!(out, "served by berth\n");
    let ping = b.run(&[
        "run",
        "--rm",
        "--network",
        "web",
        "bb",
        "ping",
        "-c",
        "1",
        "-W",
        "2",
        &ip,
    ]);
    assert_eq!(code(&ping), 0, "{}", String::from_utf8_lossy(&ping.stderr));
    // lo is up in a container on a bridge network: its server answers on 127.0.0.1.
    let local = b.ok(&["exec", "srv", "wget", "-qO-", "http://127.0.0.1/index.html"]);
    assert_eq!(local, "served by berth\n");
    // The container's /etc/hosts names it; its hostname is the short id.
    let hosts = b.ok(&["exec", "srv", "cat", "/etc/hosts"]);
    assert!(
        hosts.contains(&format!("{ip}\t")) && hosts.contains(" srv"),
        "{hosts}"
    );
    let id = b.ok(&["inspect", "srv"]);
    let hostname = b.ok(&["exec", "srv", "hostname"]);
    assert!(
        id.contains(hostname.trim()) && hostname.trim().len() == 12,
        "{hostname}"
    );
    // --network none: loopback only.
    let none = b.ok(&["run", "--rm", "--network", "none", "bb", "ip", "-o", "link"]);
    assert!(none.contains("lo") && !none.contains("eth0"), "{none}");
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn published_port_serves_httpd_to_an_outside_netns() {
    let b = Berth::with_busybox("run-pub");
    let _c = Cleanup(&b);
    let outside = TestNetns::new("run-pub-o");
    berth_netns_tests::veth_between(
        &b.host,
        "out0",
        "192.168.78.1/24".parse().unwrap(),
        &outside,
        "eth0",
        "192.168.78.2/24".parse().unwrap(),
    );
    b.ok(&[
        "run", "-d", "--name", "web", "-p", "8080:80", "bb", "httpd", "-f", "-p", "80", "-h",
        "/www",
    ]);
    let fetch = outside.run(
        "timeout",
        &["5", "busybox", "wget", "-qO-", "http://192.168.78.1:8080/"],
    );
    assert_eq!(
        String::from_utf8_lossy(&fetch.stdout),
        "served by berth\n",
        "{}",
        String::from_utf8_lossy(&fetch.stderr)
    );
    let ps = b.ok(&["ps"]);
    assert!(
        ps.contains("web") && ps.contains("8080:80") && ps.contains("Up"),
        "{ps}"
    );
    // The port is taken now: a second container asking for it fails with 125 and leaves nothing.
    let netns_before = std::fs::read_dir(b.run.path().join("netns"))
        .unwrap()
        .count();
    let taken = b.run(&[
        "run", "--rm", "--name", "second", "-p", "8080:80", "bb", "true",
    ]);
    assert_eq!(
        code(&taken),
        125,
        "{}",
        String::from_utf8_lossy(&taken.stderr)
    );
    assert_eq!(
        std::fs::read_dir(b.run.path().join("netns"))
            .unwrap()
            .count(),
        netns_before
    );
    assert!(
        b.fails(&["inspect", "second"])
            .contains("no such container")
    );
    b.ok(&["stop", "-t", "2", "web"]);
    let after = outside.run(
        "timeout",
        &["2", "busybox", "wget", "-qO-", "http://192.168.78.1:8080/"],
    );
    assert!(!after.status.success(), "still served after stop");
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn detached_then_logs_exec_stop_rm() {
    let b = Berth::with_busybox("run-life");
    let _c = Cleanup(&b);
    let id = b.ok(&[
        "run",
        "-d",
        "--name",
        "talk",
        "-e",
        "WHO=berth",
        "bb",
        "sh",
        "-c",
        "echo hello $WHO; echo oops >&2; trap 'exit 7' TERM; while true; do sleep 0.1; done",
    ]);
    let id = id.trim().to_string();
    assert_eq!(id.len(), 64);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let logs = b.run(&["logs", "talk"]);
        if String::from_utf8_lossy(&logs.stdout) == "hello berth\n" {
            assert_eq!(String::from_utf8_lossy(&logs.stderr), "oops\n");
            break;
        }
        assert!(Instant::now() < deadline, "no logs");
        std::thread::sleep(Duration::from_millis(100));
    }
    let json_log =
        std::fs::read_to_string(b.root.path().join(format!("containers/{id}/{id}-json.log")))
            .unwrap();
    assert!(
        json_log.contains(r#"{"log":"hello berth\n","stream":"stdout","time":""#),
        "{json_log}"
    );
    assert_eq!(
        b.ok(&["exec", &id[..10], "sh", "-c", "echo $WHO; exit 0"]),
        "berth\n"
    );
    assert_eq!(code(&b.run(&["exec", "talk", "sh", "-c", "exit 4"])), 4);
    assert_eq!(code(&b.run(&["exec", "talk", "nosuch"])), 127);
    let rm = b.run(&["rm", "talk"]);
    assert_ne!(code(&rm), 0, "rm of a running container must fail");
    b.ok(&["stop", "talk"]);
    assert_eq!(b.ok(&["wait", "talk"]).trim(), "7");
    assert!(b.ok(&["ps", "-a"]).contains("Exited (7)"));
    // start again: the same container runs a second time, then is removed.
    b.ok(&["start", "talk"]);
    assert!(b.ok(&["ps"]).contains("talk"));
    // restart: stopped (the TERM trap's code) and running again under a new pid.
    let pid_of = |b: &Berth| {
        let v: serde_json::Value = serde_json::from_str(&b.ok(&["inspect", "talk"])).unwrap();
        let v = if v.is_array() { v[0].clone() } else { v };
        (
            v["State"]["Pid"].as_i64().unwrap(),
            v["RestartCount"].as_u64().unwrap(),
        )
    };
    let (pid1, count1) = pid_of(&b);
    assert_eq!(b.ok(&["restart", "-t", "5", "talk"]).trim(), "talk");
    let (pid2, count2) = pid_of(&b);
    assert!(pid2 > 0 && pid2 != pid1, "{pid1} -> {pid2}");
    assert_eq!(count2, count1 + 1);
    assert!(b.ok(&["ps"]).contains("talk"));
    b.ok(&["rm", "-f", "talk"]);
    assert!(!b.ok(&["ps", "-a"]).contains("talk"));
    assert_eq!(
        b.fails(&["logs", "talk"]).trim(),
        "berth: no such container: talk"
    );
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn exit_codes_propagate_and_bad_input_is_125() {
    let b = Berth::with_busybox("run-codes");
    let _c = Cleanup(&b);
    assert_eq!(
        code(&b.run(&["run", "--rm", "bb", "sh", "-c", "exit 3"])),
        3
    );
    assert_eq!(code(&b.run(&["run", "--rm", "bb", "nosuchcommand"])), 127);
    assert_eq!(
        code(&b.run(&["run", "--rm", "bb", "/no/such/program"])),
        127
    );
    // A file that is there but not executable: permission denied, 126, as Docker.
    assert_eq!(code(&b.run(&["run", "--rm", "bb", "/www/index.html"])), 126);
    let out = b.run(&["run", "--rm", "bb", "sh", "-c", "echo out; echo err >&2"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "out\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "err\n");
    for (args, msg) in [
        (
            vec!["run", "--rm", "--pull", "never", "nosuchimage", "true"],
            "no such image",
        ),
        // Missing, so pulled first: from a registry (in this netns) that is not there.
        (
            vec!["run", "--rm", "127.0.0.1:9/nosuchimage", "true"],
            "Connection refused",
        ),
        (
            vec!["run", "--rm", "--network", "nosuchnet", "bb", "true"],
            "nosuchnet",
        ),
        (
            vec!["run", "--rm", "-p", "99999:80", "bb", "true"],
            "invalid port mapping",
        ),
        (
            vec!["run", "--rm", "-v", "relative:dir", "bb", "true"],
            "invalid volume spec",
        ),
        (
            vec!["run", "--rm", "-v", "/nonexistent/x:/x", "bb", "true"],
            "does not exist",
        ),
        (
            vec!["run", "--rm", "--cap-add", "BOGUS", "bb", "true"],
            "capability",
        ),
    ] {
        let o = b.run(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(code(&o), 125, "{args:?}: {err}");
        assert!(err.contains(msg), "{args:?}: {err}");
    }
    b.ok(&["run", "-d", "--name", "taken", "bb", "sleep", "100"]);
    let o = b.run(&["run", "--name", "taken", "bb", "true"]);
    assert_eq!(code(&o), 125);
    assert!(String::from_utf8_lossy(&o.stderr).contains("already in use"));
    // Nothing half-made: only the one container, one netns, no stray reservation.
    assert_eq!(b.ok(&["ps", "-aq"]).lines().count(), 1);
    assert_eq!(
        std::fs::read_dir(b.run.path().join("netns"))
            .unwrap()
            .count(),
        1
    );
    assert_eq!(b.reservations("bridge").len(), 1);
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn a_killed_cli_leaves_the_container_running() {
    let b = Berth::with_busybox("run-kill");
    let _c = Cleanup(&b);
    let mut child = b
        .command(&[
            "run",
            "--name",
            "fg",
            "bb",
            "sh",
            "-c",
            "echo up; sleep 1000",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !b.ok(&["ps"]).contains("fg") {
        assert!(Instant::now() < deadline, "container never ran");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert!(b.ok(&["ps"]).contains("Up"), "container died with its CLI");
    assert_eq!(b.ok(&["logs", "fg"]), "up\n");
    assert_eq!(b.ok(&["exec", "fg", "echo", "alive"]), "alive\n");
    b.ok(&["kill", "fg"]);
    assert_eq!(b.ok(&["wait", "fg"]).trim(), "137");
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn volumes_and_commit_work_through_run() {
    let b = Berth::with_busybox("run-vol");
    let _c = Cleanup(&b);
    b.ok(&[
        "run",
        "--rm",
        "-v",
        "data:/data",
        "bb",
        "sh",
        "-c",
        "echo kept > /data/f",
    ]);
    assert_eq!(
        b.ok(&["run", "--rm", "-v", "data:/data:ro", "bb", "cat", "/data/f"]),
        "kept\n"
    );
    let ro = b.run(&[
        "run",
        "--rm",
        "-v",
        "data:/data:ro",
        "bb",
        "sh",
        "-c",
        "echo x > /data/g",
    ]);
    assert_ne!(code(&ro), 0);
    let host_dir = tempfile::tempdir().unwrap();
    std::fs::write(host_dir.path().join("in"), "from host\n").unwrap();
    let bind = format!("{}:/h", host_dir.path().display());
    assert_eq!(
        b.ok(&["run", "--rm", "-v", &bind, "bb", "cat", "/h/in"]),
        "from host\n"
    );
    b.ok(&[
        "run",
        "--name",
        "builder",
        "bb",
        "sh",
        "-c",
        "echo baked > /baked",
    ]);
    b.ok(&["commit", "builder", "baked:v1"]);
    assert_eq!(
        b.ok(&["run", "--rm", "baked:v1", "cat", "/baked"]),
        "baked\n"
    );
    b.ok(&["rm", "builder"]);
}

/// `run --rm -p HOSTPORT:80` printing the container's hostname (its short id).
fn cycle(b: &Berth, host_port: u16) -> std::process::Command {
    let publish = format!("{host_port}:80");
    b.command(&[
        "run",
        "--rm",
        "-p",
        &publish,
        "bb",
        "sh",
        "-c",
        "echo $HOSTNAME",
    ])
}

/// Runs the commands one after another; returns their stdout, panicking on a failure.
fn run_all(cmds: Vec<std::process::Command>) -> Vec<String> {
    let mut ids = Vec::new();
    for (i, mut c) in cmds.into_iter().enumerate() {
        let out = c.output().unwrap();
        assert_eq!(
            code(&out),
            0,
            "cycle {i}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        ids.push(String::from_utf8_lossy(&out.stdout).trim().to_string());
    }
    ids
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn many_run_rm_cycles_with_a_published_port_leak_nothing() {
    let b = berth_with_busybox("run-many");
    let _c = Cleanup(&b);
    // The first run creates the bridge and the firewall's base chains.
    b.ok(&["run", "--rm", "bb", "true"]);
    let before = traces(&b);
    assert!(
        before.veths.is_empty() && before.netns_files == 0,
        "{before:?}"
    );
    let cycles = 200;
    let t = Instant::now();
    let mut ids = run_all((0..cycles).map(|_| cycle(&b, 8081)).collect());
    let sequential = t.elapsed();
    assert_eq!(traces(&b), before, "leaked by {cycles} sequential cycles");
    // Four loops at once, each publishing its own port, to shake out races.
    let (loops, per_loop) = (4, 25);
    let t = Instant::now();
    let batches: Vec<Vec<std::process::Command>> = (0..loops)
        .map(|l| (0..per_loop).map(|_| cycle(&b, 8090 + l)).collect())
        .collect();
    let handles: Vec<_> = batches
        .into_iter()
        .map(|cmds| std::thread::spawn(move || run_all(cmds)))
        .collect();
    for h in handles {
        ids.extend(h.join().unwrap());
    }
    let parallel = t.elapsed();
    eprintln!(
        "{cycles} sequential run --rm -p cycles: {sequential:?} ({:?} each); \
         {loops}x{per_loop} in parallel: {parallel:?}",
        sequential / cycles
    );
    assert_eq!(traces(&b), before, "leaked by the parallel cycles");
    for port in ["8081", "8090", "8091", "8092", "8093"] {
        assert!(!before.ruleset.contains(port), "{port}: {}", before.ruleset);
    }
    let total = cycles as usize + (loops * per_loop) as usize;
    let mut distinct = ids.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), total, "{ids:?}");
    assert!(ids.iter().all(|i| i.len() == 12), "{ids:?}");
    let cgroups = berth_cgroups(&ids);
    assert!(cgroups.is_empty(), "cgroups leaked: {cgroups:?}");
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn a_container_whose_shim_died_shows_exited_and_its_network_is_collected() {
    let b = Berth::with_busybox("run-lost");
    let _c = Cleanup(&b);
    b.ok(&[
        "run", "-d", "--name", "lost", "-p", "8082:80", "bb", "sleep", "1000",
    ]);
    let v = b.json(&["inspect", "lost"]);
    let shim = v[0]["State"]["ShimPid"].as_i64().unwrap();
    let pid = v[0]["State"]["Pid"].as_i64().unwrap();
    assert!(shim > 0 && pid > 0, "{v}");
    assert_eq!(b.reservations("bridge").len(), 1);
    // As after a crash or a reboot: nothing watches the container any more.
    for p in [shim, pid] {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(p as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    std::thread::sleep(Duration::from_millis(200));
    let ps = b.ok(&["ps", "-a"]);
    assert!(ps.contains("Exited (255)"), "{ps}");
    assert!(
        b.reservations("bridge").is_empty(),
        "reservation not collected"
    );
    assert!(b.cache_files().is_empty(), "cache not collected");
    assert!(!b.netns_path(v[0]["Id"].as_str().unwrap()).exists());
    assert!(!b.host.run_ok("nft", &["list", "ruleset"]).contains("8082"));
    // It can be started again.
    b.ok(&["start", "lost"]);
    assert!(b.ok(&["ps"]).contains("lost"));
}

/// Bytes of `name`'s log so far.
fn log_len(b: &Berth, name: &str) -> usize {
    b.ok(&["logs", name]).len()
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn pause_freezes_and_unpause_thaws_a_container() {
    let b = Berth::with_busybox("run-pause");
    let _c = Cleanup(&b);
    let tick = "while true; do echo tick; sleep 0.05; done";
    b.ok(&[
        "run",
        "-d",
        "--name",
        "p",
        "--network",
        "none",
        "bb",
        "sh",
        "-c",
        tick,
    ]);
    std::thread::sleep(Duration::from_millis(200));
    b.ok(&["pause", "p"]);
    assert!(b.ok(&["ps"]).contains("Up (Paused)"));
    assert!(b.fails(&["pause", "p"]).contains("paused"));
    std::thread::sleep(Duration::from_millis(100));
    let frozen = log_len(&b, "p");
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(log_len(&b, "p"), frozen, "output while paused");
    b.ok(&["unpause", "p"]);
    std::thread::sleep(Duration::from_millis(400));
    assert!(log_len(&b, "p") > frozen, "no output after unpause");
    assert!(b.fails(&["unpause", "p"]).contains("running"));
    // A paused container can still be removed.
    b.ok(&["pause", "p"]);
    b.ok(&["rm", "-f", "p"]);
    assert_eq!(b.ok(&["ps", "-aq"]), "");
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn top_and_stats_show_a_running_container() {
    let b = Berth::with_busybox("run-top");
    let _c = Cleanup(&b);
    b.ok(&[
        "run",
        "-d",
        "--name",
        "busy",
        "--network",
        "none",
        "--memory",
        "64m",
        "bb",
        "sh",
        "-c",
        "sleep 1000 & while true; do :; done",
    ]);
    let top = b.ok(&["top", "busy"]);
    assert!(top.contains("PID") && top.contains("sleep 1000"), "{top}");
    assert!(top.contains("sh -c"), "{top}");
    let table = b.ok(&["stats", "--no-stream"]);
    assert!(table.contains("CPU %") && table.contains("busy"), "{table}");
    let v = b.json(&["--format", "json", "stats", "--no-stream", "busy"]);
    let s = &v[0];
    assert_eq!(s["Name"], "busy", "{v}");
    assert_eq!(s["MemLimit"].as_u64().unwrap(), 64 << 20, "{v}");
    assert!(s["MemUsage"].as_u64().unwrap() > 0, "{v}");
    assert_eq!(s["PIDs"].as_u64().unwrap(), 2, "{v}");
    // The busy loop shows up (loosely: the test machine may be loaded).
    assert!(s["CPUPerc"].as_f64().unwrap() > 5.0, "{v}");
    b.ok(&["rm", "-f", "busy"]);
    assert!(b.fails(&["top", "busy"]).contains("busy"));
}
