//! Network ids as Docker shows them (64 hex digits): derived from the network's name and
//! creation time, so they are stable across restarts without being stored, and a network
//! made again under the same name gets a new one. Networks are found by name, full id or a
//! unique id prefix, in that order (as dockerd).

use super::{Network, NetworkError, NetworkStore};
use crate::digest::Digest;

impl Network {
    /// The network's id.
    pub fn id(&self) -> String {
        let created = self.spec.as_ref().map_or(0, |s| s.created);
        let seed = format!("berth-network\0{}\0{created}", self.name());
        Digest::of_bytes(seed.as_bytes()).hex().to_owned()
    }
}

impl NetworkStore {
    /// The network called `reference`, or whose id is or starts with it. An id prefix that
    /// matches several networks is refused as not found, naming the ambiguity.
    pub fn find(&self, reference: &str) -> Result<Network, NetworkError> {
        match self.get(reference) {
            Err(NetworkError::NotFound { .. }) => {}
            other => return other,
        }
        let not_found = || NetworkError::NotFound {
            name: reference.to_owned(),
        };
        if reference.is_empty() || !reference.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(not_found());
        }
        let mut hits: Vec<Network> = self
            .list()?
            .into_iter()
            .filter(|n| n.id().starts_with(reference))
            .collect();
        match hits.len() {
            1 => Ok(hits.remove(0)),
            _ => Err(not_found()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::CreateRequest;

    fn store(dir: &std::path::Path) -> NetworkStore {
        NetworkStore::new(dir, Vec::new())
    }

    #[test]
    fn networks_are_found_by_name_id_and_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        let req = CreateRequest::bridge("web", &["10.201.0.0/24"]);
        let empty = tempfile::tempdir().unwrap();
        let net = s.create(req, dir.path(), empty.path()).unwrap();
        let id = net.id();
        assert_eq!(id.len(), 64);
        assert_eq!(s.find("web").unwrap().id(), id);
        assert_eq!(s.find(&id).unwrap().name(), "web");
        assert_eq!(s.find(&id[..12]).unwrap().name(), "web");
        assert_ne!(s.find("host").unwrap().id(), id);
        assert!(matches!(
            s.find("0000zz"),
            Err(NetworkError::NotFound { .. })
        ));
        assert!(matches!(s.find("nope"), Err(NetworkError::NotFound { .. })));
    }
}
