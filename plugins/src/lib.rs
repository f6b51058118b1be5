//! berth-plugins: one thin binary per CNI plugin under `src/bin/`; the logic lives in berth-core.
