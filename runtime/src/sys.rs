//! The few syscalls nix does not wrap safely: clone with a callback, seccomp(2), capset(2),
//! setdomainname, close_range, TIOCSCTTY. Every `unsafe` block of the crate lives here, each with
//! the invariant it relies on. Everything else uses nix directly.

use std::os::fd::{AsRawFd, BorrowedFd};

use nix::errno::Errno;
use nix::sched::CloneFlags;
use nix::unistd::Pid;

/// Size of the stack given to a cloned child. Pages are only touched as used.
const CHILD_STACK: usize = 1 << 20;

/// Clone a child that runs `f` and exits with its return value. Like fork, but with namespace
/// flags applied atomically. The caller must be single-threaded (the create path is).
pub fn clone_child(flags: CloneFlags, f: impl FnMut() -> isize) -> Result<Pid, Errno> {
    let mut stack = vec![0u8; CHILD_STACK];
    // SAFETY: the process is single-threaded on this path (the runtime never starts threads
    // before clone), so the child gets a consistent copy of memory; the stack outlives the call
    // in the parent and is the child's own copy afterwards; SIGCHLD lets the parent waitpid().
    unsafe { nix::sched::clone(Box::new(f), &mut stack, flags, Some(libc::SIGCHLD)) }
}

/// Install a classic BPF seccomp filter with seccomp(2).
pub fn load_seccomp(bpf: &[u8], flags: u32) -> Result<(), Errno> {
    let len = u16::try_from(bpf.len() / 8).map_err(|_| Errno::E2BIG)?;
    let prog = libc::sock_fprog {
        len,
        filter: bpf.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: `prog` points at `bpf`, which holds `len` 8-byte sock_filter records produced by
    // libseccomp and stays alive for the duration of the call; the kernel copies it.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            flags,
            &prog as *const libc::sock_fprog,
        )
    };
    Errno::result(rc).map(drop)
}

/// Set the effective, permitted and inheritable capability sets in one capset(2) call.
pub fn capset(effective: u64, permitted: u64, inheritable: u64) -> Result<(), Errno> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    let mut hdr = Header {
        version: 0x2008_0522, // _LINUX_CAPABILITY_VERSION_3
        pid: 0,
    };
    let split = |v: u64| (v as u32, (v >> 32) as u32);
    let (e0, e1) = split(effective);
    let (p0, p1) = split(permitted);
    let (i0, i1) = split(inheritable);
    let data = [
        Data {
            effective: e0,
            permitted: p0,
            inheritable: i0,
        },
        Data {
            effective: e1,
            permitted: p1,
            inheritable: i1,
        },
    ];
    // SAFETY: header and two data records have the v3 layout the kernel expects and live
    // across the call; the kernel only reads them.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &mut hdr as *mut Header, data.as_ptr()) };
    Errno::result(rc).map(drop)
}

/// setdomainname(2).
pub fn set_domainname(name: &str) -> Result<(), Errno> {
    // SAFETY: the pointer and length describe `name`'s bytes, valid for the call.
    let rc = unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) };
    Errno::result(rc).map(drop)
}

/// Mark every fd from `first` upwards close-on-exec (close_range with CLOSE_RANGE_CLOEXEC).
pub fn cloexec_from(first: u32) -> Result<(), Errno> {
    // SAFETY: close_range only changes fd flags; no memory is passed.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    Errno::result(rc).map(drop)
}

/// Make the terminal `fd` the controlling terminal of the calling session (TIOCSCTTY).
pub fn set_controlling_tty(fd: BorrowedFd<'_>) -> Result<(), Errno> {
    // SAFETY: TIOCSCTTY takes an integer argument, no memory; fd is a valid open descriptor.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSCTTY, 0) };
    Errno::result(rc).map(drop)
}

