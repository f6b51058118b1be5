//! Seccomp: compile `linux.seccomp` into a classic BPF program with libseccomp, in the runtime
//! before the container is cloned, so the container's init only has to load the bytes
//! ([`crate::sys::load_seccomp`]). Names, actions, argument conditions, architectures, flags and
//! `defaultErrnoRet` are all checked here, and errors name the field.
//!
//! Unknown syscall names: a name libseccomp does not know is skipped (with a warning) only in a
//! rule that allows or logs, because leaving it out keeps the stricter default; in any rule that
//! restricts it is an error, as is a name that is not a syscall identifier at all.

use std::io::{Read, Seek};

use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction, LinuxSeccompOperator, LinuxSyscall};

use crate::config::ConfigError;

/// A compiled filter, ready to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeccompProgram {
    /// Classic BPF instructions, 8 bytes each, native endian.
    pub bpf: Vec<u8>,
    /// `SECCOMP_FILTER_FLAG_*` bits for seccomp(2).
    pub flags: u32,
}

fn invalid(field: String, reason: impl Into<String>) -> ConfigError {
    ConfigError::invalid(field, reason)
}

fn action(
    field: &str,
    act: LinuxSeccompAction,
    errno: Option<u32>,
) -> Result<ScmpAction, ConfigError> {
    let errno = i32::try_from(errno.unwrap_or(libc::EPERM as u32))
        .map_err(|_| invalid(field.to_owned(), "errno out of range"))?;
    Ok(match act {
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            ScmpAction::KillThread
        }
        LinuxSeccompAction::ScmpActKillProcess => ScmpAction::KillProcess,
        LinuxSeccompAction::ScmpActTrap => ScmpAction::Trap,
        LinuxSeccompAction::ScmpActErrno => ScmpAction::Errno(errno),
        LinuxSeccompAction::ScmpActTrace => ScmpAction::Trace(errno as u16),
        LinuxSeccompAction::ScmpActLog => ScmpAction::Log,
        LinuxSeccompAction::ScmpActAllow => ScmpAction::Allow,
        LinuxSeccompAction::ScmpActNotify => {
            return Err(invalid(
                field.to_owned(),
                "SCMP_ACT_NOTIFY needs a seccomp listener, which berth-runtime does not support",
            ));
        }
    })
}

fn compare(op: LinuxSeccompOperator, mask: u64) -> ScmpCompareOp {
    match op {
        LinuxSeccompOperator::ScmpCmpNe => ScmpCompareOp::NotEqual,
        LinuxSeccompOperator::ScmpCmpLt => ScmpCompareOp::Less,
        LinuxSeccompOperator::ScmpCmpLe => ScmpCompareOp::LessOrEqual,
        LinuxSeccompOperator::ScmpCmpEq => ScmpCompareOp::Equal,
        LinuxSeccompOperator::ScmpCmpGe => ScmpCompareOp::GreaterEqual,
        LinuxSeccompOperator::ScmpCmpGt => ScmpCompareOp::Greater,
        LinuxSeccompOperator::ScmpCmpMaskedEq => ScmpCompareOp::MaskedEqual(mask),
    }
}

/// The JSON spelling of a serde enum value (e.g. `SCMP_ARCH_X86_64`).
fn json_name<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Compile a config's seccomp section.
pub fn compile(cfg: &LinuxSeccomp) -> Result<SeccompProgram, ConfigError> {
    let lib =
        |field: &str, e: libseccomp::error::SeccompError| invalid(field.to_owned(), e.to_string());
    let default = action(
        "linux.seccomp.defaultAction",
        cfg.default_action(),
        cfg.default_errno_ret(),
    )?;
    let mut ctx = ScmpFilterContext::new(default).map_err(|e| lib("linux.seccomp", e))?;
    ctx.set_ctl_nnp(false)
        .map_err(|e| lib("linux.seccomp", e))?;
    for (i, arch) in cfg.architectures().iter().flatten().enumerate() {
        let field = format!("linux.seccomp.architectures[{i}]");
        let name = json_name(arch);
        let a: ScmpArch = name.parse().map_err(|e| lib(&field, e))?;
        ctx.add_arch(a).map_err(|e| lib(&field, e))?;
    }
    for (i, rule) in cfg.syscalls().iter().flatten().enumerate() {
        add_rule(&mut ctx, i, rule, default)?;
    }
    let flags = filter_flags(cfg)?;
    Ok(SeccompProgram {
        bpf: export(&ctx)?,
        flags,
    })
}

fn filter_flags(cfg: &LinuxSeccomp) -> Result<u32, ConfigError> {
    let mut flags = 0;
    for (i, f) in cfg.flags().iter().flatten().enumerate() {
        flags |= match json_name(f).as_str() {
            "SECCOMP_FILTER_FLAG_TSYNC" => 1,
            "SECCOMP_FILTER_FLAG_LOG" => 2,
            "SECCOMP_FILTER_FLAG_SPEC_ALLOW" => 4,
            other => {
                return Err(invalid(
                    format!("linux.seccomp.flags[{i}]"),
                    format!("unsupported flag {other}"),
                ));
            }
        };
    }
    Ok(flags)
}

