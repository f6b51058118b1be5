//! The credentials a docker client sends for registry operations: the `X-Registry-Auth`
//! header (base64url JSON `{"username","password","serveraddress"}`, `e30=` for none) on
//! pull and push, and the JSON body of `POST /auth` (`docker login`). berthd uses them for
//! the one request and stores nothing: the client keeps its own `config.json`.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use berth_engine::registry::Credentials;
use serde::Deserialize;

use crate::error::{ApiError, ApiResult};

/// The JSON both carry.
#[derive(Debug, Default, Deserialize)]
pub struct AuthConfig {
    /// The user name.
    #[serde(default)]
    pub username: String,
    /// The password.
    #[serde(default)]
    pub password: String,
    /// The registry, as the client names it.
    #[serde(default, rename = "serveraddress")]
    pub server_address: String,
    /// An identity token (OAuth refresh token); used as the password.
    #[serde(default, rename = "identitytoken")]
    pub identity_token: String,
}

impl AuthConfig {
    /// The credentials in it, if any.
    pub fn credentials(&self) -> Option<Credentials> {
        let password = match self.password.is_empty() {
            true => &self.identity_token,
            false => &self.password,
        };
        (!self.username.is_empty() || !password.is_empty()).then(|| Credentials {
            username: self.username.clone(),
            password: password.clone(),
        })
    }
}

/// Decodes an `X-Registry-Auth` header value; absent or empty means anonymous.
pub fn from_header(v: Option<&str>) -> ApiResult<Option<Credentials>> {
    let Some(v) = v.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let bytes = URL_SAFE
        .decode(v)
        .or_else(|_| URL_SAFE_NO_PAD.decode(v))
        .or_else(|_| STANDARD.decode(v))
        .map_err(|_| ApiError::bad_request("X-Registry-Auth is not base64"))?;
    let cfg: AuthConfig = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request(format!("X-Registry-Auth is not auth JSON: {e}")))?;
    Ok(cfg.credentials())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_decode_as_the_docker_cli_sends_them() {
        assert_eq!(from_header(None).unwrap(), None);
        assert_eq!(from_header(Some("e30=")).unwrap(), None);
        let v =
            URL_SAFE.encode(r#"{"username":"alice","password":"p>?~","serveraddress":"h:5000"}"#);
        let c = from_header(Some(&v)).unwrap().unwrap();
        assert_eq!(
            (c.username.as_str(), c.password.as_str()),
            ("alice", "p>?~")
        );
        assert_eq!(
            from_header(Some("%%%")).unwrap_err().status,
            hyper::StatusCode::BAD_REQUEST
        );
    }
}
