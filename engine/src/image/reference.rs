//! Image references: `NAME[:TAG]` as users type them (`busybox`, `localhost:5000/app:v1`).
//! Validated once here; the rest of the store takes [`ImageRef`].

use std::fmt;

use super::ImageError;

/// The tag used when a reference has none.
pub const DEFAULT_TAG: &str = "latest";

/// A repository name and a tag, e.g. `busybox:latest`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageRef {
    repository: String,
    tag: String,
}

impl ImageRef {
    /// Parses `NAME[:TAG]`. Names are lowercase path components of `[a-z0-9._-]` separated by
    /// `/`, optionally led by a registry `host[:port]`; tags are `[A-Za-z0-9_.-]{1,128}`, not
    /// starting with `.` or `-`. Digest references (`NAME@sha256:...`) are refused.
    pub fn parse(s: &str) -> Result<Self, ImageError> {
        let bad = |reason| ImageError::InvalidReference {
            reference: s.to_owned(),
            reason,
        };
        if s.contains('@') {
            return Err(bad("digest references are not supported"));
        }
        let last_slash = s.rfind('/').map_or(0, |i| i + 1);
        let (repo, tag) = match s[last_slash..].rfind(':') {
            Some(i) => (&s[..last_slash + i], &s[last_slash + i + 1..]),
            None => (s, DEFAULT_TAG),
        };
        validate_tag(tag).map_err(bad)?;
        validate_repository(repo).map_err(bad)?;
        Ok(Self {
            repository: repo.to_owned(),
            tag: tag.to_owned(),
        })
    }

    /// The repository, e.g. `busybox`.
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The tag, e.g. `latest`.
    pub fn tag(&self) -> &str {
        &self.tag
    }
}

fn validate_tag(tag: &str) -> Result<(), &'static str> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    if tag.is_empty() || tag.len() > 128 {
        return Err("tag must be 1 to 128 characters");
    }
    if tag.starts_with(['.', '-']) || !tag.chars().all(ok_char) {
        return Err("tag may hold only [A-Za-z0-9_.-] and not start with '.' or '-'");
    }
    Ok(())
}

fn validate_repository(repo: &str) -> Result<(), &'static str> {
    if repo.is_empty() || repo.len() > 255 {
        return Err("repository name must be 1 to 255 characters");
    }
    let mut parts = repo.split('/').peekable();
    let mut first = true;
    while let Some(part) = parts.next() {
        let is_host =
            first && parts.peek().is_some() && (part.contains(['.', ':']) || part == "localhost");
        first = false;
        if is_host {
            let host_ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':');
            if !part.chars().all(host_ok) {
                return Err("invalid registry host");
            }
            continue;
        }
        let comp_ok =
            |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-');
        let edge_ok =
            |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        if !part.chars().all(comp_ok)
            || !edge_ok(part.chars().next())
            || !edge_ok(part.chars().last())
        {
            return Err(
                "repository components must be lowercase [a-z0-9._-], starting and ending alphanumeric",
            );
        }
    }
    Ok(())
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.repository, self.tag)
    }
}

impl std::str::FromStr for ImageRef {
    type Err = ImageError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_tags_and_registries() {
        let r = ImageRef::parse("busybox").unwrap();
        assert_eq!((r.repository(), r.tag()), ("busybox", "latest"));
        let r = ImageRef::parse("localhost:5000/team/app:v1.2").unwrap();
        assert_eq!(
            (r.repository(), r.tag()),
            ("localhost:5000/team/app", "v1.2")
        );
        assert_eq!(ImageRef::parse("a/b:c").unwrap().to_string(), "a/b:c");
    }

    #[test]
    fn refuses_malformed_references() {
        for bad in [
            "",
            "Busybox",
            "busy box",
            "a:",
            "a:-x",
            "a//b",
            "/a",
            "a/",
            "x@sha256:00",
            "a:b:c",
        ] {
            assert!(ImageRef::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
