//! [`RemoteRef`]: an image reference as Docker reads it for a registry (`busybox` is
//! `docker.io/library/busybox:latest`, `localhost:5000/app@sha256:...`), parsed by oci-spec's
//! grammar, and the short local name Docker shows for it (`busybox:latest`,
//! `localhost:5000/app:v1`).

use std::fmt;

use oci_client::Reference;

use super::RegistryError;
use crate::image::{DEFAULT_TAG, ImageRef};

/// Docker Hub's name in references.
const DOCKER_HUB: &str = "docker.io";
/// The key Docker uses for Docker Hub in `config.json` `auths`.
pub(crate) const DOCKER_HUB_AUTH_KEY: &str = "https://index.docker.io/v1/";

/// A reference to an image in a registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteRef {
    inner: Reference,
}

impl RemoteRef {
    /// Parses `[REGISTRY/]REPO[:TAG][@DIGEST]`; with neither tag nor digest the tag is
    /// `latest`, as `docker pull` does.
    pub fn parse(s: &str) -> Result<Self, RegistryError> {
        let bad = |reason: String| RegistryError::Reference {
            reference: s.to_owned(),
            reason,
        };
        if s.is_empty() || s != s.trim() {
            return Err(bad("empty or padded reference".into()));
        }
        let r: Reference = s.parse().map_err(|e| bad(format!("{e}")))?;
        if r.repository().chars().any(|c| c.is_ascii_uppercase()) {
            return Err(bad("repository name must be lowercase".into()));
        }
        let inner = if r.tag().is_none() && r.digest().is_none() {
            Reference::with_tag(
                r.registry().to_owned(),
                r.repository().to_owned(),
                DEFAULT_TAG.to_owned(),
            )
        } else {
            r
        };
        Ok(Self { inner })
    }

    /// `REPO` with a tag given separately (the Engine API's `fromImage=` and `tag=`): a tag
    /// that looks like a digest makes a digest reference.
    pub fn with_tag(image: &str, tag: Option<&str>) -> Result<Self, RegistryError> {
        match tag.filter(|t| !t.is_empty()) {
            Some(t) if t.contains(':') => Self::parse(&format!("{image}@{t}")),
            Some(t) => Self::parse(&format!("{image}:{t}")),
            None => Self::parse(image),
        }
    }

    /// The reference as oci-client takes it.
    pub(crate) fn oci(&self) -> &Reference {
        &self.inner
    }

    /// The registry as written (`docker.io`, `localhost:5000`).
    pub fn registry(&self) -> &str {
        self.inner.registry()
    }

    /// The repository path inside the registry (`library/busybox`).
    pub fn repository(&self) -> &str {
        self.inner.repository()
    }

    /// The tag, if the reference has one.
    pub fn tag(&self) -> Option<&str> {
        self.inner.tag()
    }

    /// The digest, if the reference pins one.
    pub fn digest(&self) -> Option<&str> {
        self.inner.digest()
    }

    /// The same repository pinned to `digest`.
    pub(crate) fn at_digest(&self, digest: &str) -> RemoteRef {
        RemoteRef {
            inner: Reference::with_digest(
                self.registry().to_owned(),
                self.repository().to_owned(),
                digest.to_owned(),
            ),
        }
    }

    /// The repository as Docker shows it locally: Docker Hub's `library/` and registry
    /// dropped (`busybox`, `user/app`), other registries kept (`localhost:5000/app`).
    pub fn familiar_repository(&self) -> String {
        if self.registry() == DOCKER_HUB {
            let repo = self.repository();
            repo.strip_prefix("library/").unwrap_or(repo).to_owned()
        } else {
            format!("{}/{}", self.registry(), self.repository())
        }
    }

    /// The local tag a pull of this reference sets (`busybox:latest`); none for a
    /// reference by digest only.
    pub fn local_tag(&self) -> Result<Option<ImageRef>, RegistryError> {
        let Some(tag) = self.tag() else {
            return Ok(None);
        };
        let s = format!("{}:{tag}", self.familiar_repository());
        ImageRef::parse(&s)
            .map(Some)
            .map_err(|e| RegistryError::Reference {
                reference: s,
                reason: e.to_string(),
            })
    }

