//! `POST /containers/{id}/pause` and `/unpause`: freeze or thaw every process of the
//! container through [`berth_engine::container::pause`] (which logs `pause`/`unpause`); 409
//! with dockerd's words when it does not run, is already paused, or is not paused.

use std::sync::Arc;

use berth_engine::container::record::Status;
use hyper::StatusCode;

use crate::error::{ApiError, ApiResult};
use crate::reply::{self, Reply};
use crate::router::App;

/// `POST /containers/{id}/pause`.
pub async fn pause(app: &Arc<App>, id: &str) -> ApiResult<Reply> {
    set_paused(app, id, true).await
}

/// `POST /containers/{id}/unpause`.
pub async fn unpause(app: &Arc<App>, id: &str) -> ApiResult<Reply> {
    set_paused(app, id, false).await
}

async fn set_paused(app: &Arc<App>, id: &str, paused: bool) -> ApiResult<Reply> {
    let reference = id.to_owned();
    app.backend
        .run(move |env| {
            let rec = env.resolve(&reference)?;
            if let Some(why) = refusal(rec.state.status, paused) {
                return Err(ApiError::conflict(format!("Container {} {why}", rec.id)));
            }
            if paused {
                berth_engine::container::pause::pause(env.eng, &rec)?;
            } else {
                berth_engine::container::pause::unpause(env.eng, &rec)?;
            }
            Ok(())
        })
        .await?;
    Ok(reply::empty(StatusCode::NO_CONTENT))
}

/// Why a container in `status` cannot be paused (`paused`) or unpaused, as dockerd says it.
fn refusal(status: Status, paused: bool) -> Option<&'static str> {
    match (status, paused) {
        (Status::Running, true) | (Status::Paused, false) => None,
        (Status::Paused, true) => Some("is already paused"),
        (Status::Running, false) => Some("is not paused"),
        _ => Some("is not running"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_use_dockers_words() {
        assert_eq!(refusal(Status::Running, true), None);
        assert_eq!(refusal(Status::Paused, false), None);
        assert_eq!(refusal(Status::Exited, true), Some("is not running"));
        assert_eq!(refusal(Status::Created, false), Some("is not running"));
        assert_eq!(refusal(Status::Paused, true), Some("is already paused"));
        assert_eq!(refusal(Status::Running, false), Some("is not paused"));
    }
}
