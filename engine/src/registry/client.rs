//! Connecting to one registry: [`RegistryOptions`] (insecure registries, CA certificates,
//! the credentials file, parallelism), and [`connect`], which picks TLS or plain HTTP the way
//! dockerd does (TLS always, except for registries marked insecure and loopback ones, which
//! are tried over TLS first and fall back to HTTP) and hands oci-client the stored
//! credentials.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use oci_client::Client;
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;

use super::RegistryError;
use super::auth::AuthFile;

/// Layers downloaded at once, as dockerd's default `max-concurrent-downloads`.
pub const DEFAULT_DOWNLOADS: usize = 3;
/// Blobs uploaded at once, as dockerd's default `max-concurrent-uploads`.
pub const DEFAULT_UPLOADS: usize = 5;

/// How berth reaches registries.
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    /// Registries (`host[:port]`) that may be reached over plain HTTP (`--insecure-registry`).
    pub insecure: Vec<String>,
    /// Per-registry CA certificates: `<dir>/<host[:port]>/*.crt`, as Docker's
    /// `/etc/docker/certs.d`.
    pub certs_dir: PathBuf,
    /// The credentials file (Docker's `config.json`).
    pub auth_file: AuthFile,
    /// Layers downloaded at once.
    pub downloads: usize,
    /// Blobs uploaded at once.
    pub uploads: usize,
    /// Credentials to use instead of the file's (berthd: those the client sent).
    pub credentials: Option<super::Credentials>,
    /// How pushed layers are compressed.
    pub compression: LayerCompression,
}

/// How `push` sends a layer the registry lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LayerCompression {
    /// gzip (fast level), as Docker and podman push: what every client can pull.
    #[default]
    Gzip,
    /// zstd (level 3): smaller and faster; pulled by Docker 23+, podman, containerd.
    Zstd,
    /// The tar as berth stores it: no compression work, the most bytes on the wire.
    None,
}

impl LayerCompression {
    /// Parses `gzip`, `zstd` or `none`.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "gzip" => Ok(Self::Gzip),
            "zstd" => Ok(Self::Zstd),
            "none" | "uncompressed" => Ok(Self::None),
            _ => Err(format!("unknown compression {s:?}: gzip, zstd or none")),
        }
    }

    /// The OCI media type of a layer sent this way.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
            Self::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
            Self::None => "application/vnd.oci.image.layer.v1.tar",
        }
    }
}

impl RegistryOptions {
    /// Options from the environment: `BERTH_INSECURE_REGISTRIES` (comma-separated),
    /// `BERTH_REGISTRY_CERTS` (default `/etc/docker/certs.d`) and Docker's `DOCKER_CONFIG`
    /// (default `~/.docker`) for `config.json`.
    pub fn from_env() -> Self {
        let insecure = std::env::var("BERTH_INSECURE_REGISTRIES")
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let certs_dir = std::env::var_os("BERTH_REGISTRY_CERTS")
            .map_or_else(|| PathBuf::from("/etc/docker/certs.d"), PathBuf::from);
        RegistryOptions {
            insecure,
            certs_dir,
            auth_file: AuthFile::from_env(),
            downloads: DEFAULT_DOWNLOADS,
            uploads: DEFAULT_UPLOADS,
            credentials: None,
            compression: LayerCompression::default(),
        }
    }

    /// Whether `registry` may fall back to plain HTTP: listed as insecure, or on loopback.
    pub fn is_insecure(&self, registry: &str) -> bool {
        self.insecure.iter().any(|h| h == registry) || is_loopback(registry)
    }
}

/// `localhost`, `127.0.0.0/8` or `::1`, with or without a port.
fn is_loopback(registry: &str) -> bool {
    let host = match registry.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => registry.rsplit_once(':').map_or(registry, |(h, _)| h),
    };
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// How long the TLS probe of an insecure registry waits for any answer.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// A client for one registry with its credentials.
pub(crate) struct Connection {
    pub client: Client,
    pub auth: RegistryAuth,
}

