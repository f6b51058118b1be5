//! `/_ping`, `/version` and `/info`: what the docker CLI asks before every command and for
//! `docker version` / `docker info`. Counts come from the container and image stores.

use hyper::header::{self, HeaderValue};
use hyper::{Method, StatusCode};
use serde_json::json;

use crate::backend::{Backend, is_running};
use crate::error::ApiResult;
use crate::reply::{self, Body, Reply};
use crate::version::{MAX_API, MIN_API};

/// `HEAD|GET /_ping`: 200 `OK`, never cached.
pub fn ping(method: &Method) -> Reply {
    let body = match *method {
        Method::HEAD => Body::Empty,
        _ => Body::Full(Some("OK".into())),
    };
    let mut r = reply::with_type(StatusCode::OK, "text/plain; charset=utf-8", body);
    let h = r.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store, must-revalidate"),
    );
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    r
}

/// Docker's name for the machine's architecture.
fn arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

fn kernel_version() -> String {
    nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `GET /version`.
pub fn version() -> Reply {
    let v = env!("CARGO_PKG_VERSION");
    let kernel = kernel_version();
    reply::json(
        StatusCode::OK,
        &json!({
            "Platform": {"Name": "berth"},
            "Components": [{
                "Name": "Engine",
                "Version": v,
                "Details": {
                    "ApiVersion": MAX_API, "MinAPIVersion": MIN_API, "Os": "linux",
                    "Arch": arch(), "KernelVersion": kernel, "Experimental": "false",
                    "GitCommit": "", "GoVersion": "rust",
                },
            }],
            "Version": v, "ApiVersion": MAX_API, "MinAPIVersion": MIN_API,
            "GitCommit": "", "GoVersion": "rust", "Os": "linux", "Arch": arch(),
            "KernelVersion": kernel, "Experimental": false, "BuildTime": "",
        }),
    )
}

fn mem_total() -> u64 {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn operating_system() -> String {
    let text = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_owned())
        .unwrap_or_else(|| "Linux".into())
}

fn hostname() -> String {
    nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `GET /info`.
pub async fn info(backend: &Backend) -> ApiResult<Reply> {
    let root = backend.root().display().to_string();
    let (counts, images, driver) = backend
        .run(|env| {
            let list = env.list()?;
            let running = list
                .iter()
                .filter(|r| is_running(r) && !r.state.paused)
                .count();
            let paused = list.iter().filter(|r| r.state.paused).count();
            let images = env
                .store
                .images()
                .records()
                .map_err(anyhow::Error::from)?
                .len();
            let driver = env.store.layers().driver().name();
            Ok(((list.len(), running, paused), images, driver))
        })
        .await?;
    let (total, running, paused) = counts;
    let cgroup_version = match std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        true => "2",
        false => "1",
    };
    let ncpu = std::thread::available_parallelism().map_or(1, |n| n.get());
    Ok(reply::json(
        StatusCode::OK,
        &json!({
            "ID": format!("berth-{}", hostname()), "Name": hostname(),
            "ServerVersion": env!("CARGO_PKG_VERSION"),
            "Containers": total, "ContainersRunning": running, "ContainersPaused": paused,
            "ContainersStopped": total - running - paused, "Images": images,
            "Driver": driver, "DriverStatus": [], "DockerRootDir": root,
            "OSType": "linux", "OperatingSystem": operating_system(), "Architecture": std::env::consts::ARCH,
            "KernelVersion": kernel_version(), "NCPU": ncpu, "MemTotal": mem_total(),
            "LoggingDriver": "json-file", "CgroupDriver": "cgroupfs", "CgroupVersion": cgroup_version,
            "Plugins": {"Volume": ["local"], "Network": ["bridge", "host", "none"], "Log": ["json-file"]},
            "Swarm": {"LocalNodeState": "inactive", "NodeID": "", "NodeAddr": ""},
            "SecurityOptions": ["name=seccomp,profile=builtin"],
            "Runtimes": {"berth-runtime": {"path": "berth-runtime"}}, "DefaultRuntime": "berth-runtime",
            "MemoryLimit": true, "SwapLimit": false, "CpuCfsPeriod": true, "CpuCfsQuota": true,
            "PidsLimit": true, "IPv4Forwarding": true, "Debug": false, "Experimental": false,
            "Labels": [], "Warnings": [],
        }),
    ))
}
