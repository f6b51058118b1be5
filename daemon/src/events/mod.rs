//! `GET /events?since=&until=&filters=`: the engine's event log ([`berth_engine::events`]),
//! which `berth` and berthd both write, as dockerd streams it: one JSON object per line, first
//! the logged events at or after `since` (none without it), then new ones as they are
//! appended, until `until` (if given) has passed or the client hangs up, which ends the
//! follow at once.

mod filter;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use berth_engine::events::{Event, EventLog};
use bytes::Bytes;
use tokio::sync::mpsc;

use crate::error::{ApiError, ApiResult};
use crate::query::Query;
use crate::reply::{self, Reply};
use crate::router::App;
use filter::EventFilter;

/// How often the log is looked at for new events.
const POLL: Duration = Duration::from_millis(100);

/// The time window and filters of one request.
struct Selection {
    since: Option<i64>,
    until: Option<i64>,
    filter: EventFilter,
}

impl Selection {
    fn wants(&self, ev: &Event) -> bool {
        self.since.is_none_or(|s| ev.time_nano >= s)
            && self.until.is_none_or(|u| ev.time_nano <= u)
            && self.filter.includes(ev)
    }

    /// Whether `until` has passed, so nothing more can be sent.
    fn over(&self) -> bool {
        self.until.is_some_and(|u| now_nanos() > u)
    }
}

/// `GET /events`.
pub async fn events(app: &Arc<App>, q: &Query) -> ApiResult<Reply> {
    let sel = Selection {
        since: parse_time("since", q.get("since"))?,
        until: parse_time("until", q.get("until"))?,
        filter: EventFilter::new(q.filters()?)?,
    };
    let log = EventLog::new(app.backend.root());
    let since = sel.since;
    let opened = tokio::task::spawn_blocking(move || log.open(since)).await;
    let (history, mut follower) = opened
        .map_err(|e| ApiError::internal(format!("read the event log: {e}")))?
        .map_err(|e| ApiError::internal(format!("read the event log: {e}")))?;
    let (tx, r) = reply::stream(Some("application/json"));
    tokio::spawn(async move {
        if !send(&tx, &sel, &history).await || sel.over() {
            return;
        }
        loop {
            tokio::select! {
                _ = tx.closed() => return,
                _ = tokio::time::sleep(POLL) => {}
            }
            let new = match follower.poll() {
                Ok(new) => new,
                Err(e) => {
                    tracing::warn!(error = %e, "follow the event log");
                    return;
                }
            };
            if !send(&tx, &sel, &new).await || sel.over() {
                return;
            }
        }
    });
    Ok(r)
}

/// Sends the wanted events, one JSON line each; `false` once the client is gone.
async fn send(tx: &mpsc::Sender<Bytes>, sel: &Selection, events: &[Event]) -> bool {
    for ev in events.iter().filter(|e| sel.wants(e)) {
        let Ok(mut line) = serde_json::to_vec(ev) else {
            continue;
        };
        line.push(b'\n');
        if tx.send(line.into()).await.is_err() {
            return false;
        }
    }
    true
}

/// Nanoseconds since the epoch.
fn now_nanos() -> i64 {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// A `since`/`until` as the docker CLI sends it (`SECONDS[.NANOS]`), in nanoseconds.
fn parse_time(key: &str, v: Option<&str>) -> ApiResult<Option<i64>> {
    let Some(v) = v.filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let bad = || ApiError::bad_request(format!("invalid value for {key}: {v:?}"));
    let (secs, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let secs: i64 = secs.parse().map_err(|_| bad())?;
    let nanos: i64 = format!("{frac:0<9}").parse().map_err(|_| bad())?;
    secs.checked_mul(1_000_000_000)
        .and_then(|s| s.checked_add(nanos))
        .filter(|t| *t >= 0)
        .map(Some)
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_as_the_docker_cli_sends_them() {
        assert_eq!(parse_time("since", None).unwrap(), None);
        assert_eq!(parse_time("since", Some("")).unwrap(), None);
        assert_eq!(
            parse_time("since", Some("12")).unwrap(),
            Some(12_000_000_000)
        );
        assert_eq!(
            parse_time("since", Some("12.000000034")).unwrap(),
            Some(12_000_000_034)
        );
        assert_eq!(
            parse_time("since", Some("12.5")).unwrap(),
            Some(12_500_000_000)
        );
        for bad in ["x", "1.x", "-5", "1.0000000001", "99999999999999999999"] {
            assert_eq!(
                parse_time("until", Some(bad)).unwrap_err().status.as_u16(),
                400,
                "{bad}"
            );
        }
    }
}
