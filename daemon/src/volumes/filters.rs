//! The filters of `GET /volumes` (`name`, `label`, `driver`, `dangling`) and of
//! `POST /volumes/prune` (`label`, `label!`, `all`), as dockerd reads them: the values of
//! `name` and `driver` are alternatives, every `label` must match, and a volume matching every
//! `label!` is kept.

use std::collections::BTreeMap;

use berth_engine::volume::Volume;

use crate::error::{ApiError, ApiResult};
use crate::query::{check_filters, label_matches};

/// Filters by name, with their values.
pub type Filters = BTreeMap<String, Vec<String>>;

/// What `docker volume ls --filter` may send.
const LIST: &[&str] = &["name", "label", "driver", "dangling"];

/// What `docker volume prune --filter` may send.
const PRUNE: &[&str] = &["label", "label!", "all"];

/// A boolean filter value (`true`/`1`, `false`/`0`); anything else is a 400.
fn boolean(key: &str, v: &str) -> ApiResult<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(ApiError::bad_request(format!(
            "invalid filter '{key}={v}': want true or false"
        ))),
    }
}

/// `GET /volumes` filters, checked.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    filters: Filters,
    dangling: Vec<bool>,
}

impl ListFilter {
    /// Checks the names and the `dangling` values.
    pub fn new(filters: Filters) -> ApiResult<Self> {
        check_filters(&filters, LIST)?;
        let dangling = filters
            .get("dangling")
            .into_iter()
            .flatten()
            .map(|v| boolean("dangling", v))
            .collect::<ApiResult<_>>()?;
        Ok(Self { filters, dangling })
    }

    /// Whether the answer depends on which volumes containers use.
    pub fn needs_users(&self) -> bool {
        !self.dangling.is_empty()
    }

    /// Whether the volume passes; `in_use`: a container mounts it.
    pub fn matches(&self, v: &Volume, in_use: bool) -> bool {
        let any = |key: &str, f: &dyn Fn(&str) -> bool| {
            self.filters
                .get(key)
                .is_none_or(|vals| vals.is_empty() || vals.iter().any(|x| f(x)))
        };
        any("name", &|x| v.name.contains(x))
            && any("driver", &|x| x == v.driver)
            && labels_match(&self.filters, v)
            && (self.dangling.is_empty() || self.dangling.contains(&!in_use))
    }
}

/// Every `label` matches and, if `label!` is given, not every `label!` does.
fn labels_match(filters: &Filters, v: &Volume) -> bool {
    let all = |key: &str| {
        filters
            .get(key)
            .is_none_or(|vals| vals.iter().all(|x| label_matches(&v.labels, x)))
    };
    let excluded = filters.get("label!").is_some_and(|vals| !vals.is_empty()) && all("label!");
    all("label") && !excluded
}

/// `POST /volumes/prune` filters, checked: which unused volumes to remove. `all` is accepted
/// and changes nothing: as dockerd at API 1.41, every unused local volume is a candidate,
/// named or anonymous.
#[derive(Debug, Clone, Default)]
pub struct PruneFilter {
    filters: Filters,
}

impl PruneFilter {
    /// Checks the names and the `all` values.
    pub fn new(filters: Filters) -> ApiResult<Self> {
        check_filters(&filters, PRUNE)?;
        for v in filters.get("all").into_iter().flatten() {
            boolean("all", v)?;
        }
        Ok(Self { filters })
    }

    /// Whether the volume is to go (if no container uses it).
    pub fn selects(&self, v: &Volume) -> bool {
        labels_match(&self.filters, v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vol(name: &str, labels: &[(&str, &str)]) -> Volume {
        Volume {
            name: name.into(),
            driver: "local".into(),
            mountpoint: format!("/v/{name}/_data").into(),
            created_at: String::new(),
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
            anonymous: false,
            copied_up: false,
            options: Default::default(),
        }
    }

    fn f(pairs: &[(&str, &str)]) -> Filters {
        let mut m = Filters::new();
        for (k, v) in pairs {
            m.entry((*k).into()).or_default().push((*v).into());
        }
        m
    }

    #[test]
    fn list_filters_pick_by_name_label_driver_and_dangling() {
        let v = vol("data-1", &[("a", "b"), ("tier", "db")]);
        let yes = |p: &[(&str, &str)], used| ListFilter::new(f(p)).unwrap().matches(&v, used);
        assert!(yes(&[], false));
        assert!(yes(&[("name", "data"), ("name", "zzz")], false));
        assert!(!yes(&[("name", "zzz")], false));
        assert!(yes(&[("label", "a=b"), ("label", "tier")], false));
        assert!(!yes(&[("label", "a=b"), ("label", "tier=web")], false));
        assert!(yes(&[("driver", "local")], false));
        assert!(!yes(&[("driver", "nfs")], false));
        assert!(yes(&[("dangling", "true")], false));
        assert!(!yes(&[("dangling", "1")], true));
        assert!(yes(&[("dangling", "false")], true));
        assert!(
            ListFilter::new(f(&[("dangling", "true")]))
                .unwrap()
                .needs_users()
        );
        assert!(!ListFilter::new(f(&[("name", "x")])).unwrap().needs_users());
    }

    #[test]
    fn unknown_filters_and_bad_booleans_are_400() {
        let e = ListFilter::new(f(&[("colour", "red")])).unwrap_err();
        assert_eq!(e.status, hyper::StatusCode::BAD_REQUEST);
        assert_eq!(e.message, "invalid filter 'colour'");
        let e = ListFilter::new(f(&[("dangling", "maybe")])).unwrap_err();
        assert_eq!(e.status, hyper::StatusCode::BAD_REQUEST);
        assert!(PruneFilter::new(f(&[("all", "yes please")])).is_err());
        assert!(PruneFilter::new(f(&[("dangling", "true")])).is_err());
        assert!(PruneFilter::new(f(&[("all", "true")])).is_ok());
    }

    #[test]
    fn prune_filters_keep_and_exclude_by_label() {
        let keep = vol("k", &[("keep", "1")]);
        let plain = vol("p", &[]);
        let sel = |p: &[(&str, &str)], v: &Volume| PruneFilter::new(f(p)).unwrap().selects(v);
        assert!(sel(&[], &keep) && sel(&[], &plain));
        assert!(sel(&[("all", "1")], &plain));
        assert!(!sel(&[("label!", "keep")], &keep));
        assert!(sel(&[("label!", "keep")], &plain));
        assert!(sel(&[("label", "keep=1")], &keep));
        assert!(!sel(&[("label", "keep=1")], &plain));
    }
}
