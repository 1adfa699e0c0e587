//! Who may hear of a change: ZooKeeper's watch-delivery ACL check (CVE-2024-23944,
//! ZOOKEEPER-4799). Since 3.8.4 / 3.9.2 a server delivers a watch event only to a connection
//! whose current auth ids hold READ under the ACL of the node the event is about (the node's
//! own ACL, a deleted node's last one, the parent's for `NodeChildrenChanged`), with the same
//! check requests get: super passes, an empty ACL passes, `world:anyone` passes. It covers every
//! watch kind; a one-shot watch is spent whether or not its event was delivered. Events that
//! `setWatches` sends for changes missed while disconnected are not checked.

use jute::{perms, Acl};
use tree::{acl_permits, Identity};

/// No ids at all: whatever such a connection may read, everybody may.
static NOBODY: Identity = Identity { ids: Vec::new() };

/// The READ check for one event, decided once for all its watchers where it can be.
pub(super) struct ReadCheck<'a> {
    acl: &'a [Acl],
    /// The ACL lets anyone read (the usual case): no watcher needs a look.
    everyone: bool,
}

impl<'a> ReadCheck<'a> {
    /// The check for an event about a node with `acl`.
    pub(super) fn new(acl: &'a [Acl]) -> Self {
        Self {
            acl,
            everyone: acl_permits(acl, perms::READ, &NOBODY),
        }
    }

    /// False when the ACL lets anyone read, so watchers' identities need not be looked up.
    pub(super) fn needs_identity(&self) -> bool {
        !self.everyone
    }

    /// Whether a connection with `identity` is told. Allocates nothing.
    pub(super) fn allows(&self, identity: &Identity) -> bool {
        self.everyone || acl_permits(self.acl, perms::READ, identity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jute::Id;
    use tree::digest_id;

    fn who(ids: &[(&str, &str)]) -> Identity {
        Identity {
            ids: ids.iter().map(|(s, i)| Id::new(*s, *i)).collect(),
        }
    }

    #[test]
    fn open_and_empty_acls_need_no_identity() {
        assert!(!ReadCheck::new(&Acl::open_unsafe()).needs_identity());
        assert!(!ReadCheck::new(&Acl::read_unsafe()).needs_identity());
        assert!(!ReadCheck::new(&[]).needs_identity());
        assert!(ReadCheck::new(&Acl::open_unsafe()).allows(&NOBODY));
        let write_only = [Acl::new(perms::WRITE, Id::new("world", "anyone"))];
        assert!(ReadCheck::new(&write_only).needs_identity());
        assert!(!ReadCheck::new(&write_only).allows(&who(&[("ip", "127.0.0.1")])));
    }

    #[test]
    fn restricted_acl_admits_readers_super_and_matching_ip() {
        let alice = digest_id("alice:secret");
        let acl = [
            Acl::new(perms::ALL, Id::new("digest", alice.clone())),
            Acl::new(perms::READ, Id::new("ip", "10.0.0.0/8")),
            Acl::new(perms::WRITE, Id::new("digest", digest_id("bob:secret"))),
        ];
        let check = ReadCheck::new(&acl);
        assert!(check.allows(&who(&[("ip", "127.0.0.1"), ("digest", &alice)])));
        assert!(check.allows(&who(&[("ip", "10.1.2.3")])));
        assert!(check.allows(&who(&[("ip", "127.0.0.1"), ("super", "")])));
        assert!(!check.allows(&who(&[("ip", "127.0.0.1")])));
        // WRITE alone is not READ.
        let bob = digest_id("bob:secret");
        assert!(!check.allows(&who(&[("ip", "127.0.0.1"), ("digest", &bob)])));
    }
}
