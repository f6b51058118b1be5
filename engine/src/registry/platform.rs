//! [`Platform`]: `os/arch[/variant]` as `--platform` takes it, and the choice of one
//! manifest from a multi-platform index (linux/amd64 unless told otherwise, as Docker on
//! this machine would).

use std::fmt;

use oci_client::manifest::ImageIndexEntry;

/// An OS, architecture and optional variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    /// e.g. `linux`.
    pub os: String,
    /// e.g. `amd64`, `arm64`.
    pub architecture: String,
    /// e.g. `v8` for arm64.
    pub variant: Option<String>,
}

impl Default for Platform {
    fn default() -> Self {
        Platform {
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
        }
    }
}

impl Platform {
    /// Parses `os/arch[/variant]`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.split('/').collect();
        let ok =
            |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        match parts.as_slice() {
            [os, arch] if ok(os) && ok(arch) => Ok(Platform {
                os: os.to_ascii_lowercase(),
                architecture: arch.to_ascii_lowercase(),
                variant: None,
            }),
            [os, arch, v] if ok(os) && ok(arch) && ok(v) => Ok(Platform {
                os: os.to_ascii_lowercase(),
                architecture: arch.to_ascii_lowercase(),
                variant: Some(v.to_ascii_lowercase()),
            }),
            _ => Err(format!(
                "invalid platform {s:?}: expected os/arch[/variant]"
            )),
        }
    }

    /// The digest of the index entry for this platform: an exact variant match first, then
    /// an entry without a variant or any variant of the architecture.
    pub(crate) fn pick(&self, entries: &[ImageIndexEntry]) -> Option<String> {
        let candidates: Vec<&ImageIndexEntry> = entries
            .iter()
            .filter(|e| {
                e.platform.as_ref().is_some_and(|p| {
                    p.os.to_string() == self.os && p.architecture.to_string() == self.architecture
                })
            })
            .collect();
        let variant_of = |e: &ImageIndexEntry| e.platform.as_ref().and_then(|p| p.variant.clone());
        candidates
            .iter()
            .find(|e| variant_of(e) == self.variant)
            .or_else(|| candidates.first())
            .map(|e| e.digest.clone())
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(digest: &str, os: &str, arch: &str, variant: Option<&str>) -> ImageIndexEntry {
        serde_json::from_value(serde_json::json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest, "size": 1,
            "platform": {"os": os, "architecture": arch, "variant": variant}
        }))
        .unwrap()
    }

    #[test]
    fn picks_linux_amd64_by_default_and_variants_when_asked() {
        let idx = vec![
            entry("sha256:arm", "linux", "arm64", Some("v8")),
            entry("sha256:amd", "linux", "amd64", None),
            entry("sha256:win", "windows", "amd64", None),
        ];
        assert_eq!(
            Platform::default().pick(&idx).as_deref(),
            Some("sha256:amd")
        );
        let arm = Platform::parse("linux/arm64/v8").unwrap();
        assert_eq!(arm.pick(&idx).as_deref(), Some("sha256:arm"));
        let arm = Platform::parse("linux/arm64").unwrap();
        assert_eq!(arm.pick(&idx).as_deref(), Some("sha256:arm"));
        assert_eq!(Platform::parse("linux/s390x").unwrap().pick(&idx), None);
        assert!(Platform::parse("linux").is_err());
        assert!(Platform::parse("linux/amd64/v2/x").is_err());
    }
}
