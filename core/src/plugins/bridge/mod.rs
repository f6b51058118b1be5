//! The `bridge` plugin: containers on a Linux bridge through veth pairs, with the reference
//! plugin's config keys and behaviour.
//!
//! ADD: ensure the bridge -> IPAM ADD -> one veth pair whose container end is created directly
//! in the netns under `CNI_IFNAME` -> host end enslaved (hairpin, isolation, VLANs) -> addresses
//! and routes in the container -> gateway address on the bridge and forwarding. Anything that
//! fails after IPAM undoes the veth and releases the address.

pub mod add;
pub mod check;
pub mod config;

use std::os::fd::AsFd;

use crate::cni::delegate;
use crate::cni::{Attachment, CniError, CniRequest, CniResult, Plugin, ValidAttachment};
use crate::firewall::NftFirewall;
use crate::netlink::LinuxNetlink;
use crate::plugins::builtin_exec::BuiltinExec;
use crate::plugins::{kernel, veth_pair};

pub use config::BridgeConfig;

/// The bridge plugin wired to the real kernel and the real IPAM binary.
pub struct BridgePlugin;

impl Plugin for BridgePlugin {
    fn add(&self, req: &CniRequest, att: &Attachment) -> Result<CniResult, CniError> {
        let cfg = BridgeConfig::parse(&req.config)?;
        let netns = att.netns()?;
        let k = kernel::open(netns)?;
        let exec = BuiltinExec::new(req.cni_path.clone());
        let ctx = veth_pair::Context {
            host: &k.host,
            ctr: &k.ctr,
            ctr_ns: k.ns.as_fd(),
            netns,
            exec: &exec,
            fw: &NftFirewall::new(),
        };
        add::add(&ctx, req, att, &cfg)
    }

    fn del(&self, req: &CniRequest, att: &Attachment) -> Result<(), CniError> {
        let _cfg = BridgeConfig::parse(&req.config)?;
        let exec = BuiltinExec::new(req.cni_path.clone());
        let host = LinuxNetlink::new()?;
        let open_ctr = || kernel::open_ctr_for_del(att.netns.as_deref());
        veth_pair::del(&host, open_ctr, &exec, req, att)
    }

    fn check(&self, req: &CniRequest, att: &Attachment) -> Result<(), CniError> {
        let cfg = BridgeConfig::parse(&req.config)?;
        let k = kernel::open(att.netns()?)?;
        let exec = BuiltinExec::new(req.cni_path.clone());
        check::check(&k.host, &k.ctr, &exec, req, att, &cfg)
    }

    fn gc(&self, req: &CniRequest, _valid: &[ValidAttachment]) -> Result<(), CniError> {
        // The bridge keeps no per-attachment state of its own: a veth dies with its netns.
        if let Some(ipam) = req.config.ipam_type() {
            delegate::ipam_gc(&BuiltinExec::new(req.cni_path.clone()), req, ipam)?;
        }
        // Then the firewall of every network that was left without attachments.
        veth_pair::gc_firewalls(&NftFirewall::new(), req);
        Ok(())
    }

    fn status(&self, req: &CniRequest) -> Result<(), CniError> {
        BridgeConfig::parse(&req.config)?;
        match req.config.ipam_type() {
            Some(ipam) => delegate::ipam_status(&BuiltinExec::new(req.cni_path.clone()), req, ipam),
            None => Ok(()),
        }
    }
}
