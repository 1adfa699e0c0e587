//! How a znode's kind is packed into its stored `ephemeralOwner`, as ZooKeeper's `EphemeralType`
//! does, so snapshots keep ZooKeeper's encoding.
//!
//! Session ids must therefore never equal [`CONTAINER_OWNER`] nor have the top byte `0xff`.

/// The owner value that marks a container node.
pub const CONTAINER_OWNER: i64 = i64::MIN;
/// The largest TTL in ms (`EphemeralType.TTL.maxValue()`, about 34 years).
pub const TTL_MAX_MS: i64 = 0x0000_00ff_ffff_ffff;

const EXTENDED_MASK: u64 = 0xff00_0000_0000_0000;
const RESERVED_BITS_MASK: u64 = 0x00ff_ff00_0000_0000;
const RESERVED_BITS_SHIFT: u32 = 40;
const EXTENDED_BIT_TTL: u64 = 0;

/// The kind of a znode, decoded from its stored owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// A plain persistent node.
    Persistent,
    /// An ephemeral node owned by the session.
    Ephemeral(i64),
    /// A container: deleted by the server once it had children and has none.
    Container,
    /// A TTL node: deleted by the server once childless and unchanged for this many ms.
    Ttl(i64),
}

impl NodeKind {
    /// Decodes a stored owner. Unknown extended feature bits read as plain ephemeral owners.
    pub fn from_owner(owner: i64) -> Self {
        let raw = owner as u64;
        if raw & EXTENDED_MASK == EXTENDED_MASK
            && (raw & RESERVED_BITS_MASK) >> RESERVED_BITS_SHIFT == EXTENDED_BIT_TTL
        {
            return NodeKind::Ttl((raw & !(EXTENDED_MASK | RESERVED_BITS_MASK)) as i64);
        }
        match owner {
            0 => NodeKind::Persistent,
            CONTAINER_OWNER => NodeKind::Container,
            session => NodeKind::Ephemeral(session),
        }
    }

    /// The stored owner for this kind.
    pub fn to_owner(self) -> i64 {
        match self {
            NodeKind::Persistent => 0,
            NodeKind::Ephemeral(session) => session,
            NodeKind::Container => CONTAINER_OWNER,
            NodeKind::Ttl(ttl) => (EXTENDED_MASK | EXTENDED_BIT_TTL | ttl as u64) as i64,
        }
    }

    /// The `ephemeralOwner` a client sees: containers and TTL nodes show 0.
    pub fn client_owner(self) -> i64 {
        match self {
            NodeKind::Ephemeral(session) => session,
            _ => 0,
        }
    }
}

/// True when `session_id` could be mistaken for a container or TTL marker, or is the
/// housekeeping id 0.
pub fn is_reserved_session_id(session_id: i64) -> bool {
    session_id == 0
        || session_id == CONTAINER_OWNER
        || (session_id as u64) & EXTENDED_MASK == EXTENDED_MASK
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_kind() {
        for kind in [
            NodeKind::Persistent,
            NodeKind::Ephemeral(0x0100_0008_9461_0001),
            NodeKind::Container,
            NodeKind::Ttl(1),
            NodeKind::Ttl(TTL_MAX_MS),
        ] {
            assert_eq!(NodeKind::from_owner(kind.to_owner()), kind);
        }
    }

    #[test]
    fn ttl_encoding_matches_zookeeper() {
        assert_eq!(NodeKind::Ttl(100).to_owner() as u64, 0xff00_0000_0000_0064);
        assert_eq!(NodeKind::Ttl(100).client_owner(), 0);
        assert_eq!(NodeKind::Container.client_owner(), 0);
    }

    #[test]
    fn reserved_ids() {
        assert!(is_reserved_session_id(0));
        assert!(is_reserved_session_id(i64::MIN));
        assert!(is_reserved_session_id(-1));
        assert!(!is_reserved_session_id(0x0100_0000_0000_0001));
    }
}
