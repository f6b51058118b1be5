//! Requests to handlers: the version prefix is checked and dropped ([`crate::version`]), the
//! path split into segments and matched with the method; anything else is dockerd's 404
//! `page not found`. Every response gets the common headers ([`reply::add_common_headers`]).

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Method, Request};

use crate::backend::Backend;
use crate::containers;
use crate::error::ApiError;
use crate::hub::Hub;
use crate::query::Query;
use crate::reply::{self, Reply};
use crate::{images, networks, system, version};

/// What every handler may use.
pub struct App {
    /// The engine.
    pub backend: Backend,
    /// In-flight attaches and waits.
    pub hub: Arc<Hub>,
    /// How berthd starts its exec helper (itself).
    pub exe: std::path::PathBuf,
    /// How pulls and pushes reach registries (`--insecure-registry`, CA certificates).
    pub registry: berth_engine::registry::RegistryOptions,
}

/// Answers one request.
pub async fn handle(app: Arc<App>, req: Request<Incoming>) -> Reply {
    let path = req.uri().path().to_owned();
    let mut r = match version::strip_prefix(&path) {
        Ok((_, p)) => {
            let p = p.to_owned();
            reply::from_result(route(&app, req, &p).await)
        }
        Err(e) => reply::error(&e),
    };
    reply::add_common_headers(&mut r);
    tracing::debug!(%path, status = r.status().as_u16(), "request");
    r
}

