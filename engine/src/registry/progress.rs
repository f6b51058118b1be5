//! Progress of a pull or push, reported as events in Docker's vocabulary ("Pulling fs layer",
//! "Downloading", "Pull complete", "Pushed", ...), so the CLI can draw bars and berthd can
//! send Docker's JSON progress stream. Layer ids are the first 12 hex digits of the blob
//! digest, as Docker shows them.

/// One step of a pull or push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProgressEvent {
    /// The reference was resolved: "Pulling from REPO" / "The push refers to repository".
    Start {
        /// The repository (`library/busybox`, or the full name for a push).
        repository: String,
        /// The tag or digest being moved.
        tag: String,
    },
    /// A layer is queued ("Pulling fs layer", "Preparing").
    Waiting {
        /// Short layer id.
        id: String,
    },
    /// A layer need not move ("Already exists", "Layer already exists", "Mounted from").
    Exists {
        /// Short layer id.
        id: String,
        /// Where it was mounted from, for a cross-repository mount.
        mounted_from: Option<String>,
    },
    /// Bytes moved so far ("Downloading", "Pushing").
    Bytes {
        /// Short layer id.
        id: String,
        /// Bytes so far.
        current: u64,
        /// Bytes in all, when known.
        total: Option<u64>,
    },
    /// A layer was downloaded and verified ("Download complete").
    Downloaded {
        /// Short layer id.
        id: String,
    },
    /// A downloaded layer is being unpacked ("Extracting").
    Extracting {
        /// Short layer id.
        id: String,
    },
    /// A layer is done ("Pull complete", "Pushed").
    Done {
        /// Short layer id.
        id: String,
    },
    /// A transient failure will be retried ("Retrying in N seconds").
    Retrying {
        /// Short layer id, or empty for the manifest.
        id: String,
        /// Seconds until the retry.
        seconds: u64,
    },
    /// The whole operation finished.
    Finished {
        /// The manifest digest in the registry.
        digest: String,
        /// Whether anything new arrived (pull) or was sent (push).
        changed: bool,
        /// The size of the manifest (push: Docker prints it).
        size: u64,
    },
}

/// Which words a report uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// A pull.
    Pull,
    /// A push.
    Push,
}

impl ProgressEvent {
    /// Docker's words for the event: the id it belongs to (a layer's, the tag for a pull's
    /// first line, none for a push's) and the status (`Pulling fs layer`, `Downloading`,
    /// `Mounted from a/b`, ...); `None` for [`ProgressEvent::Finished`], which front ends
    /// word themselves. `Bytes` gives only the verb: the bar is the front end's.
    pub fn status(&self, verb: Verb) -> Option<(Option<&str>, String)> {
        let pull = verb == Verb::Pull;
        let pick = |p: &str, q: &str| if pull { p } else { q }.to_owned();
        Some(match self {
            ProgressEvent::Start { repository, tag } => match verb {
                Verb::Pull => (Some(tag.as_str()), format!("Pulling from {repository}")),
                Verb::Push => (
                    None,
                    format!("The push refers to repository [{repository}]"),
                ),
            },
            ProgressEvent::Waiting { id } => (Some(id), pick("Pulling fs layer", "Preparing")),
            ProgressEvent::Exists { id, mounted_from } => (
                Some(id),
                match (pull, mounted_from) {
                    (true, _) => "Already exists".to_owned(),
                    (false, Some(from)) => format!("Mounted from {from}"),
                    (false, None) => "Layer already exists".to_owned(),
                },
            ),
            ProgressEvent::Bytes { id, .. } => (Some(id), pick("Downloading", "Pushing")),
            ProgressEvent::Downloaded { id } => (Some(id), "Download complete".to_owned()),
            ProgressEvent::Extracting { id } => (Some(id), "Extracting".to_owned()),
            ProgressEvent::Done { id } => (Some(id), pick("Pull complete", "Pushed")),
            ProgressEvent::Retrying { id, seconds } => (
                Some(id),
                format!(
                    "Retrying in {seconds} second{}",
                    if *seconds == 1 { "" } else { "s" }
                ),
            ),
            ProgressEvent::Finished { .. } => return None,
        })
    }
}

/// Receives progress events; called from several threads at once.
pub trait Progress: Send + Sync {
    /// One event.
    fn event(&self, e: ProgressEvent);
}

/// Discards every event.
pub struct NoProgress;

impl Progress for NoProgress {
    fn event(&self, _: ProgressEvent) {}
}

/// The 12 hex digits Docker uses to name a layer in progress output.
pub(crate) fn short_id(digest: &str) -> String {
    let hex = digest.split_once(':').map_or(digest, |(_, h)| h);
    hex.chars().take(12).collect()
}

/// Docker's progress bar: `[=====>      ] 1.2MB/4.5MB`, 50 cells, decimal units.
pub fn bar(current: u64, total: u64) -> String {
    let filled = (current.min(total) * 50).checked_div(total).unwrap_or(0) as usize;
    let body = if filled >= 50 {
        "=".repeat(50)
    } else {
        format!("{}>{}", "=".repeat(filled), " ".repeat(49 - filled))
    };
    format!("[{body}] {}/{}", human_size(current), human_size(total))
}

/// Bytes as Docker's `units.HumanSize` prints them (`512B`, `1.2kB`, `3.4MB`).
fn human_size(n: u64) -> String {
    let n = n as f64;
    match n {
        _ if n >= 1e9 => format!("{:.2}GB", n / 1e9),
        _ if n >= 1e6 => format!("{:.1}MB", n / 1e6),
        _ if n >= 1e3 => format!("{:.1}kB", n / 1e3),
        _ => format!("{n}B"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_fill_with_the_bytes() {
        assert!(bar(0, 100).starts_with("[>"));
        let half = bar(50, 100);
        assert_eq!(half.matches('=').count(), 25, "{half}");
        assert!(bar(100, 100).starts_with(&format!("[{}]", "=".repeat(50))));
        assert!(bar(1_500_000, 3_000_000).ends_with("] 1.5MB/3.0MB"));
        assert!(
            bar(5, 0).starts_with("[>"),
            "an unknown total draws an empty bar"
        );
        assert_eq!(short_id("sha256:0123456789abcdef"), "0123456789ab");
        let e = ProgressEvent::Exists {
            id: "x".into(),
            mounted_from: Some("a/b".into()),
        };
        assert_eq!(
            e.status(Verb::Push),
            Some((Some("x"), "Mounted from a/b".into()))
        );
        assert_eq!(
            e.status(Verb::Pull),
            Some((Some("x"), "Already exists".into()))
        );
        let start = ProgressEvent::Start {
            repository: "library/bb".into(),
            tag: "v1".into(),
        };
        assert_eq!(start.status(Verb::Push).unwrap().0, None);
    }
}
