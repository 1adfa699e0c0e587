//! Building ACL ids for the `digest` scheme.

use base64::Engine as _;
use jute::{Acl, Id};
use sha1::{Digest, Sha1};

/// The `digest` id for `user` with `password`: `user:base64(sha1("user:password"))`, as
/// ZooKeeper's `DigestAuthenticationProvider.generateDigest` computes it. A session that ran
/// `add_auth("digest", b"user:password")` holds this id.
///
/// ```
/// assert_eq!(
///     client::digest_id("super", "test").id,
///     "super:D/InIHSb7yEEbrWz8b9l71RjZJU="
/// );
/// ```
pub fn digest_id(user: &str, password: &str) -> Id {
    let hash = Sha1::digest(format!("{user}:{password}").as_bytes());
    let encoded = base64::engine::general_purpose::STANDARD.encode(hash);
    Id::new("digest", format!("{user}:{encoded}"))
}

/// An ACL granting `perms` to the `digest` identity of `user`/`password`.
pub fn digest_acl(perms: i32, user: &str, password: &str) -> Acl {
    Acl::new(perms, digest_id(user, password))
}

/// `CREATOR_ALL_ACL`: every permission to the identities the creating session authenticated
/// with (the `auth` scheme); the server refuses it from a session without any.
pub fn creator_all_acl() -> Vec<Acl> {
    vec![Acl::new(jute::perms::ALL, Id::new("auth", ""))]
}
