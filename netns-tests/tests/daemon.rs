//! Root tests of `berthd` driven by the stock docker CLI: each starts berthd inside its own
//! throwaway test host netns (bridges, nft rules and container veths live there) with temp
//! roots and a busybox image from the machine's static busybox, on a socket in a temp dir.
//! They also show one engine behind two front ends: `berth` and `docker` see and manage the
//! same containers.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

#[path = "daemon_common/mod.rs"]
mod common;
#[path = "containers/mod.rs"]
mod containers;
#[path = "cli_net/fixture.rs"]
mod fixture;

use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use berth_netns_tests::daemon::{Berthd, run_foreground};
use common::{berthd_bin, daemon, sock_of, stderr, stdout};
use containers::{Cleanup, code, wait_until};
use fixture::Berth;

/// `docker wait NAME` started before `act` prints `code` once `act` has stopped the container.
fn assert_wait_hears(d: &Berthd, name: &str, code: &str, act: impl FnOnce()) {
    let waiter = d
        .docker_cmd(&["wait", name])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    act();
    assert_eq!(stdout(&waiter.wait_with_output().unwrap()).trim(), code);
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn docker_loads_an_image_and_runs_containers_attached() {
    let b = Berth::with_busybox("dk-run");
    let _c = Cleanup(&b);
    let d = daemon(&b);
    let v = d.docker_ok(&["version"]);
    assert!(v.contains("Server: berth") && v.contains("1.41"), "{v}");
    let info = d.docker_ok(&[
        "info",
        "--format",
        "{{.Images}} {{.Containers}} {{.OSType}}",
    ]);
    assert_eq!(info.trim(), "1 0 linux");
    // A `berth save` archive, loaded through the API after the image is gone.
    let tar = b.root.path().join("saved.tar");
    b.ok(&["save", "-o", tar.to_str().unwrap(), "bb"]);
    b.ok(&["rmi", "bb"]);
    let loaded = d.docker_ok(&["load", "-i", tar.to_str().unwrap()]);
    assert!(loaded.contains("Loaded image: bb:latest"), "{loaded}");
    let images = d.docker_ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    assert_eq!(images.trim(), "bb:latest");
    assert!(b.ok(&["images"]).contains("bb"));
    let out = d.docker(&[
        "run",
        "--rm",
        "bb",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 3",
    ]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert_eq!(stdout(&out), "out\n");
    assert_eq!(stderr(&out), "err\n");
    let missing = d.docker(&["run", "--rm", "bb", "no-such-cmd"]);
    assert_eq!(code(&missing), 127, "{}", stderr(&missing));
    let mut cat = d.docker_cmd(&["run", "-i", "--rm", "bb", "cat"]);
    let mut child = cat
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"hi\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), "hi\n");
    // --rm: nothing is left once the CLI returns.
    assert_eq!(d.docker_ok(&["ps", "-aq"]), "");
    let bad = d.docker(&["run", "--rm", "nope:1"]);
    assert_ne!(code(&bad), 0);
    assert!(stderr(&bad).contains("nope:1"), "{}", stderr(&bad));
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn docker_serves_a_published_port_and_manages_the_container() {
    let b = Berth::with_busybox("dk-web");
    let _c = Cleanup(&b);
    let d = daemon(&b);
    let id = d.docker_ok(&[
        "run", "-d", "--name", "web", "-l", "app=web", "-p", "18080:80", "bb", "httpd", "-f", "-p",
        "80", "-h", "/www",
    ]);
    assert_eq!(id.trim().len(), 64, "{id}");
    let page = b.host.run(
        "timeout",
        &["5", "busybox", "wget", "-qO-", "http://127.0.0.1:18080/"],
    );
    assert_eq!(stdout(&page), "served by berth\n", "{}", stderr(&page));
    let ps = d.docker_ok(&[
        "ps",
        "--filter",
        "label=app=web",
        "--format",
        "{{.Names}} {{.Ports}} {{.Status}}",
    ]);
    assert!(ps.starts_with("web 0.0.0.0:18080->80/tcp Up"), "{ps}");
    assert_eq!(d.docker_ok(&["ps", "-q", "--filter", "status=exited"]), "");
    let state = d.docker_ok(&["inspect", "--format", "{{.State.Status}} {{.Name}}", "web"]);
    assert_eq!(state.trim(), "running /web");
    let ex = d.docker(&["exec", "web", "sh", "-c", "echo in; echo oops >&2; exit 4"]);
    assert_eq!(code(&ex), 4, "{}", stderr(&ex));
    assert_eq!(
        (stdout(&ex).as_str(), stderr(&ex).as_str()),
        ("in\n", "oops\n")
    );
    assert_eq!(
        d.docker_ok(&["exec", "web", "cat", "/www/index.html"]),
        "served by berth\n"
    );
    let short = &id.trim()[..12];
    let t = Instant::now();
    d.docker_ok(&["stop", "-t", "1", short]);
    assert!(t.elapsed() < Duration::from_secs(8), "{:?}", t.elapsed());
    let state = d.docker_ok(&[
        "inspect",
        "--format",
        "{{.State.Status}} {{.State.ExitCode}}",
        "/web",
    ]);
    assert_eq!(state.trim(), "exited 137");
    let exited = d.docker_ok(&["ps", "--filter", "status=exited", "--format", "{{.Names}}"]);
    assert_eq!(exited.trim(), "web");
    // Logs, and a follow that ends when the container does.
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "talk",
        "bb",
        "sh",
        "-c",
        "for i in 1 2 3; do echo out$i; echo err$i >&2; sleep 0.3; done",
    ]);
    let t = Instant::now();
    let f = d.docker(&["logs", "-f", "talk"]);
    assert_eq!(stdout(&f), "out1\nout2\nout3\n", "{}", stderr(&f));
    assert_eq!(stderr(&f), "err1\nerr2\nerr3\n");
    assert!(t.elapsed() < Duration::from_secs(10));
    assert_eq!(d.docker_ok(&["wait", "talk"]).trim(), "0");
    let tail = d.docker(&["logs", "--tail", "1", "talk"]);
    assert_eq!(
        (stdout(&tail).as_str(), stderr(&tail).as_str()),
        ("", "err3\n")
    );
    // kill, wait and rm.
    d.docker_ok(&["run", "-d", "--name", "sleeper", "bb", "sleep", "100"]);
    assert_wait_hears(&d, "sleeper", "137", || {
        d.docker_ok(&["kill", "sleeper"]);
    });
    let again = d.docker(&["kill", "sleeper"]);
    assert!(
        stderr(&again).contains("is not running"),
        "{}",
        stderr(&again)
    );
    d.docker_ok(&["run", "-d", "--name", "busy", "bb", "sleep", "100"]);
    let refused = d.docker(&["rm", "busy"]);
    assert!(
        stderr(&refused).contains("cannot remove a running container"),
        "{}",
        stderr(&refused)
    );
    d.docker_ok(&["rm", "-f", "busy", "sleeper", "talk", "web"]);
    assert_eq!(d.docker_ok(&["ps", "-aq"]), "");
    assert!(!b.ok(&["ps", "-a"]).contains("busy"));
    let gone = d.docker(&["inspect", "web"]);
    assert!(stderr(&gone).contains("No such"), "{}", stderr(&gone));
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn berth_and_docker_manage_each_others_containers() {
    let b = Berth::with_busybox("dk-two");
    let _c = Cleanup(&b);
    let d = daemon(&b);
    b.ok(&["run", "-d", "--name", "fromberth", "bb", "sleep", "100"]);
    let ps = d.docker_ok(&["ps", "--format", "{{.Names}} {{.Image}} {{.State}}"]);
    assert_eq!(ps.trim(), "fromberth bb running");
    // A wait on the berth-made container hears its exit through the shim's socket.
    assert_wait_hears(&d, "fromberth", "137", || {
        d.docker_ok(&["stop", "-t", "1", "fromberth"]);
    });
    let ps = b.ok(&["ps", "-a"]);
    assert!(
        ps.contains("fromberth") && ps.contains("Exited (137)"),
        "{ps}"
    );
    d.docker_ok(&["run", "-d", "--name", "fromdocker", "bb", "sleep", "100"]);
    let ps = b.ok(&["ps"]);
    assert!(ps.contains("fromdocker") && ps.contains("Up"), "{ps}");
    assert_eq!(b.ok(&["exec", "fromdocker", "echo", "hi"]), "hi\n");
    b.ok(&["rm", "-f", "fromdocker"]);
    let all = d.docker_ok(&["ps", "-a", "--format", "{{.Names}}"]);
    assert_eq!(all.trim(), "fromberth");
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn a_restarted_berthd_finds_running_containers_and_guards_its_socket() {
    let b = Berth::with_busybox("dk-restart");
    let _c = Cleanup(&b);
    let d = daemon(&b);
    let sock = sock_of(&b);
    d.docker_ok(&["run", "-d", "--name", "stays", "bb", "sleep", "100"]);
    // A second daemon on the same socket is refused while the first answers.
    let second = run_foreground(
        &berthd_bin(),
        b.host.path(),
        &sock,
        b.root.path(),
        b.run.path(),
    );
    assert!(!second.status.success());
    assert!(
        stderr(&second).contains("another berthd is listening on"),
        "{}",
        stderr(&second)
    );
    let status = d.terminate();
    assert!(status.success(), "berthd exited with {status}");
    assert!(!sock.exists(), "the socket file is removed at shutdown");
    assert!(b.ok(&["ps"]).contains("stays"));
    let d = daemon(&b);
    let ps = d.docker_ok(&["ps", "--format", "{{.Names}} {{.State}}"]);
    assert_eq!(ps.trim(), "stays running");
    // Killed, it leaves its socket file; the next one replaces it.
    d.kill();
    assert!(sock.exists());
    let d = daemon(&b);
    d.docker_ok(&["rm", "-f", "stays"]);
    assert!(wait_until(Duration::from_secs(5), || {
        d.docker_ok(&["ps", "-aq"]).is_empty()
    }));
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn docker_manages_networks_and_their_containers() {
    let b = Berth::with_busybox("dk-net");
    let _c = Cleanup(&b);
    let d = daemon(&b);
    let id = d.docker_ok(&[
        "network",
        "create",
        "--subnet",
        "10.77.0.0/24",
        "--gateway",
        "10.77.0.1",
        "--label",
        "team=a",
        "n1",
    ]);
    let id = id.trim();
    assert_eq!(id.len(), 64, "{id}");
    let ls = d.docker_ok(&["network", "ls", "--format", "{{.Name}} {{.Driver}}"]);
    for want in ["bridge bridge", "host host", "none null", "n1 bridge"] {
        assert!(ls.lines().any(|l| l == want), "{want} missing in {ls}");
    }
    let q = d.docker_ok(&["network", "ls", "-q", "--filter", "label=team=a"]);
    assert_eq!(q.trim(), &id[..12]);
    let ipam = d.docker_ok(&[
        "network",
        "inspect",
        "--format",
        "{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}} {{.Labels.team}}",
        &id[..8],
    ]);
    assert_eq!(ipam.trim(), "10.77.0.0/24 10.77.0.1 a");
    let dup = d.docker(&["network", "create", "n1"]);
    assert!(stderr(&dup).contains("already exists"), "{}", stderr(&dup));
    // A web server with a static address, reached from a second container on the network.
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "--network",
        "n1",
        "--ip",
        "10.77.0.50",
        "bb",
        "httpd",
        "-f",
        "-p",
        "80",
        "-h",
        "/www",
    ]);
    let page = d.docker_ok(&[
        "run",
        "--rm",
        "--network",
        &id[..12],
        "bb",
        "wget",
        "-qO-",
        "http://10.77.0.50/",
    ]);
    assert_eq!(page, "served by berth\n");
    let members = d.docker_ok(&[
        "network",
        "inspect",
        "--format",
        "{{range .Containers}}{{.Name}} {{.IPv4Address}}{{end}}",
        "n1",
    ]);
    assert_eq!(members.trim(), "web 10.77.0.50/24");
    // connect / disconnect of a running container.
    d.docker_ok(&["network", "create", "--subnet", "10.78.0.0/24", "n2"]);
    d.docker_ok(&["network", "connect", "--ip", "10.78.0.9", "n2", "web"]);
    let nets = d.docker_ok(&[
        "inspect",
        "--format",
        "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.IPAddress}} {{end}}",
        "web",
    ]);
    assert_eq!(nets.trim(), "n1=10.77.0.50 n2=10.78.0.9");
    let page = d.docker_ok(&[
        "run",
        "--rm",
        "--network",
        "n2",
        "bb",
        "wget",
        "-qO-",
        "http://10.78.0.9/",
    ]);
    assert_eq!(page, "served by berth\n");
    let again = d.docker(&["network", "connect", "n2", "web"]);
    assert!(
        stderr(&again).contains("already connected"),
        "{}",
        stderr(&again)
    );
    let busy = d.docker(&["network", "rm", "n1"]);
    assert!(
        stderr(&busy).contains("has active endpoints"),
        "{}",
        stderr(&busy)
    );
    d.docker_ok(&["network", "disconnect", "n2", "web"]);
    let n = d.docker_ok(&[
        "network",
        "inspect",
        "--format",
        "{{len .Containers}}",
        "n2",
    ]);
    assert_eq!(n.trim(), "0");
    let ps = d.docker_ok(&["ps", "--filter", "network=n1", "--format", "{{.Names}}"]);
    assert_eq!(ps.trim(), "web");
    let builtin = d.docker(&["network", "rm", "bridge"]);
    assert!(
        stderr(&builtin).contains("pre-defined"),
        "{}",
        stderr(&builtin)
    );
    let unknown = d.docker(&["network", "inspect", "nope"]);
    assert!(
        stderr(&unknown).contains("network nope not found"),
        "{}",
        stderr(&unknown)
    );
    // One set of networks behind both front ends.
    assert!(b.ok(&["net", "ls"]).contains("n2"));
    b.ok(&["net", "create", "--subnet", "10.79.0.0/24", "fromberth"]);
    let ls = d.docker_ok(&[
        "network",
        "ls",
        "--filter",
        "type=custom",
        "--format",
        "{{.Name}}",
    ]);
    assert_eq!(ls.trim(), "fromberth\nn1\nn2");
    d.docker_ok(&["rm", "-f", "web"]);
    let pruned = d.docker_ok(&["network", "prune", "-f"]);
    for n in ["n1", "n2", "fromberth"] {
        assert!(pruned.lines().any(|l| l == n), "{n} not pruned: {pruned}");
    }
    assert_eq!(
        d.docker_ok(&["network", "ls", "-q", "--filter", "type=custom"]),
        ""
    );
    assert!(!b.ok(&["net", "ls"]).contains("n1"));
}

/// berthd's open sockets.
fn sockets_of(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.unwrap().path()).ok())
        .filter(|t| t.to_string_lossy().starts_with("socket:"))
        .count()
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn detached_containers_hold_no_connection_yet_waits_hear_their_exit() {
    let b = Berth::with_busybox("dk-det");
    let _c = Cleanup(&b);
    let d = daemon(&b);
    let before = sockets_of(d.pid());
    for i in 0..5 {
        let name = format!("d{i}");
        d.docker_ok(&[
            "run",
            "-d",
            "--name",
            &name,
            "bb",
            "sh",
            "-c",
            "sleep 8; exit 7",
        ]);
    }
    // `docker run -d` opens a wait before the start and hangs up after it: once berthd has
    // seen nobody left listening, it lets each starter connection go.
    assert!(
        wait_until(Duration::from_secs(6), || sockets_of(d.pid()) <= before),
        "berthd holds {} sockets for detached containers (had {before})",
        sockets_of(d.pid())
    );
    // A wait made later reaches the container through its shim's socket.
    assert_eq!(d.docker_ok(&["wait", "d0"]), "7\n");
    assert_eq!(d.docker_ok(&["wait", "d4"]), "7\n");
    d.docker_ok(&["rm", "d0", "d1", "d2", "d3", "d4"]);
}
