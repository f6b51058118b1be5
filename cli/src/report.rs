//! How a command's error reads on stderr: the engine's [`berth_engine::report::error_report`]
//! (the context chain joined with `: `, each cause once).

pub use berth_engine::report::error_report;
