//! Auth packets: the `digest` scheme and the configured super digest.

use jute::proto::AuthPacket;
use jute::Id;
use tree::{digest_id, Identity};

/// Adds the identity an auth packet proves, or `None` if the scheme is unknown or the packet
/// malformed (the client is then told `AuthFailed` and disconnected, as ZooKeeper does).
pub fn authenticate(
    identity: &Identity,
    packet: &AuthPacket,
    super_digest: Option<&str>,
) -> Option<Identity> {
    match packet.scheme.as_str() {
        "digest" => {}
        // The connection's address is already one of its ids; ZooKeeper's ip provider accepts
        // the packet and adds nothing new.
        "ip" => return Some(identity.clone()),
        _ => return None,
    }
    let user_password = std::str::from_utf8(&packet.auth).ok()?;
    if !user_password.contains(':') {
        return None;
    }
    let id = digest_id(user_password);
    let is_super = super_digest == Some(id.as_str());
    let mut next = identity.clone();
    // ZooKeeper's digest provider adds the digest id first, then `super` for the super digest.
    add_id(&mut next, Id::new("digest", id));
    if is_super {
        add_id(&mut next, Id::new("super", ""));
    }
    Some(next)
}

/// Adds `id` unless present, keeping the ids in the order ZooKeeper lists a connection's auth
/// info: it keeps them in a set backed by a `ConcurrentHashMap`, so `whoAmI` and the expansion of an
/// `auth` ACL see them in that map's bucket order (insertion order within a bucket), not in the
/// order they were added.
pub fn add_id(identity: &mut Identity, id: Id) {
    if identity.ids.contains(&id) {
        return;
    }
    identity.ids.push(id);
    let buckets = java_table_size(identity.ids.len());
    identity
        .ids
        .sort_by_key(|id| java_spread(java_id_hash(id)) & (buckets - 1));
}

/// The table size of a default `ConcurrentHashMap` holding `len` keys: 16, doubled whenever
/// `len` reaches three quarters of it.
fn java_table_size(len: usize) -> u32 {
    let mut n: u32 = 16;
    while len as u64 >= u64::from(n) * 3 / 4 {
        n *= 2;
    }
    n
}

/// `ConcurrentHashMap.spread`: the hash's high half folded into its low half.
fn java_spread(h: i32) -> u32 {
    ((h ^ ((h as u32) >> 16) as i32) & 0x7fff_ffff) as u32
}

/// The jute-generated `Id.hashCode()`: 17, then `37 * result + field.hashCode()` per field.
fn java_id_hash(id: &Id) -> i32 {
    let result = 17i32;
    let result = result
        .wrapping_mul(37)
        .wrapping_add(java_string_hash(&id.scheme));
    result
        .wrapping_mul(37)
        .wrapping_add(java_string_hash(&id.id))
}

/// `String.hashCode()`: over UTF-16 code units, `31 * h + c`.
fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn packet(scheme: &str, auth: &str) -> AuthPacket {
        AuthPacket {
            auth_type: 0,
            scheme: scheme.to_owned(),
            auth: Bytes::copy_from_slice(auth.as_bytes()),
        }
    }

    #[test]
    fn java_hashes_and_table_sizes() {
        // Values Java gives: "ip".hashCode() = 105 * 31 + 112; a character outside the BMP
        // counts as two UTF-16 units.
        assert_eq!(java_string_hash("ip"), 3367);
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("\u{1F600}"), 0xD83D * 31 + 0xDE00);
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
        assert_eq!((java_table_size(0), java_table_size(11)), (16, 16));
        assert_eq!((java_table_size(12), java_table_size(24)), (32, 64));
    }

    #[test]
    fn ids_keep_the_sets_order_whatever_the_order_they_came_in() {
        // No two of these share a bucket; ids that do keep their insertion order there, as in
        // Java.
        let ids = ["digest:a", "digest:c", "super:", "ip:127.0.0.1"];
        let build = |order: &[usize]| {
            let mut identity = Identity { ids: Vec::new() };
            for &i in order {
                let (scheme, id) = ids[i].split_once(':').unwrap();
                add_id(&mut identity, Id::new(scheme, id));
            }
            identity.ids
        };
        let forward = build(&[0, 1, 2, 3]);
        assert_eq!(forward.len(), 4);
        assert_eq!(build(&[3, 2, 1, 0, 2]), forward);
        assert_eq!(build(&[2, 3, 0, 1]), forward);
    }

    #[test]
    fn digest_adds_the_hashed_id_and_super_adds_super() {
        let base = Identity {
            ids: vec![Id::new("ip", "127.0.0.1")],
        };
        let bob = authenticate(&base, &packet("digest", "bob:secret"), None).unwrap();
        assert_eq!(bob.ids.len(), 2);
        assert!(bob
            .ids
            .contains(&Id::new("digest", digest_id("bob:secret"))));
        let super_id = digest_id("super:pw");
        let sup = authenticate(&base, &packet("digest", "super:pw"), Some(&super_id)).unwrap();
        assert!(sup.ids.contains(&Id::new("super", "")));
        let again = authenticate(&bob, &packet("digest", "bob:secret"), None).unwrap();
        assert_eq!(again.ids.len(), 2, "the same id is not added twice");
    }

    #[test]
    fn unknown_scheme_or_malformed_digest_fails() {
        let base = Identity::default();
        assert!(authenticate(&base, &packet("kerberos", "x"), None).is_none());
        assert!(authenticate(&base, &packet("digest", "no-colon"), None).is_none());
        assert_eq!(authenticate(&base, &packet("ip", "x"), None), Some(base));
    }
}