/// Connects to `registry` (as written in a reference: `docker.io`, `localhost:5000`).
pub(crate) async fn connect(
    opts: &RegistryOptions,
    registry: &str,
) -> Result<Connection, RegistryError> {
    let certs = ca_certificates(&opts.certs_dir, registry)?;
    let protocol = match scheme(opts, registry, &certs).await {
        "http" => ClientProtocol::Http,
        _ => ClientProtocol::Https,
    };
    let creds = match &opts.credentials {
        Some(c) => Some(c.clone()),
        None => opts.auth_file.get(registry)?,
    };
    let auth = match creds {
        Some(c) => RegistryAuth::Basic(c.username, c.password),
        None => RegistryAuth::Anonymous,
    };
    let config = ClientConfig {
        protocol,
        extra_root_certificates: certs
            .into_iter()
            .map(|data| Certificate {
                encoding: CertificateEncoding::Pem,
                data,
            })
            .collect(),
        max_concurrent_download: opts.downloads.max(1),
        max_concurrent_upload: opts.uploads.max(1),
        connect_timeout: Some(Duration::from_secs(15)),
        read_timeout: Some(Duration::from_secs(60)),
        // Uncompressed layers and configs go in one PUT with their length (compressed ones
        // are chunked: their digest is known only at the end).
        use_monolithic_push: true,
        ..ClientConfig::default()
    };
    let client = Client::try_from(config).map_err(|e| {
        RegistryError::fatal("configure client for", registry, super::error::describe(&e))
    })?;
    Ok(Connection { client, auth })
}

/// The PEM files `<certs_dir>/<registry>/*.crt`; none when the directory does not exist.
pub(crate) fn ca_certificates(
    certs_dir: &Path,
    registry: &str,
) -> Result<Vec<Vec<u8>>, RegistryError> {
    let dir = certs_dir.join(registry);
    let rd = match std::fs::read_dir(&dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(RegistryError::Io {
                op: "read the registry's certificate directory",
                source,
            });
        }
    };
    let mut out = Vec::new();
    for e in rd.flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "crt") {
            let pem = std::fs::read(&p).map_err(|source| RegistryError::Io {
                op: "read a registry CA certificate",
                source,
            })?;
            out.push(pem);
        }
    }
    Ok(out)
}

/// `https`, or `http` for an insecure registry that does not answer over TLS (`certs`: the
/// registry's CA certificates, trusted besides the system roots).
pub(crate) async fn scheme(
    opts: &RegistryOptions,
    registry: &str,
    certs: &[Vec<u8>],
) -> &'static str {
    if !opts.is_insecure(registry) {
        return "https";
    }
    match http_client(registry, certs, PROBE_TIMEOUT) {
        Ok(c) if speaks_tls(&c, registry).await => "https",
        _ => "http",
    }
}

/// A plain HTTP client trusting `certs` (PEM) besides the system roots (for the TLS probe and
/// `login`).
pub(crate) fn http_client(
    registry: &str,
    certs: &[Vec<u8>],
    timeout: Duration,
) -> Result<reqwest::Client, RegistryError> {
    let mut b = reqwest::Client::builder()
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .timeout(timeout);
    for pem in certs {
        let c = reqwest::Certificate::from_pem(pem).map_err(|e| {
            RegistryError::fatal("read CA certificate for", registry, super::error::chain(&e))
        })?;
        b = b.add_root_certificate(c);
    }
    b.build().map_err(|e| {
        RegistryError::fatal("configure client for", registry, super::error::chain(&e))
    })
}

/// Whether `registry` answers `GET /v2/` over TLS. Any HTTP answer counts; a refused
/// connection or a failed handshake does not.
async fn speaks_tls(client: &reqwest::Client, registry: &str) -> bool {
    client
        .get(format!("https://{registry}/v2/"))
        .send()
        .await
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_registries_are_insecure_by_default() {
        let opts = RegistryOptions {
            insecure: vec!["reg.internal:5000".into()],
            ..RegistryOptions::from_env()
        };
        for r in [
            "localhost:5000",
            "127.0.0.1:5000",
            "127.3.2.1",
            "[::1]:5000",
            "localhost",
        ] {
            assert!(opts.is_insecure(r), "{r}");
        }
        assert!(opts.is_insecure("reg.internal:5000"));
        for r in [
            "docker.io",
            "reg.internal:5001",
            "10.0.0.1:5000",
            "localhost.example",
        ] {
            assert!(!opts.is_insecure(r), "{r}");
        }
    }
}
