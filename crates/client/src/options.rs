//! How a node is created: its mode, ACL and (for TTL modes) time to live.

use crate::error::Error;
use jute::{Acl, CreateMode, OpCode};

/// The largest TTL ZooKeeper accepts (`EphemeralType.MAX_TTL`: 40 bits of milliseconds).
pub const MAX_TTL_MS: i64 = 0xFF_FFFF_FFFF;

/// Mode, ACL and TTL of a create.
///
/// ```
/// use client::{Acl, CreateMode, CreateOptions};
/// let lock = CreateOptions::new(CreateMode::EphemeralSequential, Acl::open_unsafe());
/// let cache = CreateOptions::persistent().with_ttl(CreateMode::PersistentWithTtl, 60_000);
/// assert_eq!(cache.mode(), CreateMode::PersistentWithTtl);
/// # let _ = lock;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateOptions {
    mode: CreateMode,
    acl: Vec<Acl>,
    ttl_ms: Option<i64>,
}

impl CreateOptions {
    /// A create in `mode` with `acl`.
    pub fn new(mode: CreateMode, acl: Vec<Acl>) -> CreateOptions {
        CreateOptions {
            mode,
            acl,
            ttl_ms: None,
        }
    }

    /// Persistent, open to everyone (`OPEN_ACL_UNSAFE`).
    pub fn persistent() -> CreateOptions {
        CreateOptions::new(CreateMode::Persistent, Acl::open_unsafe())
    }

    /// Ephemeral, open to everyone.
    pub fn ephemeral() -> CreateOptions {
        CreateOptions::new(CreateMode::Ephemeral, Acl::open_unsafe())
    }

    /// Container, open to everyone.
    pub fn container() -> CreateOptions {
        CreateOptions::new(CreateMode::Container, Acl::open_unsafe())
    }

    /// The same ACL with another mode.
    pub fn with_mode(mut self, mode: CreateMode) -> CreateOptions {
        self.mode = mode;
        self
    }

    /// The same mode with another ACL.
    pub fn with_acl(mut self, acl: Vec<Acl>) -> CreateOptions {
        self.acl = acl;
        self
    }

    /// A TTL mode ([`CreateMode::PersistentWithTtl`] or
    /// [`CreateMode::PersistentSequentialWithTtl`]) with a time to live in milliseconds.
    pub fn with_ttl(mut self, mode: CreateMode, ttl_ms: i64) -> CreateOptions {
        self.mode = mode;
        self.ttl_ms = Some(ttl_ms);
        self
    }

    /// The create mode.
    pub fn mode(&self) -> CreateMode {
        self.mode
    }

    /// The ACL.
    pub fn acl(&self) -> &[Acl] {
        &self.acl
    }

    /// The TTL, if set.
    pub fn ttl_ms(&self) -> Option<i64> {
        self.ttl_ms
    }

    /// Which create op carries these options, and its TTL field. Mirrors the Java client's
    /// checks: a TTL only with a TTL mode and within (0, [`MAX_TTL_MS`]].
    pub(crate) fn op_and_ttl(&self) -> Result<(OpCode, i64), Error> {
        if self.mode.is_ttl() {
            match self.ttl_ms {
                Some(ttl) if ttl > 0 && ttl <= MAX_TTL_MS => Ok((OpCode::CreateTtl, ttl)),
                Some(ttl) => Err(Error::invalid(format!(
                    "TTL {ttl} ms is outside 1..={MAX_TTL_MS}"
                ))),
                None => Err(Error::invalid(format!("{:?} needs a TTL", self.mode))),
            }
        } else if let Some(ttl) = self.ttl_ms {
            Err(Error::invalid(format!(
                "a TTL ({ttl} ms) is only valid with a TTL mode, not {:?}",
                self.mode
            )))
        } else if self.mode.is_container() {
            Ok((OpCode::CreateContainer, 0))
        } else {
            // create2 returns the new node's stat; every server since 3.5 has it.
            Ok((OpCode::Create2, 0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_mode_picks_its_op() {
        let o = CreateOptions::persistent();
        assert_eq!(o.op_and_ttl(), Ok((OpCode::Create2, 0)));
        assert_eq!(
            o.clone()
                .with_mode(CreateMode::EphemeralSequential)
                .op_and_ttl(),
            Ok((OpCode::Create2, 0))
        );
        assert_eq!(
            CreateOptions::container().op_and_ttl(),
            Ok((OpCode::CreateContainer, 0))
        );
        assert_eq!(
            o.clone()
                .with_ttl(CreateMode::PersistentSequentialWithTtl, 5)
                .op_and_ttl(),
            Ok((OpCode::CreateTtl, 5))
        );
    }

    #[test]
    fn ttl_rules() {
        let o = CreateOptions::persistent();
        assert!(o
            .clone()
            .with_mode(CreateMode::PersistentWithTtl)
            .op_and_ttl()
            .is_err());
        assert!(o
            .clone()
            .with_ttl(CreateMode::PersistentWithTtl, 0)
            .op_and_ttl()
            .is_err());
        assert!(o
            .clone()
            .with_ttl(CreateMode::PersistentWithTtl, MAX_TTL_MS + 1)
            .op_and_ttl()
            .is_err());
        let mut ephemeral_with_ttl = o.with_ttl(CreateMode::PersistentWithTtl, 5);
        ephemeral_with_ttl.mode = CreateMode::Ephemeral;
        assert!(ephemeral_with_ttl.op_and_ttl().is_err());
    }
}
