//! The `overlay` CNI plugin binary; see `berth_core::plugins::overlay`.

fn main() -> std::process::ExitCode {
    berth_plugins::init_logging();
    berth_core::cni::skel::run(&berth_core::plugins::overlay::OverlayPlugin)
}
