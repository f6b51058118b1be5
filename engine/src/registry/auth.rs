//! Credentials as Docker keeps them: `auths.<registry>.auth` (base64 `user:password`) in
//! `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`), so `docker login` and
//! `berth login` read each other's. The file's other keys are kept; it is written atomically
//! with mode 0600. [`login`] checks credentials against the registry (Basic or the Bearer
//! token flow) before they are stored. Passwords never reach a message or a log.

use std::fmt;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Map, Value};

use super::RegistryError;
use super::client::RegistryOptions;
use super::reference::auth_key;

/// A user name and password (or token) for one registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name.
    pub username: String,
    /// The password or access token.
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Docker's `config.json`.
#[derive(Debug, Clone)]
pub struct AuthFile {
    path: PathBuf,
}

impl AuthFile {
    /// The file at `path`.
    pub fn at(path: PathBuf) -> Self {
        Self { path }
    }

    /// `$DOCKER_CONFIG/config.json`, else `$HOME/.docker/config.json`.
    pub fn from_env() -> Self {
        let dir = std::env::var_os("DOCKER_CONFIG")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker")))
            .unwrap_or_else(|| PathBuf::from("/root/.docker"));
        Self::at(dir.join("config.json"))
    }

    /// Where the file is.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    fn err(&self, message: impl ToString) -> RegistryError {
        RegistryError::AuthFile {
            path: self.path.display().to_string(),
            message: message.to_string(),
        }
    }

    fn read(&self) -> Result<Map<String, Value>, RegistryError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Map::new()),
            Err(e) => return Err(self.err(e)),
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Map::new());
        }
        match serde_json::from_slice(&bytes) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err(self.err("not a JSON object")),
            Err(e) => Err(self.err(format!("malformed JSON: {e}"))),
        }
    }

    fn write(&self, doc: &Map<String, Value>) -> Result<(), RegistryError> {
        let dir = self.path.parent().unwrap_or(std::path::Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| self.err(e))?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".config.json")
            .permissions(std::fs::Permissions::from_mode(0o600))
            .tempfile_in(dir)
            .map_err(|e| self.err(e))?;
        let body = serde_json::to_vec_pretty(doc).map_err(|e| self.err(e))?;
        tmp.write_all(&body).map_err(|e| self.err(e))?;
        tmp.persist(&self.path).map_err(|e| self.err(e.error))?;
        Ok(())
    }

    /// The stored credentials for `registry`, if any.
    pub fn get(&self, registry: &str) -> Result<Option<Credentials>, RegistryError> {
        let doc = self.read()?;
        let Some(entry) = doc
            .get("auths")
            .and_then(|a| a.get(auth_key(registry)))
            .and_then(Value::as_object)
        else {
            return Ok(None);
        };
        if let Some(auth) = entry.get("auth").and_then(Value::as_str) {
            if auth.is_empty() {
                return Ok(None);
            }
            let decoded = B64
                .decode(auth.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| self.err(format!("auth for {registry} is not base64 text")))?;
            let (u, p) = decoded
                .split_once(':')
                .ok_or_else(|| self.err(format!("auth for {registry} is not user:password")))?;
            return Ok(Some(Credentials {
                username: u.to_owned(),
                password: p.to_owned(),
            }));
        }
        let field = |k: &str| entry.get(k).and_then(Value::as_str).map(str::to_owned);
        Ok(field("username")
            .zip(field("password"))
            .map(|(username, password)| Credentials { username, password }))
    }

    /// Stores credentials for `registry`, keeping everything else in the file.
    pub fn set(&self, registry: &str, c: &Credentials) -> Result<(), RegistryError> {
        let mut doc = self.read()?;
        let auths = doc
            .entry("auths")
            .or_insert_with(|| Value::Object(Map::new()));
        let Value::Object(auths) = auths else {
            return Err(self.err("\"auths\" is not an object"));
        };
        let token = B64.encode(format!("{}:{}", c.username, c.password));
        auths.insert(
            auth_key(registry),
            Value::Object(Map::from_iter([("auth".to_owned(), Value::String(token))])),
        );
        self.write(&doc)
    }

    /// Forgets the credentials for `registry`; whether there were any.
    pub fn remove(&self, registry: &str) -> Result<bool, RegistryError> {
        let mut doc = self.read()?;
        let removed = doc
            .get_mut("auths")
            .and_then(Value::as_object_mut)
            .and_then(|a| a.remove(&auth_key(registry)))
            .is_some();
        if removed {
            self.write(&doc)?;
        }
        Ok(removed)
    }
}

/// `login`: checks `creds` against `registry` (see [`verify`]) and stores them when they
/// are accepted.
pub fn login(
    opts: &RegistryOptions,
    registry: &str,
    creds: &Credentials,
) -> Result<(), RegistryError> {
    verify(opts, registry, creds)?;
    opts.auth_file.set(registry, creds)
}

/// Checks `creds` against `registry` (`GET /v2/`, then Basic or the Bearer token flow the
/// registry asks for) without storing them (berthd's `/auth`: the docker CLI keeps them).
pub fn verify(
    opts: &RegistryOptions,
    registry: &str,
    creds: &Credentials,
) -> Result<(), RegistryError> {
    super::runtime::block_on(check_login(opts, registry, creds))?
}

