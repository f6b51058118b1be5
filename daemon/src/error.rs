//! [`ApiError`]: a status and the `{"message": …}` body the docker CLI prints as
//! `Error response from daemon: …`, and the mapping of engine errors to dockerd's statuses
//! and message shapes (404 for unknown containers and images, 409 for conflicts, …).

use berth_engine::container::ContainerError;
use berth_engine::container::archive::ArchiveError;
use berth_engine::container::connect::ConnectError;
use berth_engine::image::ImageError;
use berth_engine::network::NetworkError;
use berth_engine::registry::RegistryError;
use berth_engine::store::StoreError;
use berth_engine::volume::VolumeError;
use hyper::StatusCode;

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The message (empty for 304).
    pub message: String,
}

impl ApiError {
    /// Any status with a message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// 409.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }

    /// 304 (start of a running, stop of a stopped container).
    pub fn not_modified() -> Self {
        Self::new(StatusCode::NOT_MODIFIED, "")
    }

    /// 500.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    /// An engine error, classified by the first known error type in its chain.
    pub fn from_engine(e: &anyhow::Error) -> Self {
        for cause in e.chain() {
            let volume = match cause.downcast_ref::<StoreError>() {
                Some(StoreError::Volume(v)) => Some(v),
                _ => cause.downcast_ref::<VolumeError>(),
            };
            if let Some(v) = volume {
                return Self::from_volume(v, e);
            }
            if let Some(a) = cause.downcast_ref::<ArchiveError>() {
                return Self::from_archive(a);
            }
            if let Some(c) = cause.downcast_ref::<ContainerError>() {
                if let Some(a) = Self::from_container(c) {
                    return a;
                }
            }
            if let Some(i) = cause.downcast_ref::<ImageError>() {
                if let Some(a) = Self::from_image(i) {
                    return a;
                }
            }
            if let Some(r) = cause.downcast_ref::<RegistryError>() {
                return Self::from_registry(r);
            }
            if let Some(n) = cause.downcast_ref::<NetworkError>() {
                return match n {
                    NetworkError::NotFound { .. } => Self::not_found(n.to_string()),
                    NetworkError::Exists { .. } => Self::conflict(n.to_string()),
                    NetworkError::Builtin { .. }
                    | NetworkError::InUse { .. }
                    | NetworkError::JoinedOverlay { .. } => {
                        Self::new(StatusCode::FORBIDDEN, n.to_string())
                    }
                    NetworkError::Io { .. } | NetworkError::Invoke(_) => {
                        Self::internal(format!("{e:#}"))
                    }
                    _ => Self::bad_request(n.to_string()),
                };
            }
            if let Some(c) = cause.downcast_ref::<ConnectError>() {
                return match c {
                    ConnectError::AlreadyConnected { .. } => {
                        Self::new(StatusCode::FORBIDDEN, c.to_string())
                    }
                    ConnectError::LastNetwork { .. } | ConnectError::CarriesPorts { .. } => {
                        Self::conflict(c.to_string())
                    }
                    _ => Self::bad_request(c.to_string()),
                };
            }
        }
        Self::internal(format!("{e:#}"))
    }

    fn from_container(e: &ContainerError) -> Option<Self> {
        Some(match e {
            ContainerError::NotFound(r) => Self::not_found(format!("No such container: {r}")),
            ContainerError::Ambiguous(r) => {
                Self::bad_request(format!("multiple containers match the id prefix {r}"))
            }
            ContainerError::NameTaken { name, id } => Self::conflict(format!(
                "Conflict. The container name \"/{name}\" is already in use by container \"{id}\". You have to remove (or rename) that container to be able to reuse that name."
            )),
            ContainerError::BadName(_)
            | ContainerError::BadArg { .. }
            | ContainerError::AliasNotSupported { .. } => Self::bad_request(e.to_string()),
            ContainerError::BadState { .. } => Self::conflict(e.to_string()),
            _ => return None,
        })
    }

