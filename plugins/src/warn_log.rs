//! The plugins' default log subscriber: warnings and errors, one line each on stderr.
//!
//! tracing-subscriber's `fmt` keeps a registry of spans whose first use allocates and zeroes a
//! slab of pages, a measurable share of a plugin process that runs for two milliseconds. This
//! one keeps nothing about spans (they are not shown) and formats only the events it prints.
//! `BERTH_LOG` switches to the full `fmt` subscriber.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// Writes `WARN` and `ERROR` events to stderr as `LEVEL target: message key=value...`.
#[derive(Debug)]
pub(crate) struct WarnToStderr {
    next_span: AtomicU64,
}

impl WarnToStderr {
    pub(crate) fn new() -> Self {
        WarnToStderr {
            next_span: AtomicU64::new(1),
        }
    }
}

impl Subscriber for WarnToStderr {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() <= Level::WARN
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::WARN)
    }

    fn new_span(&self, _span: &Attributes<'_>) -> Id {
        Id::from_u64(self.next_span.fetch_add(1, Ordering::Relaxed))
    }

    fn record(&self, _span: &Id, _values: &Record<'_>) {}

    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}

    fn event(&self, event: &Event<'_>) {
        // Nothing sensible can be done when stderr is gone.
        let _ = std::io::stderr().write_all(line(event).as_bytes());
    }

    fn enter(&self, _span: &Id) {}

    fn exit(&self, _span: &Id) {}
}

/// One event as a line: `LEVEL target: message key=value...`.
fn line(event: &Event<'_>) -> String {
    let meta = event.metadata();
    let mut line = format!("{} {}:", meta.level(), meta.target());
    event.record(&mut Line(&mut line));
    line.push('\n');
    line
}

/// Appends ` message` and ` key=value` for each field.
struct Line<'a>(&'a mut String);

impl Visit for Line<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        // Writing to a String cannot fail.
        let _ = if field.name() == "message" {
            write!(self.0, " {value:?}")
        } else {
            write!(self.0, " {}={value:?}", field.name())
        };
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// Formats like [`WarnToStderr`] but keeps the lines.
    struct Capture {
        inner: WarnToStderr,
        lines: Mutex<Vec<String>>,
    }

    impl Subscriber for Capture {
        fn enabled(&self, metadata: &Metadata<'_>) -> bool {
            self.inner.enabled(metadata)
        }
        fn max_level_hint(&self) -> Option<LevelFilter> {
            self.inner.max_level_hint()
        }
        fn new_span(&self, span: &Attributes<'_>) -> Id {
            self.inner.new_span(span)
        }
        fn record(&self, _span: &Id, _values: &Record<'_>) {}
        fn record_follows_from(&self, _span: &Id, _follows: &Id) {}
        fn event(&self, event: &Event<'_>) {
            if let Ok(mut lines) = self.lines.lock() {
                lines.push(line(event));
            }
        }
        fn enter(&self, _span: &Id) {}
        fn exit(&self, _span: &Id) {}
    }

    #[test]
    fn warnings_are_one_line_with_fields_and_debug_is_dropped() {
        let capture = std::sync::Arc::new(Capture {
            inner: WarnToStderr::new(),
            lines: Mutex::new(Vec::new()),
        });
        tracing::subscriber::with_default(capture.clone(), || {
            assert!(!tracing::enabled!(Level::INFO));
            let _span = tracing::warn_span!("outer", id = 7).entered();
            tracing::debug!("dropped");
            tracing::warn!(host_veth = "veth0", errno = 17, "could not delete");
            tracing::error!("failed");
        });
        let lines = capture.lines.lock().map(|l| l.clone()).unwrap_or_default();
        let target = module_path!();
        assert_eq!(
            lines,
            [
                format!("WARN {target}: could not delete host_veth=\"veth0\" errno=17\n"),
                format!("ERROR {target}: failed\n"),
            ]
        );
    }
}
