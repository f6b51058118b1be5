//! cgroup v2 device rules: v2 has no devices.allow/deny files, so the rule list is compiled
//! into an eBPF program of type BPF_PROG_TYPE_CGROUP_DEVICE and attached to the container's
//! cgroup directory, as runc and crun do. [`compile`] is pure (unit-tested); loading and
//! attaching go through [`crate::sys::bpf_load_device_prog`] and [`crate::sys::bpf_attach_device_prog`].
//!
//! Semantics match the v1 files: rules are checked from last to first and the first match
//! decides (so a later allow overrides an earlier deny-all); a device no rule matches is denied.

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

/// One eBPF instruction as the kernel lays it out (`struct bpf_insn`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    /// Opcode.
    pub code: u8,
    /// dst_reg in the low nibble, src_reg in the high nibble.
    pub regs: u8,
    /// Jump offset or memory offset.
    pub off: i16,
    /// Immediate.
    pub imm: i32,
}

const LDX_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const AND32_K: u8 = 0x54; // BPF_ALU | BPF_AND | BPF_K
const RSH32_K: u8 = 0x74; // BPF_ALU | BPF_RSH | BPF_K
const MOV32_X: u8 = 0xbc; // BPF_ALU | BPF_MOV | BPF_X
const MOV64_K: u8 = 0xb7; // BPF_ALU64 | BPF_MOV | BPF_K
const JNE_K: u8 = 0x55; // BPF_JMP | BPF_JNE | BPF_K
const JNE_X: u8 = 0x5d; // BPF_JMP | BPF_JNE | BPF_X
const JEQ_K: u8 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const EXIT: u8 = 0x95; // BPF_JMP | BPF_EXIT

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: (src << 4) | (dst & 0xf),
        off,
        imm,
    }
}

/// A rule reduced to what the program tests; `None` means "any".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rule {
    allow: bool,
    typ: Option<i32>,
    access: i32,
    major: Option<i32>,
    minor: Option<i32>,
}

fn rule(r: &LinuxDeviceCgroup) -> Rule {
    let typ = match r.typ() {
        Some(LinuxDeviceType::B) => Some(1), // BPF_DEVCG_DEV_BLOCK
        Some(LinuxDeviceType::C) | Some(LinuxDeviceType::U) => Some(2), // BPF_DEVCG_DEV_CHAR
        _ => None,
    };
    let acc = r.access().as_deref().unwrap_or("rwm");
    let access = acc.chars().fold(0, |a, c| match c {
        'm' => a | 1,
        'r' => a | 2,
        'w' => a | 4,
        _ => a,
    });
    let num = |n: Option<i64>| n.filter(|n| *n >= 0).map(|n| n as i32);
    Rule {
        allow: r.allow(),
        typ,
        access,
        major: num(r.major()),
        minor: num(r.minor()),
    }
}

/// Compile rules (plus the default devices every container gets) into a device program.
pub fn compile(rules: &[LinuxDeviceCgroup]) -> Vec<Insn> {
    let mut all: Vec<Rule> = rules.iter().map(rule).collect();
    for (major, minor) in [(1, 3), (1, 5), (1, 7), (1, 8), (1, 9), (5, 0), (5, 2)] {
        all.push(Rule {
            allow: true,
            typ: Some(2),
            access: 7,
            major: Some(major),
            minor: Some(minor),
        });
    }
    all.push(Rule {
        allow: true,
        typ: Some(2),
        access: 7,
        major: Some(136),
        minor: None,
    });
    // r2 = type, r3 = access, r4 = major, r5 = minor (struct bpf_cgroup_dev_ctx).
    let mut prog = vec![
        insn(LDX_W, 2, 1, 0, 0),
        insn(AND32_K, 2, 0, 0, 0xffff),
        insn(LDX_W, 3, 1, 0, 0),
        insn(RSH32_K, 3, 0, 0, 16),
        insn(LDX_W, 4, 1, 4, 0),
        insn(LDX_W, 5, 1, 8, 0),
    ];
    for r in all.iter().rev() {
        let block = rule_block(r);
        let unconditional = block.len() == 2;
        prog.extend(block);
        if unconditional {
            // The verifier rejects unreachable instructions: nothing may follow.
            return prog;
        }
    }
    prog.push(insn(MOV64_K, 0, 0, 0, 0));
    prog.push(insn(EXIT, 0, 0, 0, 0));
    prog
}

/// The instructions for one rule: each test jumps past the block's end on mismatch.
fn rule_block(r: &Rule) -> Vec<Insn> {
    let mut tests: Vec<Vec<Insn>> = Vec::new();
    if let Some(t) = r.typ {
        tests.push(vec![insn(JNE_K, 2, 0, 0, t)]);
    }
    if r.access != 7 && r.allow {
        // An allow rule covers a request only if it grants every requested access.
        tests.push(vec![
            insn(MOV32_X, 1, 3, 0, 0),
            insn(AND32_K, 1, 0, 0, r.access),
            insn(JNE_X, 1, 3, 0, 0),
        ]);
    } else if r.access != 7 {
        // A deny rule hits a request that asks for any access it names.
        tests.push(vec![
            insn(MOV32_X, 1, 3, 0, 0),
            insn(AND32_K, 1, 0, 0, r.access),
            insn(JEQ_K, 1, 0, 0, 0),
        ]);
    }
    if let Some(m) = r.major {
        tests.push(vec![insn(JNE_K, 4, 0, 0, m)]);
    }
    if let Some(m) = r.minor {
        tests.push(vec![insn(JNE_K, 5, 0, 0, m)]);
    }
    let mut block: Vec<Insn> = tests.into_iter().flatten().collect();
    block.push(insn(MOV64_K, 0, 0, 0, i32::from(r.allow)));
    block.push(insn(EXIT, 0, 0, 0, 0));
    let len = block.len();
    for (i, ins) in block.iter_mut().enumerate() {
        if matches!(ins.code, JNE_K | JNE_X | JEQ_K) {
            // Jump to the first instruction after this block.
            ins.off = (len - i - 1) as i16;
        }
    }
    block
}

