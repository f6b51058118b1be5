//! A volume in Docker's JSON (`Volume` of the Engine API): what `POST /volumes/create`,
//! `GET /volumes/{name}` and `GET /volumes` answer, and, with its `UsageData`, what
//! `GET /system/df` lists.

use berth_engine::volume::Volume;
use serde_json::{Value, json};

/// What `system df` adds to a volume: its size in bytes and how many containers use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// Bytes of file content.
    pub size: u64,
    /// How many containers mount it.
    pub ref_count: usize,
}

/// The volume as dockerd shows it; `usage` only for `system df` (elsewhere it is left out,
/// as dockerd does).
pub fn volume(v: &Volume, usage: Option<Usage>) -> Value {
    let mut out = json!({
        "Name": v.name, "Driver": v.driver, "Mountpoint": v.mountpoint.display().to_string(),
        "CreatedAt": v.created_at, "Labels": v.labels, "Scope": "local", "Options": v.options,
    });
    if let Some(u) = usage {
        out["UsageData"] = json!({"Size": u.size, "RefCount": u.ref_count});
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn volumes_have_dockers_fields_and_usage_only_when_measured() {
        let v = Volume {
            name: "v1".into(),
            driver: "local".into(),
            mountpoint: "/var/lib/berth/volumes/v1/_data".into(),
            created_at: "2024-01-01T00:00:00Z".into(),
            labels: BTreeMap::from([("a".into(), "b".into())]),
            anonymous: false,
            copied_up: false,
            options: Default::default(),
        };
        let j = volume(&v, None);
        assert_eq!(j["Name"], "v1");
        assert_eq!(j["Driver"], "local");
        assert_eq!(j["Mountpoint"], "/var/lib/berth/volumes/v1/_data");
        assert_eq!(j["CreatedAt"], "2024-01-01T00:00:00Z");
        assert_eq!(j["Labels"]["a"], "b");
        assert_eq!(j["Scope"], "local");
        assert!(j["Options"].as_object().unwrap().is_empty());
        assert!(j.get("UsageData").is_none());
        assert!(j.get("Anonymous").is_none(), "berth's own fields stay out");
        let j = volume(
            &v,
            Some(Usage {
                size: 3,
                ref_count: 1,
            }),
        );
        assert_eq!(j["UsageData"], json!({"Size": 3, "RefCount": 1}));
    }
}
