//! `POST /commit?container=&repo=&tag=&comment=&author=&pause=&changes=`: the container's
//! changes become a new image ([`berth_engine::container::commit`], which logs the container's
//! `commit` event). The image's config is the base image's with the container's settings
//! (`Cmd`, `Entrypoint`, `Env`, `WorkingDir`, `User`, labels, exposed ports), then those of
//! the optional JSON body (a container `Config`), then the `changes` instructions. A running
//! container is frozen meanwhile unless `pause=0`. Answers 201 `{"Id": "sha256:…"}`.

use std::collections::BTreeMap;
use std::sync::Arc;

use berth_engine::container::record::ContainerRecord;
use berth_engine::image::ImageOptions;
use berth_engine::image::config_changes::ConfigChanges;
use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use serde::Deserialize;
use serde_json::json;

use super::extra::Extra;
use crate::error::{ApiError, ApiResult};
use crate::query::Query;
use crate::reply::{self, Reply};
use crate::router::App;

/// The body: the parts of a container `Config` an image keeps (each absent one is the
/// container's).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct BodyConfig {
    cmd: Option<Vec<String>>,
    entrypoint: Option<Vec<String>>,
    env: Option<Vec<String>>,
    working_dir: Option<String>,
    user: Option<String>,
    labels: Option<BTreeMap<String, String>>,
    exposed_ports: Option<BTreeMap<String, serde_json::Value>>,
}

/// `POST /commit`.
pub async fn commit(app: &Arc<App>, req: Request<Incoming>, q: &Query) -> ApiResult<Reply> {
    let container = q.get("container").unwrap_or("").to_owned();
    if container.is_empty() {
        return Err(ApiError::bad_request("no container given"));
    }
    let instructions = all_values(req.uri().query(), "changes");
    let reference = reference(q.get("repo").unwrap_or(""), q.get("tag").unwrap_or(""))?;
    let pause = q.get("pause").is_none_or(|_| q.flag("pause"));
    let (comment, author) = (text(q, "comment"), text(q, "author"));
    let bytes = reply::read_body(req, reply::JSON_BODY_LIMIT).await?;
    let body: BodyConfig = if bytes.trim_ascii() == b"null" {
        BodyConfig::default()
    } else {
        reply::parse_json(&bytes)?
    };
    let id = app
        .backend
        .run(move |env| {
            let rec = env.resolve(&container)?;
            let extra = Extra::read(&env.eng.containers.dir(&rec.id));
            let mut changes = carried(&rec, &extra, body);
            changes.instructions = instructions;
            changes
                .validate()
                .map_err(|e| ApiError::bad_request(e.to_string()))?;
            let opts = ImageOptions {
                reference,
                comment,
                author,
                config: Some(changes),
                ..Default::default()
            };
            Ok(berth_engine::container::commit::commit(
                env.eng, &rec, &opts, pause,
            )?)
        })
        .await?;
    Ok(reply::json(
        StatusCode::CREATED,
        &json!({"Id": id.to_string()}),
    ))
}

/// A non-empty text parameter.
fn text(q: &Query, key: &str) -> Option<String> {
    q.get(key).filter(|v| !v.is_empty()).map(str::to_owned)
}

/// Every value of `key` (the parsed [`Query`] keeps the last one only).
fn all_values(raw: Option<&str>, key: &str) -> Vec<String> {
    form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .filter(|(k, v)| k == key && !v.trim().is_empty())
        .map(|(_, v)| v.into_owned())
        .collect()
}

/// `repo` and `tag` as one name (`docker.io/library/` dropped); none without a `repo`.
fn reference(repo: &str, tag: &str) -> ApiResult<Option<berth_engine::image::ImageRef>> {
    if repo.is_empty() {
        return Ok(None);
    }
    let repo = crate::images::normalize_ref(repo);
    let full = if tag.is_empty() {
        repo
    } else {
        format!("{repo}:{tag}")
    };
    full.parse()
        .map(Some)
        .map_err(|e: berth_engine::image::ImageError| ApiError::bad_request(e.to_string()))
}

/// The container's settings, each replaced by the body's when it has one.
fn carried(rec: &ContainerRecord, extra: &Extra, body: BodyConfig) -> ConfigChanges {
    let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    let mut labels = super::extra::labels(rec, extra);
    labels.extend(body.labels.unwrap_or_default());
    let mut exposed_ports = extra.exposed_ports.clone();
    exposed_ports.extend(body.exposed_ports.unwrap_or_default().into_keys());
    ConfigChanges {
        user: body.user.or_else(|| non_empty(&rec.config.user)),
        env: body.env.or_else(|| Some(rec.config.env.clone())),
        cmd: body.cmd.or_else(|| extra.cmd.clone()),
        entrypoint: body.entrypoint.or_else(|| extra.entrypoint.clone()),
        working_dir: body
            .working_dir
            .or_else(|| non_empty(&rec.config.working_dir)),
        labels,
        exposed_ports,
        instructions: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_repeated_changes_are_read_as_the_cli_sends_them() {
        let r = reference("docker.io/library/snap", "v1").unwrap().unwrap();
        assert_eq!(r.to_string(), "snap:v1");
        assert_eq!(
            reference("snap", "").unwrap().unwrap().to_string(),
            "snap:latest"
        );
        assert!(reference("", "v1").unwrap().is_none());
        assert!(reference("Bad Name", "").is_err());
        let raw = "container=c&changes=CMD+%5B%22sh%22%5D&changes=ENV+A%3D1&changes=";
        assert_eq!(
            all_values(Some(raw), "changes"),
            ["CMD [\"sh\"]", "ENV A=1"]
        );
    }

    #[test]
    fn the_body_wins_over_the_container() {
        let rec = ContainerRecord {
            config: berth_engine::container::record::RunConfig {
                env: vec!["A=1".into()],
                working_dir: "/srv".into(),
                ..Default::default()
            },
            ..Default::default()
        };
        let extra = Extra {
            cmd: Some(vec!["sh".into()]),
            ..Default::default()
        };
        let body = BodyConfig {
            cmd: Some(vec!["cat".into()]),
            ..Default::default()
        };
        let c = carried(&rec, &extra, body);
        assert_eq!(c.cmd.unwrap(), ["cat"]);
        assert_eq!(c.env.unwrap(), ["A=1"]);
        assert_eq!(c.working_dir.as_deref(), Some("/srv"));
        assert!(c.user.is_none());
    }
}
