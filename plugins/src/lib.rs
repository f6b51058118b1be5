//! berth-plugins: one thin binary per CNI plugin under `src/bin/`; the logic lives in
//! `berth_core::plugins`. This library only holds what every binary does first.

use tracing::level_filters::LevelFilter;

/// Sends logs to stderr (stdout carries the CNI protocol). Quiet unless `BERTH_LOG` names a
/// level (`error`, `warn`, `info`, `debug`, `trace`); with nothing set only warnings and errors
/// are written, by a minimal subscriber that keeps plugin start-up cheap.
pub fn init_logging() {
    let Some(level) = std::env::var("BERTH_LOG")
        .ok()
        .and_then(|l| l.parse::<LevelFilter>().ok())
    else {
        let _ = tracing::subscriber::set_global_default(berth_core::log::StderrLines::new(
            tracing::Level::WARN,
        ));
        return;
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_max_level(level)
        .try_init();
}
