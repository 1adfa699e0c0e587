//! Records of `org.apache.zookeeper.data`: Id, ACL, Stat, ClientInfo, and ACL permission bits.

use crate::record;

record! {
    /// An identity: a scheme (`world`, `auth`, `digest`, `ip`, `super`, ...) and an id within it.
    Id { scheme: String, id: String }
}

impl Id {
    /// An id in a scheme.
    pub fn new(scheme: impl Into<String>, id: impl Into<String>) -> Self {
        Self {
            scheme: scheme.into(),
            id: id.into(),
        }
    }

    /// `world:anyone`.
    pub fn anyone() -> Self {
        Self::new("world", "anyone")
    }
}

record! {
    /// One access-control entry: permission bits granted to an identity.
    Acl { perms: i32, id: Id }
}

impl Acl {
    /// Grants `perms` to `id`.
    pub fn new(perms: i32, id: Id) -> Self {
        Self { perms, id }
    }

    /// `OPEN_ACL_UNSAFE`: all permissions to everyone.
    pub fn open_unsafe() -> Vec<Acl> {
        vec![Acl::new(perms::ALL, Id::anyone())]
    }

    /// `READ_ACL_UNSAFE`: read to everyone.
    pub fn read_unsafe() -> Vec<Acl> {
        vec![Acl::new(perms::READ, Id::anyone())]
    }
}

/// ACL permission bits (`ZooDefs.Perms`).
pub mod perms {
    /// getData, getChildren, getChildren2, getAllChildrenNumber.
    pub const READ: i32 = 1;
    /// setData.
    pub const WRITE: i32 = 2;
    /// Create a child.
    pub const CREATE: i32 = 4;
    /// Delete a child.
    pub const DELETE: i32 = 8;
    /// setACL.
    pub const ADMIN: i32 = 16;
    /// Every permission.
    pub const ALL: i32 = READ | WRITE | CREATE | DELETE | ADMIN;
}

record! {
    /// A znode's metadata, in jute field order.
    Stat {
        czxid: i64,
        mzxid: i64,
        ctime: i64,
        mtime: i64,
        version: i32,
        cversion: i32,
        aversion: i32,
        ephemeral_owner: i64,
        data_length: i32,
        num_children: i32,
        pzxid: i64,
    }
}

record! {
    /// One authenticated identity of a session, as `whoAmI` reports it.
    ClientInfo { auth_scheme: String, user: String }
}