/// Set the terminal window size (TIOCSWINSZ).
pub fn set_window_size(fd: BorrowedFd<'_>, rows: u16, cols: u16) -> Result<(), Errno> {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a winsize struct that lives across the call.
    let rc = unsafe {
        libc::ioctl(
            fd.as_raw_fd(),
            libc::TIOCSWINSZ,
            &ws as *const libc::winsize,
        )
    };
    Errno::result(rc).map(drop)
}

/// Exit the calling process at once, without running destructors or atexit handlers: the
/// right way out of a cloned child, which shares buffers with the parent's copy.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit is always safe to call; it never returns.
    unsafe { libc::_exit(code) }
}

/// The pid that [`forward_signals_to`] relays signals to (0: none yet).
static FORWARD_PID: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

extern "C" fn relay_signal(sig: libc::c_int) {
    let pid = FORWARD_PID.load(std::sync::atomic::Ordering::Relaxed);
    if pid > 0 {
        // SAFETY: kill(2) is async-signal-safe and takes no pointers.
        unsafe { libc::kill(pid, sig) };
    }
}

/// Relay SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and SIGWINCH received by the
/// calling process to `pid` (what `run` does for the container it waits on).
pub fn forward_signals_to(pid: i32) -> Result<(), Errno> {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
    FORWARD_PID.store(pid, std::sync::atomic::Ordering::Relaxed);
    let action = SigAction::new(
        SigHandler::Handler(relay_signal),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for sig in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGQUIT,
        Signal::SIGUSR1,
        Signal::SIGUSR2,
        Signal::SIGWINCH,
    ] {
        // SAFETY: the handler only reads an atomic and calls kill(2), both async-signal-safe.
        unsafe { sigaction(sig, &action) }?;
    }
    Ok(())
}

/// The BPF_PROG_LOAD part of `union bpf_attr`, zero-padded to the size the kernel accepts.
#[repr(C)]
struct BpfProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
    _pad: [u8; 64],
}

/// The BPF_PROG_ATTACH part of `union bpf_attr`.
#[repr(C)]
struct BpfProgAttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
    _pad: [u8; 108],
}

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

/// Load a cgroup device program (bpf(BPF_PROG_LOAD)); returns the program fd.
pub fn bpf_load_device_prog(
    insns: &[crate::cgroups::devices_bpf::Insn],
) -> Result<std::os::fd::OwnedFd, Errno> {
    use std::os::fd::FromRawFd;
    let license = c"Apache";
    let mut name = [0u8; 16];
    name[..12].copy_from_slice(b"berth_device");
    let attr = BpfProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: u32::try_from(insns.len()).map_err(|_| Errno::E2BIG)?,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        log_level: 0,
        log_size: 0,
        log_buf: 0,
        kern_version: 0,
        prog_flags: 0,
        prog_name: name,
        prog_ifindex: 0,
        expected_attach_type: BPF_CGROUP_DEVICE,
        _pad: [0; 64],
    };
    // SAFETY: attr is a fully initialised bpf_attr prefix whose pointers (insns, license) stay
    // valid for the call; the size passed matches the struct, and the kernel only reads it.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_LOAD,
            &attr as *const BpfProgLoadAttr,
            std::mem::size_of::<BpfProgLoadAttr>(),
        )
    };
    let fd = Errno::result(fd)?;
    // SAFETY: a successful BPF_PROG_LOAD returns a new descriptor owned by the caller.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) })
}

/// Attach a loaded device program to a cgroup v2 directory (bpf(BPF_PROG_ATTACH)).
pub fn bpf_attach_device_prog(
    cgroup_dir: BorrowedFd<'_>,
    prog: BorrowedFd<'_>,
) -> Result<(), Errno> {
    let attr = BpfProgAttachAttr {
        target_fd: cgroup_dir.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        replace_bpf_fd: 0,
        _pad: [0; 108],
    };
    // SAFETY: attr is fully initialised and only read by the kernel during the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_ATTACH,
            &attr as *const BpfProgAttachAttr,
            std::mem::size_of::<BpfProgAttachAttr>(),
        )
    };
    Errno::result(rc).map(drop)
}
