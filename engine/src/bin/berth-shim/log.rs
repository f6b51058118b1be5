//! The shim's logging: each event at the level of `BERTH_LOG` (error, warn, info, debug,
//! trace; default warn, as for `berth`) or above becomes one timestamped line on stderr (the
//! shim's `shim.log`), through core's minimal subscriber instead of tracing-subscriber's
//! formatter, whose code and buffers would make up much of the shim's memory.

use tracing::Level;

/// Installs the subscriber for the whole process.
pub fn install() {
    let max = std::env::var("BERTH_LOG")
        .ok()
        .and_then(|l| l.parse::<Level>().ok())
        .unwrap_or(Level::WARN);
    let lines = berth_core::log::StderrLines::new(max).with_clock(berth_engine::clock::now_rfc3339);
    let _ = tracing::subscriber::set_global_default(lines);
}
