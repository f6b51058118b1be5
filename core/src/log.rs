//! A minimal tracing subscriber for short-lived or long-lived small processes (the CNI plugins,
//! the per-container shim): each event at or above a level becomes one line on stderr,
//! `[time ]LEVEL target: message key=value...`. It keeps nothing about spans (they are not
//! shown) and formats only the events it prints, where tracing-subscriber's `fmt` keeps a span
//! registry whose first use allocates a slab of pages and whose code adds to a process's memory.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// Writes events at `max` or above to stderr, one line each.
#[derive(Debug)]
pub struct StderrLines {
    max: Level,
    clock: Option<fn() -> String>,
    next_span: AtomicU64,
}

impl StderrLines {
    /// Lines for events at `max` and above, without a timestamp.
    pub fn new(max: Level) -> Self {
        StderrLines {
            max,
            clock: None,
            next_span: AtomicU64::new(1),
        }
    }

    /// Starts every line with `clock()` (e.g. an RFC 3339 time) and a space.
    pub fn with_clock(mut self, clock: fn() -> String) -> Self {
        self.clock = Some(clock);
        self
    }

    /// One event as a line: `[time ]LEVEL target: message key=value...`.
    fn line(&self, event: &Event<'_>) -> String {
        let meta = event.metadata();
        let mut line = self.clock.map(|c| c() + " ").unwrap_or_default();
        // Writing to a String cannot fail.
        let _ = write!(line, "{} {}:", meta.level(), meta.target());
        event.record(&mut Line(&mut line));
        line.push('\n');
        line
    }
}

impl Subscriber for StderrLines {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() <= self.max
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::from_level(self.max))
    }

    fn new_span(&self, _span: &Attributes<'_>) -> Id {
        Id::from_u64(self.next_span.fetch_add(1, Ordering::Relaxed))
    }

    fn record(&self, _span: &Id, _values: &Record<'_>) {}

    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}

    fn event(&self, event: &Event<'_>) {
        // Nothing sensible can be done when stderr is gone.
        let _ = std::io::stderr().write_all(self.line(event).as_bytes());
    }

    fn enter(&self, _span: &Id) {}

    fn exit(&self, _span: &Id) {}
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

    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = if field.name() == "message" {
            write!(self.0, " {value}")
        } else {
            write!(self.0, " {}={value:?}", field.name())
        };
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// Formats like [`StderrLines`] but keeps the lines.
    struct Capture {
        inner: StderrLines,
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
                lines.push(self.inner.line(event));
            }
        }
        fn enter(&self, _span: &Id) {}
        fn exit(&self, _span: &Id) {}
    }

    #[test]
    fn warnings_are_one_line_with_fields_and_debug_is_dropped() {
        let capture = std::sync::Arc::new(Capture {
            inner: StderrLines::new(Level::WARN),
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
