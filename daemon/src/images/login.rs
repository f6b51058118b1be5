//! `POST /auth` (`docker login` through the daemon): the credentials in the body are checked
//! against the registry; berthd keeps nothing (the docker CLI stores them in its own
//! `config.json`).

use std::sync::Arc;

use berth_engine::registry;
use http_body_util::BodyExt as _;
use hyper::StatusCode;
use hyper::body::Incoming;
use serde_json::json;

use super::registry_auth::AuthConfig;
use crate::error::{ApiError, ApiResult};
use crate::reply::{self, Reply};
use crate::router::App;

/// The largest `/auth` body read.
const MAX_BODY: usize = 64 * 1024;

/// `POST /auth`.
pub async fn auth(app: &Arc<App>, req: hyper::Request<Incoming>) -> ApiResult<Reply> {
    let body = http_body_util::Limited::new(req.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| ApiError::bad_request(format!("read the auth body: {e}")))?
        .to_bytes();
    let cfg: AuthConfig = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("malformed auth JSON: {e}")))?;
    let creds = cfg
        .credentials()
        .ok_or_else(|| ApiError::bad_request("no username or password given"))?;
    let server = match cfg.server_address.as_str() {
        "" => "docker.io".to_owned(),
        s => s.to_owned(),
    };
    let opts = app.registry.clone();
    app.backend
        .run(move |_| Ok(registry::verify(&opts, &server, &creds).map_err(anyhow::Error::from)?))
        .await?;
    Ok(reply::json(
        StatusCode::OK,
        &json!({"Status": "Login Succeeded", "IdentityToken": ""}),
    ))
}
