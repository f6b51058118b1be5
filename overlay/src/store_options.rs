//! [`StoreOptions`]: where the etcd members are and how to log in to them. A store URL,
//! `etcd://[USER:PASSWORD@]HOST:PORT[,HOST:PORT...]`, names the members and etcd's auth user;
//! TLS ([`StoreTls`], etcdctl's `--cacert`, `--cert` and `--key`) makes every connection
//! https, checks the members' certificates against a CA and, when etcd asks for one
//! (`--client-cert-auth`), presents this host's client certificate. The files are read at each
//! connection, so a certificate renewed on disk is used from the next reconnect on. Neither the
//! password nor a key ever appears in logs, `Debug` output or errors.

use std::path::{Path, PathBuf};
use std::time::Duration;

use etcd_client::{Certificate, ConnectOptions, Identity, TlsOptions};

use crate::store::StoreError;

/// Where the store is and how to log in.
#[derive(Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// `HOST:PORT` of each member.
    pub members: Vec<String>,
    /// etcd user and password, when auth is on.
    pub credentials: Option<(String, String)>,
    /// TLS to the members, when they serve https.
    pub tls: Option<StoreTls>,
    /// The key prefix.
    pub prefix: String,
}

/// TLS files for the store: the CA that signed the members' certificates, and this host's
/// certificate and key for etcd's client-certificate auth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreTls {
    /// PEM file of the CA (or CAs) trusted for the members' certificates.
    pub ca: PathBuf,
    /// PEM files of this client's certificate and its key.
    pub identity: Option<(PathBuf, PathBuf)>,
}

impl std::fmt::Debug for StoreOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreOptions")
            .field("members", &self.members)
            .field("user", &self.credentials.as_ref().map(|(u, _)| u))
            .field("tls", &self.tls)
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl StoreOptions {
    /// Parses `etcd://[USER:PASSWORD@]HOST:PORT[,HOST:PORT...]` (plain http until
    /// [`Self::with_tls`]).
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        let bad = || StoreError::BadUrl(redact(url));
        let rest = url.strip_prefix("etcd://").ok_or_else(bad)?;
        let (credentials, hosts) = match rest.rsplit_once('@') {
            Some((auth, hosts)) => {
                let (u, p) = auth.split_once(':').ok_or_else(bad)?;
                (Some((u.to_owned(), p.to_owned())), hosts)
            }
            None => (None, rest),
        };
        let members: Vec<String> = hosts
            .split(',')
            .map(|h| {
                let (host, port) = h.rsplit_once(':').ok_or_else(bad)?;
                port.parse::<u16>().map_err(|_| bad())?;
                if host.is_empty() || h.contains('/') {
                    return Err(bad());
                }
                Ok(h.to_owned())
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            members,
            credentials,
            tls: None,
            prefix: "/berth/overlay".into(),
        })
    }

    /// The same store over TLS.
    pub fn with_tls(self, tls: StoreTls) -> Self {
        Self {
            tls: Some(tls),
            ..self
        }
    }

    /// The members' URLs: `https://` with TLS, else `http://`.
    pub fn endpoints(&self) -> Vec<String> {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        self.members
            .iter()
            .map(|m| format!("{scheme}://{m}"))
            .collect()
    }

    /// The client's connect options: a 5 s timeout, the login, and TLS with the files read
    /// now.
    pub(crate) fn connect_options(&self) -> Result<ConnectOptions, StoreError> {
        let mut co = ConnectOptions::new().with_timeout(Duration::from_secs(5));
        if let Some((u, p)) = &self.credentials {
            co = co.with_user(u, p);
        }
        if let Some(tls) = &self.tls {
            let mut t = TlsOptions::new().ca_certificate(Certificate::from_pem(read(&tls.ca)?));
            if let Some((cert, key)) = &tls.identity {
                t = t.identity(Identity::from_pem(read(cert)?, read(key)?));
            }
            co = co.with_tls(t);
        }
        Ok(co)
    }
}

/// A TLS file's bytes, or an error that names it (and never holds its contents).
fn read(path: &Path) -> Result<Vec<u8>, StoreError> {
    std::fs::read(path).map_err(|source| StoreError::TlsFile {
        path: path.to_owned(),
        source,
    })
}

/// The URL with its password hidden, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}***{}", &url[..s + 3], &url[at..]),
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_urls_parse_and_never_show_the_password() {
        let o = StoreOptions::from_url("etcd://10.0.0.1:2379,10.0.0.2:2379").unwrap();
        assert_eq!(o.members, ["10.0.0.1:2379", "10.0.0.2:2379"]);
        assert_eq!(
            o.endpoints(),
            ["http://10.0.0.1:2379", "http://10.0.0.2:2379"]
        );
        assert_eq!(o.credentials, None);
        let o = StoreOptions::from_url("etcd://root:s3cret@10.0.0.1:2379").unwrap();
        assert_eq!(o.credentials, Some(("root".into(), "s3cret".into())));
        assert!(!format!("{o:?}").contains("s3cret"));
        for bad in [
            "http://x:1",
            "etcd://x",
            "etcd://x:notaport",
            "etcd://root@x:1",
        ] {
            assert!(StoreOptions::from_url(bad).is_err(), "{bad}");
        }
        let e = StoreOptions::from_url("etcd://root:s3cret@x")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("s3cret") && e.contains("***"), "{e}");
    }

    #[test]
    fn tls_makes_every_member_https_and_a_missing_file_is_named() {
        let o = StoreOptions::from_url("etcd://10.0.0.1:2379,10.0.0.2:2379")
            .unwrap()
            .with_tls(StoreTls {
                ca: "/nonexistent/ca.pem".into(),
                identity: None,
            });
        assert_eq!(
            o.endpoints(),
            ["https://10.0.0.1:2379", "https://10.0.0.2:2379"]
        );
        let e = o.connect_options().err().unwrap().to_string();
        assert!(e.contains("/nonexistent/ca.pem"), "{e}");
    }
}