/// Compile `rules`, load the program and attach it to the cgroup v2 directory `dir`.
pub fn apply(dir: &std::path::Path, rules: &[LinuxDeviceCgroup]) -> Result<(), super::CgroupError> {
    use std::os::fd::AsFd;
    let sys = |op: &'static str| {
        move |e: nix::Error| super::CgroupError::Io {
            op,
            path: dir.to_owned(),
            source: e.into(),
        }
    };
    let prog = crate::sys::bpf_load_device_prog(&compile(rules))
        .map_err(sys("load device bpf program for"))?;
    let flags =
        nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC;
    let dir_fd =
        nix::fcntl::open(dir, flags, nix::sys::stat::Mode::empty()).map_err(sys("open"))?;
    crate::sys::bpf_attach_device_prog(dir_fd.as_fd(), prog.as_fd())
        .map_err(sys("attach device bpf program to"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_rules_means_defaults_only_and_no_dead_code() {
        let prog = compile(&[]);
        assert_all_reachable(&prog);
        assert_eq!(run(&prog, 2, 6, 1, 3), 1);
        assert_eq!(run(&prog, 2, 6, 1, 11), 0);
    }

    /// A tiny interpreter for the subset of eBPF that [`compile`] emits.
    fn run(prog: &[Insn], typ: u32, access: u32, major: u32, minor: u32) -> u64 {
        let mut r = [0u64; 11];
        let ctx = [(access << 16) | typ, major, minor];
        let mut pc = 0usize;
        loop {
            let i = prog[pc];
            let (dst, src) = ((i.regs & 0xf) as usize, (i.regs >> 4) as usize);
            pc += 1;
            match i.code {
                LDX_W => r[dst] = u64::from(ctx[i.off as usize / 4]),
                AND32_K => r[dst] = (r[dst] as u32 & i.imm as u32) as u64,
                RSH32_K => r[dst] = ((r[dst] as u32) >> i.imm) as u64,
                MOV32_X => r[dst] = r[src] as u32 as u64,
                MOV64_K => r[dst] = i.imm as i64 as u64,
                JNE_K if r[dst] != i.imm as i64 as u64 => pc += i.off as usize,
                JNE_X if r[dst] != r[src] => pc += i.off as usize,
                JEQ_K if r[dst] == i.imm as i64 as u64 => pc += i.off as usize,
                JNE_K | JNE_X | JEQ_K => {}
                EXIT => return r[0],
                other => panic!("unexpected opcode {other:#x}"),
            }
        }
    }

    /// Every instruction must be reachable (the kernel's verifier refuses dead code).
    fn assert_all_reachable(prog: &[Insn]) {
        let mut seen = vec![false; prog.len()];
        let mut todo = vec![0usize];
        while let Some(pc) = todo.pop() {
            if pc >= prog.len() || std::mem::replace(&mut seen[pc], true) {
                continue;
            }
            let i = prog[pc];
            if i.code != EXIT {
                todo.push(pc + 1);
            }
            if matches!(i.code, JNE_K | JNE_X | JEQ_K) {
                todo.push(pc + 1 + i.off as usize);
            }
        }
        assert!(
            seen.iter().all(|s| *s),
            "unreachable instructions: {seen:?}"
        );
    }

    fn rules(v: serde_json::Value) -> Vec<LinuxDeviceCgroup> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn deny_all_then_allow_keeps_defaults_and_listed_devices() {
        let prog = compile(&rules(serde_json::json!([
            {"allow": false, "access": "rwm"},
            {"allow": true, "type": "c", "major": 10, "minor": 200, "access": "rw"}
        ])));
        assert_all_reachable(&prog);
        let (chr, blk) = (2, 1);
        let (m, r, w) = (1, 2, 4);
        assert_eq!(run(&prog, chr, r | w, 1, 3), 1, "/dev/null");
        assert_eq!(run(&prog, chr, r, 136, 4), 1, "/dev/pts/4");
        assert_eq!(run(&prog, chr, r | w, 10, 200), 1, "/dev/net/tun");
        assert_eq!(run(&prog, chr, m, 10, 200), 0, "tun mknod not allowed");
        assert_eq!(run(&prog, chr, r, 1, 11), 0, "/dev/kmsg");
        assert_eq!(run(&prog, blk, r, 8, 0), 0, "/dev/sda");
    }

    #[test]
    fn later_deny_overrides_earlier_allow() {
        let prog = compile(&rules(serde_json::json!([
            {"allow": true, "access": "rwm"},
            {"allow": false, "type": "b", "major": 8, "access": "w"}
        ])));
        assert_all_reachable(&prog);
        assert_eq!(run(&prog, 1, 2, 8, 1), 1, "read sdb allowed");
        assert_eq!(run(&prog, 1, 4, 8, 1), 0, "write sdb denied");
        assert_eq!(run(&prog, 2, 6, 4, 1), 1, "anything else allowed");
    }
}
