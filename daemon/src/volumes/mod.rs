//! The `/volumes` endpoints over berth's volume store (the same volumes `berth volume` sees):
//! `POST /volumes/create`, `GET /volumes/{name}`, `GET /volumes` with its [`filters`],
//! `DELETE /volumes/{name}` (refused while a container uses the volume, naming the
//! containers, as dockerd does) and `POST /volumes/prune`. Which containers use a volume comes
//! from [`berth_engine::container::refs`]; the JSON is in [`shape`].

pub mod filters;
pub mod shape;

use std::collections::BTreeMap;
use std::sync::Arc;

use berth_engine::container::refs::{scan, volume_in_use, volume_users};
use berth_engine::volume::{VolumeError, VolumeName, check_driver};
use hyper::StatusCode;
use hyper::body::Incoming;
use serde::Deserialize;
use serde_json::json;

use crate::error::{ApiError, ApiResult};
use crate::query::Query;
use crate::reply::{self, Reply};
use crate::router::App;
use filters::{ListFilter, PruneFilter};

/// The body of `POST /volumes/create`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateBody {
    /// Empty: a generated name.
    pub name: Option<String>,
    /// Empty means `local`, the only driver.
    pub driver: Option<String>,
    /// Options of the `local` driver (`type`, `device`, `o`).
    pub driver_opts: Option<BTreeMap<String, String>>,
    /// User labels.
    pub labels: Option<BTreeMap<String, String>>,
}

/// A checked `POST /volumes/create`: name, labels and driver options.
type CreateRequest = (
    VolumeName,
    BTreeMap<String, String>,
    BTreeMap<String, String>,
);

/// The checked request: the name (generated when none was given), the labels and the `local`
/// driver's options (checked as the engine will: a 400 before anything is made).
fn create_request(body: CreateBody) -> ApiResult<CreateRequest> {
    let driver = body.driver.filter(|d| !d.is_empty());
    check_driver(driver.as_deref().unwrap_or("local")).map_err(anyhow::Error::from)?;
    let opts = body.driver_opts.unwrap_or_default();
    berth_engine::volume::options::validate(&opts)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let name = match body.name.filter(|n| !n.is_empty()) {
        Some(n) => n,
        None => berth_engine::ids::random_hex64()
            .map_err(|e| ApiError::internal(format!("generate a volume name: {e}")))?,
    };
    let name = VolumeName::new(&name).map_err(anyhow::Error::from)?;
    Ok((name, body.labels.unwrap_or_default(), opts))
}

/// `POST /volumes/create`: 201 with the volume; an existing name is answered with the volume
/// as it is (labels unchanged), as dockerd does.
pub async fn create(app: &Arc<App>, req: hyper::Request<Incoming>) -> ApiResult<Reply> {
    let (name, labels, opts) = create_request(reply::read_json(req).await?)?;
    let v = app
        .backend
        .run(move |env| {
            let v = env.store.volumes().create_with(Some(&name), labels, opts);
            Ok(v.map_err(anyhow::Error::from)?)
        })
        .await?;
    Ok(reply::json(StatusCode::CREATED, &shape::volume(&v, None)))
}

/// dockerd's 404 for a volume that is not there (a name no volume can have included).
fn no_such_volume(name: &str) -> ApiError {
    ApiError::not_found(format!("get {name}: no such volume"))
}

/// `GET /volumes/{name}`.
pub async fn inspect(app: &Arc<App>, name: &str) -> ApiResult<Reply> {
    let name = name.to_owned();
    let v = app
        .backend
        .run(move |env| match env.store.volumes().inspect(&name) {
            Ok(v) => Ok(v),
            Err(VolumeError::InvalidName { .. }) => Err(no_such_volume(&name)),
            Err(e) => Err(anyhow::Error::from(e).into()),
        })
        .await?;
    Ok(reply::json(StatusCode::OK, &shape::volume(&v, None)))
}

