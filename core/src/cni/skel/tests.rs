use std::collections::HashMap;
use std::sync::Mutex;

use super::*;
use crate::cni::result::{Interface, IpConfig};

/// A plugin that records what it was asked and answers with a fixed result.
#[derive(Default)]
struct Recorder {
    calls: Mutex<Vec<String>>,
}

impl Plugin for Recorder {
    fn add(&self, _req: &CniRequest, att: &Attachment) -> Result<CniResult, CniError> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("add {}", att.ifname));
        Ok(CniResult {
            interfaces: vec![Interface {
                name: att.ifname.to_string(),
                ..Default::default()
            }],
            ips: vec![IpConfig {
                address: "10.0.0.2/24".parse().unwrap(),
                gateway: None,
                interface: Some(0),
            }],
            ..Default::default()
        })
    }
    fn del(&self, _req: &CniRequest, att: &Attachment) -> Result<(), CniError> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("del netns={:?}", att.netns));
        Ok(())
    }
    fn check(&self, _req: &CniRequest, _att: &Attachment) -> Result<(), CniError> {
        self.calls.lock().unwrap().push("check".into());
        Ok(())
    }
    fn gc(&self, _req: &CniRequest, valid: &[ValidAttachment]) -> Result<(), CniError> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("gc {}", valid.len()));
        Ok(())
    }
    fn status(&self, _req: &CniRequest) -> Result<(), CniError> {
        Err(CniError::Unavailable {
            reason: "test".into(),
        })
    }
}

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k: &str| map.get(k).cloned()
}

const CONF: &str = r#"{"cniVersion":"0.4.0","name":"net1","type":"test"}"#;

fn base(cmd: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("CNI_COMMAND", cmd),
        ("CNI_CONTAINERID", "c1"),
        ("CNI_NETNS", "/run/netns/c1"),
        ("CNI_IFNAME", "eth0"),
        ("CNI_PATH", "/opt/cni/bin"),
    ]
}

fn run_with(vars: &[(&str, &str)], conf: &str) -> (Outcome, Recorder) {
    let p = Recorder::default();
    let out = dispatch(&p, &env(vars), conf.as_bytes().to_vec());
    (out, p)
}

fn code(o: &Outcome) -> u64 {
    o.stdout.as_ref().unwrap()["code"].as_u64().unwrap()
}

#[test]
fn add_prints_result_in_config_version() {
    let (out, p) = run_with(&base("ADD"), CONF);
    assert_eq!(out.exit, 0);
    let v = out.stdout.unwrap();
    assert_eq!(v["cniVersion"], "0.4.0");
    assert_eq!(v["ips"][0]["version"], "4");
    assert_eq!(*p.calls.lock().unwrap(), vec!["add eth0"]);
}

#[test]
fn version_lists_supported() {
    let (out, _) = run_with(&[("CNI_COMMAND", "VERSION")], r#"{"cniVersion":"1.0.0"}"#);
    assert_eq!(out.exit, 0);
    let v = out.stdout.unwrap();
    assert_eq!(v["supportedVersions"].as_array().unwrap().len(), 5);
    let (bad, _) = run_with(&[("CNI_COMMAND", "VERSION")], r#"{"cniVersion":"3.0.0"}"#);
    assert_eq!(code(&bad), 1);
}

#[test]
fn del_without_netns_is_allowed_add_is_not() {
    let mut vars = base("DEL");
    vars.retain(|(k, _)| *k != "CNI_NETNS");
    let (out, p) = run_with(&vars, CONF);
    assert_eq!(out.exit, 0, "{:?}", out.stdout);
    assert_eq!(*p.calls.lock().unwrap(), vec!["del netns=None"]);
    let mut vars = base("ADD");
    vars.retain(|(k, _)| *k != "CNI_NETNS");
    let (out, _) = run_with(&vars, CONF);
    assert_eq!(out.exit, 1);
    assert_eq!(code(&out), 4);
}

#[test]
fn bad_env_gets_code_4_naming_the_variable() {
    for (var, val) in [
        ("CNI_IFNAME", "a-very-long-ifname0"),
        ("CNI_IFNAME", "a/b"),
        ("CNI_IFNAME", "a b"),
        ("CNI_CONTAINERID", "-x"),
        ("CNI_COMMAND", "FROB"),
    ] {
        let mut vars = base("ADD");
        vars.retain(|(k, _)| *k != var);
        vars.push((var, val));
        let (out, p) = run_with(&vars, CONF);
        assert_eq!(code(&out), 4, "{var}={val}");
        let msg = out.stdout.unwrap()["msg"].as_str().unwrap().to_string();
        assert!(msg.contains(var), "{msg}");
        assert!(p.calls.lock().unwrap().is_empty());
    }
    let mut vars = base("ADD");
    vars.retain(|(k, _)| *k != "CNI_CONTAINERID");
    assert_eq!(code(&run_with(&vars, CONF).0), 4);
}

#[test]
fn malformed_json_is_code_6_and_unknown_version_code_1() {
    let (out, _) = run_with(&base("ADD"), "{\"cniVersion\":");
    assert_eq!(code(&out), 6);
    let (out, _) = run_with(
        &base("ADD"),
        r#"{"cniVersion":"0.9.0","name":"n","type":"t"}"#,
    );
    assert_eq!(code(&out), 1);
}

#[test]
fn check_refused_before_040_and_gc_before_110() {
    let old = r#"{"cniVersion":"0.3.1","name":"n","type":"t"}"#;
    assert_eq!(code(&run_with(&base("CHECK"), old).0), 1);
    assert_eq!(code(&run_with(&base("GC"), CONF).0), 1);
}

#[test]
fn gc_reads_both_spellings() {
    for key in ["cni.dev/valid-attachments", "cni.dev/attachments"] {
        let conf = format!(
            r#"{{"cniVersion":"1.1.0","name":"n","type":"t","{key}":[{{"containerID":"a","ifname":"eth0"}}]}}"#
        );
        let (out, p) = run_with(&[("CNI_COMMAND", "GC"), ("CNI_PATH", "/x")], &conf);
        assert_eq!(out.exit, 0, "{:?}", out.stdout);
        assert_eq!(*p.calls.lock().unwrap(), vec!["gc 1"]);
    }
}

#[test]
fn status_error_is_code_50() {
    let conf = r#"{"cniVersion":"1.1.0","name":"n","type":"t"}"#;
    let (out, _) = run_with(&[("CNI_COMMAND", "STATUS")], conf);
    assert_eq!(code(&out), 50);
}
