//! `GET /containers/json?all=&size=&filters=`: running containers (every one with `all`, or
//! with a `status` filter), newest first, filtered by `status`, `name`, `label`, `id`,
//! `network`, `ancestor` and `exited`.

use std::collections::BTreeMap;
use std::sync::Arc;

use berth_engine::container::record::ContainerRecord;
use hyper::StatusCode;

use super::extra::Extra;
use super::shape;
use crate::backend::is_running;
use crate::error::ApiResult;
use crate::query::Query;
use crate::reply::{self, Reply};
use crate::router::App;

/// The filters `docker ps --filter` sends.
const KNOWN: &[&str] = &[
    "status", "name", "label", "id", "network", "ancestor", "exited",
];

/// Whether the container passes every filter (values of one filter are alternatives, but
/// every `label` must hold).
pub fn matches(
    rec: &ContainerRecord,
    extra: &Extra,
    filters: &BTreeMap<String, Vec<String>>,
) -> bool {
    filters.iter().all(|(k, vals)| {
        vals.is_empty()
            || crate::query::filter_values(k, vals, |v| match k.as_str() {
                "status" => rec.state.status.to_string() == *v,
                "name" => rec.name.contains(v.trim_start_matches('/')),
                "id" => rec.id.starts_with(v.as_str()),
                "label" => crate::query::label_matches(&super::extra::labels(rec, extra), v),
                "network" => rec.host_config.networks.iter().any(|n| n == v),
                "ancestor" => {
                    let norm = crate::images::normalize_ref(v);
                    let with_tag = |s: &str| {
                        if s.contains(':') {
                            s.to_owned()
                        } else {
                            format!("{s}:latest")
                        }
                    };
                    with_tag(&crate::images::normalize_ref(&rec.config.image)) == with_tag(&norm)
                        || rec
                            .image
                            .trim_start_matches("sha256:")
                            .starts_with(v.trim_start_matches("sha256:"))
                }
                "exited" => {
                    rec.state.status.to_string() == "exited"
                        && rec.state.exit_code.to_string() == *v
                }
                _ => true,
            })
    })
}

/// `GET /containers/json`.
pub async fn list(app: &Arc<App>, q: &Query) -> ApiResult<Reply> {
    let filters = q.filters()?;
    crate::query::check_filters(&filters, KNOWN)?;
    let all = q.flag("all") || filters.contains_key("status") || filters.contains_key("exited");
    let size = q.flag("size");
    let limit: Option<usize> = q
        .number::<i64>("limit")?
        .and_then(|l| usize::try_from(l).ok())
        .filter(|l| *l > 0);
    let out = app
        .backend
        .run(move |env| {
            let now = berth_engine::clock::now_secs();
            let mut out = Vec::new();
            for rec in env.list()? {
                if !all && !is_running(&rec) {
                    continue;
                }
                let extra = Extra::read(&env.eng.containers.dir(&rec.id));
                if !matches(&rec, &extra, &filters) {
                    continue;
                }
                let sz = if size { env.size(&rec) } else { None };
                out.push(shape::summary(&rec, &extra, sz, now));
                if limit.is_some_and(|l| out.len() >= l) {
                    break;
                }
            }
            Ok(out)
        })
        .await?;
    Ok(reply::json(StatusCode::OK, &out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_engine::container::record::Status;

    #[test]
    fn filters_pick_by_status_name_label_and_ancestor() {
        let mut r = ContainerRecord {
            id: "abc".repeat(21) + "d",
            name: "web-1".into(),
            image: format!("sha256:{}", "f".repeat(64)),
            ..Default::default()
        };
        r.config.image = "bb".into();
        r.state.status = Status::Exited;
        r.state.exit_code = 3;
        r.host_config.networks = vec!["bridge".into()];
        let mut e = Extra::default();
        e.labels.insert("app".into(), "x".into());
        let f = |pairs: &[(&str, &str)]| -> BTreeMap<String, Vec<String>> {
            let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for (k, v) in pairs {
                m.entry((*k).into()).or_default().push((*v).into());
            }
            m
        };
        assert!(matches(
            &r,
            &e,
            &f(&[("status", "exited"), ("name", "web")])
        ));
        assert!(matches(
            &r,
            &e,
            &f(&[("status", "running"), ("status", "exited")])
        ));
        assert!(!matches(&r, &e, &f(&[("status", "running")])));
        assert!(matches(&r, &e, &f(&[("label", "app"), ("label", "app=x")])));
        assert!(!matches(&r, &e, &f(&[("label", "app=y")])));
        // Every label must hold (docker-compose lists a project's containers so).
        assert!(!matches(
            &r,
            &e,
            &f(&[("label", "app=x"), ("label", "oneoff=True")])
        ));
        assert!(matches(
            &r,
            &e,
            &f(&[("ancestor", "docker.io/library/bb:latest")])
        ));
        assert!(matches(&r, &e, &f(&[("ancestor", "ffff")])));
        assert!(!matches(&r, &e, &f(&[("ancestor", "other")])));
        assert!(matches(
            &r,
            &e,
            &f(&[("network", "bridge"), ("id", "abca"), ("exited", "3")])
        ));
    }
}