async fn route(app: &Arc<App>, req: Request<Incoming>, path: &str) -> Result<Reply, ApiError> {
    use containers::{archive, attach, create, exec, inspect, lifecycle, list, logs, wait};
    let q = Query::parse(req.uri().query());
    let m = req.method().clone();
    let decoded: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .map(percent_decode)
        .collect();
    let segs: Vec<&str> = decoded.iter().map(String::as_str).collect();
    match (&m, segs.as_slice()) {
        (&Method::GET | &Method::HEAD, ["_ping"]) => Ok(system::ping(&m)),
        (&Method::GET, ["version"]) => Ok(system::version()),
        (&Method::GET, ["info"]) => system::info(&app.backend).await,
        (&Method::GET, ["system", "df"]) => crate::system_df::df(app).await,
        (&Method::GET, ["events"]) => crate::events::events(app, &q).await,
        (&Method::POST, ["containers", "create"]) => create::create(app, req, &q).await,
        (&Method::GET, ["containers", "json"]) => list::list(app, &q).await,
        (&Method::GET, ["containers", id, "json"]) => inspect::inspect(app, id).await,
        (&Method::POST, ["containers", id, "start"]) => lifecycle::start(app, id).await,
        (&Method::POST, ["containers", id, "stop"]) => lifecycle::stop(app, id, &q).await,
        (&Method::POST, ["containers", id, "restart"]) => lifecycle::restart(app, id, &q).await,
        (&Method::POST, ["containers", id, "kill"]) => lifecycle::kill(app, id, &q).await,
        (&Method::DELETE, ["containers", id]) => lifecycle::remove(app, id, &q).await,
        (&Method::POST, ["containers", id, "wait"]) => wait::wait(app, id, &q).await,
        (&Method::POST, ["containers", id, "attach"]) => attach::attach(app, req, id, &q).await,
        (&Method::POST, ["containers", id, "resize"]) => attach::resize(app, id, &q).await,
        (&Method::GET, ["containers", id, "logs"]) => logs::logs(app, id, &q).await,
        (&Method::HEAD, ["containers", id, "archive"]) => archive::head(app, id, &q).await,
        (&Method::GET, ["containers", id, "archive"]) => archive::get(app, id, &q).await,
        (&Method::PUT, ["containers", id, "archive"]) => archive::put(app, req, id, &q).await,
        (&Method::POST, ["containers", id, "exec"]) => exec::create(app, req, id).await,
        (&Method::POST, ["exec", id, "start"]) => exec::start(app, req, id).await,
        (&Method::GET, ["exec", id, "json"]) => exec::inspect(app, id).await,
        (&Method::POST, ["exec", id, "resize"]) => exec::resize(app, id, &q).await,
        // ctr: rename, pause/unpause, top, stats, changes, prune, commit
        (&Method::POST, ["containers", "prune"]) => containers::prune::prune(app, &q).await,
        (&Method::POST, ["containers", id, "rename"]) => {
            containers::rename::rename(app, id, &q).await
        }
        (&Method::POST, ["containers", id, "pause"]) => containers::pause::pause(app, id).await,
        (&Method::POST, ["containers", id, "unpause"]) => containers::pause::unpause(app, id).await,
        (&Method::GET, ["containers", id, "top"]) => containers::top::top(app, id, &q).await,
        (&Method::GET, ["containers", id, "stats"]) => containers::stats::stats(app, id, &q).await,
        (&Method::GET, ["containers", id, "changes"]) => {
            containers::changes::changes(app, id).await
        }
        (&Method::POST, ["commit"]) => containers::commit::commit(app, req, &q).await,
        (&Method::POST, ["volumes", "create"]) => crate::volumes::create(app, req).await,
        (&Method::POST, ["volumes", "prune"]) => crate::volumes::prune(app, &q).await,
        (&Method::GET, ["volumes"]) => crate::volumes::list(app, &q).await,
        (&Method::GET, ["volumes", name]) => crate::volumes::inspect(app, name).await,
        (&Method::DELETE, ["volumes", name]) => crate::volumes::remove(app, name, &q).await,
        // image endpoints (names may hold `/`, so they are matched around it)
        (&Method::POST, ["images", "load"]) => images::load(app, req, &q).await,
        (&Method::GET, ["images", "json"]) => images::list(app, &q).await,
        (&Method::POST, ["images", "create"]) => images::create(app, req, &q).await,
        (&Method::POST, ["images", "prune"]) => images::prune(app, &q).await,
        (&Method::GET, ["images", "search"]) => images::search(&q).await,
        (&Method::GET, ["images", "get"]) => images::save_many(app, &req).await,
        (&Method::GET, ["images", name @ .., "json"]) if !name.is_empty() => {
            images::inspect(app, &name.join("/")).await
        }
        (&Method::GET, ["images", name @ .., "history"]) if !name.is_empty() => {
            images::history(app, &name.join("/")).await
        }
        (&Method::GET, ["images", name @ .., "get"]) if !name.is_empty() => {
            images::save_one(app, &name.join("/")).await
        }
        (&Method::POST, ["images", name @ .., "push"]) if !name.is_empty() => {
            images::push(app, &req, &name.join("/"), &q).await
        }
        (&Method::POST, ["auth"]) => images::auth(app, req).await,
        (&Method::POST, ["images", name @ .., "tag"]) if !name.is_empty() => {
            images::tag(app, &name.join("/"), &q).await
        }
        (&Method::DELETE, ["images", name @ ..]) if !name.is_empty() => {
            images::remove(app, &name.join("/"), &q).await
        }
        (&Method::GET, ["networks"]) => networks::list(app, &q).await,
        (&Method::POST, ["networks", "create"]) => networks::create(app, req).await,
        (&Method::POST, ["networks", "prune"]) => networks::prune(app, &q).await,
        (&Method::GET, ["networks", id]) => networks::inspect(app, id).await,
        (&Method::DELETE, ["networks", id]) => networks::remove(app, id).await,
        (&Method::POST, ["networks", id, "connect"]) => networks::connect(app, req, id).await,
        (&Method::POST, ["networks", id, "disconnect"]) => networks::disconnect(app, req, id).await,
        _ => Err(ApiError::not_found("page not found")),
    }
}

/// Decodes `%XX` escapes of a path segment (invalid ones are kept as they are).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                let v = hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0);
                out.push(v as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_percent_decoded() {
        assert_eq!(percent_decode("a%3Ab%2f"), "a:b/");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
