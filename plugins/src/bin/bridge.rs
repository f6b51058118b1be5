//! The `bridge` CNI plugin binary; see `berth_core::plugins::bridge`.

fn main() -> std::process::ExitCode {
    berth_plugins::init_logging();
    berth_core::cni::skel::run(&berth_core::plugins::bridge::BridgePlugin)
}