async fn check_login(
    opts: &RegistryOptions,
    registry: &str,
    creds: &Credentials,
) -> Result<(), RegistryError> {
    let registry = match registry {
        "" | "docker.io" | "index.docker.io" | "https://index.docker.io/v1/" => {
            "registry-1.docker.io"
        }
        r => r.trim_start_matches("https://").trim_end_matches('/'),
    };
    let certs = super::client::ca_certificates(&opts.certs_dir, registry)?;
    let http = super::client::http_client(registry, &certs, Duration::from_secs(30))?;
    let scheme = super::client::scheme(opts, registry, &certs).await;
    let transport =
        |e: reqwest::Error| RegistryError::fatal("login to", registry, super::error::chain(&e));
    let url = format!("{scheme}://{registry}/v2/");
    let first = http.get(&url).send().await.map_err(transport)?;
    if first.status().is_success() {
        return Ok(());
    }
    let challenge = first
        .headers()
        .get(reqwest::header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .map(Challenge::parse);
    let answer = match challenge {
        Some(Challenge::Bearer { realm, service }) => {
            let mut req = http
                .get(&realm)
                .query(&[("account", creds.username.as_str())]);
            if let Some(s) = &service {
                req = req.query(&[("service", s.as_str())]);
            }
            req.basic_auth(&creds.username, Some(&creds.password))
                .send()
                .await
                .map_err(transport)?
        }
        _ => http
            .get(&url)
            .basic_auth(&creds.username, Some(&creds.password))
            .send()
            .await
            .map_err(transport)?,
    };
    let status = answer.status();
    if status.is_success() {
        Ok(())
    } else if status == reqwest::StatusCode::UNAUTHORIZED
        || status == reqwest::StatusCode::FORBIDDEN
    {
        Err(RegistryError::Unauthorized {
            registry: registry.to_owned(),
            message: "unauthorized: incorrect username or password".into(),
        })
    } else {
        Err(RegistryError::fatal(
            "login to",
            registry,
            format!("registry answered {status}"),
        ))
    }
}

/// What a `WWW-Authenticate` header asks for.
#[derive(Debug, PartialEq, Eq)]
enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
    },
    Other,
}

impl Challenge {
    /// Parses `Basic realm="..."` or `Bearer realm="...",service="...",scope="..."`.
    fn parse(h: &str) -> Self {
        let (scheme, params) = h.trim().split_once(' ').unwrap_or((h.trim(), ""));
        let mut realm = None;
        let mut service = None;
        for part in split_params(params) {
            if let Some((k, v)) = part.split_once('=') {
                let v = v.trim().trim_matches('"').to_owned();
                match k.trim().to_ascii_lowercase().as_str() {
                    "realm" => realm = Some(v),
                    "service" => service = Some(v),
                    _ => {}
                }
            }
        }
        match scheme.to_ascii_lowercase().as_str() {
            "basic" => Challenge::Basic,
            "bearer" => match realm {
                Some(realm) => Challenge::Bearer { realm, service },
                None => Challenge::Other,
            },
            _ => Challenge::Other,
        }
    }
}

/// Splits `a="x,y",b=z` at the commas outside quotes.
fn split_params(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> (tempfile::TempDir, AuthFile) {
        let t = tempfile::tempdir().unwrap();
        let f = AuthFile::at(t.path().join("docker").join("config.json"));
        (t, f)
    }

    #[test]
    fn credentials_round_trip_in_dockers_format_keeping_other_keys() {
        let (_t, f) = file();
        std::fs::create_dir_all(f.path().parent().unwrap()).unwrap();
        std::fs::write(
            f.path(),
            r#"{"psFormat":"table {{.ID}}","auths":{"other:1":{"auth":"eDp5"}}}"#,
        )
        .unwrap();
        let c = Credentials {
            username: "alice".into(),
            password: "s3cr:et".into(),
        };
        f.set("localhost:5000", &c).unwrap();
        let doc: Value = serde_json::from_slice(&std::fs::read(f.path()).unwrap()).unwrap();
        assert_eq!(doc["psFormat"], "table {{.ID}}");
        assert_eq!(
            doc["auths"]["localhost:5000"]["auth"],
            B64.encode("alice:s3cr:et")
        );
        assert_eq!(f.get("localhost:5000").unwrap(), Some(c));
        assert_eq!(f.get("other:1").unwrap().unwrap().username, "x");
        let mode = std::fs::metadata(f.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(f.remove("localhost:5000").unwrap());
        assert!(!f.remove("localhost:5000").unwrap());
        assert_eq!(f.get("localhost:5000").unwrap(), None);
        assert!(f.get("other:1").unwrap().is_some());
    }

    #[test]
    fn docker_hub_names_share_one_key() {
        let (_t, f) = file();
        let c = Credentials {
            username: "u".into(),
            password: "p".into(),
        };
        f.set("docker.io", &c).unwrap();
        assert_eq!(f.get("index.docker.io").unwrap(), Some(c.clone()));
        assert_eq!(f.get("https://index.docker.io/v1/").unwrap(), Some(c));
    }

    #[test]
    fn a_malformed_file_is_an_error_naming_it_not_a_panic() {
        let (_t, f) = file();
        std::fs::create_dir_all(f.path().parent().unwrap()).unwrap();
        std::fs::write(f.path(), b"{not json").unwrap();
        let e = f.get("localhost:5000").unwrap_err().to_string();
        assert!(e.contains("config.json") && e.contains("malformed"), "{e}");
        std::fs::write(f.path(), br#"{"auths":{"h":{"auth":"!!"}}}"#).unwrap();
        assert!(f.get("h").is_err());
    }

    #[test]
    fn debug_output_hides_the_password() {
        let c = Credentials {
            username: "alice".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn challenges_are_parsed() {
        assert_eq!(
            Challenge::parse(r#"Basic realm="Registry""#),
            Challenge::Basic
        );
        assert_eq!(
            Challenge::parse(
                r#"Bearer realm="https://auth.example/token",service="reg,x",scope="repository:a:pull""#
            ),
            Challenge::Bearer {
                realm: "https://auth.example/token".into(),
                service: Some("reg,x".into())
            }
        );
        assert_eq!(Challenge::parse("Negotiate"), Challenge::Other);
    }
}
