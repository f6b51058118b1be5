//! `GET /system/df`: what `docker system df [-v]` prints its figures from. The engine measures
//! ([`berth_engine::disk_usage`], as for `berth system df`); the lists are the shapes of the
//! images list ([`crate::images::summaries`]) and the containers list
//! ([`crate::containers::shape::summary`]) with their sizes filled in, and volumes with their
//! `UsageData`. `LayersSize` counts every layer once however many images share it.

use std::sync::Arc;

use berth_engine::container::refs::scan;
use berth_engine::digest::Digest;
use berth_engine::disk_usage::{DiskUsage, ImageDiskUsage, disk_usage};
use hyper::StatusCode;
use serde_json::{Value, json};

use crate::backend::Env;
use crate::containers::extra::Extra;
use crate::containers::shape;
use crate::error::ApiResult;
use crate::reply::{self, Reply};
use crate::router::App;
use crate::volumes::shape::{Usage, volume};

/// The image `id` (`sha256:…`) as measured.
fn image<'a>(du: &'a DiskUsage, id: &str) -> Option<&'a ImageDiskUsage> {
    du.image(&Digest::parse(id).ok()?)
}

/// Image summaries with `SharedSize` and `Containers` filled in from `du`.
fn images(mut summaries: Vec<Value>, du: &DiskUsage) -> Vec<Value> {
    for s in &mut summaries {
        let usage = s["Id"].as_str().and_then(|id| image(du, id));
        let (shared, containers) = usage.map_or((0, 0), |i| (i.shared, i.containers));
        s["SharedSize"] = json!(shared);
        s["Containers"] = json!(containers);
    }
    summaries
}

/// Every container's list summary with `SizeRw` (its layer) and `SizeRootFs` (that plus its
/// image).
fn containers(env: &Env<'_>, du: &DiskUsage) -> ApiResult<Vec<Value>> {
    let now = berth_engine::clock::now_secs();
    Ok(env
        .list()?
        .iter()
        .map(|rec| {
            let extra = Extra::read(&env.eng.containers.dir(&rec.id));
            let rw = du.container(&rec.id).map_or(0, |c| c.rw_size);
            let root = rw + image(du, &rec.image).map_or(0, |i| i.size);
            shape::summary(rec, &extra, Some((rw, root)), now)
        })
        .collect())
}

/// The whole answer.
fn answer(env: &Env<'_>) -> ApiResult<Value> {
    let du = disk_usage(env.store, &scan(&env.ctx.root)?).map_err(anyhow::Error::from)?;
    let volumes: Vec<Value> = du
        .volumes
        .iter()
        .map(|v| {
            let usage = Usage {
                size: v.size,
                ref_count: v.links,
            };
            volume(&v.volume, Some(usage))
        })
        .collect();
    Ok(json!({
        "LayersSize": du.totals.images.size,
        "Images": images(crate::images::summaries(env)?, &du),
        "Containers": containers(env, &du)?,
        "Volumes": volumes,
        "BuildCache": [],
        "BuilderSize": 0,
    }))
}

/// `GET /system/df` (the `type` parameter of newer APIs is not needed at 1.41: all of it).
pub async fn df(app: &Arc<App>) -> ApiResult<Reply> {
    let v = app.backend.run(answer).await?;
    Ok(reply::json(StatusCode::OK, &v))
}

#[cfg(test)]
mod tests {
    use berth_engine::size::SystemDf;

    use super::*;

    #[test]
    fn image_summaries_get_shared_size_and_container_counts() {
        let id = Digest::of_bytes(b"img");
        let du = DiskUsage {
            totals: SystemDf::default(),
            images: vec![ImageDiskUsage {
                id: id.clone(),
                size: 10,
                shared: 4,
                containers: 2,
            }],
            containers: Vec::new(),
            volumes: Vec::new(),
        };
        let out = images(
            vec![
                json!({"Id": id.to_string(), "Size": 10, "SharedSize": -1, "Containers": -1}),
                json!({"Id": "sha256:0000", "SharedSize": -1, "Containers": -1}),
            ],
            &du,
        );
        assert_eq!(
            (&out[0]["SharedSize"], &out[0]["Containers"]),
            (&json!(4), &json!(2))
        );
        assert_eq!(
            (&out[1]["SharedSize"], &out[1]["Containers"]),
            (&json!(0), &json!(0))
        );
        assert_eq!(out[0]["Size"], 10);
    }
}
