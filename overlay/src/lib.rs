//! berth-overlay: networks that span hosts. Their shared state lives in etcd ([`store`]): one
//! record per network (its subnet, VNI and the size of each host's slice) and, per network,
//! one record per joined host (its underlay address, VTEP MAC and the slice of the subnet it
//! holds), tied to an etcd lease the host keeps alive, so a host that dies loses its slice
//! and drops out of every peer list when the lease expires. Records read back from etcd are
//! checked ([`records`]): a malformed or hostile one is refused with a warning, never used.
//! Slices are handed out by an etcd transaction, so two hosts never get the same one
//! ([`slices`]). A node agent lists a network's peers and then watches them from that
//! revision ([`store::PeerWatch`], a [`watch::Watch`]), so it misses no change.
//!
//! The node agent ([`agent`]) turns these records into kernel state on each host
//! ([`dataplane`]: a VXLAN device, static FDB and neighbour entries, routes to the other
//! hosts' slices), deciding per change what to program ([`peers`]); the `overlay` CNI plugin
//! (in berth-core) attaches containers to this host's slice. Containers' names travel through
//! the store too ([`name_store`]), so berth's DNS server answers for the other hosts'
//! containers ([`remote_names`], [`name_sync`]).

pub mod agent;
pub mod blocking;
pub mod dataplane;
pub mod firewall;
pub mod name_store;
pub mod name_sync;
pub mod names;
pub mod peers;
pub mod records;
pub mod remote_names;
pub mod slices;
pub mod store;
pub mod store_options;
pub mod watch;

pub use agent::{AgentOptions, Hooks};
pub use blocking::block_on;
pub use records::{HostEntry, NetworkSpec, RecordError};
pub use store::{PeerChange, PeerWatch, Store, StoreError};
pub use store_options::{StoreOptions, StoreTls};
