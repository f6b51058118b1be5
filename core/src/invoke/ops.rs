//! ADD, DEL, CHECK, GC and STATUS over a config list, following the spec's execution rules
//! for runtimes (CNI SPEC "Execution of Network Configurations" and libcni's behaviour).

use serde_json::{Map, Value};

use super::cache::{self, CACHE_KIND, CachedAttachment};
use super::conflist::{NetworkList, plugin_type, request_config};
use super::lock::{self, FileLock, LockMode};
use super::{GcAttachment, InvokeError, Invoker, RuntimeConf};
use crate::cni::{CniResult, PluginExec, Version};
use crate::names::{ContainerId, IfName};

/// The two locks an attachment operation holds (network shared, attachment exclusive).
struct AttachmentLocks {
    _network: FileLock,
    _attachment: FileLock,
}

impl<E: PluginExec> Invoker<E> {
    fn lock_attachment(
        &self,
        network: &str,
        rt: &RuntimeConf,
    ) -> Result<AttachmentLocks, InvokeError> {
        let net = lock::lock_file(
            &lock::network_lock_path(&self.lock_dir, network),
            LockMode::Shared,
        )?;
        let att = lock::lock_file(
            &lock::attachment_lock_path(
                &self.lock_dir,
                network,
                rt.container_id.as_str(),
                rt.ifname.as_str(),
            ),
            LockMode::Exclusive,
        )?;
        Ok(AttachmentLocks {
            _network: net,
            _attachment: att,
        })
    }

    /// Takes a network's lock exclusively (no ADD/DEL/CHECK runs on it meanwhile), e.g. to
    /// remove the network.
    pub fn lock_network_exclusive(&self, network: &str) -> Result<FileLock, InvokeError> {
        lock::lock_file(
            &lock::network_lock_path(&self.lock_dir, network),
            LockMode::Exclusive,
        )
    }

    fn cache_file(&self, network: &str, rt: &RuntimeConf) -> std::path::PathBuf {
        cache::cache_path(
            &self.cache_dir,
            network,
            rt.container_id.as_str(),
            rt.ifname.as_str(),
        )
    }

    /// Runs one plugin with the attachment's env (or none, for GC and STATUS).
    fn run_plugin(
        &self,
        command: &'static str,
        list: &NetworkList,
        plugin: &Value,
        rt: Option<&RuntimeConf>,
        stdin: &Value,
    ) -> Result<Vec<u8>, InvokeError> {
        let cni_path = self.cni_path_string();
        let mut env: Vec<(&str, String)> = vec![("CNI_COMMAND", command.into())];
        if let Some(rt) = rt {
            let netns = rt
                .netns
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            env.push(("CNI_CONTAINERID", rt.container_id.as_str().into()));
            env.push(("CNI_NETNS", netns));
            env.push(("CNI_IFNAME", rt.ifname.as_str().into()));
            env.push(("CNI_ARGS", rt.cni_args_string()));
        }
        env.push(("CNI_PATH", cni_path));
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let ty = plugin_type(plugin);
        // Serialising a Value cannot fail.
        let bytes = serde_json::to_vec(stdin).unwrap_or_default();
        tracing::debug!(command, plugin = ty, network = %list.name, "running plugin");
        self.exec
            .exec(ty, &env, &bytes)
            .map_err(|source| InvokeError::Plugin {
                command,
                plugin: ty.to_string(),
                network: list.name.clone(),
                source: Box::new(source),
            })
    }

    /// ADD: every plugin in order, each getting the previous one's result as `prevResult`;
    /// the final result is cached and returned. If a plugin fails, DEL runs for the plugins
    /// that were started (the spec: every ADD eventually gets a DEL), and the ADD's error is
    /// returned.
    pub fn add(&self, list: &NetworkList, rt: &RuntimeConf) -> Result<CniResult, InvokeError> {
        let _locks = self.lock_attachment(&list.name, rt)?;
        let path = self.cache_file(&list.name, rt);
        if cache::read(&path)?.is_some() {
            return Err(InvokeError::AlreadyAttached {
                network: list.name.clone(),
                container: rt.container_id.to_string(),
                ifname: rt.ifname.to_string(),
            });
        }
        let (result, err) = match self.add_plugins(list, rt) {
            Ok(result) => {
                let entry = cache_entry(list, rt, &result);
                match cache::write(&path, &entry) {
                    Ok(()) => return decode_final(list, &result),
                    Err(e) => (Some(result), (e, list.plugins.len())),
                }
            }
            Err((prev, e, started)) => (prev, (e, started)),
        };
        let (error, started) = err;
        let plugins = &list.plugins[..started];
        if let Err(rollback) = self.del_plugins(list, rt, plugins, result.as_ref()) {
            tracing::warn!(network = %list.name, error = %rollback, "DEL after a failed ADD failed too");
        }
        Err(error)
    }

