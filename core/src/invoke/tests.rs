//! Unit tests of the invoker with a fake plugin executor and temp dirs.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::Mutex;

use serde_json::{Value, json};

use super::*;
use crate::cni::exec::fake::{ExecCall, FakeExec};
use crate::cni::{CniError, Version};

fn list(v: Value) -> NetworkList {
    NetworkList::parse(serde_json::to_vec(&v).unwrap()).unwrap()
}

fn web(version: &str) -> NetworkList {
    list(json!({
        "cniVersion": version,
        "name": "web",
        "plugins": [
            {"type": "bridge", "bridge": "br0", "capabilities": {"mac": true, "ips": false},
             "ipam": {"type": "host-local"}},
            {"type": "tuning"},
            {"type": "portmap", "capabilities": {"portMappings": true}}
        ]
    }))
}

fn rt(id: &str) -> RuntimeConf {
    let mut rt = RuntimeConf::new(
        ContainerId::new(id).unwrap(),
        IfName::new("eth0").unwrap(),
        Some(PathBuf::from(format!("/run/netns/{id}"))),
    );
    rt.capability_args.insert(
        "portMappings".into(),
        json!([{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]),
    );
    rt.capability_args
        .insert("mac".into(), json!("02:00:00:00:00:01"));
    rt.capability_args.insert("ips".into(), json!(["10.0.0.5"]));
    rt.cni_args.push(("IgnoreUnknown".into(), "1".into()));
    rt
}

/// Each plugin's ADD answers with its prevResult plus one interface named after it; a 0.4.0
/// shaped address is added by the first, so conversion to the list's version shows.
fn chaining_answer(call: &ExecCall) -> Result<Vec<u8>, CniError> {
    if call.command.as_deref() != Some("ADD") {
        return Ok(Vec::new());
    }
    let stdin: Value = serde_json::from_slice(&call.stdin).unwrap();
    let mut res = stdin
        .get("prevResult")
        .cloned()
        .unwrap_or(json!({"cniVersion": "0.4.0", "interfaces": [], "ips": [
            {"version": "4", "address": "10.0.0.5/24", "gateway": "10.0.0.1"}]}));
    res["interfaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": call.plugin}));
    Ok(serde_json::to_vec(&res).unwrap())
}

struct World {
    dir: tempfile::TempDir,
}

impl World {
    fn new() -> Self {
        World {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn invoker<E: PluginExec>(&self, exec: E) -> Invoker<E> {
        Invoker::new(
            exec,
            vec![PathBuf::from("/opt/cni/bin")],
            self.dir.path().join("cni"),
            self.dir.path().join("locks"),
        )
    }
}

fn stdin_of(call: &ExecCall) -> Value {
    serde_json::from_slice(&call.stdin).unwrap()
}

fn calls(exec: &FakeExec) -> Vec<ExecCall> {
    exec.calls.lock().unwrap().clone()
}

#[test]
fn runtime_config_gets_only_declared_and_provided_capabilities() {
    let w = World::new();
    let inv = w.invoker(FakeExec::new(chaining_answer));
    inv.add(&web("1.0.0"), &rt("c1")).unwrap();
    let calls = calls(&inv.exec);
    let bridge = stdin_of(&calls[0]);
    assert_eq!(bridge["runtimeConfig"], json!({"mac": "02:00:00:00:00:01"}));
    assert!(bridge.get("capabilities").is_none());
    assert_eq!(bridge["name"], "web");
    assert_eq!(bridge["cniVersion"], "1.0.0");
    assert_eq!(
        bridge["ipam"]["type"], "host-local",
        "other keys pass through"
    );
    assert!(stdin_of(&calls[1]).get("runtimeConfig").is_none());
    let portmap = stdin_of(&calls[2]);
    assert_eq!(
        portmap["runtimeConfig"],
        json!({"portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]})
    );
}

#[test]
fn add_chains_prev_results_converted_to_the_lists_version() {
    let w = World::new();
    let inv = w.invoker(FakeExec::new(chaining_answer));
    let result = inv.add(&web("1.0.0"), &rt("c1")).unwrap();
    let calls = calls(&inv.exec);
    assert_eq!(inv.exec.commands(), ["ADD", "ADD", "ADD"]);
    assert!(stdin_of(&calls[0]).get("prevResult").is_none());
    let prev = &stdin_of(&calls[1])["prevResult"];
    assert_eq!(prev["cniVersion"], "1.0.0");
    assert!(prev["ips"][0].get("version").is_none(), "{prev}");
    assert_eq!(prev["interfaces"], json!([{"name": "bridge"}]));
    let names: Vec<_> = result.interfaces.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["bridge", "tuning", "portmap"]);
    assert_eq!(result.ips[0].address.to_string(), "10.0.0.5/24");
}

#[test]
fn cache_has_libcnis_layout_and_permissions() {
    let w = World::new();
    let inv = w.invoker(FakeExec::new(chaining_answer));
    let l = web("1.1.0");
    inv.add(&l, &rt("c1")).unwrap();
    let path = w.dir.path().join("cni/results/web-c1-eth0");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().unwrap()), 0o700);
    let raw: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(raw["kind"], "cniCacheV1");
    assert_eq!(raw["containerId"], "c1");
    assert_eq!(raw["ifName"], "eth0");
    assert_eq!(raw["networkName"], "web");
    assert_eq!(raw["netns"], "/run/netns/c1");
    assert_eq!(raw["cniArgs"], json!([["IgnoreUnknown", "1"]]));
    assert_eq!(raw["capabilityArgs"]["mac"], "02:00:00:00:00:01");
    assert_eq!(raw["result"]["cniVersion"], "1.1.0");
    let config = base64::decode(raw["config"].as_str().unwrap()).unwrap();
    assert_eq!(config, l.bytes);
    let listed = inv.cached_attachments(Some("web")).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].container_id, "c1");
    assert!(inv.cached_attachments(Some("we")).unwrap().is_empty());
}

