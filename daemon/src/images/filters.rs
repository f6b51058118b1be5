//! The `filters` of `GET /images/json` (`dangling`, `reference`, `label`, `before`, `since`)
//! and of `POST /images/prune` (`dangling`, `label`, `label!`, `until`), read as dockerd
//! (API 1.41) reads them into the engine's [`ListFilter`] and [`PruneFilter`].

use std::collections::BTreeMap;

use berth_engine::image::PruneFilter;
use berth_engine::image::filter::ListFilter;

use super::{normalize_ref, timestamp};
use crate::error::{ApiError, ApiResult};
use crate::query::check_filters;

/// Filters by name, with their values.
pub type Filters = BTreeMap<String, Vec<String>>;

/// What `docker images --filter` may send.
const LIST: &[&str] = &["dangling", "label", "before", "since", "reference"];

/// What `docker image prune --filter` may send.
const PRUNE: &[&str] = &["dangling", "label", "label!", "until"];

/// The one boolean value of `key` (`true`/`1`, `false`/`0`); `None` when absent. Several
/// different values, or anything else, is dockerd's 400 `Invalid filter`.
fn boolean(filters: &Filters, key: &str) -> ApiResult<Option<bool>> {
    let Some(vals) = filters.get(key).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let parse = |v: &String| match v.to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    };
    let parsed: Option<Vec<bool>> = vals.iter().map(parse).collect();
    match parsed.as_deref() {
        Some([first, rest @ ..]) if rest.iter().all(|b| b == first) => Ok(Some(*first)),
        _ => Err(ApiError::bad_request(format!(
            "Invalid filter '{key}={}'",
            vals.join(",")
        ))),
    }
}

fn values(filters: &Filters, key: &str) -> Vec<String> {
    filters.get(key).cloned().unwrap_or_default()
}

/// `GET /images/json` filters, with the legacy `filter=` parameter as one more `reference`.
pub fn list_filter(filters: &Filters, legacy: Option<&str>) -> ApiResult<ListFilter> {
    check_filters(filters, LIST)?;
    let mut references = values(filters, "reference");
    references.extend(legacy.filter(|l| !l.is_empty()).map(str::to_owned));
    let refs = |key| {
        values(filters, key)
            .iter()
            .map(|r| normalize_ref(r))
            .collect()
    };
    Ok(ListFilter {
        dangling: boolean(filters, "dangling")?,
        references: references.iter().map(|r| normalize_ref(r)).collect(),
        labels: values(filters, "label"),
        before: refs("before"),
        since: refs("since"),
    })
}

/// `POST /images/prune` filters: dangling images unless `dangling=false`; `until` as dockerd
/// reads it ([`timestamp::parse`]), relative to `now_nanos`.
pub fn prune_filter(filters: &Filters, now_nanos: i128) -> ApiResult<PruneFilter> {
    check_filters(filters, PRUNE)?;
    let until =
        match values(filters, "until").as_slice() {
            [] => None,
            [one] => Some(timestamp::parse(one, now_nanos).ok_or_else(|| {
                ApiError::bad_request(format!("invalid until filter value {one:?}"))
            })?),
            _ => {
                return Err(ApiError::bad_request(
                    "more than one until filter specified",
                ));
            }
        };
    Ok(PruneFilter {
        dangling_only: boolean(filters, "dangling")?.unwrap_or(true),
        labels: values(filters, "label"),
        not_labels: values(filters, "label!"),
        until_nanos: until,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(pairs: &[(&str, &str)]) -> Filters {
        let mut m = Filters::new();
        for (k, v) in pairs {
            m.entry((*k).to_owned()).or_default().push((*v).to_owned());
        }
        m
    }

    #[test]
    fn list_filters_read_as_dockerd() {
        let l = list_filter(
            &f(&[
                ("dangling", "true"),
                ("reference", "docker.io/library/bb"),
                ("label", "a=b"),
                ("since", "library/x:1"),
            ]),
            Some("old/*"),
        )
        .unwrap();
        assert_eq!(l.dangling, Some(true));
        assert_eq!(l.references, ["bb", "old/*"]);
        assert_eq!(l.labels, ["a=b"]);
        assert_eq!(l.since, ["x:1"]);
        let e = list_filter(&f(&[("dangling", "maybe")]), None).unwrap_err();
        assert_eq!(e.message, "Invalid filter 'dangling=maybe'");
        let e = list_filter(&f(&[("colour", "red")]), None).unwrap_err();
        assert_eq!(e.message, "invalid filter 'colour'");
    }

    #[test]
    fn prune_filters_default_to_dangling_and_read_until() {
        let p = prune_filter(&Filters::new(), 0).unwrap();
        assert!(p.dangling_only && p.until_nanos.is_none());
        let now = 10_000 * 1_000_000_000;
        let p = prune_filter(
            &f(&[("dangling", "false"), ("until", "1h"), ("label!", "k")]),
            now,
        )
        .unwrap();
        assert!(!p.dangling_only);
        assert_eq!(p.until_nanos, Some(now - 3600 * 1_000_000_000));
        assert_eq!(p.not_labels, ["k"]);
        assert_eq!(
            prune_filter(&f(&[("until", "soon")]), 0)
                .unwrap_err()
                .status,
            hyper::StatusCode::BAD_REQUEST
        );
        assert!(prune_filter(&f(&[("reference", "x")]), 0).is_err());
    }
}