    /// Runs ADD through the list. On failure returns the last good result, the error and how
    /// many plugins were started (the failed one included).
    #[allow(clippy::type_complexity)]
    fn add_plugins(
        &self,
        list: &NetworkList,
        rt: &RuntimeConf,
    ) -> Result<Value, (Option<Value>, InvokeError, usize)> {
        let mut prev: Option<Value> = None;
        for (i, plugin) in list.plugins.iter().enumerate() {
            let stdin = request_config(list, plugin, prev.as_ref(), &rt.capability_args);
            let out = self
                .run_plugin("ADD", list, plugin, Some(rt), &stdin)
                .map_err(|e| (prev.clone(), e, i + 1))?;
            let result = parse_result(list, plugin, &out).map_err(|e| (prev.clone(), e, i + 1))?;
            prev = Some(result);
        }
        prev.ok_or_else(|| {
            let e = InvokeError::InvalidList {
                field: "plugins".into(),
                reason: "the list has no plugins".into(),
            };
            (None, e, 0)
        })
    }

    /// DEL for `plugins` in reverse order with `prev` as `prevResult` (0.4.0 and later); stops
    /// at the first error, as the spec says.
    fn del_plugins(
        &self,
        list: &NetworkList,
        rt: &RuntimeConf,
        plugins: &[Value],
        prev: Option<&Value>,
    ) -> Result<(), InvokeError> {
        let prev = prev.filter(|_| list.version >= Version::V0_4_0);
        for plugin in plugins.iter().rev() {
            let stdin = request_config(list, plugin, prev, &rt.capability_args);
            self.run_plugin("DEL", list, plugin, Some(rt), &stdin)?;
        }
        Ok(())
    }

    /// DEL: every plugin in reverse order with the cached final result as `prevResult` and the
    /// cached capability arguments and `CNI_ARGS` (when `rt` brings none). Uses the cached
    /// config list when there is one (the config must not change between ADD and DEL). Works
    /// with no cache and with no netns. The cache entry is removed once every plugin succeeded.
    pub fn del(&self, list: &NetworkList, rt: &RuntimeConf) -> Result<(), InvokeError> {
        let _locks = self.lock_attachment(&list.name, rt)?;
        self.del_locked(list, rt)
    }

    fn del_locked(&self, list: &NetworkList, rt: &RuntimeConf) -> Result<(), InvokeError> {
        let path = self.cache_file(&list.name, rt);
        let cached = cache::read(&path)?;
        let mut rt = rt.clone();
        let mut cached_list = None;
        if let Some(c) = &cached {
            if rt.capability_args.is_empty() {
                rt.capability_args = c.capability_args.clone();
            }
            if rt.cni_args.is_empty() {
                rt.cni_args = c
                    .cni_args
                    .iter()
                    .map(|[k, v]| (k.clone(), v.clone()))
                    .collect();
            }
            if rt.netns.is_none() && !c.netns.is_empty() {
                rt.netns = Some(c.netns.clone().into());
            }
            cached_list = NetworkList::parse(c.config.clone()).ok();
        }
        let list = cached_list.as_ref().unwrap_or(list);
        let prev = cached
            .as_ref()
            .and_then(|c| c.result.as_ref())
            .map(|r| CniResult::convert(r, list.version).unwrap_or_else(|_| r.clone()));
        self.del_plugins(list, &rt, &list.plugins, prev.as_ref())?;
        cache::remove(&path)
    }

    /// DEL of a cached attachment, with everything taken from the cache (e.g. to remove a
    /// network whose config list changed or is gone).
    pub fn del_cached(&self, cached: &CachedAttachment) -> Result<(), InvokeError> {
        let list = NetworkList::parse(cached.config.clone())?;
        let rt = runtime_conf_of(cached)?;
        self.del(&list, &rt)
    }

    /// CHECK: every plugin in order with the cached result as `prevResult`. Skipped when the
    /// list sets `disableCheck`; refused before 0.4.0 and when nothing is cached.
    pub fn check(&self, list: &NetworkList, rt: &RuntimeConf) -> Result<(), InvokeError> {
        if !list.version.supports_check() {
            return Err(not_in_version("CHECK", list));
        }
        if list.disable_check {
            return Ok(());
        }
        let _locks = self.lock_attachment(&list.name, rt)?;
        let not_attached = || InvokeError::NotAttached {
            network: list.name.clone(),
            container: rt.container_id.to_string(),
            ifname: rt.ifname.to_string(),
        };
        let cached = cache::read(&self.cache_file(&list.name, rt))?.ok_or_else(not_attached)?;
        let result = cached.result.as_ref().ok_or_else(not_attached)?;
        let prev = CniResult::convert(result, list.version).unwrap_or_else(|_| result.clone());
        let mut rt = rt.clone();
        if rt.capability_args.is_empty() {
            rt.capability_args = cached.capability_args.clone();
        }
        for plugin in &list.plugins {
            let stdin = request_config(list, plugin, Some(&prev), &rt.capability_args);
            self.run_plugin("CHECK", list, plugin, Some(&rt), &stdin)?;
        }
        Ok(())
    }

