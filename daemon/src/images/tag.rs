//! `POST /images/{name}/tag?repo=&tag=`: points a new `repo:tag` at the image (201); a tag
//! folded into `repo` is taken when `tag` is empty, and `latest` when neither gives one.

use std::sync::Arc;

use berth_engine::image::ImageRef;
use hyper::StatusCode;

use super::normalize_ref;
use crate::error::{ApiError, ApiResult};
use crate::query::Query;
use crate::reply::{self, Reply};
use crate::router::App;

/// The new reference from `repo` and `tag`.
pub fn target(repo: &str, tag: &str) -> ApiResult<ImageRef> {
    if repo.is_empty() {
        return Err(ApiError::bad_request(
            "repository name must have at least one component",
        ));
    }
    let repo = normalize_ref(repo);
    let whole = match tag.is_empty() {
        true => repo,
        false => {
            let last_slash = repo.rfind('/').map_or(0, |i| i + 1);
            let name = match repo[last_slash..].rfind(':') {
                Some(i) => &repo[..last_slash + i],
                None => repo.as_str(),
            };
            format!("{name}:{tag}")
        }
    };
    ImageRef::parse(&whole).map_err(|e| ApiError::bad_request(e.to_string()))
}

/// `POST /images/{name}/tag`.
pub async fn tag(app: &Arc<App>, name: &str, q: &Query) -> ApiResult<Reply> {
    let target = target(q.get("repo").unwrap_or(""), q.get("tag").unwrap_or(""))?;
    let name = normalize_ref(name);
    app.backend
        .run(move |env| {
            env.store
                .images()
                .tag(&name, &target)
                .map_err(anyhow::Error::from)?;
            Ok(())
        })
        .await?;
    Ok(reply::empty(StatusCode::CREATED))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_take_repo_and_tag_as_the_cli_sends_them() {
        let t = |r, tag| target(r, tag).map(|t| t.to_string());
        assert_eq!(t("bb2", "v1").unwrap(), "bb2:v1");
        assert_eq!(t("docker.io/library/bb2", "").unwrap(), "bb2:latest");
        assert_eq!(t("dk/app:v3", "").unwrap(), "dk/app:v3");
        assert_eq!(
            t("localhost:5000/app:old", "new").unwrap(),
            "localhost:5000/app:new"
        );
        assert_eq!(t("", "x").unwrap_err().status, StatusCode::BAD_REQUEST);
        assert_eq!(t("UPPER", "").unwrap_err().status, StatusCode::BAD_REQUEST);
    }
}
