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
    let mut next = identity.clone();
    if super_digest == Some(id.as_str()) {
        push_unique(&mut next, Id::new("super", ""));
    }
    push_unique(&mut next, Id::new("digest", id));
    Some(next)
}

fn push_unique(identity: &mut Identity, id: Id) {
    if !identity.ids.contains(&id) {
        identity.ids.push(id);
    }
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
    fn digest_adds_the_hashed_id_and_super_adds_super() {
        let base = Identity {
            ids: vec![Id::new("ip", "127.0.0.1")],
        };
        let bob = authenticate(&base, &packet("digest", "bob:secret"), None).unwrap();
        assert_eq!(bob.ids[1], Id::new("digest", digest_id("bob:secret")));
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
