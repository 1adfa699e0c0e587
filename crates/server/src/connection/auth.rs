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
    if packet.scheme != "digest" {
        return None;
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
