//! The `none` plugin: a namespace with only loopback, up, with 127.0.0.1/8 and ::1.
//!
//! ADD brings `lo` up (the kernel then assigns its addresses), makes sure 127.0.0.1/8 is there
//! and reports `lo`; chained after another plugin it passes `prevResult` through. DEL takes `lo`
//! down again when the namespace still exists and succeeds when it is gone.

use crate::cni::{
    Attachment, CniError, CniRequest, CniResult, Interface, IpConfig, Plugin, ValidAttachment,
};
use crate::netlink::{LinkInfo, LinuxNetlink, Netlink};
use crate::plugins::kernel;

/// Brings `lo` up and reports it.
pub fn add<N: Netlink>(ctr: &N, sandbox: &str) -> Result<CniResult, CniError> {
    let lo = loopback(ctr)?;
    if !lo.admin_up {
        ctr.set_up(lo.index)?;
    }
    let v4: ipnetwork::IpNetwork = "127.0.0.1/8".parse().map_err(|_| CniError::Io {
        op: "parse loopback address".into(),
        source: std::io::Error::from_raw_os_error(libc::EINVAL),
    })?;
    let mut addrs = ctr.addresses(Some(lo.index))?;
    if !addrs.iter().any(|a| a.addr == v4) {
        match ctr.add_address(lo.index, v4) {
            Err(e) if e.is_exists() => {}
            other => other?,
        }
        addrs = ctr.addresses(Some(lo.index))?;
    }
    Ok(CniResult {
        interfaces: vec![Interface {
            name: lo.name.clone(),
            mac: Some("00:00:00:00:00:00".into()),
            mtu: Some(lo.mtu),
            sandbox: Some(sandbox.to_string()),
            ..Default::default()
        }],
        ips: addrs
            .iter()
            .map(|a| IpConfig {
                address: a.addr,
                gateway: None,
                interface: Some(0),
            })
            .collect(),
        ..Default::default()
    })
}

/// `lo` is up with 127.0.0.1/8.
pub fn check<N: Netlink>(ctr: &N) -> Result<(), CniError> {
    let lo = loopback(ctr)?;
    let fail = |reason: &str| CniError::CheckFailed {
        reason: reason.to_string(),
    };
    if !lo.admin_up {
        return Err(fail("lo is down"));
    }
    let has_v4 = ctr
        .addresses(Some(lo.index))?
        .iter()
        .any(|a| a.addr.ip() == std::net::Ipv4Addr::LOCALHOST);
    if !has_v4 {
        return Err(fail("lo lacks 127.0.0.1"));
    }
    Ok(())
}

fn loopback<N: Netlink>(ctr: &N) -> Result<LinkInfo, CniError> {
    ctr.link_by_name("lo")?
        .ok_or_else(|| CniError::CheckFailed {
            reason: "the netns has no lo".into(),
        })
}

/// The none plugin wired to the real kernel.
pub struct NonePlugin;

impl Plugin for NonePlugin {
    fn add(&self, req: &CniRequest, att: &Attachment) -> Result<CniResult, CniError> {
        let netns = att.netns()?;
        let ns = kernel::open_netns(netns)?;
        let ctr = LinuxNetlink::open_in(&ns)?;
        let result = add(&ctr, &netns.display().to_string())?;
        match req.config.prev_result()? {
            Some(prev) => Ok(prev),
            None => Ok(result),
        }
    }

    fn del(&self, _req: &CniRequest, att: &Attachment) -> Result<(), CniError> {
        let Some(ctr) = kernel::open_ctr_for_del(att.netns.as_deref())? else {
            return Ok(());
        };
        if let Some(lo) = ctr.link_by_name("lo")? {
            ctr.set_down(lo.index)?;
        }
        Ok(())
    }

    fn check(&self, _req: &CniRequest, att: &Attachment) -> Result<(), CniError> {
        let ns = kernel::open_netns(att.netns()?)?;
        check(&LinuxNetlink::open_in(&ns)?)
    }

    fn gc(&self, _req: &CniRequest, _valid: &[ValidAttachment]) -> Result<(), CniError> {
        Ok(())
    }

    fn status(&self, _req: &CniRequest) -> Result<(), CniError> {
        Ok(())
    }
}
