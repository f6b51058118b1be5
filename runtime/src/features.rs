//! The `features` document (runtime-spec `features.md`): what this runtime supports, derived
//! where it can be from the code that accepts a config, so the list cannot promise more than
//! `create` takes. Capabilities are those of the running kernel (up to `cap_last_cap`), in
//! their numeric order; seccomp architectures are those libseccomp adds to a filter here.

use libseccomp::{ScmpAction, ScmpArch, ScmpFilterContext};
use serde_json::{Value, json};

/// Hook kinds `create`/`start`/`delete` run.
pub const HOOKS: [&str; 6] = [
    "prestart",
    "createRuntime",
    "createContainer",
    "startContainer",
    "poststart",
    "poststop",
];

/// Mount options turned into mount(2) flags or propagation (others are passed as data).
pub const MOUNT_OPTIONS: [&str; 32] = [
    "ro",
    "rw",
    "nosuid",
    "suid",
    "nodev",
    "dev",
    "noexec",
    "exec",
    "sync",
    "async",
    "dirsync",
    "remount",
    "mand",
    "nomand",
    "atime",
    "noatime",
    "diratime",
    "nodiratime",
    "relatime",
    "norelatime",
    "strictatime",
    "nostrictatime",
    "bind",
    "rbind",
    "private",
    "rprivate",
    "shared",
    "rshared",
    "slave",
    "rslave",
    "unbindable",
    "runbindable",
];

/// Seccomp actions compiled (SCMP_ACT_NOTIFY is refused: no listener).
pub const SECCOMP_ACTIONS: [&str; 8] = [
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_LOG",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_TRAP",
];

/// Seccomp argument comparisons.
pub const SECCOMP_OPERATORS: [&str; 7] = [
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_LE",
    "SCMP_CMP_LT",
    "SCMP_CMP_MASKED_EQ",
    "SCMP_CMP_NE",
];

/// Seccomp filter flags passed to seccomp(2).
pub const SECCOMP_FLAGS: [&str; 3] = [
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
];

/// The architecture names of the runtime spec.
const SPEC_ARCHS: [&str; 17] = [
    "SCMP_ARCH_X86",
    "SCMP_ARCH_X86_64",
    "SCMP_ARCH_X32",
    "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_MIPS",
    "SCMP_ARCH_MIPS64",
    "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",
    "SCMP_ARCH_MIPSEL64",
    "SCMP_ARCH_MIPSEL64N32",
    "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",
    "SCMP_ARCH_PPC64LE",
    "SCMP_ARCH_S390",
    "SCMP_ARCH_S390X",
    "SCMP_ARCH_RISCV64",
];

/// Capability names up to `last_cap`, in numeric order.
pub fn capabilities(last_cap: u8) -> Vec<String> {
    let mut caps: Vec<caps::Capability> = caps::all()
        .into_iter()
        .filter(|c| c.index() <= last_cap)
        .collect();
    caps.sort_by_key(|c| c.index());
    caps.iter().map(ToString::to_string).collect()
}

/// The spec's architectures that libseccomp adds to a filter made on this machine (it refuses
/// those of the other byte order).
pub fn seccomp_archs() -> Vec<&'static str> {
    let addable = |name: &str| {
        let Ok(arch) = name.parse::<ScmpArch>() else {
            return false;
        };
        ScmpFilterContext::new(ScmpAction::Allow).is_ok_and(|mut ctx| ctx.add_arch(arch).is_ok())
    };
    SPEC_ARCHS.into_iter().filter(|a| addable(a)).collect()
}

/// The whole document for a kernel whose last capability is `last_cap`.
pub fn document(last_cap: u8) -> Value {
    json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": "1.2.0",
        "hooks": HOOKS,
        "mountOptions": MOUNT_OPTIONS,
        "linux": {
            "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"],
            "capabilities": capabilities(last_cap),
            "cgroup": {"v1": true, "v2": true, "systemd": false, "systemdUser": false},
            "seccomp": {
                "enabled": true,
                "actions": SECCOMP_ACTIONS,
                "operators": SECCOMP_OPERATORS,
                "archs": seccomp_archs(),
                "supportedFlags": SECCOMP_FLAGS
            },
            "apparmor": {"enabled": false},
            "selinux": {"enabled": false}
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mounts::parse_options;

    #[test]
    fn every_mount_option_listed_is_a_flag_not_data() {
        for o in MOUNT_OPTIONS {
            let parsed = parse_options(&[o.to_owned()]);
            // Known options become flags or propagation; clearing ones (rw, suid...) set no
            // bit but are not passed through as filesystem data either.
            assert!(parsed.data.is_empty(), "{o} is passed as data");
        }
        // What the parser does not know is data: the check above can tell.
        assert_eq!(parse_options(&["size=1m".to_owned()]).data, "size=1m");
    }

    #[test]
    fn every_seccomp_action_operator_and_flag_listed_compiles() {
        for a in SECCOMP_ACTIONS {
            let cfg: oci_spec::runtime::LinuxSeccomp =
                serde_json::from_value(json!({"defaultAction": a})).unwrap();
            crate::seccomp::compile(&cfg).unwrap_or_else(|e| panic!("{a}: {e}"));
        }
        for op in SECCOMP_OPERATORS {
            let cfg: oci_spec::runtime::LinuxSeccomp = serde_json::from_value(json!({
                "defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO",
                              "args": [{"index": 0, "value": 1, "valueTwo": 1, "op": op}]}]
            }))
            .unwrap();
            crate::seccomp::compile(&cfg).unwrap_or_else(|e| panic!("{op}: {e}"));
        }
        for arch in seccomp_archs() {
            let cfg: oci_spec::runtime::LinuxSeccomp = serde_json::from_value(json!({
                "defaultAction": "SCMP_ACT_ALLOW", "flags": SECCOMP_FLAGS, "architectures": [arch]
            }))
            .unwrap();
            crate::seccomp::compile(&cfg).unwrap_or_else(|e| panic!("{arch}: {e}"));
        }
        let notify: oci_spec::runtime::LinuxSeccomp =
            serde_json::from_value(json!({"defaultAction": "SCMP_ACT_NOTIFY"})).unwrap();
        assert!(
            crate::seccomp::compile(&notify).is_err(),
            "NOTIFY is not listed"
        );
    }

    #[test]
    fn capabilities_stop_at_the_kernels_last_and_are_in_order() {
        let caps = capabilities(40);
        assert_eq!(caps.len(), 41);
        assert_eq!(caps[0], "CAP_CHOWN");
        assert_eq!(caps[40], "CAP_CHECKPOINT_RESTORE");
        assert_eq!(capabilities(37).len(), 38);
        let doc = document(40);
        assert_eq!(doc["linux"]["capabilities"].as_array().unwrap().len(), 41);
        assert!(
            doc["linux"]["seccomp"]["archs"]
                .as_array()
                .unwrap()
                .contains(&json!("SCMP_ARCH_X86_64"))
        );
    }
}
