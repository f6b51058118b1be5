//! [`RegistryError`]: what can go wrong talking to a registry, worded for the user. Registry
//! answers keep the registry's own message (`manifest unknown`, `unauthorized`); credentials
//! never appear in any message.

use crate::image::ImageError;
use crate::store::StoreError;

/// Errors of pull, push and login.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// A reference that Docker's grammar refuses.
    #[error("invalid reference format {reference:?}: {reason}")]
    Reference {
        /// The string given.
        reference: String,
        /// Why it was refused.
        reason: String,
    },
    /// The registry answered with an error or could not be reached.
    #[error("{op} {target}: {message}")]
    Registry {
        /// What was attempted, e.g. "pull manifest".
        op: &'static str,
        /// The reference or registry involved.
        target: String,
        /// The registry's or the transport's message.
        message: String,
        /// Whether a retry could help (a transport failure or a 5xx answer).
        retry: bool,
    },
    /// Credentials were refused.
    #[error("login to {registry}: {message}")]
    Unauthorized {
        /// The registry.
        registry: String,
        /// The registry's message.
        message: String,
    },
    /// A manifest, index or config the registry sent is unusable.
    #[error("{target}: {message}")]
    Manifest {
        /// The reference involved.
        target: String,
        /// What is wrong with it.
        message: String,
    },
    /// No manifest of an index matches the wanted platform.
    #[error("{target}: no matching manifest for {platform} in the manifest list entries")]
    NoPlatform {
        /// The reference.
        target: String,
        /// The platform asked for, e.g. `linux/amd64`.
        platform: String,
    },
    /// A downloaded blob failed its checks (digest, size, decompression).
    #[error("download {digest}: {message}")]
    Download {
        /// The blob's digest.
        digest: String,
        /// What went wrong.
        message: String,
        /// Whether a retry could help (dropped, truncated or altered in transit).
        retry: bool,
    },
    /// Reading or writing the credentials file failed.
    #[error("credentials file {path}: {message}")]
    AuthFile {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// From the image store.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// From the stores (unpacking layers).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Local I/O (temp files, the async runtime).
    #[error("{op}: {source}")]
    Io {
        /// What was attempted.
        op: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl RegistryError {
    /// A registry or transport failure of `op` on `target`.
    pub(crate) fn registry(
        op: &'static str,
        target: impl ToString,
        e: oci_client::errors::OciDistributionError,
    ) -> Self {
        use oci_client::errors::OciDistributionError as E;
        let retry = match &e {
            E::ServerError { code, .. } => *code >= 500,
            E::RequestError(r) => r.status().is_none_or(|s| s.is_server_error()),
            E::IoError(_) => true,
            _ => false,
        };
        RegistryError::Registry {
            op,
            target: target.to_string(),
            message: describe(&e),
            retry,
        }
    }

    /// A failure of `op` on `target` that no retry cures (setting up a client, a login).
    pub(crate) fn fatal(op: &'static str, target: &str, message: impl ToString) -> Self {
        RegistryError::Registry {
            op,
            target: target.to_owned(),
            message: message.to_string(),
            retry: false,
        }
    }

    /// Whether retrying could help: a dropped connection, a timeout, a 5xx answer, a body
    /// cut short or altered in transit.
    pub(crate) fn is_transient(&self) -> bool {
        matches!(
            self,
            RegistryError::Registry { retry: true, .. }
                | RegistryError::Download { retry: true, .. }
        )
    }
}

/// The innermost useful message of an oci-client error, with reqwest's source chain
/// (reqwest's own Display stops at "error sending request").
pub(crate) fn describe(e: &oci_client::errors::OciDistributionError) -> String {
    use oci_client::errors::OciDistributionError as E;
    match e {
        E::RegistryError { envelope, url } => {
            let msgs: Vec<String> = envelope
                .errors
                .iter()
                .map(|x| match x.message.as_str() {
                    "" => format!("{:?}", x.code).to_lowercase(),
                    m => m.to_owned(),
                })
                .collect();
            format!("{} ({url})", msgs.join("; "))
        }
        E::ServerError { code, url, message } => {
            format!("server error {code} ({url}): {}", message.trim())
        }
        E::UnauthorizedError { url } => format!("unauthorized: authentication required ({url})"),
        E::RequestError(r) if r.status().is_some_and(|s| s.as_u16() == 401) => {
            let url = r.url().map(|u| u.to_string()).unwrap_or_default();
            format!("unauthorized: authentication required ({url})")
        }
        E::RequestError(r) if r.status().is_some_and(|s| s.as_u16() == 403) => {
            let url = r.url().map(|u| u.to_string()).unwrap_or_default();
            format!("denied: requested access to the resource is denied ({url})")
        }
        _ => chain(e),
    }
}

/// An error and its sources, joined by ": ".
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let s_text = s.to_string();
        if !out.contains(&s_text) {
            out.push_str(": ");
            out.push_str(&s_text);
        }
        src = s.source();
    }
    out
}
