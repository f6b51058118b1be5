//! Root tests of `berth pull|push|login|logout` against a real registry (Debian's
//! docker-registry) started inside each test's throwaway host netns: push an image berth
//! made, pull it into an empty store and run it; only missing blobs move either way;
//! skopeo as a third client both ways; pulls through a fault proxy (dropped, corrupted,
//! 503, short Content-Length, then for good) retry or fail cleanly; a pull killed halfway
//! resumes from the layers it verified; two concurrent pulls; basic auth with Docker's
//! config.json; the Bearer token flow; TLS with a test CA; a multi-platform index; `run`
//! pulling a missing image; zstd pushes.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

#[path = "cli_net/fixture.rs"]
mod fixture;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use berth_netns_tests::fault_proxy::{Fault, FaultProxy};
use berth_netns_tests::registry::{Registry, RegistrySetup};
use fixture::Berth;

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// `berth ARGS` for `b`'s roots, run in `host`'s netns; stdout, or a panic with stderr.
fn ok_in(b: &Berth, host: &Path, args: &[&str]) -> String {
    let out = b.command_in(host, args).output().unwrap();
    let (o, e) = text(&out);
    assert!(out.status.success(), "berth {args:?} failed: {e}\n{o}");
    o
}

/// `berth ARGS` for `b`'s roots in `host`'s netns; stderr, or a panic if it succeeded.
fn fails_in(b: &Berth, host: &Path, args: &[&str]) -> String {
    let out = b.command_in(host, args).output().unwrap();
    let (o, e) = text(&out);
    assert!(!out.status.success(), "berth {args:?} succeeded: {o}");
    assert!(!e.contains("panicked"), "berth {args:?} panicked: {e}");
    e
}

/// `berth run --rm --network none ARGS` for `b`'s roots in `host`'s netns; stdout.
fn run_none(b: &Berth, host: &Path, args: &[&str]) -> String {
    let mut all = vec!["run", "--rm", "--network", "none"];
    all.extend_from_slice(args);
    ok_in(b, host, &all)
}

/// A berth with `bb` and a two-layer `bb2` (bb plus 256 KiB of random bytes in /big).
fn with_two_images(prefix: &str) -> Berth {
    let b = Berth::with_busybox(prefix);
    b.ok(&[
        "run",
        "--name",
        "mk",
        "--network",
        "none",
        "bb",
        "sh",
        "-c",
        "dd if=/dev/urandom of=/big bs=64k count=4 2>/dev/null",
    ]);
    b.ok(&["commit", "mk", "bb2"]);
    b.ok(&["rm", "mk"]);
    b
}

