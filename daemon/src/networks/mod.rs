//! The network endpoints: `GET /networks` (filters), `GET /networks/{id}`,
//! `POST /networks/create`, `DELETE /networks/{id}`, `POST /networks/{id}/connect` and
//! `/disconnect`, and `POST /networks/prune`. Networks are found by name, id or id prefix;
//! every operation is the engine's, the one `berth net` runs.

pub mod body;
pub mod shape;

use std::sync::Arc;

use berth_core::invoke::CachedAttachment;
use berth_engine::network::Network;
use hyper::StatusCode;
use hyper::body::Incoming;
use serde_json::json;

use crate::backend::Env;
use crate::error::{ApiError, ApiResult};
use crate::query::{Query, check_filters};
use crate::reply::{self, Reply};
use crate::router::App;

/// The network `reference` names (name, id or id prefix), with dockerd's 404 message.
fn find(env: &Env<'_>, reference: &str) -> ApiResult<Network> {
    env.eng
        .networks
        .find(reference)
        .map_err(|_| ApiError::not_found(format!("network {reference} not found")))
}

/// The network's attachments with the names of their containers (the attachment's id when
/// it is not a container's, e.g. a namespace attached with `berth net attach`).
fn attachments(env: &Env<'_>, n: &Network) -> ApiResult<Vec<(CachedAttachment, String)>> {
    let atts = env
        .ctx
        .invoker()
        .cached_attachments(Some(n.name()))
        .map_err(anyhow::Error::from)?;
    Ok(atts
        .into_iter()
        .map(|a| {
            let name = env
                .eng
                .containers
                .load(&a.container_id)
                .map_or_else(|_| a.container_id.clone(), |r| r.name);
            (a, name)
        })
        .collect())
}

/// `GET /networks`.
pub async fn list(app: &Arc<App>, q: &Query) -> ApiResult<Reply> {
    let filters = q.filters()?;
    check_filters(&filters, shape::FILTERS)?;
    let out = app
        .backend
        .run(move |env| {
            let inv = env.ctx.invoker();
            let mut out = Vec::new();
            for n in env.eng.networks.list().map_err(anyhow::Error::from)? {
                let attached = if filters.contains_key("dangling") {
                    inv.cached_attachments(Some(n.name()))
                        .map_err(anyhow::Error::from)?
                        .len()
                } else {
                    0
                };
                if shape::matches(&n, attached, &filters) {
                    out.push(shape::resource(&n, &[]));
                }
            }
            Ok(out)
        })
        .await?;
    Ok(reply::json(StatusCode::OK, &out))
}

/// `GET /networks/{id}`.
pub async fn inspect(app: &Arc<App>, id: &str) -> ApiResult<Reply> {
    let reference = id.to_owned();
    let doc = app
        .backend
        .run(move |env| {
            let n = find(env, &reference)?;
            Ok(shape::resource(&n, &attachments(env, &n)?))
        })
        .await?;
    Ok(reply::json(StatusCode::OK, &doc))
}

/// `POST /networks/create`: 201 with the new network's id.
pub async fn create(app: &Arc<App>, req: hyper::Request<Incoming>) -> ApiResult<Reply> {
    let b: body::CreateBody = reply::read_json(req).await?;
    let creq = body::create_request(b)?;
    let id = app
        .backend
        .run(move |env| {
            let name = creq.name.clone();
            let net = env
                .eng
                .networks
                .create(creq, &env.ctx.lock_dir(), std::path::Path::new("/proc"))
                .map_err(|e| match e {
                    berth_engine::network::NetworkError::Exists { .. } => {
                        ApiError::conflict(format!("network with name {name} already exists"))
                    }
                    e => ApiError::from_engine(&e.into()),
                })?;
            Ok(net.id())
        })
        .await?;
    Ok(reply::json(
        StatusCode::CREATED,
        &json!({"Id": id, "Warning": ""}),
    ))
}

/// `DELETE /networks/{id}`: refused (403, as dockerd) for built-ins, while containers are
/// attached, and for an overlay network this host is joined to.
pub async fn remove(app: &Arc<App>, id: &str) -> ApiResult<Reply> {
    let reference = id.to_owned();
    app.backend
        .run(move |env| {
            let n = find(env, &reference)?;
            if n.builtin {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    format!(
                        "{} is a pre-defined network and cannot be removed",
                        n.name()
                    ),
                ));
            }
            berth_engine::network::check_not_joined(&n)
                .map_err(|e| ApiError::from_engine(&e.into()))?;
            berth_engine::network::remove(&env.eng.networks, &env.ctx.invoker(), n.name(), false)
                .map_err(|e| match e.downcast_ref() {
                    Some(berth_engine::network::NetworkError::InUse { .. }) => ApiError::new(
                        StatusCode::FORBIDDEN,
                        format!(
                            "error while removing network: network {} id {} has active endpoints",
                            n.name(),
                            n.id()
                        ),
                    ),
                    _ => ApiError::from_engine(&e),
                })
        })
        .await?;
    Ok(reply::empty(StatusCode::NO_CONTENT))
}

/// `POST /networks/{id}/connect`.
pub async fn connect(app: &Arc<App>, req: hyper::Request<Incoming>, id: &str) -> ApiResult<Reply> {
    let b: body::ConnectBody = reply::read_json(req).await?;
    let endpoint = b.endpoint_config.unwrap_or_default();
    let ip = endpoint.static_ip()?;
    let aliases = endpoint.aliases();
    let reference = id.to_owned();
    app.backend
        .run(move |env| {
            let n = find(env, &reference)?;
            let rec = env.resolve(&b.container)?;
            berth_engine::container::connect::connect(env.eng, &rec.id, n.name(), ip, &aliases)?;
            Ok(())
        })
        .await?;
    Ok(reply::empty(StatusCode::OK))
}

/// `POST /networks/{id}/disconnect`.
pub async fn disconnect(
    app: &Arc<App>,
    req: hyper::Request<Incoming>,
    id: &str,
) -> ApiResult<Reply> {
    let b: body::DisconnectBody = reply::read_json(req).await?;
    let reference = id.to_owned();
    app.backend
        .run(move |env| {
            let n = find(env, &reference)?;
            let rec = env.resolve(&b.container)?;
            berth_engine::container::connect::disconnect(env.eng, &rec.id, n.name(), b.force)?;
            Ok(())
        })
        .await?;
    Ok(reply::empty(StatusCode::OK))
}

/// `POST /networks/prune?filters=`: removes the user networks no container is attached to
/// (and that pass the `label`/`until` filters).
pub async fn prune(app: &Arc<App>, q: &Query) -> ApiResult<Reply> {
    let filters = q.filters()?;
    check_filters(&filters, &["label", "until"])?;
    let deleted = app
        .backend
        .run(move |env| {
            Ok(berth_engine::network::prune(
                &env.eng.networks,
                &env.ctx.invoker(),
                |n| !shape::matches(n, 0, &filters),
            )?)
        })
        .await?;
    Ok(reply::json(
        StatusCode::OK,
        &json!({"NetworksDeleted": deleted}),
    ))
}
