//! ACL checks and the ACL fix-up a create or setACL goes through, as ZooKeeper's
//! `ZooKeeperServer.checkACL` and `PrepRequestProcessor.fixupACL` do with the default providers
//! (`ip` and `digest`).

use crate::Identity;
use base64::Engine as _;
use jute::{Acl, ErrorCode};
use sha1::{Digest, Sha1};

/// `digest` scheme id for `user:password`: `user:base64(sha1("user:password"))`.
pub fn digest_id(user_password: &str) -> String {
    let user = user_password.split(':').next().unwrap_or("");
    let hash = Sha1::digest(user_password.as_bytes());
    format!(
        "{user}:{}",
        base64::engine::general_purpose::STANDARD.encode(hash)
    )
}

/// True when `identity` grants `perm` under `acl` (world, auth/digest ids, ip with CIDR, super).
/// An empty ACL grants everything, as in ZooKeeper.
pub fn acl_permits(acl: &[Acl], perm: i32, identity: &Identity) -> bool {
    if acl.is_empty() || identity.ids.iter().any(|id| id.scheme == "super") {
        return true;
    }
    acl.iter().filter(|a| a.perms & perm != 0).any(|a| {
        if a.id.scheme == "world" && a.id.id == "anyone" {
            return true;
        }
        identity
            .ids
            .iter()
            .filter(|id| id.scheme == a.id.scheme)
            .any(|id| match a.id.scheme.as_str() {
                "ip" => ip_matches(&id.id, &a.id.id),
                _ => id.id == a.id.id,
            })
    })
}

/// Checks and expands an ACL a client asked for: duplicates dropped, every entry well formed,
/// `auth` entries replaced by the requester's authenticated ids. `InvalidAcl` otherwise.
pub(crate) fn fixup_acl(acl: &[Acl], identity: &Identity) -> Result<Vec<Acl>, ErrorCode> {
    let mut unique: Vec<&Acl> = Vec::with_capacity(acl.len());
    for a in acl {
        if !unique.contains(&a) {
            unique.push(a);
        }
    }
    if unique.is_empty() {
        return Err(ErrorCode::InvalidAcl);
    }
    let mut fixed = Vec::with_capacity(unique.len());
    for a in unique {
        match a.id.scheme.as_str() {
            "world" if a.id.id == "anyone" => fixed.push(a.clone()),
            "auth" => {
                let before = fixed.len();
                for id in identity
                    .ids
                    .iter()
                    .filter(|id| is_authenticated_scheme(&id.scheme))
                {
                    fixed.push(Acl::new(a.perms, id.clone()));
                }
                if fixed.len() == before {
                    return Err(ErrorCode::InvalidAcl);
                }
            }
            "ip" if ip_is_valid(&a.id.id) => fixed.push(a.clone()),
            "digest" if digest_is_valid(&a.id.id) => fixed.push(a.clone()),
            _ => return Err(ErrorCode::InvalidAcl),
        }
    }
    Ok(fixed)
}

/// Schemes whose ids prove who the client is (`AuthenticationProvider.isAuthenticated`); `ip`
/// only says where it connects from, and `super` has no provider of its own.
fn is_authenticated_scheme(scheme: &str) -> bool {
    scheme == "digest"
}

/// `DigestAuthenticationProvider.isValid`: exactly two parts around `:`, judged like Java's
/// `String.split(":")`, which drops trailing empty parts.
fn digest_is_valid(id: &str) -> bool {
    java_split_count(id, ':') == 2
}

fn java_split_count(s: &str, sep: char) -> usize {
    if !s.contains(sep) {
        return 1;
    }
    let parts: Vec<&str> = s.split(sep).collect();
    let trailing_empty = parts.iter().rev().take_while(|p| p.is_empty()).count();
    parts.len() - trailing_empty
}

/// `IPAuthenticationProvider.isValid`: an address, optionally with `/bits` in range.
fn ip_is_valid(id: &str) -> bool {
    let (addr, bits) = split_cidr(id);
    let Some(addr) = parse_addr(addr) else {
        return false;
    };
    match bits {
        None => true,
        Some(bits) => parse_prefix_bits(bits, addr.len).is_some(),
    }
}

/// `IPAuthenticationProvider.matches`: `client` (an address) against `acl_expr` (address or
/// CIDR); IPv4 never matches IPv6. Allocates nothing: watch delivery runs it once per watcher.
fn ip_matches(client: &str, acl_expr: &str) -> bool {
    let (acl_addr, bits) = split_cidr(acl_expr);
    let Some(mut acl_addr) = parse_addr(acl_addr) else {
        return false;
    };
    let bits = match bits {
        None => acl_addr.len * 8,
        Some(bits) => match parse_prefix_bits(bits, acl_addr.len) {
            Some(bits) => bits,
            None => return false,
        },
    };
    let Some(mut client_addr) = parse_addr(client) else {
        return false;
    };
    if client_addr.len != acl_addr.len {
        return false;
    }
    mask(acl_addr.bytes_mut(), bits);
    mask(client_addr.bytes_mut(), bits);
    acl_addr.bytes_mut() == client_addr.bytes_mut()
}

