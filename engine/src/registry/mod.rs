//! The registry client (`berth pull|push|login|logout`, berthd's `/images/create?fromImage=`
//! and `/images/{name}/push`): images move over the OCI distribution API through the
//! `oci-client` crate (its own reqwest/rustls HTTP stack, the token flow, chunked and
//! monolithic uploads). What berth adds on top lives here: Docker's reference rules and local
//! names, credentials in Docker's `config.json`, the choice between TLS and plain HTTP as
//! dockerd makes it, parallel layer downloads streamed through the digest checks into the
//! blob store and unpacked as they land, push of only the blobs a registry lacks, and
//! progress reports for the two front ends.

mod auth;
mod client;
mod download;
mod error;
mod platform;
mod progress;
mod pull;
mod push;
mod reference;
mod runtime;
mod upload;

pub use auth::{AuthFile, Credentials, login, verify};
pub use client::{LayerCompression, RegistryOptions};
pub use error::RegistryError;
pub use platform::Platform;
pub use progress::{NoProgress, Progress, ProgressEvent, Verb, bar};
pub use pull::{PullOptions, PullReport, pull};
pub use push::{PushReport, push};
pub use reference::RemoteRef;