    /// `REPO@DIGEST` as `docker images --digests` and inspect's `RepoDigests` show it.
    pub fn repo_digest(&self, digest: &str) -> String {
        format!("{}@{digest}", self.familiar_repository())
    }

    /// Where a layer lives in this repository: its blob `digest`, media type and size.
    pub(crate) fn layer_source(
        &self,
        digest: &str,
        media_type: &str,
        size: u64,
    ) -> Option<crate::image::LayerSource> {
        Some(crate::image::LayerSource {
            registry: self.registry().to_owned(),
            repository: self.repository().to_owned(),
            digest: crate::digest::Digest::parse(digest).ok()?,
            media_type: media_type.to_owned(),
            size,
        })
    }

    /// The key of this registry in Docker's `config.json` `auths`.
    pub fn auth_key(&self) -> String {
        auth_key(self.registry())
    }
}

/// The `config.json` key for a registry host as the user names it (`docker login HOST`).
pub(crate) fn auth_key(registry: &str) -> String {
    let host = registry
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let host = host.strip_suffix("/v1").unwrap_or(host);
    match host {
        "" | DOCKER_HUB | "index.docker.io" | "registry-1.docker.io" => {
            DOCKER_HUB_AUTH_KEY.to_owned()
        }
        h => h.to_owned(),
    }
}

impl fmt::Display for RemoteRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.familiar_repository())?;
        if let Some(t) = self.tag() {
            write!(f, ":{t}")?;
        }
        if let Some(d) = self.digest() {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

    #[test]
    fn short_names_go_to_docker_hub_library_latest() {
        let r = RemoteRef::parse("busybox").unwrap();
        assert_eq!(r.registry(), "docker.io");
        assert_eq!(r.repository(), "library/busybox");
        assert_eq!(r.tag(), Some("latest"));
        assert_eq!(
            r.local_tag().unwrap().unwrap().to_string(),
            "busybox:latest"
        );
        assert_eq!(r.auth_key(), DOCKER_HUB_AUTH_KEY);
        let u = RemoteRef::parse("user/app:1.0").unwrap();
        assert_eq!(u.repository(), "user/app");
        assert_eq!(u.to_string(), "user/app:1.0");
    }

    #[test]
    fn registries_with_ports_keep_their_names() {
        let r = RemoteRef::parse("localhost:5000/team/app:v1").unwrap();
        assert_eq!(r.registry(), "localhost:5000");
        assert_eq!(r.repository(), "team/app");
        assert_eq!(
            r.local_tag().unwrap().unwrap().to_string(),
            "localhost:5000/team/app:v1"
        );
        assert_eq!(r.auth_key(), "localhost:5000");
    }

    #[test]
    fn digests_pin_and_have_no_local_tag() {
        let r = RemoteRef::parse(&format!("127.0.0.1:5000/app@{D}")).unwrap();
        assert_eq!(r.digest(), Some(D));
        assert_eq!(r.tag(), None);
        assert!(r.local_tag().unwrap().is_none());
        assert_eq!(r.repo_digest(D), format!("127.0.0.1:5000/app@{D}"));
        let t = RemoteRef::with_tag("127.0.0.1:5000/app", Some(D)).unwrap();
        assert_eq!(t.digest(), Some(D));
        let t = RemoteRef::with_tag("app", Some("v2")).unwrap();
        assert_eq!(t.to_string(), "app:v2");
    }

    #[test]
    fn bad_references_are_refused_with_the_input() {
        for s in [
            "",
            " busybox",
            "Busybox",
            "a//b",
            "app:bad tag",
            "app@sha256:12",
        ] {
            let e = RemoteRef::parse(s).unwrap_err();
            assert!(
                matches!(&e, RegistryError::Reference { reference, .. } if reference == s),
                "{s:?}: {e}"
            );
        }
    }

    #[test]
    fn auth_keys_follow_docker() {
        assert_eq!(auth_key("https://index.docker.io/v1/"), DOCKER_HUB_AUTH_KEY);
        assert_eq!(auth_key("docker.io"), DOCKER_HUB_AUTH_KEY);
        assert_eq!(auth_key("https://reg.example:5000/"), "reg.example:5000");
    }
}
