//! Docker's JSON progress stream for pulls and pushes: the engine's progress events as the
//! JSON lines the docker CLI draws (`{"status":"Downloading","progressDetail":{...},
//! "progress":"[==>   ]","id":"…"}`), and [`run_streamed`], which runs a registry operation
//! on a blocking worker and answers with an HTTP error if it fails before its first event
//! (an unknown image, bad credentials), or else streams the events and ends with the
//! operation's last lines or an `errorDetail`.

use std::sync::Arc;

use berth_engine::registry::{Progress, ProgressEvent, Verb, bar};
use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::backend::Env;
use crate::error::{ApiError, ApiResult};
use crate::reply::{self, Reply};
use crate::router::App;

/// Sends each event as a JSON line (unbounded: events are few, one per 512 KiB at most).
pub struct JsonProgress {
    verb: Verb,
    tx: mpsc::UnboundedSender<Value>,
}

impl Progress for JsonProgress {
    fn event(&self, e: ProgressEvent) {
        if let Some(v) = line(self.verb, &e) {
            let _ = self.tx.send(v);
        }
    }
}

/// The JSON line of one event; `None` for events dockerd does not show.
pub fn line(verb: Verb, e: &ProgressEvent) -> Option<Value> {
    let (id, status) = e.status(verb)?;
    let mut v = json!({"status": status});
    if let Some(id) = id {
        v["id"] = json!(id);
    }
    match e {
        ProgressEvent::Bytes { current, total, .. } => {
            let total = total.unwrap_or(0);
            v["progressDetail"] = json!({"current": current, "total": total});
            v["progress"] = json!(bar(*current, total));
        }
        ProgressEvent::Start { .. } => {}
        _ => v["progressDetail"] = json!({}),
    }
    Some(v)
}

/// An error line as dockerd ends a failed stream.
pub fn error_line(message: &str) -> Value {
    json!({"errorDetail": {"message": message}, "error": message})
}

fn bytes_of(v: &Value) -> Bytes {
    let mut s = v.to_string();
    s.push('\n');
    Bytes::from(s)
}

/// Runs `op` on a blocking worker with a [`JsonProgress`]; its `Ok` lines end the stream.
pub async fn run_streamed<F>(app: &Arc<App>, verb: Verb, op: F) -> ApiResult<Reply>
where
    F: FnOnce(&Env<'_>, &JsonProgress) -> ApiResult<Vec<Value>> + Send + 'static,
{
    let (tx, mut rx) = mpsc::unbounded_channel::<Value>();
    let backend = app.backend.clone();
    let mut done = tokio::spawn(async move {
        backend
            .run(move |env| {
                let p = JsonProgress { verb, tx };
                op(env, &p)
            })
            .await
    });
    // The first event, or the end: a failure before any event is an HTTP error.
    let first = tokio::select! {
        biased;
        v = rx.recv() => v,
        r = &mut done => return answer_whole(r, &mut rx),
    };
    let Some(first) = first else {
        // Every sender is gone: the operation ended without an event.
        return answer_whole(done.await, &mut rx);
    };
    let (out, r) = reply::stream(Some("application/json"));
    tokio::spawn(async move {
        let _ = out.send(bytes_of(&first)).await;
        while let Some(v) = rx.recv().await {
            let _ = out.send(bytes_of(&v)).await;
        }
        let tail = match done.await {
            Ok(Ok(lines)) => lines,
            Ok(Err(e)) => vec![error_line(&e.message)],
            Err(e) => vec![error_line(&format!("engine task failed: {e}"))],
        };
        for v in tail {
            let _ = out.send(bytes_of(&v)).await;
        }
    });
    Ok(r)
}

/// The reply of an operation that ended before it streamed anything: its error, or its
/// lines (and any events still queued) in one body.
fn answer_whole(
    r: Result<ApiResult<Vec<Value>>, tokio::task::JoinError>,
    rx: &mut mpsc::UnboundedReceiver<Value>,
) -> ApiResult<Reply> {
    let lines = r.map_err(|e| ApiError::internal(format!("engine task failed: {e}")))??;
    let mut all: Vec<Value> = Vec::new();
    while let Ok(v) = rx.try_recv() {
        all.push(v);
    }
    all.extend(lines);
    let body: Vec<u8> = all.iter().flat_map(|v| bytes_of(v).to_vec()).collect();
    Ok(reply::with_type(
        hyper::StatusCode::OK,
        "application/json",
        reply::Body::Full(Some(body.into())),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_read_as_dockerd_writes_them() {
        let e = ProgressEvent::Bytes {
            id: "abc".into(),
            current: 50,
            total: Some(100),
        };
        let v = line(Verb::Pull, &e).unwrap();
        assert_eq!(v["status"], "Downloading");
        assert_eq!(v["progressDetail"]["total"], 100);
        assert!(
            v["progress"]
                .as_str()
                .unwrap()
                .starts_with(&format!("[{}>", "=".repeat(25)))
        );
        let v = line(
            Verb::Push,
            &ProgressEvent::Exists {
                id: "x".into(),
                mounted_from: Some("a/b".into()),
            },
        )
        .unwrap();
        assert_eq!(v["status"], "Mounted from a/b");
        let v = line(
            Verb::Pull,
            &ProgressEvent::Start {
                repository: "library/bb".into(),
                tag: "v1".into(),
            },
        )
        .unwrap();
        assert_eq!(
            (v["status"].as_str(), v["id"].as_str()),
            (Some("Pulling from library/bb"), Some("v1"))
        );
        assert_eq!(error_line("boom")["errorDetail"]["message"], "boom");
    }
}
