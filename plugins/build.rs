//! Links the plugin binaries as position-dependent executables, like the reference plugins: a
//! plugin is a new process for every CNI call, and a PIE pays for its start with thousands of
//! relocations that copy-on-write about twenty pages of the binary in every run.

fn main() {
    println!("cargo:rustc-link-arg-bins=-no-pie");
}
