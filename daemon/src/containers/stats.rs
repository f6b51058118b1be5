//! `GET /containers/{id}/stats?stream=&one-shot=`: the container's usage in dockerd's stats
//! shape (`read`, `preread`, `pids_stats`, `blkio_stats`, `cpu_stats` and `precpu_stats` with
//! `online_cpus` and `system_cpu_usage`, `memory_stats`, `networks`), from
//! [`berth_engine::container::stats`] samples taken a second apart. `stream` (the default)
//! sends one object per second until the client hangs up, which ends the task at once;
//! `stream=0` answers one object whose `precpu_stats` is the sample a second before, and
//! `one-shot=1` with it answers at once, with empty `precpu_stats`. A container that does not
//! run reads as zeros, as dockerd shows it.

use std::sync::Arc;
use std::time::Duration;

use berth_engine::container::stats::{BlkioEntry, Sample};
use hyper::StatusCode;
use serde_json::{Value, json};

use crate::backend::is_running;
use crate::error::ApiResult;
use crate::query::Query;
use crate::reply::{self, Reply};
use crate::router::App;

/// Time between two samples.
const INTERVAL: Duration = Duration::from_secs(1);

/// dockerd's zero `time.Time`.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// One reading: who, and the sample (`None` while it does not run).
struct Reading {
    id: String,
    name: String,
    sample: Option<Sample>,
}

async fn read(app: &Arc<App>, reference: &str) -> ApiResult<Reading> {
    let reference = reference.to_owned();
    app.backend
        .run(move |env| {
            let rec = env.resolve(&reference)?;
            let sample = if is_running(&rec) {
                berth_engine::container::stats::sample(env.eng, &rec).ok()
            } else {
                None
            };
            Ok(Reading {
                id: rec.id,
                name: rec.name,
                sample,
            })
        })
        .await
}

/// `GET /containers/{id}/stats`.
pub async fn stats(app: &Arc<App>, id: &str, q: &Query) -> ApiResult<Reply> {
    let stream = q.get("stream").is_none_or(|_| q.flag("stream"));
    let first = read(app, id).await?;
    if !stream {
        if q.flag("one-shot") || first.sample.is_none() {
            return Ok(reply::json(StatusCode::OK, &document(&first, None)));
        }
        tokio::time::sleep(INTERVAL).await;
        let now = read(app, id).await?;
        return Ok(reply::json(
            StatusCode::OK,
            &document(&now, first.sample.as_ref()),
        ));
    }
    let (tx, r) = reply::stream(Some("application/json"));
    let app = Arc::clone(app);
    let reference = first.id.clone();
    tokio::spawn(async move {
        let mut prev = first.sample;
        loop {
            tokio::select! {
                _ = tx.closed() => return,
                _ = tokio::time::sleep(INTERVAL) => {}
            }
            // Gone (removed): the stream ends.
            let Ok(now) = read(&app, &reference).await else {
                return;
            };
            let mut line = document(&now, prev.as_ref()).to_string().into_bytes();
            line.push(b'\n');
            if tx.send(line.into()).await.is_err() {
                return;
            }
            prev = now.sample;
        }
    });
    Ok(r)
}

/// The stats object for `now`, with `prev` as its `precpu_stats` and `preread`.
fn document(now: &Reading, prev: Option<&Sample>) -> Value {
    let zero = Sample::default();
    let s = now.sample.as_ref().unwrap_or(&zero);
    let mut doc = json!({
        "read": time(now.sample.as_ref()),
        "preread": time(prev),
        "pids_stats": pids(s),
        "blkio_stats": {
            "io_service_bytes_recursive": blkio(&s.io_bytes),
            "io_serviced_recursive": blkio(&s.io_ops),
            "io_queue_recursive": null, "io_service_time_recursive": null,
            "io_wait_time_recursive": null, "io_merged_recursive": null,
            "io_time_recursive": null, "sectors_recursive": null,
        },
        "num_procs": 0,
        "storage_stats": {},
        "cpu_stats": cpu(now.sample.as_ref()),
        "precpu_stats": cpu(prev),
        "memory_stats": memory(s),
        "name": format!("/{}", now.name),
        "id": now.id,
    });
    if let Some(nets) = &s.networks {
        let m: serde_json::Map<String, Value> = nets
            .iter()
            .map(|(name, d)| {
                let v = json!({
                    "rx_bytes": d.rx[0], "rx_packets": d.rx[1], "rx_errors": d.rx[2],
                    "rx_dropped": d.rx[3], "tx_bytes": d.tx[0], "tx_packets": d.tx[1],
                    "tx_errors": d.tx[2], "tx_dropped": d.tx[3],
                });
                (name.clone(), v)
            })
            .collect();
        doc["networks"] = Value::Object(m);
    }
    doc
}