/// `GET /volumes`: `{"Volumes": [...], "Warnings": []}`, by name.
pub async fn list(app: &Arc<App>, q: &Query) -> ApiResult<Reply> {
    let filter = ListFilter::new(q.filters()?)?;
    let volumes = app
        .backend
        .run(move |env| {
            let refs = match filter.needs_users() {
                true => scan(&env.ctx.root)?,
                false => Vec::new(),
            };
            let all = env.store.volumes().list().map_err(anyhow::Error::from)?;
            Ok(all
                .iter()
                .filter(|v| filter.matches(v, volume_in_use(&refs, &v.name)))
                .map(|v| shape::volume(v, None))
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(reply::json(
        StatusCode::OK,
        &json!({"Volumes": volumes, "Warnings": []}),
    ))
}

/// `DELETE /volumes/{name}?force=`: 204. A volume a container uses (running or not) is a 409
/// naming the containers, with `force` too (dockerd's `force` only makes an unknown volume
/// no error).
pub async fn remove(app: &Arc<App>, name: &str, q: &Query) -> ApiResult<Reply> {
    let force = q.flag("force");
    let name = name.to_owned();
    app.backend
        .run(move |env| {
            let refs = scan(&env.ctx.root)?;
            let in_use = |n: &str| volume_in_use(&refs, n);
            match env.store.volumes().remove(&name, false, &in_use) {
                Ok(()) => Ok(()),
                Err(VolumeError::NotFound(_) | VolumeError::InvalidName { .. }) if force => Ok(()),
                Err(VolumeError::NotFound(_) | VolumeError::InvalidName { .. }) => {
                    Err(no_such_volume(&name))
                }
                Err(VolumeError::InUse(_)) => Err(ApiError::conflict(format!(
                    "remove {name}: volume is in use - [{}]",
                    volume_users(&refs, &name).join(", ")
                ))),
                Err(e) => Err(anyhow::Error::from(e).into()),
            }
        })
        .await?;
    Ok(reply::empty(StatusCode::NO_CONTENT))
}

/// `POST /volumes/prune?filters=`: removes the unused volumes the filters pick;
/// `{"VolumesDeleted": [...], "SpaceReclaimed": N}`.
pub async fn prune(app: &Arc<App>, q: &Query) -> ApiResult<Reply> {
    let filter = PruneFilter::new(q.filters()?)?;
    let report = app
        .backend
        .run(move |env| {
            let refs = scan(&env.ctx.root)?;
            let r = env
                .store
                .volumes()
                .prune_where(&|v| filter.selects(v), &|n| volume_in_use(&refs, n));
            Ok(r.map_err(anyhow::Error::from)?)
        })
        .await?;
    Ok(reply::json(
        StatusCode::OK,
        &json!({"VolumesDeleted": report.removed, "SpaceReclaimed": report.reclaimed}),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: serde_json::Value) -> CreateBody {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn create_takes_dockers_body_and_checks_the_local_drivers_options() {
        let (name, labels, opts) = create_request(body(json!({
            "Name": "v1", "Driver": "local", "DriverOpts": {}, "Labels": {"a": "b"}
        })))
        .unwrap();
        assert_eq!(name.as_str(), "v1");
        assert_eq!(labels["a"], "b");
        assert!(opts.is_empty());
        let (name, labels, _) = create_request(body(json!({"Name": "", "Driver": ""}))).unwrap();
        assert_eq!(name.as_str().len(), 64, "an empty name is generated");
        assert!(labels.is_empty());
        create_request(body(json!({"Labels": null, "DriverOpts": null}))).unwrap();
        let (_, _, opts) = create_request(body(json!({
            "Name": "t", "DriverOpts": {"type": "tmpfs", "device": "tmpfs", "o": "size=1m"}
        })))
        .unwrap();
        assert_eq!(opts["o"], "size=1m");
        let e = create_request(body(json!({"Name": "v", "Driver": "nfs"}))).unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert!(
            e.message.contains("\"nfs\" is not supported"),
            "{}",
            e.message
        );
        let e = create_request(body(json!({"Name": "v", "DriverOpts": {"type": "tmpfs"}})))
            .unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert!(e.message.contains("device is required"), "{}", e.message);
        let e =
            create_request(body(json!({"Name": "v", "DriverOpts": {"size": "1g"}}))).unwrap_err();
        assert!(e.message.contains("invalid option key"), "{}", e.message);
        let e = create_request(body(json!({"Name": "../etc"}))).unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
    }
}
