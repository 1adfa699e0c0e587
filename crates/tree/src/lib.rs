//! The data tree: ZooKeeper's replicated state as a deterministic state machine.
//!
//! No I/O, no clock, no randomness: every write is a [`Txn`] stamped with its zxid and time by the
//! leader, and [`DataTree::apply`] computes the same result and the same tree on every replica.
//! Writes are validated at apply time ("request as command"), including ACL checks against the
//! identities the txn carries.
//!
//! Behaviour follows ZooKeeper 3.9 as its server shows it (checked against a real 3.8 server where
//! the two agree), notably:
//! - checks run in `PrepRequestProcessor`'s order, so the first failing check picks the error;
//! - the stored cversion counts child creations; clients see `2 × creations − children`, and a
//!   sequential suffix is the stored count (so `/` shows cversion -1 yet names its first
//!   sequential child `…0000000000`);
//! - containers and TTL nodes show `ephemeralOwner` 0;
//! - a failed txn changes nothing and fires no watch.

#![deny(missing_docs)]

mod acl;
pub mod codec;
mod config;
mod ephemeral;
mod mutate;
mod node;
mod ops;
mod path;
mod pmap;
mod quota;
mod restore;
pub mod snapshot;
mod tree;
mod txn;

pub use acl::{acl_permits, digest_id};
pub use config::TreeConfig;
pub use ephemeral::{is_reserved_session_id, NodeKind, CONTAINER_OWNER, TTL_MAX_MS};
pub use node::PersistedStat;
pub use path::validate_path;
pub use restore::{RestoreError, TreeBuilder};
pub use tree::{DataTree, NodeRecord};
pub use txn::{Applied, Identity, SessionEntry, Txn, TxnHeader, TxnOutput, WatchTrigger};