fn add_rule(
    ctx: &mut ScmpFilterContext,
    i: usize,
    rule: &LinuxSyscall,
    default: ScmpAction,
) -> Result<(), ConfigError> {
    let field = format!("linux.seccomp.syscalls[{i}]");
    let act = action(&format!("{field}.action"), rule.action(), rule.errno_ret())?;
    if act == default {
        return Ok(());
    }
    let mut conds = Vec::new();
    for (j, a) in rule.args().iter().flatten().enumerate() {
        if a.index() > 5 {
            return Err(invalid(format!("{field}.args[{j}].index"), "must be 0-5"));
        }
        let (mask, datum) = match a.op() {
            LinuxSeccompOperator::ScmpCmpMaskedEq => (a.value(), a.value_two().unwrap_or(0)),
            _ => (0, a.value()),
        };
        let idx = a.index() as u32;
        conds.push((idx, ScmpArgCompare::new(idx, compare(a.op(), mask), datum)));
    }
    let permissive = matches!(act, ScmpAction::Allow | ScmpAction::Log);
    for (j, name) in rule.names().iter().enumerate() {
        let nfield = format!("{field}.names[{j}]");
        let plausible = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        let sc = match ScmpSyscall::from_name(name) {
            Ok(sc) if plausible => sc,
            Err(_) if plausible && permissive => {
                tracing::warn!(syscall = %name, "unknown to libseccomp; rule skipped");
                continue;
            }
            _ => return Err(invalid(nfield, format!("unknown syscall {name:?}"))),
        };
        add_conditions(ctx, act, sc, &conds).map_err(|e| invalid(nfield, e.to_string()))?;
    }
    Ok(())
}

/// Conditions on distinct arguments are ANDed in one rule; several on the same argument
/// become one rule each (ORed), as libseccomp cannot AND two tests of one argument.
fn add_conditions(
    ctx: &mut ScmpFilterContext,
    act: ScmpAction,
    sc: ScmpSyscall,
    conds: &[(u32, ScmpArgCompare)],
) -> Result<(), libseccomp::error::SeccompError> {
    let mut args: Vec<u32> = conds.iter().map(|(i, _)| *i).collect();
    args.sort_unstable();
    let distinct = args.windows(2).all(|w| w[0] != w[1]);
    if distinct {
        let all: Vec<ScmpArgCompare> = conds.iter().map(|(_, c)| *c).collect();
        ctx.add_rule_conditional(act, sc, &all)?;
    } else {
        for (_, c) in conds {
            ctx.add_rule_conditional(act, sc, std::slice::from_ref(c))?;
        }
    }
    Ok(())
}

fn export(ctx: &ScmpFilterContext) -> Result<Vec<u8>, ConfigError> {
    let io = |e: std::io::Error| invalid("linux.seccomp".to_owned(), format!("export bpf: {e}"));
    let fd =
        nix::sys::memfd::memfd_create(c"berth-seccomp", nix::sys::memfd::MFdFlags::MFD_CLOEXEC)
            .map_err(|e| io(e.into()))?;
    let mut file = std::fs::File::from(fd);
    ctx.export_bpf(&file)
        .map_err(|e| invalid("linux.seccomp".to_owned(), e.to_string()))?;
    file.rewind().map_err(io)?;
    let mut bpf = Vec::new();
    file.read_to_end(&mut bpf).map_err(io)?;
    Ok(bpf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(v: serde_json::Value) -> LinuxSeccomp {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn compiles_errno_rule_with_args_and_arches() {
        let p = compile(&cfg(serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
            "flags": ["SECCOMP_FILTER_FLAG_LOG"],
            "syscalls": [
                {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
                {"names": ["personality"], "action": "SCMP_ACT_ERRNO",
                 "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_NE"},
                          {"index": 0, "value": 0, "op": "SCMP_CMP_NE"}]},
                {"names": ["clone"], "action": "SCMP_ACT_ERRNO",
                 "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]}
            ]
        })))
        .unwrap();
        assert_eq!(p.bpf.len() % 8, 0);
        assert!(p.bpf.len() > 8 * 10, "{} bytes", p.bpf.len());
        assert_eq!(p.flags, 2);
    }

    #[test]
    fn bad_syscall_name_names_the_field() {
        let err = compile(&cfg(serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["getpid", "no_such_call"], "action": "SCMP_ACT_ERRNO"}]
        })))
        .unwrap_err()
        .to_string();
        assert!(err.contains("linux.seccomp.syscalls[0].names[1]"), "{err}");
    }

    #[test]
    fn unknown_name_in_allow_rule_is_skipped() {
        compile(&cfg(serde_json::json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [{"names": ["read", "future_syscall_2030"], "action": "SCMP_ACT_ALLOW"}]
        })))
        .unwrap();
    }

    #[test]
    fn notify_and_bad_arg_index_are_rejected() {
        let err = compile(&cfg(serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO",
                          "args": [{"index": 7, "value": 0, "op": "SCMP_CMP_EQ"}]}]
        })))
        .unwrap_err()
        .to_string();
        assert!(err.contains("syscalls[0].args[0].index"), "{err}");
        let err = compile(&cfg(
            serde_json::json!({"defaultAction": "SCMP_ACT_NOTIFY"}),
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("linux.seccomp.defaultAction"), "{err}");
    }

    #[test]
    fn default_errno_ret_changes_the_program() {
        let a = compile(&cfg(serde_json::json!({"defaultAction": "SCMP_ACT_ERRNO"}))).unwrap();
        let b = compile(&cfg(
            serde_json::json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38}),
        ))
        .unwrap();
        assert_ne!(a.bpf, b.bpf);
    }
}