    fn from_registry(e: &RegistryError) -> Self {
        let text = e.to_string();
        match e {
            RegistryError::Reference { .. } | RegistryError::NoPlatform { .. } => {
                Self::bad_request(text)
            }
            RegistryError::Unauthorized { .. } => Self::new(StatusCode::UNAUTHORIZED, text),
            RegistryError::Image(i) => Self::from_image(i).unwrap_or_else(|| Self::internal(text)),
            _ if text.contains("manifest unknown") || text.contains("name unknown") => {
                Self::not_found(text)
            }
            _ if text.contains("unauthorized") || text.contains("denied") => {
                Self::new(StatusCode::UNAUTHORIZED, text)
            }
            _ => Self::internal(text),
        }
    }

    fn from_image(e: &ImageError) -> Option<Self> {
        Some(match e {
            ImageError::NotFound(r) => Self::not_found(format!("No such image: {r}")),
            ImageError::InvalidReference { .. } | ImageError::InvalidArchive { .. } => {
                Self::bad_request(e.to_string())
            }
            ImageError::InUse { .. } | ImageError::MultipleTags { .. } => {
                Self::conflict(e.to_string())
            }
            _ => return None,
        })
    }
}

impl ApiError {
    /// `docker cp`'s answers: a missing path 404, a read-only root 403, bad tars and
    /// extraction points 400.
    fn from_archive(a: &ArchiveError) -> Self {
        match a {
            ArchiveError::NotFound { .. } => Self::not_found(a.to_string()),
            ArchiveError::ReadOnly => Self::new(StatusCode::FORBIDDEN, a.to_string()),
            ArchiveError::Io { source, .. } if source.raw_os_error() == Some(libc::EROFS) => {
                Self::new(StatusCode::FORBIDDEN, a.to_string())
            }
            ArchiveError::Io { .. } => Self::internal(a.to_string()),
            _ => Self::bad_request(a.to_string()),
        }
    }

    /// dockerd's answers for volumes: `get NAME: no such volume` (404), `remove NAME: volume
    /// is in use` (409, the handler adds the container ids), bad names and drivers 400.
    fn from_volume(v: &VolumeError, whole: &anyhow::Error) -> Self {
        match v {
            VolumeError::NotFound(name) => Self::not_found(format!("get {name}: no such volume")),
            VolumeError::InUse(name) => Self::conflict(format!("remove {name}: volume is in use")),
            VolumeError::InvalidName { .. }
            | VolumeError::InvalidSpec { .. }
            | VolumeError::UnsupportedDriver(_) => Self::bad_request(v.to_string()),
            _ => Self::internal(format!("{whole:#}")),
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        Self::from_engine(&e)
    }
}

/// What handlers return.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_errors_get_dockers_statuses() {
        let e = anyhow::Error::from(ContainerError::NotFound("web".into())).context("inspect");
        let a = ApiError::from_engine(&e);
        assert_eq!(a.status, StatusCode::NOT_FOUND);
        assert_eq!(a.message, "No such container: web");
        let e = anyhow::Error::from(ContainerError::NameTaken {
            name: "web".into(),
            id: "ab".into(),
        });
        let a = ApiError::from_engine(&e);
        assert_eq!(a.status, StatusCode::CONFLICT);
        assert!(
            a.message
                .starts_with("Conflict. The container name \"/web\"")
        );
        let e = anyhow::Error::from(ImageError::NotFound("bb:latest".into())).context("image bb");
        assert_eq!(
            ApiError::from_engine(&e).message,
            "No such image: bb:latest"
        );
        let e = anyhow::Error::from(StoreError::Volume(VolumeError::NotFound("v".into())));
        let a = ApiError::from_engine(&e);
        assert_eq!(
            (a.status, a.message.as_str()),
            (StatusCode::NOT_FOUND, "get v: no such volume")
        );
        let e = anyhow::Error::from(VolumeError::UnsupportedDriver("nfs".into()));
        assert_eq!(ApiError::from_engine(&e).status, StatusCode::BAD_REQUEST);
        let a = ApiError::from_engine(&anyhow::anyhow!("disk on fire"));
        assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR);
    }
}
