//! Small runnable programs against berth's public APIs live in `examples/`.
