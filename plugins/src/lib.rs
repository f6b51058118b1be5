//! berth-plugins: one thin binary per CNI plugin under `src/bin/`; the logic lives in
//! `berth_core::plugins`. This library only holds what every binary does first.

use tracing::level_filters::LevelFilter;

/// Sends logs to stderr (stdout carries the CNI protocol). Quiet unless `BERTH_LOG` names a
/// level (`error`, `warn`, `info`, `debug`, `trace`); with nothing set only warnings and errors
/// are written. A plain level filter keeps plugin start-up cheap (no filter expressions).
pub fn init_logging() {
    let level = std::env::var("BERTH_LOG")
        .ok()
        .and_then(|l| l.parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::WARN);
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_max_level(level)
        .try_init();
}
