//! A registry token server for tests (the Bearer flow Docker Hub uses): `GET /token?service=
//! &scope=repository:NAME:pull,push` with the right basic credentials answers a JWT signed
//! (RS256, via `openssl dgst`) with a throwaway key whose self-signed certificate rides in the
//! token's `x5c` header and in the registry's `rootcertbundle`. Runs on a thread inside a
//! test netns; wrong or missing credentials get a 401.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use berth_core::netns::Netns;
use serde_json::json;

use crate::certs::{openssl, self_signed};

/// The issuer and service names the registry is configured with.
pub const ISSUER: &str = "berth-test-issuer";
/// See [`ISSUER`].
pub const SERVICE: &str = "berth-test-registry";

/// A running token server and its signing material.
pub struct TokenServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The certificate the registry trusts (`rootcertbundle`).
    pub cert: PathBuf,
}

fn b64url(b: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(b)
}

fn b64std(b: &[u8]) -> String {
    STANDARD.encode(b)
}

impl TokenServer {
    /// Starts the server on `addr` inside `ns`, granting tokens to `user`/`password`; key and
    /// certificate go to `dir`.
    pub fn start(
        ns: &Netns,
        addr: SocketAddr,
        dir: &Path,
        user: &str,
        password: &str,
    ) -> TokenServer {
        self_signed(dir, "berth test token signer", "token.key", "token.crt");
        let der = openssl(dir, &["x509", "-in", "token.crt", "-outform", "DER"]);
        let x5c = b64std(&der);
        let key = dir.join("token.key");
        let expected = format!("Basic {}", b64std(format!("{user}:{password}").as_bytes()));
        let listener = crate::tcp::listen_in(ns, addr);
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let _ = answer(conn, &key, &x5c, &expected);
            }
        });
        TokenServer {
            addr,
            cert: dir.join("token.crt"),
        }
    }
}

fn answer(mut conn: TcpStream, key: &Path, x5c: &str, expected_auth: &str) -> std::io::Result<()> {
    let mut r = BufReader::new(conn.try_clone()?);
    let mut request_line = String::new();
    r.read_line(&mut request_line)?;
    let mut authorized = false;
    loop {
        let mut h = String::new();
        if r.read_line(&mut h)? == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("authorization") && v.trim() == expected_auth {
                authorized = true;
            }
        }
    }
    if !authorized {
        return conn.write_all(
            b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
    }
    let target = request_line.split_whitespace().nth(1).unwrap_or("/");
    let query = target.split_once('?').map_or("", |(_, q)| q);
    let mut access = Vec::new();
    for pair in query.split('&') {
        if let Some(scope) = pair.strip_prefix("scope=") {
            let scope = scope
                .replace("%3A", ":")
                .replace("%2C", ",")
                .replace("%2F", "/");
            let parts: Vec<&str> = scope.split(':').collect();
            if let [typ, name, actions] = parts.as_slice() {
                access.push(json!({"type": typ, "name": name, "actions": actions.split(',').collect::<Vec<_>>()}));
            }
        }
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let header = json!({"alg": "RS256", "typ": "JWT", "x5c": [x5c]});
    let claims = json!({
        "iss": ISSUER, "sub": "test", "aud": SERVICE, "exp": now + 300, "nbf": now - 10,
        "iat": now, "jti": format!("{now}-{}", access.len()), "access": access,
    });
    let signing_input = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    );
    let mut child = Command::new("openssl")
        .args(["dgst", "-sha256", "-sign"])
        .arg(key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(signing_input.as_bytes())?;
    let sig = child.wait_with_output()?.stdout;
    let token = format!("{signing_input}.{}", b64url(&sig));
    let body = json!({"token": token, "access_token": token, "expires_in": 300}).to_string();
    write!(
        conn,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}
