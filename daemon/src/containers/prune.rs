//! `POST /containers/prune?filters=`: removes the stopped containers the `until` and `label`
//! (`label!`) filters pick, through [`berth_engine::container::prune`] (which logs `prune`);
//! `{"ContainersDeleted": [...], "SpaceReclaimed": n}`, with `null` for none as dockerd sends.

use std::collections::BTreeMap;
use std::sync::Arc;

use berth_engine::container::record::ContainerRecord;
use hyper::StatusCode;
use serde_json::json;

use super::extra::Extra;
use crate::error::{ApiError, ApiResult};
use crate::query::{Query, check_filters, label_matches};
use crate::reply::{self, Reply};
use crate::router::App;

/// Filters by name, with their values.
type Filters = BTreeMap<String, Vec<String>>;

/// The filters `docker container prune --filter` may send.
const KNOWN: &[&str] = &["until", "label", "label!"];

/// `POST /containers/prune`.
pub async fn prune(app: &Arc<App>, q: &Query) -> ApiResult<Reply> {
    let filters = q.filters()?;
    check_filters(&filters, KNOWN)?;
    let until = match filters.get("until").and_then(|v| v.last()) {
        Some(v) => Some(
            crate::networks::shape::until(v)
                .ok_or_else(|| ApiError::bad_request(format!("invalid filter 'until={v}'")))?,
        ),
        None => None,
    };
    let report = app
        .backend
        .run(move |env| {
            let pick = |rec: &ContainerRecord| {
                let labels =
                    super::extra::labels(rec, &Extra::read(&env.eng.containers.dir(&rec.id)));
                created_before(rec, until) && labels_pass(&filters, &labels)
            };
            Ok(berth_engine::container::prune::prune(env.eng, pick)?)
        })
        .await?;
    let deleted = if report.deleted.is_empty() {
        serde_json::Value::Null
    } else {
        json!(report.deleted)
    };
    Ok(reply::json(
        StatusCode::OK,
        &json!({"ContainersDeleted": deleted, "SpaceReclaimed": report.space_reclaimed}),
    ))
}

/// Whether the container was made before `until` (always, without one).
fn created_before(rec: &ContainerRecord, until: Option<i64>) -> bool {
    let created = berth_engine::clock::parse_rfc3339(&rec.created).unwrap_or(0);
    until.is_none_or(|u| created < u)
}

/// Every `label` matches, and not every `label!` does (when some are given).
fn labels_pass(filters: &Filters, labels: &BTreeMap<String, String>) -> bool {
    let all = |key: &str| {
        filters
            .get(key)
            .is_none_or(|vals| vals.iter().all(|v| label_matches(labels, v)))
    };
    let excluded = filters.get("label!").is_some_and(|v| !v.is_empty()) && all("label!");
    all("label") && !excluded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_and_until_filters_pick_as_dockerd_does() {
        let labels: BTreeMap<String, String> = [("keep".to_owned(), "1".to_owned())].into();
        let f = |k: &str, v: &str| -> Filters { [(k.to_owned(), vec![v.to_owned()])].into() };
        assert!(labels_pass(&Filters::new(), &labels));
        assert!(labels_pass(&f("label", "keep"), &labels));
        assert!(!labels_pass(&f("label", "keep=2"), &labels));
        assert!(!labels_pass(&f("label!", "keep"), &labels));
        assert!(labels_pass(&f("label!", "keep"), &BTreeMap::new()));
        let rec = ContainerRecord {
            created: "2024-01-01T00:00:00.000000000Z".into(),
            ..Default::default()
        };
        assert!(created_before(&rec, None));
        assert!(created_before(&rec, Some(1_704_067_201)));
        assert!(!created_before(&rec, Some(1_704_067_200)));
    }
}
