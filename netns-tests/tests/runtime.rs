//! Root tests for berth-runtime: each builds a busybox bundle in a tempdir, runs the
//! `berth-runtime` binary with a private `--root`, and gives every container a new network
//! namespace, so nothing touches the host's network. Containers are force-deleted on drop.

#![allow(clippy::unwrap_used)] // test helpers: a failed setup step should panic loudly

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use berth_netns_tests::oci_bundle::{
    NsHolder, TestContainer, join_namespace, require_root, run_ok,
};
use serde_json::{Value, json};

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn container_sees_only_its_processes_and_hostname() {
    let c = TestContainer::new(
        &["sh", "-c", "hostname; ls -d /proc/[0-9]* | wc -l"],
        |_| {},
    );
    let out = run_ok(&c);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "berth-test");
    let n: u32 = lines[1].trim().parse().unwrap();
    assert!(n <= 3, "saw {n} processes: {out}");
    assert_ne!(nix::unistd::gethostname().unwrap(), "berth-test");
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn container_cannot_see_host_mounts() {
    let c = TestContainer::new(&["cat", "/proc/self/mountinfo"], |_| {});
    let out = run_ok(&c);
    let bundle = c.bundle().to_str().unwrap();
    for line in out.lines() {
        let mount_point = line.split(' ').nth(4).unwrap();
        assert!(
            !mount_point.starts_with("/work"),
            "host mount visible: {line}"
        );
        assert!(
            !mount_point.starts_with(bundle),
            "bundle path visible: {line}"
        );
    }
    assert!(out.lines().count() < 40, "too many mounts: {out}");
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn masked_and_readonly_paths_hold() {
    // Only the masked paths this kernel has (it may lack /proc/kcore).
    let masked: Vec<&str> = [
        "/proc/kcore",
        "/proc/keys",
        "/proc/timer_list",
        "/proc/sched_debug",
    ]
    .into_iter()
    .filter(|p| Path::new(p).exists())
    .collect();
    assert!(!masked.is_empty());
    let mut script: String = masked.iter().map(|p| format!("wc -c < {p}; ")).collect();
    script.push_str("ls /sys/firmware | wc -l; echo x > /proc/sys/kernel/domainname && echo WROTE");
    let c = TestContainer::new(&["sh", "-c", &script], |_| {});
    let (_, out, err) = c.run();
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    assert_eq!(lines.len(), masked.len() + 1, "stdout={out} stderr={err}");
    assert!(
        lines.iter().all(|l| *l == "0"),
        "masked path readable: {out}"
    );
    assert!(!out.contains("WROTE"), "/proc/sys writable: {out}");
    assert!(err.contains("Read-only file system"), "{err}");
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn default_capabilities_forbid_mount_and_module_loading() {
    let script = "mount -t tmpfs t /mnt && echo MOUNTED; insmod /nonexistent.ko; \
                  grep CapEff /proc/self/status";
    let c = TestContainer::new(&["sh", "-c", script], |_| {});
    let (_, out, err) = c.run();
    assert!(!out.contains("MOUNTED"), "{out}");
    let err = err.to_lowercase();
    assert!(
        err.contains("not permitted") || err.contains("permission denied"),
        "{err}"
    );
    // CAP_AUDIT_WRITE(29), CAP_KILL(5), CAP_NET_BIND_SERVICE(10) and nothing else.
    assert!(out.contains("CapEff:\t0000000020000420"), "{out}");
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn seccomp_denies_with_configured_errno() {
    let c = TestContainer::new(&["sh", "-c", "mkdir /tmp/x; echo rc=$?; ls /tmp"], |cfg| {
        cfg["linux"]["seccomp"] = json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]
        });
    });
    let (code, out, err) = c.run();
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("rc=1"), "{out}");
    assert!(
        err.contains("Function not implemented"),
        "errno 38 expected: {err}"
    );
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn no_new_privileges_is_set_only_when_asked() {
    let c = TestContainer::new(&["grep", "NoNewPrivs", "/proc/self/status"], |_| {});
    assert!(run_ok(&c).contains("NoNewPrivs:\t1"));
    let c = TestContainer::new(&["grep", "NoNewPrivs", "/proc/self/status"], |cfg| {
        cfg["process"]["noNewPrivileges"] = json!(false);
    });
    assert!(run_ok(&c).contains("NoNewPrivs:\t0"));
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn readonly_root_cannot_be_written() {
    let c = TestContainer::new(
        &[
            "sh",
            "-c",
            "touch /newfile && echo WROTE; touch /tmp/ok && echo TMP",
        ],
        |cfg| {
            cfg["root"]["readonly"] = json!(true);
        },
    );
    let (_, out, err) = c.run();
    assert!(!out.contains("WROTE"), "{out}");
    assert!(
        out.contains("TMP"),
        "tmpfs should stay writable: {out} {err}"
    );
    assert!(err.contains("Read-only file system"), "{err}");
    assert!(!c.bundle().join("rootfs/newfile").exists());
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn devices_cgroup_denies_unlisted_device() {
    let script = "head -c 1 /dev/kmsg > /dev/null && echo KMSG; head -c 1 /dev/zero | wc -c";
    let c = TestContainer::new(&["sh", "-c", script], |cfg| {
        cfg["linux"]["devices"] =
            json!([{"path": "/dev/kmsg", "type": "c", "major": 1, "minor": 11}]);
    });
    let (_, out, err) = c.run();
    assert!(!out.contains("KMSG"), "{out}");
    assert!(err.contains("Operation not permitted"), "{err}");
    assert_eq!(
        out.lines().last().map(str::trim),
        Some("1"),
        "default devices must work: {out}"
    );
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn memory_limit_kills_a_process_that_exceeds_it() {
    let c = TestContainer::new(&["sh", "-c", "tail /dev/zero; echo rc=$?"], |cfg| {
        cfg["linux"]["resources"]["memory"] = json!({"limit": 16 << 20, "swap": 16 << 20});
    });
    let out = run_ok(&c);
    assert!(
        out.contains("rc=137"),
        "expected SIGKILL by the OOM killer: {out}"
    );
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn pids_limit_stops_a_fork_bomb() {
    // The inner shell dies at its first failed fork; the outer one reports the count.
    let script = "sh -c 'i=0; while [ $i -lt 64 ]; do sleep 3 & i=$((i+1)); done'; \
                  read n < /sys/fs/cgroup/pids/pids.current; echo $n";
    let c = TestContainer::new(&["sh", "-c", script], |cfg| {
        cfg["linux"]["resources"]["pids"] = json!({"limit": 16});
    });
    let (_, out, err) = c.run();
    assert!(
        err.contains("can't fork") || err.contains("Resource temporarily unavailable"),
        "{err}"
    );
    let current: u32 = out.trim().parse().unwrap_or(99);
    assert!(current <= 16, "pids.current {current}");
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn exec_joins_namespaces_and_cgroup() {
    let c = TestContainer::new(&["sleep", "60"], |_| {});
    let pid = c.start_detached();
    let script =
        "for n in pid mnt net ipc uts; do readlink /proc/self/ns/$n; done; cat /proc/self/cgroup";
    let out = c.rt(&["exec", &c.id, "sh", "-c", script]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for n in ["pid", "mnt", "net", "ipc", "uts"] {
        let want = std::fs::read_link(format!("/proc/{pid}/ns/{n}")).unwrap();
        assert!(
            text.contains(want.to_str().unwrap()),
            "{n} not joined: {text}"
        );
    }
    assert!(
        text.contains(&format!("memory:/berth-test/{}", c.id)),
        "{text}"
    );
    let ps: Value =
        serde_json::from_slice(&c.rt(&["ps", "--format", "json", &c.id]).stdout).unwrap();
    assert_eq!(ps, json!([pid]));
    let out = c.rt(&["exec", &c.id, "sh", "-c", "exit 7"]);
    assert_eq!(out.status.code(), Some(7));
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn pause_resume_kill_and_delete_lifecycle() {
    let c = TestContainer::new(&["sleep", "60"], |_| {});
    c.start_detached();
    assert!(c.rt(&["pause", &c.id]).status.success());
    let st: Value = serde_json::from_slice(&c.rt(&["state", &c.id]).stdout).unwrap();
    assert_eq!(st["status"], "paused");
    assert!(c.rt(&["resume", &c.id]).status.success());
    assert!(
        !c.rt(&["delete", &c.id]).status.success(),
        "running container deleted without --force"
    );
    assert!(c.rt(&["kill", &c.id, "KILL"]).status.success());
    std::thread::sleep(std::time::Duration::from_millis(200));
    let st: Value = serde_json::from_slice(&c.rt(&["state", &c.id]).stdout).unwrap();
    assert_eq!(st["status"], "stopped");
    assert!(c.rt(&["delete", &c.id]).status.success());
    assert!(!c.cgroup_dir("memory").exists());
    assert!(!c.state_root().join(&c.id).exists());
}

/// A change to the default config.
type Tweak = Box<dyn Fn(&mut Value)>;

fn assert_create_fails_cleanly(c: &TestContainer, field: &str) {
    let b = c.bundle().to_str().unwrap().to_owned();
    let out = c.rt(&["create", "--bundle", &b, &c.id]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "create should fail");
    assert!(err.contains(field), "error should name {field}: {err}");
    for ctrl in ["memory", "pids", "devices", "freezer"] {
        assert!(!c.cgroup_dir(ctrl).exists(), "{ctrl} cgroup left behind");
    }
    assert!(!c.state_root().join(&c.id).exists(), "state left behind");
    let out = c.rt(&["delete", &c.id]);
    assert!(
        out.status.success(),
        "delete after failed create: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn failed_create_leaves_nothing_and_delete_succeeds() {
    let c = TestContainer::new(&["/no/such/binary"], |_| {});
    assert_create_fails_cleanly(&c, "process.args[0]");
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn bad_configs_get_errors_naming_the_field() {
    let cases: Vec<(&str, Tweak)> = vec![
        (
            "linux.namespaces[5].type",
            Box::new(|c| {
                c["linux"]["namespaces"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"type": "bogus"}));
            }),
        ),
        (
            "linux.uidMappings",
            Box::new(|c| {
                c["linux"]["namespaces"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"type": "user"}));
            }),
        ),
        (
            "linux.seccomp.syscalls[0].names[0]",
            Box::new(|c| {
                c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["no_such_syscall"], "action": "SCMP_ACT_ERRNO"}]});
            }),
        ),
        (
            "mounts[0].destination",
            Box::new(|c| {
                c["mounts"][0]["destination"] = json!("/../../etc");
            }),
        ),
        (
            "root.path",
            Box::new(|c| c["root"]["path"] = json!("missing-rootfs")),
        ),
        (
            "linux.namespaces[1].path",
            Box::new(|c| {
                c["linux"]["namespaces"][1]["path"] = json!("/nonexistent/netns");
            }),
        ),
    ];
    for (field, tweak) in cases {
        let c = TestContainer::new(&["true"], |cfg| tweak(cfg));
        assert_create_fails_cleanly(&c, field);
    }
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn joins_a_network_namespace_by_path() {
    let holder = NsHolder::new(&["--net"], "net");
    let path = holder.path.clone();
    let c = TestContainer::new(&["readlink", "/proc/self/ns/net"], |cfg| {
        join_namespace(cfg, "network", &path);
    });
    assert_eq!(run_ok(&c).trim(), holder.ident);
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn user_namespace_maps_root() {
    let c = TestContainer::new(&["sh", "-c", "id -u; cat /proc/self/uid_map"], |cfg| {
        cfg["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "user"}));
        cfg["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
        cfg["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    });
    let out = run_ok(&c);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "0");
    let map: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(map, ["0", "100000", "65536"]);
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn hooks_run_with_state_on_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let pre = dir.path().join("prestart");
    let post = dir.path().join("poststop");
    let hook = |out: &Path| json!({"path": "/bin/sh", "args": ["sh", "-c", format!("cat > {}", out.display())]});
    let (h1, h2) = (hook(&pre), hook(&post));
    let c = TestContainer::new(&["true"], move |cfg| {
        cfg["hooks"] = json!({"prestart": [h1], "poststop": [h2]});
    });
    run_ok(&c);
    let pre: Value = serde_json::from_str(&std::fs::read_to_string(&pre).unwrap()).unwrap();
    assert_eq!(pre["id"], c.id.as_str());
    assert!(pre["pid"].as_i64().unwrap() > 0);
    let post: Value = serde_json::from_str(&std::fs::read_to_string(&post).unwrap()).unwrap();
    assert_eq!(post["status"], "stopped");
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn terminal_master_is_sent_over_console_socket() {
    use berth_runtime::terminal::ConsoleSocket;
    use std::io::Read;

    let c = TestContainer::new(&["sh", "-c", "tty; echo hello-tty"], |cfg| {
        cfg["process"]["terminal"] = json!(true);
    });
    let sock = ConsoleSocket::bind(&c.bundle().join("console.sock")).unwrap();
    let b = c.bundle().to_str().unwrap().to_owned();
    let s = sock.path().to_str().unwrap().to_owned();
    let out = c.rt(&["create", "--bundle", &b, "--console-socket", &s, &c.id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut master = std::fs::File::from(sock.receive_master().unwrap());
    assert!(c.rt(&["start", &c.id]).status.success());
    let mut text = String::new();
    let mut chunk = [0u8; 1024];
    while let Ok(n) = master.read(&mut chunk) {
        if n == 0 {
            break;
        }
        text.push_str(&String::from_utf8_lossy(&chunk[..n]));
        if text.contains("hello-tty") {
            break;
        }
    }
    assert!(text.contains("/dev/pts/0"), "{text}");
    assert!(text.contains("hello-tty"), "{text}");
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn run_relays_signals_to_the_container() {
    let script = "trap 'echo got-term; exit 5' TERM; echo ready; while true; do sleep 0.1; done";
    let c = TestContainer::new(&["sh", "-c", script], |_| {});
    let b = c.bundle().to_str().unwrap().to_owned();
    let mut child = c
        .cmd(&["run", "--bundle", &b, &c.id])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let status = child.wait().unwrap();
    if status.code() != Some(5) {
        // The container may still hold the pipe open: remove it before reading to EOF.
        let _ = c.rt(&["delete", "--force", &c.id]);
        panic!("run exited with {status:?}, not the container's 5");
    }
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert!(rest.contains("got-term"), "{rest}");
    assert_eq!(status.code(), Some(5));
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn cgroup_v2_device_program_denies_unlisted_device() {
    require_root();
    // The hybrid layout's cgroup2 mount takes BPF device programs even without controllers.
    let root = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .find(|l| l.contains(" - cgroup2 "))
        .map(|l| PathBuf::from(l.split(' ').nth(4).unwrap()))
        .expect("a cgroup2 mount");
    let dir = root.join(format!("berth-bpf-test-{}", std::process::id()));
    std::fs::create_dir(&dir).unwrap();
    let rules: Vec<berth_runtime::oci_spec::runtime::LinuxDeviceCgroup> =
        serde_json::from_value(json!([{"allow": false, "access": "rwm"}])).unwrap();
    if let Err(e) = berth_runtime::cgroups::devices_bpf::apply(&dir, &rules) {
        let _ = std::fs::remove_dir(&dir);
        panic!("attach device program: {e}");
    }
    let script = format!(
        "echo $$ > {}/cgroup.procs; head -c 1 /dev/zero | wc -c; head -c 1 /dev/kmsg && echo KMSG",
        dir.display()
    );
    let out = Command::new("/bin/busybox")
        .args(["sh", "-c", &script])
        .output()
        .unwrap();
    let _ = std::fs::remove_dir(&dir);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(
        stdout.lines().next().map(str::trim),
        Some("1"),
        "/dev/zero must stay usable: {stderr}"
    );
    assert!(!stdout.contains("KMSG"), "{stdout}");
    assert!(stderr.contains("Operation not permitted"), "{stderr}");
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn time_namespace_gets_configured_offsets() {
    let c = TestContainer::new(
        &["cat", "/proc/uptime", "/proc/self/timens_offsets"],
        |cfg| {
            cfg["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .push(json!({"type": "time"}));
            cfg["linux"]["timeOffsets"] = json!({"boottime": {"secs": 864000, "nanosecs": 0}});
        },
    );
    let out = run_ok(&c);
    let uptime: f64 = out.split_whitespace().next().unwrap().parse().unwrap();
    assert!(uptime >= 864000.0, "boottime offset not applied: {out}");
    let has_line = out
        .lines()
        .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["boottime", "864000", "0"]);
    assert!(has_line, "{out}");
}