/// Digests of the blob files of a store.
fn blobs(b: &Berth) -> Vec<String> {
    let dir = b.root.path().join("images/blobs/sha256");
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn temp_files(b: &Berth) -> usize {
    std::fs::read_dir(b.root.path().join("images/tmp"))
        .map(|rd| rd.count())
        .unwrap_or(0)
}

/// `berth ARGS` with Docker's config directory `cfg`, `stdin` written to it.
fn with_config(b: &Berth, cfg: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut c = b.command(args);
    c.env("DOCKER_CONFIG", cfg)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if stdin.is_some() {
        c.stdin(Stdio::piped());
    }
    let mut child = c.spawn().unwrap();
    if let Some(s) = stdin {
        use std::io::Write as _;
        child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    }
    child.wait_with_output().unwrap()
}

fn digest_of(push_out: &str) -> String {
    push_out
        .split_whitespace()
        .find(|w| w.starts_with("sha256:"))
        .unwrap_or_else(|| panic!("no digest in {push_out}"))
        .to_owned()
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn push_then_pull_into_an_empty_store_and_run_moving_only_missing_blobs() {
    let b = with_two_images("reg-rt");
    let reg = Registry::start(&b.host, sa("127.0.0.1:5000"), &RegistrySetup::default());
    let v1 = format!("{}/team/bb:v1", reg.host);
    let v2 = format!("{}/team/bb:v2", reg.host);
    b.ok(&["tag", "bb", &v1]);
    b.ok(&["tag", "bb2", &v2]);
    let out = b.ok(&["push", &v1]);
    assert!(
        out.contains("The push refers to repository [127.0.0.1:5000/team/bb]"),
        "{out}"
    );
    assert!(out.contains(": Pushed"), "{out}");
    let d1 = digest_of(&out);
    // v2 shares its base layer with v1: only the new layer is uploaded.
    let out = b.ok(&["push", &v2]);
    assert_eq!(out.matches(": Pushed").count(), 1, "{out}");
    assert_eq!(out.matches(": Layer already exists").count(), 1, "{out}");
    let again = b.ok(&["push", &v2]);
    assert!(
        !again.contains(": Pushed") && again.contains("Layer already exists"),
        "{again}"
    );
    let images = b.ok(&["images", "--digests"]);
    assert!(images.contains(&d1), "{images}");

    // An empty store on the same host pulls through a proxy that counts layer bytes.
    let proxy = FaultProxy::start(b.host.netns(), sa("127.0.0.1:5001"), sa("127.0.0.1:5000"));
    let p1 = "127.0.0.1:5001/team/bb:v1";
    let p2 = "127.0.0.1:5001/team/bb:v2";
    let b2 = Berth::new("reg-rt2");
    let host = b.host.path();
    let out = ok_in(&b2, host, &["pull", p1]);
    assert!(out.contains("v1: Pulling from team/bb"), "{out}");
    assert!(out.contains("Pull complete"), "{out}");
    assert!(out.contains(&format!("Digest: {d1}")), "{out}");
    assert!(
        out.contains("Status: Downloaded newer image for 127.0.0.1:5001/team/bb:v1"),
        "{out}"
    );
    let (base_bytes, gets) = proxy.layer_traffic();
    assert_eq!(gets, 1);
    let ran = run_none(&b2, host, &[p1, "echo", "pulled-ok"]);
    assert_eq!(ran.trim(), "pulled-ok");
    // v2 over v1: only the new layer's bytes move, and only it is unpacked.
    let out = ok_in(&b2, host, &["pull", p2]);
    assert_eq!(out.matches("Already exists").count(), 1, "{out}");
    assert_eq!(out.matches("Pull complete").count(), 1, "{out}");
    let (all_bytes, gets) = proxy.layer_traffic();
    assert_eq!(gets, 2, "one more layer GET");
    let new_bytes = all_bytes - base_bytes;
    assert!(
        (256 * 1024..base_bytes).contains(&new_bytes),
        "the new layer moved {new_bytes} bytes (base {base_bytes})"
    );
    let ran = run_none(&b2, host, &[p2, "wc", "-c", "/big"]);
    assert!(ran.contains("262144"), "{ran}");
    // Up to date: nothing moves.
    let out = ok_in(&b2, host, &["pull", p2]);
    assert!(out.contains("Status: Image is up to date"), "{out}");
    assert_eq!(proxy.layer_traffic().1, 2);
    // By digest; an unknown tag is a clear error.
    let by_digest = format!("127.0.0.1:5001/team/bb@{d1}");
    let out = ok_in(&b2, host, &["pull", &by_digest]);
    assert!(out.contains(&format!("Digest: {d1}")), "{out}");
    let err = fails_in(&b2, host, &["pull", "127.0.0.1:5001/team/bb:nope"]);
    assert!(err.contains("manifest unknown"), "{err}");
    let err = fails_in(&b2, host, &["pull", "127.0.0.1:5001/Team/BB"]);
    assert!(err.contains("invalid reference format"), "{err}");
    assert_eq!(temp_files(&b2), 0);

    // `run` pulls a missing image first, its progress on stderr; `--pull never` does not.
    let b4 = Berth::new("reg-rt4");
    let err = fails_in(
        &b4,
        host,
        &[
            "run",
            "--rm",
            "--pull",
            "never",
            "--network",
            "none",
            p1,
            "true",
        ],
    );
    assert!(err.contains("no such image"), "{err}");
    let out = b4
        .command_in(
            host,
            &[
                "run",
                "--rm",
                "--network",
                "none",
                p1,
                "echo",
                "auto-pulled",
            ],
        )
        .output()
        .unwrap();
    let (o, e) = text(&out);
    assert!(out.status.success(), "{e}");
    assert_eq!(o.trim(), "auto-pulled", "stdout is the container's only");
    assert!(
        e.contains("Unable to find image '127.0.0.1:5001/team/bb:v1' locally"),
        "{e}"
    );
    assert!(
        e.contains("Status: Downloaded newer image for 127.0.0.1:5001/team/bb:v1"),
        "{e}"
    );

    // zstd layers push and pull as well (to a registry with no copies yet).
    let other = Registry::start(&b.host, sa("127.0.0.1:5004"), &RegistrySetup::default());
    for c in ["zstd", "none"] {
        let n = format!("{}/{c}/bb:v2", other.host);
        b.ok(&["tag", "bb2", &n]);
        let out = b.ok(&["push", "--compression", c, &n]);
        // The second push finds the first's zstd copies in this registry and mounts them.
        let (pushed, mounted) = if c == "zstd" { (2, 0) } else { (0, 2) };
        assert_eq!(out.matches(": Pushed").count(), pushed, "{c}: {out}");
        assert_eq!(
            out.matches(": Mounted from zstd/bb").count(),
            mounted,
            "{c}: {out}"
        );
        let b3 = Berth::new("reg-rt3");
        ok_in(&b3, host, &["pull", &n]);
        let ran = run_none(&b3, host, &[&n, "wc", "-c", "/big"]);
        assert!(ran.contains("262144"), "{c}: {ran}");
    }
    let out = b.run(&["push", "--compression", "lz4", &v1]);
    assert!(!out.status.success());
    assert!(
        text(&out).1.contains("unknown compression"),
        "{}",
        text(&out).1
    );
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn skopeo_reads_what_berth_pushed_and_berth_pulls_what_skopeo_pushed() {
    let b = Berth::with_busybox("reg-sk");
    let reg = Registry::start(&b.host, sa("127.0.0.1:5000"), &RegistrySetup::default());
    let name = format!("{}/berth/bb:v1", reg.host);
    b.ok(&["tag", "bb", &name]);
    b.ok(&["push", &name]);
    let dir = tempfile::tempdir().unwrap();
    let dst = format!("dir:{}", dir.path().join("copy").display());
    let skopeo = |args: &[&str]| {
        let out = std::process::Command::new("nsenter")
            .arg(format!("--net={}", b.host.path().display()))
            .arg("--")
            .arg("skopeo")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run skopeo");
        let (o, e) = text(&out);
        assert!(out.status.success(), "skopeo {args:?}: {e}");
        o
    };
    skopeo(&[
        "copy",
        "--src-tls-verify=false",
        &format!("docker://{name}"),
        &dst,
    ]);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("copy/manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["layers"].as_array().unwrap().len(), 1);
    // skopeo pushes a docker-archive berth saved, as gzip'd docker v2 layers.
    let archive = dir.path().join("bb.tar");
    b.ok(&["save", "-o", archive.to_str().unwrap(), "bb"]);
    let from_skopeo = format!("{}/skopeo/bb:s1", reg.host);
    skopeo(&[
        "copy",
        "--dest-tls-verify=false",
        "--dest-compress",
        &format!("docker-archive:{}", archive.display()),
        &format!("docker://{from_skopeo}"),
    ]);
    let raw = skopeo(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        &format!("docker://{from_skopeo}"),
    ]);
    assert!(
        raw.contains("tar.gzip") || raw.contains("tar+gzip"),
        "{raw}"
    );
    let b2 = Berth::new("reg-sk2");
    let out = ok_in(&b2, b.host.path(), &["pull", &from_skopeo]);
    assert!(out.contains("Pull complete"), "{out}");
    let ran = run_none(&b2, b.host.path(), &[&from_skopeo, "echo", "gz-ok"]);
    assert_eq!(ran.trim(), "gz-ok");
    // Pushed to another repository of the same registry: the gzip'd layer is mounted.
    let other = format!("{}/other/bb:o1", reg.host);
    ok_in(&b2, b.host.path(), &["tag", &from_skopeo, &other]);
    let out = ok_in(&b2, b.host.path(), &["push", &other]);
    assert!(out.contains("Mounted from skopeo/bb"), "{out}");
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn faulty_downloads_are_retried_or_fail_leaving_nothing_behind() {
    let b = Berth::with_busybox("reg-ft");
    let reg = Registry::start(&b.host, sa("127.0.0.1:5000"), &RegistrySetup::default());
    let name = format!("{}/f/bb:v1", reg.host);
    b.ok(&["tag", "bb", &name]);
    b.ok(&["push", &name]);
    let proxy = FaultProxy::start(b.host.netns(), sa("127.0.0.1:5002"), sa("127.0.0.1:5000"));
    let via = "127.0.0.1:5002/f/bb:v1";
    for fault in [
        Fault::Drop,
        Fault::Corrupt,
        Fault::Unavailable,
        Fault::ShortLength,
    ] {
        let fresh = Berth::new("reg-ft1");
        proxy.inject(&[fault]);
        let out = ok_in(&fresh, b.host.path(), &["pull", via]);
        assert!(out.contains("Retrying in"), "{fault:?}: {out}");
        assert!(out.contains("Pull complete"), "{fault:?}: {out}");
        let ran = run_none(&fresh, b.host.path(), &[via, "echo", "ok"]);
        assert_eq!(ran.trim(), "ok", "{fault:?}");
        assert_eq!(temp_files(&fresh), 0, "{fault:?}");
    }
    // Corrupted every time: the pull gives up, with no image, no blob, no temp file left.
    let fresh = Berth::new("reg-ft2");
    proxy.always(Some(Fault::Corrupt));
    let err = fails_in(&fresh, b.host.path(), &["pull", via]);
    proxy.always(None);
    assert!(err.contains("corrupted"), "{err}");
    assert!(!fresh.ok(&["images"]).contains("127.0.0.1:5002"));
    assert_eq!(blobs(&fresh), Vec::<String>::new());
    assert_eq!(temp_files(&fresh), 0);
    let images = fresh.ok(&["images", "-q"]);
    assert!(images.trim().is_empty(), "{images}");
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn a_killed_pull_resumes_from_the_layers_it_verified_and_concurrent_pulls_share() {
    let b = with_two_images("reg-kill");
    let reg = Registry::start(&b.host, sa("127.0.0.1:5000"), &RegistrySetup::default());
    let name = format!("{}/k/bb:v2", reg.host);
    b.ok(&["tag", "bb2", &name]);
    // Uncompressed, so the registry's blob digests are the diff ids the stall names.
    b.ok(&["push", "--compression", "none", &name]);
    let inspect = b.json(&["image", "inspect", "bb2"]);
    let layers: Vec<String> = serde_json::from_value(inspect[0]["Layers"].clone()).unwrap();
    let proxy = FaultProxy::start(b.host.netns(), sa("127.0.0.1:5003"), sa("127.0.0.1:5000"));
    proxy.stall(Some(&layers[1]));
    let via = "127.0.0.1:5003/k/bb:v2";
    let fresh = Berth::new("reg-kill2");
    let mut child = fresh
        .command_in(b.host.path(), &["pull", via])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = layers[0].trim_start_matches("sha256:").to_owned();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !blobs(&fresh).contains(&base) {
        assert!(Instant::now() < deadline, "the base layer never landed");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    proxy.stall(None);
    let (_, gets_before) = proxy.layer_traffic();
    let out = ok_in(&fresh, b.host.path(), &["pull", via]);
    assert_eq!(out.matches("Already exists").count(), 1, "{out}");
    assert_eq!(
        proxy.layer_traffic().1 - gets_before,
        1,
        "only the missing layer moved"
    );
    assert_eq!(temp_files(&fresh), 0, "the killed pull's temp file is gone");

    // Two pulls of one image into one empty store at once: both succeed, one copy stored.
    let both = Berth::new("reg-conc");
    let spawn = || {
        both.command_in(b.host.path(), &["pull", "-q", via])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (c1, c2) = (spawn(), spawn());
    for c in [c1, c2] {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", text(&out).1);
    }
    let ids = both.ok(&["images", "-q"]);
    assert_eq!(ids.lines().count(), 1, "{ids}");
    let ran = run_none(&both, b.host.path(), &[via, "wc", "-c", "/big"]);
    assert!(ran.contains("262144"), "{ran}");
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn basic_auth_uses_dockers_config_json_and_tls_needs_the_registrys_ca() {
    let b = Berth::with_busybox("reg-auth");
    let setup = RegistrySetup {
        user: Some(("alice".into(), "wonderland-7".into())),
        ..Default::default()
    };
    let reg = Registry::start(&b.host, sa("127.0.0.1:5000"), &setup);
    let cfg = tempfile::tempdir().unwrap();
    let berth = |args: &[&str], stdin: Option<&str>| with_config(&b, cfg.path(), args, stdin);
    let name = format!("{}/private/bb:v1", reg.host);
    b.ok(&["tag", "bb", &name]);
    let out = berth(&["push", &name], None);
    assert!(!out.status.success());
    assert!(text(&out).1.contains("unauthorized"), "{}", text(&out).1);
    let out = berth(
        &["login", "-u", "alice", "--password-stdin", &reg.host],
        Some("wrong\n"),
    );
    assert!(!out.status.success());
    assert!(
        text(&out).1.contains("incorrect username or password"),
        "{}",
        text(&out).1
    );
    assert!(!cfg.path().join("config.json").exists());
    let out = berth(
        &["login", "-u", "alice", "--password-stdin", &reg.host],
        Some("wonderland-7\n"),
    );
    let (o, e) = text(&out);
    assert!(out.status.success(), "{e}");
    assert_eq!(o.trim(), "Login Succeeded");
    assert!(!o.contains("wonderland") && !e.contains("wonderland"));
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(cfg.path().join("config.json")).unwrap()).unwrap();
    // base64("alice:wonderland-7"), as the docker CLI writes and reads it.
    assert_eq!(
        doc["auths"]["127.0.0.1:5000"]["auth"],
        "YWxpY2U6d29uZGVybGFuZC03"
    );
    let out = berth(&["push", &name], None);
    assert!(out.status.success(), "{}", text(&out).1);
    b.ok(&["rmi", &name]);
    let out = berth(&["pull", &name], None);
    assert!(out.status.success(), "{}", text(&out).1);
    let out = berth(&["logout", &reg.host], None);
    assert!(
        text(&out)
            .0
            .contains("Removing login credentials for 127.0.0.1:5000")
    );
    b.ok(&["rmi", &name]);
    let out = berth(&["pull", &name], None);
    assert!(!out.status.success(), "pulled after logout");
    drop(reg);

    // TLS on a non-loopback address (added to lo in this throwaway netns): no plain HTTP
    // fallback; the registry's CA is needed, from <certs dir>/<host:port>/ca.crt.
    b.host
        .run_ok("ip", &["addr", "add", "10.77.0.1/32", "dev", "lo"]);
    let tls = Registry::start(
        &b.host,
        sa("10.77.0.1:5443"),
        &RegistrySetup {
            tls: true,
            ..Default::default()
        },
    );
    let certs = tempfile::tempdir().unwrap();
    let name = format!("{}/tls/bb:v1", tls.host);
    b.ok(&["tag", "bb", &name]);
    let mut c = b.command(&["push", &name]);
    c.env("BERTH_REGISTRY_CERTS", certs.path());
    let out = c.output().unwrap();
    assert!(!out.status.success(), "pushed without trusting the CA");
    let e = text(&out).1;
    assert!(e.to_lowercase().contains("certificate"), "{e}");
    let dir = certs.path().join(&tls.host);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(tls.ca_cert(), dir.join("ca.crt")).unwrap();
    for args in [
        vec!["push", name.as_str()],
        vec!["rmi", name.as_str()],
        vec!["pull", name.as_str()],
    ] {
        let mut c = b.command(&args);
        c.env("BERTH_REGISTRY_CERTS", certs.path());
        let out = c.output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", text(&out).1);
    }
}

/// `PUT path` with `body` to the registry at `addr` from inside `ns`; the status line.
fn put(
    ns: &berth_core::netns::Netns,
    addr: SocketAddr,
    path: &str,
    media_type: &str,
    body: String,
) -> String {
    let path = path.to_owned();
    let media_type = media_type.to_owned();
    berth_netns_tests::tcp::spawn_in(ns, move || {
        use std::io::{Read as _, Write as _};
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        write!(
            s,
            "PUT {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {media_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        answer.lines().next().unwrap_or_default().to_owned()
    })
    .join()
    .unwrap()
}

/// `(digest, size)` from `push` output (`TAG: digest: sha256:… size: N`).
fn digest_and_size(push_out: &str) -> (String, u64) {
    let line = push_out.lines().find(|l| l.contains(": digest: ")).unwrap();
    let words: Vec<&str> = line.split_whitespace().collect();
    (words[2].to_owned(), words[4].parse().unwrap())
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn a_multi_platform_index_resolves_to_linux_amd64_or_the_asked_platform() {
    let b = with_two_images("reg-idx");
    let reg = Registry::start(&b.host, sa("127.0.0.1:5000"), &RegistrySetup::default());
    let (amd, arm) = (
        format!("{}/m/bb:amd", reg.host),
        format!("{}/m/bb:arm", reg.host),
    );
    b.ok(&["tag", "bb", &amd]);
    b.ok(&["tag", "bb2", &arm]);
    let (d_amd, s_amd) = digest_and_size(&b.ok(&["push", &amd]));
    let (d_arm, s_arm) = digest_and_size(&b.ok(&["push", &arm]));
    let entry = |d: &str, s: u64, arch: &str, variant: Option<&str>| {
        serde_json::json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": d, "size": s,
            "platform": {"os": "linux", "architecture": arch, "variant": variant},
        })
    };
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [entry(&d_arm, s_arm, "arm64", Some("v8")), entry(&d_amd, s_amd, "amd64", None)],
    });
    let status = put(
        b.host.netns(),
        sa("127.0.0.1:5000"),
        "/v2/m/bb/manifests/multi",
        "application/vnd.oci.image.index.v1+json",
        index.to_string(),
    );
    assert!(status.contains("201"), "{status}");
    let multi = format!("{}/m/bb:multi", reg.host);
    let host = b.host.path();
    let fresh = Berth::new("reg-idx2");
    ok_in(&fresh, host, &["pull", &multi]);
    let out = run_none(
        &fresh,
        host,
        &[&multi, "sh", "-c", "test -e /big && echo arm || echo amd"],
    );
    assert_eq!(out.trim(), "amd", "linux/amd64 by default");
    let arm64 = Berth::new("reg-idx3");
    ok_in(&arm64, host, &["pull", "--platform", "linux/arm64", &multi]);
    let out = run_none(
        &arm64,
        host,
        &[&multi, "sh", "-c", "test -e /big && echo arm || echo amd"],
    );
    assert_eq!(out.trim(), "arm");
    let err = fails_in(&fresh, host, &["pull", "--platform", "linux/s390x", &multi]);
    assert!(
        err.contains("no matching manifest for linux/s390x"),
        "{err}"
    );
    // The index's digest is what the pull records, as Docker does.
    let listed = fresh.ok(&["images", "--digests"]);
    assert!(!listed.contains(&d_amd), "{listed}");
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn the_bearer_token_flow_logs_in_pushes_and_pulls() {
    use berth_netns_tests::token_server::TokenServer;
    let b = Berth::with_busybox("reg-tok");
    let keys = tempfile::tempdir().unwrap();
    let tokens = TokenServer::start(
        b.host.netns(),
        sa("127.0.0.1:5100"),
        keys.path(),
        "carol",
        "tok-3n",
    );
    let setup = RegistrySetup {
        token: Some((format!("http://{}/token", tokens.addr), tokens.cert.clone())),
        ..Default::default()
    };
    let reg = Registry::start(&b.host, sa("127.0.0.1:5000"), &setup);
    let cfg = tempfile::tempdir().unwrap();
    let berth = |args: &[&str], stdin: Option<&str>| with_config(&b, cfg.path(), args, stdin);
    let name = format!("{}/tok/bb:v1", reg.host);
    b.ok(&["tag", "bb", &name]);
    let out = berth(&["push", &name], None);
    assert!(!out.status.success(), "pushed without a token");
    let out = berth(
        &["login", "-u", "carol", "--password-stdin", &reg.host],
        Some("nope\n"),
    );
    assert!(
        text(&out).1.contains("incorrect username or password"),
        "{}",
        text(&out).1
    );
    let out = berth(
        &["login", "-u", "carol", "--password-stdin", &reg.host],
        Some("tok-3n\n"),
    );
    assert!(out.status.success(), "{}", text(&out).1);
    let out = berth(&["push", &name], None);
    assert!(out.status.success(), "{}\n{}", text(&out).1, reg.log_text());
    b.ok(&["rmi", &name, "bb"]);
    let out = berth(&["pull", &name], None);
    assert!(out.status.success(), "{}", text(&out).1);
    let ran = b.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        &name,
        "echo",
        "via-token",
    ]);
    assert_eq!(ran.trim(), "via-token");
}
