//! Links the plugin binaries as position-dependent executables, like the reference plugins: a
//! plugin is a new process for every CNI call, and a PIE pays for its start with thousands of
//! relocations that copy-on-write about twenty pages of the binary in every run. A static build
//! (`+crt-static`, see `scripts/build-plugins.sh`) chooses its own kind of executable.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let features = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    if !features.split(',').any(|f| f == "crt-static") {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
