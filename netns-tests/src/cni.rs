//! Running berth's plugin binaries from tests, inside a test host namespace.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::TestNetns;

/// The directory holding the built plugin binaries (`target/<profile>/`), next to the test
/// executable's `deps/`. Panics with the fix when they have not been built.
pub fn plugin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test exe lives in target/<profile>/deps")
        .to_path_buf();
    assert!(
        dir.join("bridge").is_file() && dir.join("host-local").is_file(),
        "plugin binaries missing in {}: run `cargo build --workspace --bins` first",
        dir.display()
    );
    dir
}

/// What a plugin run produced.
#[derive(Debug)]
pub struct PluginOutput {
    /// Exit code.
    pub code: i32,
    /// stdout parsed as JSON (`Value::Null` when empty).
    pub json: Value,
    /// stderr text.
    pub stderr: String,
}

impl PluginOutput {
    /// Panics with the plugin's error unless it succeeded; returns its JSON.
    pub fn ok(self) -> Value {
        assert_eq!(self.code, 0, "plugin failed: {} {}", self.json, self.stderr);
        self.json
    }

    /// Panics unless the plugin failed with CNI error `code`; returns the error's message.
    pub fn err(self, code: u64) -> String {
        assert_ne!(
            self.code, 0,
            "plugin succeeded, expected error {code}: {}",
            self.json
        );
        assert_eq!(
            self.json["code"], code,
            "wrong error: {} {}",
            self.json, self.stderr
        );
        self.json["msg"].as_str().unwrap_or_default().to_string()
    }
}

/// A CNI call: plugin, command and the `CNI_*` environment.
#[derive(Debug, Clone)]
pub struct Call<'a> {
    /// Plugin binary name.
    pub plugin: &'a str,
    /// `CNI_COMMAND`.
    pub command: &'a str,
    /// `CNI_CONTAINERID`.
    pub id: &'a str,
    /// `CNI_NETNS`.
    pub netns: Option<&'a Path>,
    /// `CNI_IFNAME`.
    pub ifname: &'a str,
}

impl<'a> Call<'a> {
    /// A call with ifname `eth0`.
    pub fn new(plugin: &'a str, command: &'a str, id: &'a str, netns: Option<&'a Path>) -> Self {
        Call {
            plugin,
            command,
            id,
            netns,
            ifname: "eth0",
        }
    }

    /// Runs the call in `host` with `config` on stdin; `env` overrides or removes
    /// (`None`) variables.
    pub fn run_env(
        &self,
        host: &TestNetns,
        config: &Value,
        env: &[(&str, Option<&str>)],
    ) -> PluginOutput {
        self.run_raw(
            host,
            serde_json::to_vec(config).expect("json").as_slice(),
            env,
        )
    }

    /// Runs the call in `host` with `config` on stdin.
    pub fn run(&self, host: &TestNetns, config: &Value) -> PluginOutput {
        self.run_env(host, config, &[])
    }

    /// Runs the call with raw stdin bytes.
    pub fn run_raw(
        &self,
        host: &TestNetns,
        stdin: &[u8],
        env: &[(&str, Option<&str>)],
    ) -> PluginOutput {
        let dir = plugin_dir();
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--net={}", host.path().display()))
            .arg("--")
            .arg(dir.join(self.plugin))
            .env("CNI_COMMAND", self.command)
            .env("CNI_CONTAINERID", self.id)
            .env("CNI_IFNAME", self.ifname)
            .env("CNI_PATH", &dir)
            .env_remove("CNI_NETNS")
            .env_remove("CNI_ARGS")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(ns) = self.netns {
            cmd.env("CNI_NETNS", ns);
        }
        for (k, v) in env {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        let mut child = cmd.spawn().expect("spawn plugin");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin)
            .expect("write stdin");
        let out = child.wait_with_output().expect("wait plugin");
        let json = if out.stdout.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
                panic!(
                    "plugin stdout is not JSON ({e}): {}",
                    String::from_utf8_lossy(&out.stdout)
                )
            })
        };
        PluginOutput {
            code: out.status.code().unwrap_or(-1),
            json,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// `busybox ping -c 1 -W 2 ADDR` from inside `from`; true when it answered.
pub fn ping(from: &TestNetns, addr: &str) -> bool {
    from.run("busybox", &["ping", "-c", "1", "-W", "2", addr])
        .status
        .success()
}

/// Runs ADD of `bridge_conf`'s plugin and then `portmap` chained after it (with `maps` as
/// `runtimeConfig.portMappings`), as a runtime would; returns the final result.
pub fn add_with_ports(
    host: &TestNetns,
    ctr: &Path,
    id: &str,
    bridge_conf: &Value,
    maps: &Value,
) -> Result<Value, PluginOutput> {
    let plugin = bridge_conf["type"].as_str().expect("type");
    let first = Call::new(plugin, "ADD", id, Some(ctr)).run(host, bridge_conf);
    if first.code != 0 {
        return Err(first);
    }
    let pm = portmap_conf(bridge_conf, maps, &first.json);
    let out = Call::new("portmap", "ADD", id, Some(ctr)).run(host, &pm);
    if out.code != 0 {
        // A runtime DELs after a failed ADD.
        del_with_ports(host, ctr, id, bridge_conf, maps, &first.json);
        return Err(out);
    }
    Ok(out.json)
}

/// The portmap config a runtime would send after `prev`.
pub fn portmap_conf(bridge_conf: &Value, maps: &Value, prev: &Value) -> Value {
    serde_json::json!({
        "cniVersion": bridge_conf["cniVersion"],
        "name": bridge_conf["name"],
        "type": "portmap",
        "runtimeConfig": {"portMappings": maps},
        "prevResult": prev,
    })
}

/// DEL of portmap then the main plugin, with `prev` as the cached result.
pub fn del_with_ports(
    host: &TestNetns,
    ctr: &Path,
    id: &str,
    bridge_conf: &Value,
    maps: &Value,
    prev: &Value,
) {
    let pm = portmap_conf(bridge_conf, maps, prev);
    Call::new("portmap", "DEL", id, Some(ctr))
        .run(host, &pm)
        .ok();
    let mut main = bridge_conf.clone();
    main["prevResult"] = prev.clone();
    let plugin = bridge_conf["type"].as_str().expect("type");
    Call::new(plugin, "DEL", id, Some(ctr))
        .run(host, &main)
        .ok();
}
