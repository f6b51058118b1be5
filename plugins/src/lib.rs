//! berth-plugins: one thin binary per CNI plugin under `src/bin/`; the logic lives in
//! `berth_core::plugins`. This library only holds what every binary does first.

/// Sends logs to stderr (stdout carries the CNI protocol). Quiet unless `BERTH_LOG` (a
/// `tracing` filter such as `debug`) asks for more, so a normal run writes nothing.
pub fn init_logging() {
    let filter = std::env::var("BERTH_LOG").unwrap_or_else(|_| "warn".into());
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .try_init();
}
