//! The API version a request names: the optional `/v1.NN` prefix of its path, checked against
//! the range berthd serves ([`MIN_API`]..=[`MAX_API`]) with dockerd's messages. Routing sees the
//! bare path.

use crate::error::ApiError;

/// The newest API version served (what `/_ping` advertises; docker CLI 28 downgrades to it).
pub const MAX_API: &str = "1.41";

/// The oldest API version served: below 1.24 the CLI stops sending `AutoRemove` for `--rm`.
pub const MIN_API: &str = "1.24";

/// A `MAJOR.MINOR` API version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ApiVersion(pub u32, pub u32);

impl ApiVersion {
    /// Parses `1.41`.
    pub fn parse(s: &str) -> Option<Self> {
        let (a, b) = s.split_once('.')?;
        Some(Self(a.parse().ok()?, b.parse().ok()?))
    }
}

/// Splits `/v1.41/containers/json` into the version and `/containers/json`; a path without a
/// prefix comes back whole. A version outside the served range is a 400.
pub fn strip_prefix(path: &str) -> Result<(Option<ApiVersion>, &str), ApiError> {
    let Some(rest) = path.strip_prefix("/v") else {
        return Ok((None, path));
    };
    let (ver, tail) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let Some(v) = ApiVersion::parse(ver) else {
        return Ok((None, path));
    };
    let (min, max) = (bound(MIN_API), bound(MAX_API));
    if v > max {
        return Err(ApiError::bad_request(format!(
            "client version {ver} is too new. Maximum supported API version is {MAX_API}"
        )));
    }
    if v < min {
        return Err(ApiError::bad_request(format!(
            "client version {ver} is too old. Minimum supported API version is {MIN_API}, please upgrade your client to a newer version"
        )));
    }
    Ok((Some(v), tail))
}

fn bound(s: &str) -> ApiVersion {
    ApiVersion::parse(s).unwrap_or(ApiVersion(1, 24))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_stripped_and_checked() {
        assert_eq!(
            strip_prefix("/v1.41/containers/json").unwrap(),
            (Some(ApiVersion(1, 41)), "/containers/json")
        );
        assert_eq!(strip_prefix("/_ping").unwrap(), (None, "/_ping"));
        assert_eq!(strip_prefix("/volumes").unwrap(), (None, "/volumes"));
        assert_eq!(strip_prefix("/v1.30/info").unwrap().1, "/info");
        let e = strip_prefix("/v1.99/info").unwrap_err();
        assert_eq!(
            e.message,
            "client version 1.99 is too new. Maximum supported API version is 1.41"
        );
        assert_eq!(e.status, hyper::StatusCode::BAD_REQUEST);
        assert!(
            strip_prefix("/v1.12/info")
                .unwrap_err()
                .message
                .contains("too old")
        );
    }
}
