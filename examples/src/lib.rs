//! Small runnable programs against berth's public APIs live in `examples/`:
//! `cni_versions` (CNI configs, results and errors; no root) and `netns_veth` (namespaces and
//! netlink; root).
