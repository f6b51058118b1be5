//! The `/images` endpoints over berth's image store (the images `berth images` sees): load
//! and import ([`load`], [`import`], request bodies read through [`crate::body_io`]), the list with
//! dockerd's filters ([`list`]), inspect and history ([`inspect`], [`history`]), tag and
//! remove ([`tag`], [`remove`]), save ([`save`], streamed), prune ([`prune`]), pulls, pushes
//! and `docker login` through berth's registry client ([`pull`], [`push`], [`login`], with
//! dockerd's JSON progress from [`progress`]) and a clear refusal of registry searches
//! ([`search`]). References are normalised so
//! `docker.io/library/bb:latest`, `library/bb` and `bb` name one image.

pub mod filters;
pub mod history;
pub mod import;
pub mod inspect;
pub mod list;
pub mod load;
pub mod login;
pub mod progress;
pub mod prune;
pub mod pull;
pub mod push;
pub mod registry_auth;
pub mod remove;
pub mod save;
pub mod search;
pub mod tag;
pub mod timestamp;

pub use history::history;
pub use import::create;
pub use inspect::inspect;
pub use list::{list, summaries};
pub use load::load;
pub use login::auth;
pub use prune::prune;
pub use push::push;
pub use remove::remove;
pub use save::{save_many, save_one};
pub use search::search;
pub use tag::tag;

/// `docker.io/library/NAME:TAG` and `library/NAME:TAG` as `NAME:TAG`; `docker.io/U/N` as `U/N`.
pub fn normalize_ref(r: &str) -> String {
    let r = r.strip_prefix("docker.io/").unwrap_or(r);
    let r = r.strip_prefix("index.docker.io/").unwrap_or(r);
    r.strip_prefix("library/").unwrap_or(r).to_owned()
}

/// A store error with the image store's own error on top, so its status is dockerd's (the
/// store wraps it transparently, which hides it from the error chain).
pub fn store_err(e: berth_engine::store::StoreError) -> anyhow::Error {
    match e {
        berth_engine::store::StoreError::Image(i) => i.into(),
        other => other.into(),
    }
}

/// Every value of `key` in the raw query (`names=a&names=b`, `changes=…` repeated).
pub fn query_all(raw: Option<&str>, key: &str) -> Vec<String> {
    form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_hub_names_normalise() {
        assert_eq!(normalize_ref("docker.io/library/bb:latest"), "bb:latest");
        assert_eq!(normalize_ref("library/bb"), "bb");
        assert_eq!(normalize_ref("docker.io/u/app:1"), "u/app:1");
        assert_eq!(
            normalize_ref("127.0.0.1:5000/dk/bb:v1"),
            "127.0.0.1:5000/dk/bb:v1"
        );
    }

    #[test]
    fn repeated_query_values_are_all_kept() {
        let q = Some("names=a&x=1&names=b%3Av1&names=");
        assert_eq!(query_all(q, "names"), ["a", "b:v1", ""]);
        assert!(query_all(None, "names").is_empty());
    }
}