fn time(s: Option<&Sample>) -> &str {
    s.map_or(ZERO_TIME, |s| s.read.as_str())
}

/// Go's `omitempty` for numbers: members that are 0 are left out.
fn without_zeros(mut v: Value) -> Value {
    if let Value::Object(m) = &mut v {
        m.retain(|_, x| x.as_u64() != Some(0));
    }
    v
}

fn pids(s: &Sample) -> Value {
    without_zeros(json!({"current": s.pids_current, "limit": s.pids_limit}))
}

fn blkio(list: &[BlkioEntry]) -> Value {
    if list.is_empty() {
        return Value::Null;
    }
    list.iter()
        .map(|e| json!({"major": e.major, "minor": e.minor, "op": e.op, "value": e.value}))
        .collect()
}

fn cpu(s: Option<&Sample>) -> Value {
    let zero = Sample::default();
    let s = s.unwrap_or(&zero);
    let mut usage = json!({
        "total_usage": s.cpu_total_ns,
        "usage_in_kernelmode": s.cpu_kernel_ns,
        "usage_in_usermode": s.cpu_user_ns,
    });
    if !s.percpu_ns.is_empty() {
        usage["percpu_usage"] = json!(s.percpu_ns);
    }
    let mut v = without_zeros(json!({
        "system_cpu_usage": s.system_cpu_ns,
        "online_cpus": s.online_cpus,
    }));
    v["cpu_usage"] = usage;
    v["throttling_data"] = json!({
        "periods": s.throttling[0],
        "throttled_periods": s.throttling[1],
        "throttled_time": s.throttling[2],
    });
    v
}

fn memory(s: &Sample) -> Value {
    let mut v = without_zeros(json!({
        "usage": s.memory_usage,
        "max_usage": s.memory_max_usage,
        "limit": s.memory_limit,
    }));
    if !s.memory_stat.is_empty() {
        v["stats"] = json!(s.memory_stat);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_has_dockers_stats_shape() {
        let mut s = Sample {
            read: "2024-01-01T00:00:01.000000000Z".into(),
            cpu_total_ns: 5,
            system_cpu_ns: 100,
            online_cpus: 2,
            memory_usage: 4096,
            memory_limit: 8192,
            pids_current: 2,
            networks: Some([("eth0".to_owned(), Default::default())].into()),
            ..Default::default()
        };
        s.memory_stat.insert("cache".into(), 1);
        let now = Reading {
            id: "a".repeat(64),
            name: "web".into(),
            sample: Some(s),
        };
        let d = document(&now, None);
        assert_eq!(d["name"], "/web");
        assert_eq!(d["preread"], ZERO_TIME);
        assert_eq!(d["cpu_stats"]["online_cpus"], 2);
        assert_eq!(d["cpu_stats"]["system_cpu_usage"], 100);
        assert_eq!(d["cpu_stats"]["cpu_usage"]["total_usage"], 5);
        assert!(d["cpu_stats"]["cpu_usage"].get("percpu_usage").is_none());
        assert_eq!(d["precpu_stats"]["cpu_usage"]["total_usage"], 0);
        assert!(d["precpu_stats"].get("online_cpus").is_none());
        assert_eq!(d["memory_stats"]["limit"], 8192);
        assert!(d["memory_stats"].get("max_usage").is_none());
        assert_eq!(d["pids_stats"], json!({"current": 2}));
        assert_eq!(d["networks"]["eth0"]["rx_bytes"], 0);
        assert!(d["blkio_stats"]["io_service_bytes_recursive"].is_null());
        let idle = Reading {
            sample: None,
            ..now
        };
        let d = document(&idle, None);
        assert_eq!(d["read"], ZERO_TIME);
        assert!(d.get("networks").is_none());
        assert_eq!(d["memory_stats"], json!({}));
    }
}
