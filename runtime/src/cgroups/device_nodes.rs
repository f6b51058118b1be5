//! The config's `linux.devices` are allowed in the devices cgroup, as runc does: a container
//! whose `linux.resources.devices` denies everything still gets to create (mknod) and use
//! the nodes its config lists. [`with_device_nodes`] appends one `rwm` allow rule per node.

use oci_spec::runtime::{
    LinuxDevice, LinuxDeviceCgroup, LinuxDeviceCgroupBuilder, LinuxDeviceType, LinuxResources,
};

/// `resources` with an allow rule for each of `devices` after its own device rules; `None`
/// when there are neither resources nor devices.
pub fn with_device_nodes(
    resources: Option<&LinuxResources>,
    devices: &[LinuxDevice],
) -> Option<LinuxResources> {
    if devices.is_empty() {
        return resources.cloned();
    }
    let mut r = resources.cloned().unwrap_or_default();
    let mut rules: Vec<LinuxDeviceCgroup> = r.devices().clone().unwrap_or_default();
    rules.extend(devices.iter().filter_map(node_rule));
    r.set_devices(Some(rules));
    Some(r)
}

/// The allow rule for one node; fifos need none.
fn node_rule(d: &LinuxDevice) -> Option<LinuxDeviceCgroup> {
    let typ = match d.typ() {
        LinuxDeviceType::P => return None,
        LinuxDeviceType::B => LinuxDeviceType::B,
        _ => LinuxDeviceType::C,
    };
    LinuxDeviceCgroupBuilder::default()
        .allow(true)
        .typ(typ)
        .major(d.major())
        .minor(d.minor())
        .access("rwm")
        .build()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(v: serde_json::Value) -> LinuxDevice {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn nodes_are_allowed_after_the_configs_rules() {
        let r: LinuxResources = serde_json::from_value(serde_json::json!({
            "devices": [{"allow": false, "access": "rwm"}]
        }))
        .unwrap();
        let devs = [
            device(
                serde_json::json!({"path": "/dev/test1", "type": "c", "major": 10, "minor": 666}),
            ),
            device(serde_json::json!({"path": "/dev/test2", "type": "b", "major": 8, "minor": 3})),
            device(serde_json::json!({"path": "/dev/fifo", "type": "p", "major": 0, "minor": 0})),
        ];
        let out = with_device_nodes(Some(&r), &devs).unwrap();
        let lines: Vec<String> = out
            .devices()
            .as_ref()
            .unwrap()
            .iter()
            .map(|d| format!("{} {}", d.allow(), super::super::v1::device_rule_line(d)))
            .collect();
        assert_eq!(lines, ["false a", "true c 10:666 rwm", "true b 8:3 rwm"]);
        assert!(with_device_nodes(None, &[]).is_none());
        assert_eq!(with_device_nodes(Some(&r), &[]), Some(r));
    }
}
