//! The `/containers/…` and `/exec/…` endpoints, one file per concern: [`create`],
//! [`lifecycle`] (start, stop, restart, kill, remove), [`attach`] (and resize), [`logs`],
//! [`wait`], [`list`], [`inspect`], [`exec`], [`archive`] (`docker cp`), [`rename`], [`pause`]
//! (and unpause), [`top`], [`stats`], [`changes`], [`prune`], [`commit`]; [`extra`] holds what
//! Docker's API records and
//! berth's own record does not; [`shape`] turns records into Docker's JSON.

pub mod archive;
pub mod attach;
pub mod changes;
pub mod commit;
pub mod create;
pub mod exec;
pub mod extra;
pub mod inspect;
pub mod lifecycle;
pub mod list;
pub mod logs;
pub mod pause;
pub mod prune;
pub mod rename;
pub mod shape;
pub mod stats;
pub mod top;
pub mod wait;
