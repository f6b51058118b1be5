//! The registry client's public pieces without a registry: references as Docker reads them
//! (the registry, repository, tag or digest, and the short local name a pull tags), the
//! platform choice of `--platform`, and credentials kept in a Docker `config.json` (here in a
//! temp dir). No root, no network:
//!
//!     cargo run -p berth-examples --example registry_refs
#![allow(clippy::print_stdout)] // printing is what an example does

use berth_engine::registry::{AuthFile, Credentials, Platform, RemoteRef};

fn main() -> anyhow::Result<()> {
    for s in [
        "busybox",
        "user/app:1.0",
        "localhost:5000/team/app:v1",
        "127.0.0.1:5000/app@sha256:0000000000000000000000000000000000000000000000000000000000000000",
    ] {
        let r = RemoteRef::parse(s)?;
        let local = r
            .local_tag()?
            .map_or("(untagged)".to_owned(), |t| t.to_string());
        println!(
            "{s}\n  registry {}  repository {}  tag {:?}  digest {:?}\n  local name {local}  credentials key {}",
            r.registry(),
            r.repository(),
            r.tag(),
            r.digest(),
            r.auth_key()
        );
    }
    match RemoteRef::parse("Busybox") {
        Err(e) => println!("refused: {e}"),
        Ok(r) => println!("unexpectedly accepted {r}"),
    }
    println!("default platform {}", Platform::default());
    println!(
        "--platform linux/arm64/v8 -> {}",
        Platform::parse("linux/arm64/v8").map_err(anyhow::Error::msg)?
    );

    let dir = tempfile::tempdir()?;
    let file = AuthFile::at(dir.path().join("config.json"));
    let creds = Credentials {
        username: "alice".into(),
        password: "s3cret".into(),
    };
    file.set("localhost:5000", &creds)?;
    println!("config.json: {}", std::fs::read_to_string(file.path())?);
    println!("read back: {:?}", file.get("localhost:5000")?);
    file.remove("localhost:5000")?;
    Ok(())
}