    /// GC (libcni's `GCNetworkList`): DEL every cached attachment of the network that is not in
    /// `valid`, then (1.1.0 and later, unless `disableGC`) GC on every plugin in order with the
    /// valid set as `cni.dev/valid-attachments` and `cni.dev/attachments`. Keeps going after
    /// failures and returns all of them. Holds the network's lock exclusively.
    pub fn gc(&self, list: &NetworkList, valid: &[GcAttachment]) -> Result<(), InvokeError> {
        let _lock = self.lock_network_exclusive(&list.name)?;
        let mut errors = Vec::new();
        for c in cache::list(&self.cache_dir, Some(&list.name))? {
            let keep = valid
                .iter()
                .any(|v| v.container_id == c.container_id && v.ifname == c.if_name);
            if keep {
                continue;
            }
            let res = NetworkList::parse(c.config.clone())
                .and_then(|l| runtime_conf_of(&c).map(|rt| (l, rt)))
                .and_then(|(l, rt)| self.del_locked(&l, &rt));
            if let Err(e) = res {
                errors.push(e);
            }
        }
        if list.version.supports_gc_status() && !list.disable_gc {
            // Serialising plain strings cannot fail.
            let valid_json = serde_json::to_value(valid).unwrap_or(Value::Array(Vec::new()));
            for plugin in &list.plugins {
                let mut stdin = request_config(list, plugin, None, &Map::new());
                if let Value::Object(o) = &mut stdin {
                    o.insert("cni.dev/valid-attachments".into(), valid_json.clone());
                    o.insert("cni.dev/attachments".into(), valid_json.clone());
                }
                if let Err(e) = self.run_plugin("GC", list, plugin, None, &stdin) {
                    errors.push(e);
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(InvokeError::Gc { errors })
        }
    }

    /// STATUS: every plugin in order; the first failure is returned. Lists older than 1.1.0
    /// have no STATUS and report ready, as libcni does.
    pub fn status(&self, list: &NetworkList) -> Result<(), InvokeError> {
        if !list.version.supports_gc_status() {
            return Ok(());
        }
        for plugin in &list.plugins {
            let stdin = request_config(list, plugin, None, &Map::new());
            self.run_plugin("STATUS", list, plugin, None, &stdin)?;
        }
        Ok(())
    }
}

fn not_in_version(command: &'static str, list: &NetworkList) -> InvokeError {
    InvokeError::NotInVersion {
        command,
        network: list.name.clone(),
        version: list.version,
    }
}

/// A plugin's ADD output as a result in the list's version.
fn parse_result(list: &NetworkList, plugin: &Value, out: &[u8]) -> Result<Value, InvokeError> {
    let bad = |source| InvokeError::BadResult {
        plugin: plugin_type(plugin).to_string(),
        network: list.name.clone(),
        source: Box::new(source),
    };
    let value: Value = serde_json::from_slice(out).map_err(|source| {
        bad(crate::cni::CniError::Decode {
            what: "plugin result",
            source,
        })
    })?;
    CniResult::convert(&value, list.version).map_err(bad)
}

fn decode_final(list: &NetworkList, result: &Value) -> Result<CniResult, InvokeError> {
    CniResult::from_json(result).map_err(|source| InvokeError::BadResult {
        plugin: list
            .plugin_types()
            .last()
            .copied()
            .unwrap_or("")
            .to_string(),
        network: list.name.clone(),
        source: Box::new(source),
    })
}

fn cache_entry(list: &NetworkList, rt: &RuntimeConf, result: &Value) -> CachedAttachment {
    CachedAttachment {
        kind: CACHE_KIND.into(),
        container_id: rt.container_id.to_string(),
        config: list.bytes.clone(),
        if_name: rt.ifname.to_string(),
        network_name: list.name.clone(),
        netns: rt
            .netns
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        cni_args: rt
            .cni_args
            .iter()
            .map(|(k, v)| [k.clone(), v.clone()])
            .collect(),
        capability_args: rt.capability_args.clone(),
        result: Some(result.clone()),
    }
}

/// The runtime config a cached attachment was added with.
pub(super) fn runtime_conf_of(c: &CachedAttachment) -> Result<RuntimeConf, InvokeError> {
    Ok(RuntimeConf {
        container_id: ContainerId::new(c.container_id.clone())?,
        ifname: IfName::new(c.if_name.clone())?,
        netns: (!c.netns.is_empty()).then(|| c.netns.clone().into()),
        cni_args: c
            .cni_args
            .iter()
            .map(|[k, v]| (k.clone(), v.clone()))
            .collect(),
        capability_args: c.capability_args.clone(),
    })
}