fn split_cidr(expr: &str) -> (&str, Option<&str>) {
    match expr.split_once('/') {
        Some((addr, bits)) => (addr, Some(bits)),
        None => (expr, None),
    }
}

/// Java's `Integer.parseInt` accepts a leading `+` or `-`, as does Rust's `i32::from_str`.
fn parse_prefix_bits(bits: &str, addr_len: usize) -> Option<usize> {
    let bits: i32 = bits.parse().ok()?;
    (0..=(addr_len as i32 * 8))
        .contains(&bits)
        .then_some(bits as usize)
}

/// Keeps the first `bits` bits of `addr`.
fn mask(addr: &mut [u8], bits: usize) {
    for (i, byte) in addr.iter_mut().enumerate() {
        let keep = bits.saturating_sub(i * 8).min(8);
        *byte &= if keep == 0 { 0 } else { 0xffu8 << (8 - keep) };
    }
}

/// An IPv4 (4 bytes used) or IPv6 (16 bytes) address, held inline.
struct Addr {
    bytes: [u8; 16],
    len: usize,
}

impl Addr {
    fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.bytes[..self.len]
    }
}

/// An address as bytes: IPv6 when it holds `:`, else IPv4 when it holds `.`.
fn parse_addr(addr: &str) -> Option<Addr> {
    if addr.contains(':') {
        parse_v6(addr).map(|bytes| Addr { bytes, len: 16 })
    } else if addr.contains('.') {
        let v4 = parse_v4(addr)?;
        let mut bytes = [0u8; 16];
        bytes[..4].copy_from_slice(&v4);
        Some(Addr { bytes, len: 4 })
    } else {
        None
    }
}

fn parse_v4(addr: &str) -> Option<[u8; 4]> {
    let mut out = [0u8; 4];
    let mut parts = addr.split('.');
    for slot in out.iter_mut() {
        let v: i32 = parts.next()?.parse().ok()?;
        *slot = u8::try_from(v).ok()?;
    }
    parts.next().is_none().then_some(out)
}

/// ZooKeeper 3.9's IPv6 parser: hex groups of at most 4 digits, at most one `::`.
fn parse_v6(addr: &str) -> Option<[u8; 16]> {
    let mut out = [0u8; 16];
    match addr.split_once("::") {
        None => {
            if addr.split(':').count() != 8 {
                return None;
            }
            fill_v6_groups(&mut out, addr.split(':'))?;
        }
        Some((head, tail)) => {
            if tail.contains("::") {
                return None;
            }
            let groups = |half: &'_ str| {
                if half.is_empty() {
                    0
                } else {
                    half.split(':').count()
                }
            };
            let (head_len, tail_len) = (groups(head), groups(tail));
            if head_len + tail_len >= 8 {
                return None;
            }
            if head_len > 0 {
                fill_v6_groups(&mut out[..head_len * 2], head.split(':'))?;
            }
            if tail_len > 0 {
                fill_v6_groups(&mut out[16 - tail_len * 2..], tail.split(':'))?;
            }
        }
    }
    Some(out)
}