#[test]
fn second_add_of_the_same_attachment_is_refused() {
    let w = World::new();
    let inv = w.invoker(FakeExec::new(chaining_answer));
    inv.add(&web("1.0.0"), &rt("c1")).unwrap();
    let e = inv.add(&web("1.0.0"), &rt("c1")).unwrap_err();
    assert!(matches!(e, InvokeError::AlreadyAttached { .. }), "{e}");
    inv.add(&web("1.0.0"), &rt("c2")).unwrap();
}

#[test]
fn del_runs_in_reverse_with_cached_result_and_capability_args() {
    let w = World::new();
    let inv = w.invoker(FakeExec::new(chaining_answer));
    let l = web("1.0.0");
    inv.add(&l, &rt("c1")).unwrap();
    let bare = RuntimeConf::new(
        ContainerId::new("c1").unwrap(),
        IfName::new("eth0").unwrap(),
        None,
    );
    inv.del(&l, &bare).unwrap();
    let calls = calls(&inv.exec);
    let dels: Vec<_> = calls[3..].iter().map(|c| c.plugin.as_str()).collect();
    assert_eq!(dels, ["portmap", "tuning", "bridge"]);
    let portmap = stdin_of(&calls[3]);
    assert_eq!(
        portmap["prevResult"]["interfaces"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        portmap["runtimeConfig"]["portMappings"][0]["hostPort"],
        8080
    );
    assert!(!w.dir.path().join("cni/results/web-c1-eth0").exists());
}

/// Records the env of every call, to see what the plugin would get.
#[derive(Default)]
struct EnvRecorder {
    calls: Mutex<Vec<BTreeMap<String, String>>>,
}

impl PluginExec for EnvRecorder {
    fn exec(&self, _: &str, env: &[(&str, &str)], _: &[u8]) -> Result<Vec<u8>, CniError> {
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string()));
        self.calls.lock().unwrap().push(env.collect());
        Ok(Vec::new())
    }
}

#[test]
fn del_without_cache_or_netns_sends_empty_netns_and_no_prev_result() {
    let w = World::new();
    let inv = w.invoker(EnvRecorder::default());
    let bare = RuntimeConf::new(
        ContainerId::new("gone").unwrap(),
        IfName::new("eth1").unwrap(),
        None,
    );
    inv.del(&web("1.0.0"), &bare).unwrap();
    let calls = inv.exec.calls.lock().unwrap();
    assert_eq!(calls.len(), 3);
    for env in calls.iter() {
        assert_eq!(env["CNI_COMMAND"], "DEL");
        assert_eq!(env["CNI_NETNS"], "");
        assert_eq!(env["CNI_CONTAINERID"], "gone");
        assert_eq!(env["CNI_IFNAME"], "eth1");
        assert_eq!(env["CNI_PATH"], "/opt/cni/bin");
    }
}

#[test]
fn failed_add_dels_the_started_plugins_and_caches_nothing() {
    let w = World::new();
    let inv = w.invoker(FakeExec::new(|call| {
        if call.plugin == "tuning" && call.command.as_deref() == Some("ADD") {
            return Err(CniError::Plugin {
                plugin: "tuning".into(),
                code: 999,
                msg: "exited with signal 9".into(),
                details: String::new(),
            });
        }
        chaining_answer(call)
    }));
    let e = inv.add(&web("1.0.0"), &rt("c1")).unwrap_err();
    assert!(e.to_string().contains("ADD tuning on network web"), "{e}");
    assert!(e.to_string().contains("exited with signal 9"), "{e}");
    let calls = calls(&inv.exec);
    let seen: Vec<_> = calls
        .iter()
        .map(|c| format!("{} {}", c.command.as_deref().unwrap(), c.plugin))
        .collect();
    assert_eq!(
        seen,
        ["ADD bridge", "ADD tuning", "DEL tuning", "DEL bridge"]
    );
    assert!(stdin_of(&calls[2])["prevResult"].is_object());
    assert!(inv.cached_attachments(None).unwrap().is_empty());
}

