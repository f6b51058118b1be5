//! The `none` CNI plugin binary; see `berth_core::plugins::none`.

fn main() -> std::process::ExitCode {
    berth_plugins::init_logging();
    berth_core::cni::skel::run(&berth_core::plugins::none::NonePlugin)
}