fn fill_v6_groups<'a>(out: &mut [u8], groups: impl Iterator<Item = &'a str>) -> Option<()> {
    for (slot, group) in out.chunks_exact_mut(2).zip(groups) {
        if group.is_empty() || group.len() > 4 {
            return None;
        }
        // Java's parseInt(s, 16) takes a sign; a group of "+f" or "-0" is accepted there too.
        let value = i32::from_str_radix(group, 16).ok()?;
        slot[0] = (value >> 8) as u8;
        slot[1] = value as u8;
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jute::{perms, Id};

    fn ids(list: &[(&str, &str)]) -> Identity {
        Identity {
            ids: list.iter().map(|(s, i)| Id::new(*s, *i)).collect(),
        }
    }

    #[test]
    fn digest_matches_zookeeper() {
        // Observed from ZooKeeper 3.8: addauth digest bob:pw, then an `auth` ACL.
        assert_eq!(digest_id("bob:pw"), "bob:ikIaKsbtGweaHnb/jKn7OHqbunM=");
        assert_eq!(
            digest_id("super:secret"),
            "super:lK75jTNcA+U9vtVEw5vB51mj/w4="
        );
    }

    #[test]
    fn digest_validity_follows_java_split() {
        assert!(digest_is_valid("bob:x"));
        assert!(digest_is_valid("bob:x:"));
        assert!(digest_is_valid(":x"));
        assert!(!digest_is_valid("bob"));
        assert!(!digest_is_valid("bob:x:y"));
        assert!(!digest_is_valid("bob::"));
        assert!(!digest_is_valid(""));
        assert!(!digest_is_valid(":"));
    }

    #[test]
    fn ip_validity() {
        for ok in [
            "127.0.0.1",
            "127.0.0.1/8",
            "0.0.0.0/0",
            "+1.2.3.4",
            "::1",
            "fe80::/10",
            "1:2:3:4:5:6:7:8",
            "::",
            "1::",
            "::1:2",
            "1:2:3::6:7:8",
        ] {
            assert!(ip_is_valid(ok), "{ok}");
        }
        for bad in [
            "127.0.0.1/33",
            "127.0.0.1/-1",
            "1.2.3",
            "1.2.3.4/x",
            "256.1.1.1",
            "1.2.3.4/",
            "abc",
            "1:2:3:4:5:6:7:8:9",
            "::1/129",
            " 1.2.3.4",
            "1::2::3",
            "12345::",
            ":::",
            "1:::2",
            "1:2:3:4:5:6:7:",
        ] {
            assert!(!ip_is_valid(bad), "{bad}");
        }
    }

    #[test]
    fn ip_matching_with_cidr() {
        assert!(ip_matches("127.0.0.1", "127.0.0.1"));
        assert!(!ip_matches("127.0.0.1", "127.0.0.2"));
        assert!(ip_matches("127.0.0.1", "127.0.0.0/8"));
        assert!(ip_matches("127.0.0.1", "127.0.0.0/31"));
        assert!(!ip_matches("127.0.0.1", "10.0.0.0/8"));
        assert!(ip_matches("127.0.0.1", "0.0.0.0/0"));
        assert!(ip_matches("127.0.0.1", "127.1.2.3/8"));
        assert!(ip_matches("0:0:0:0:0:0:0:1", "::1"));
        assert!(ip_matches("fe80::1234", "fe80::/10"));
        assert!(!ip_matches("127.0.0.1", "::/0"));
        assert!(ip_matches("10.1.2.3", "10.1.2.0/23"));
        assert!(!ip_matches("10.1.4.3", "10.1.2.0/23"));
    }

    #[test]
    fn permits() {
        let open = Acl::open_unsafe();
        assert!(acl_permits(&open, perms::WRITE, &Identity::default()));
        let read_only = Acl::read_unsafe();
        assert!(!acl_permits(&read_only, perms::WRITE, &Identity::default()));
        assert!(acl_permits(
            &read_only,
            perms::WRITE,
            &ids(&[("super", "")])
        ));
        assert!(acl_permits(&[], perms::ADMIN, &Identity::default()));
        let bob = vec![Acl::new(
            perms::READ,
            Id::new("digest", digest_id("bob:pw")),
        )];
        assert!(acl_permits(
            &bob,
            perms::READ,
            &ids(&[("digest", &digest_id("bob:pw"))])
        ));
        assert!(!acl_permits(
            &bob,
            perms::READ,
            &ids(&[("digest", &digest_id("bob:no"))])
        ));
        assert!(!acl_permits(
            &bob,
            perms::WRITE,
            &ids(&[("digest", &digest_id("bob:pw"))])
        ));
        let net = vec![Acl::new(perms::ALL, Id::new("ip", "10.0.0.0/8"))];
        assert!(acl_permits(
            &net,
            perms::DELETE,
            &ids(&[("ip", "10.9.8.7")])
        ));
        assert!(!acl_permits(
            &net,
            perms::DELETE,
            &ids(&[("ip", "11.9.8.7")])
        ));
    }

    #[test]
    fn fixup_expands_auth_and_rejects_bad_entries() {
        let who = ids(&[("ip", "127.0.0.1"), ("digest", "bob:h"), ("super", "")]);
        let asked = vec![
            Acl::new(perms::ALL, Id::new("auth", "")),
            Acl::new(perms::ALL, Id::new("auth", "")),
            Acl::new(perms::READ, Id::new("ip", "127.0.0.1")),
        ];
        assert_eq!(
            fixup_acl(&asked, &who),
            Ok(vec![
                Acl::new(perms::ALL, Id::new("digest", "bob:h")),
                Acl::new(perms::READ, Id::new("ip", "127.0.0.1")),
            ])
        );
        let only_ip = ids(&[("ip", "127.0.0.1")]);
        assert_eq!(
            fixup_acl(&[Acl::new(perms::ALL, Id::new("auth", ""))], &only_ip),
            Err(ErrorCode::InvalidAcl)
        );
        assert_eq!(fixup_acl(&[], &who), Err(ErrorCode::InvalidAcl));
        for bad in [
            ("world", "bob"),
            ("World", "anyone"),
            ("super", "x"),
            ("sasl", "x"),
            ("digest", "bob"),
        ] {
            assert_eq!(
                fixup_acl(&[Acl::new(perms::ALL, Id::new(bad.0, bad.1))], &who),
                Err(ErrorCode::InvalidAcl),
                "{bad:?}"
            );
        }
    }
}