#[test]
fn check_uses_cached_result_and_honours_disable_check() {
    let w = World::new();
    let inv = w.invoker(FakeExec::new(chaining_answer));
    let l = web("1.0.0");
    let e = inv.check(&l, &rt("c1")).unwrap_err();
    assert!(matches!(e, InvokeError::NotAttached { .. }), "{e}");
    inv.add(&l, &rt("c1")).unwrap();
    inv.check(&l, &rt("c1")).unwrap();
    let calls = calls(&inv.exec);
    assert_eq!(inv.exec.commands()[3..], ["CHECK", "CHECK", "CHECK"]);
    assert_eq!(calls[3].plugin, "bridge");
    assert_eq!(
        stdin_of(&calls[3])["prevResult"]["interfaces"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let mut off = web("1.0.0").raw;
    off["disableCheck"] = json!("true");
    inv.check(&list(off), &rt("c1")).unwrap();
    assert_eq!(inv.exec.commands().len(), 6, "disableCheck runs nothing");
    let old = web("0.3.1");
    assert!(matches!(
        inv.check(&old, &rt("c1")).unwrap_err(),
        InvokeError::NotInVersion { .. }
    ));
}

#[test]
fn gc_dels_stale_cached_attachments_then_gcs_every_plugin() {
    let w = World::new();
    let inv = w.invoker(FakeExec::new(|call| {
        if call.command.as_deref() == Some("GC") && call.plugin == "tuning" {
            return Err(CniError::TryAgain {
                reason: "busy".into(),
            });
        }
        chaining_answer(call)
    }));
    let l = web("1.1.0");
    inv.add(&l, &rt("keep")).unwrap();
    inv.add(&l, &rt("stale")).unwrap();
    let valid = [GcAttachment {
        container_id: "keep".into(),
        ifname: "eth0".into(),
    }];
    let e = inv.gc(&l, &valid).unwrap_err();
    let InvokeError::Gc { errors } = &e else {
        panic!("{e}")
    };
    assert_eq!(errors.len(), 1, "{e}");
    let calls = calls(&inv.exec);
    let seen: Vec<_> = calls[6..]
        .iter()
        .map(|c| format!("{} {}", c.command.as_deref().unwrap(), c.plugin))
        .collect();
    assert_eq!(
        seen,
        [
            "DEL portmap",
            "DEL tuning",
            "DEL bridge",
            "GC bridge",
            "GC tuning",
            "GC portmap"
        ]
    );
    let gc = stdin_of(&calls[9]);
    let expect = json!([{"containerID": "keep", "ifname": "eth0"}]);
    assert_eq!(gc["cni.dev/valid-attachments"], expect);
    assert_eq!(gc["cni.dev/attachments"], expect);
    let left = inv.cached_attachments(Some("web")).unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].container_id, "keep");
}

#[test]
fn status_runs_every_plugin_from_110_only() {
    let w = World::new();
    let inv = w.invoker(FakeExec::new(chaining_answer));
    inv.status(&web("1.0.0")).unwrap();
    assert!(inv.exec.commands().is_empty());
    inv.status(&web("1.1.0")).unwrap();
    assert_eq!(inv.exec.commands(), ["STATUS", "STATUS", "STATUS"]);
}

#[test]
fn list_validation_and_version_negotiation() {
    let parse = |v: Value| NetworkList::parse(serde_json::to_vec(&v).unwrap());
    let l = parse(
        json!({"cniVersion": "0.4.0", "cniVersions": ["1.0.0", "9.9.9"],
        "name": "n", "disableGC": "True", "plugins": [{"type": "bridge"}]}),
    )
    .unwrap();
    assert_eq!(l.version, Version::V1_0_0);
    assert!(l.disable_gc && !l.disable_check);
    let bad = [
        json!({"cniVersion": "1.0.0", "name": "n", "plugins": []}),
        json!({"cniVersion": "1.0.0", "name": "../n", "plugins": [{"type": "b"}]}),
        json!({"cniVersion": "1.0.0", "plugins": [{"type": "b"}]}),
        json!({"cniVersion": "1.0.0", "name": "n", "plugins": [{"type": "../b"}]}),
        json!({"cniVersion": "1.0.0", "name": "n", "plugins": [{}]}),
        json!({"cniVersion": "1.0.0", "name": "n", "disableCheck": "maybe",
               "plugins": [{"type": "b"}]}),
        json!({"name": "n", "plugins": [{"type": "b"}]}),
    ];
    for b in bad {
        assert!(
            matches!(parse(b.clone()), Err(InvokeError::InvalidList { .. })),
            "{b}"
        );
    }
    let e = parse(json!({"cniVersion": "2.0.0", "name": "n", "plugins": [{"type": "b"}]}));
    assert!(matches!(e, Err(InvokeError::NoSupportedVersion { .. })));
    let single = parse(json!({"cniVersion": "1.0.0", "name": "n", "type": "bridge"})).unwrap();
    assert_eq!(single.plugin_types(), ["bridge"]);
    assert!(matches!(
        NetworkList::parse(b"{nope".to_vec()),
        Err(InvokeError::Decode { .. })
    ));
}
