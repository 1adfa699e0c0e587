//! zkCli's `config -c`: the configuration data turned into `version host:port,host:port,...`, as
//! ZooKeeper 3.8's `ConfigUtils.getClientConfigStr` does it.
//!
//! Every `server.N` line whose value ZooKeeper's `QuorumServer` accepts contributes one entry, in
//! the order Java's `Properties` walks the keys ([`crate::java_props`]): its client address, or
//! nothing when the line has none (so two commas meet). Lines it refuses are left out. (Where
//! Java would stop the whole command with an unchecked exception, e.g. a port above 65535, the
//! line is left out too.)

use crate::java_props;
use std::net::{Ipv4Addr, Ipv6Addr};

/// `ConfigUtils.getClientConfigStr`: the `version` value, a space, the client addresses.
pub fn client_config_str(data: &str) -> String {
    let mut version = String::new();
    let mut addresses: Vec<String> = Vec::new();
    for (key, value) in java_props::load(data) {
        let (key, value) = (java_trim(&key), java_trim(&value));
        if key == "version" {
            version = value.to_owned();
        }
        if !key.starts_with("server.") {
            continue;
        }
        if let Some(client) = client_address(value) {
            addresses.push(client.unwrap_or_default());
        }
    }
    format!("{version} {}", addresses.join(","))
}

/// `String.trim()`: every character up to U+0020 goes, at both ends.
fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

/// The client address of a `server.N` value as ZooKeeper 3.8's `QuorumServer` parses it:
/// `None` if the line is refused, `Some(None)` if it has no client part.
fn client_address(value: &str) -> Option<Option<String>> {
    let parts = java_split(value, ';');
    let server_part = parts.first()?;
    let client = match parts.as_slice() {
        [_, client_part] => {
            let client = host_and_port(client_part)?;
            let (host, port) = match client.as_slice() {
                [port] => ("0.0.0.0", *port),
                [host, port] => (*host, *port),
                _ => return None,
            };
            Some(format!("{}:{}", java_host_string(host), java_port(port)?))
        }
        _ => None,
    };
    // Several `|`-separated addresses need zookeeper.multiAddress.enabled, off by default.
    let [address] = java_split(server_part, '|')[..] else {
        return None;
    };
    let server = host_and_port(address)?;
    if parts.len() > 2 || !(3..=4).contains(&server.len()) {
        return None;
    }
    if java_port(server[1])? == java_port(server[2])? {
        return None;
    }
    if let Some(role) = server.get(3) {
        let role = java_trim(role).to_lowercase();
        if role != "observer" && role != "participant" {
            return None;
        }
    }
    Some(client)
}

/// `String.split` on one character: trailing empty pieces are dropped, but an empty string is
/// one empty piece.
fn java_split(s: &str, sep: char) -> Vec<&str> {
    if s.is_empty() {
        return vec![""];
    }
    let mut pieces: Vec<&str> = s.split(sep).collect();
    while pieces.last() == Some(&"") {
        pieces.pop();
    }
    pieces
}

/// `ConfigUtils.getHostAndPort`: `host:port...` split on `:`, keeping a bracketed IPv6 host
/// whole; `None` where ZooKeeper throws.
fn host_and_port(s: &str) -> Option<Vec<&str>> {
    if !s.starts_with('[') {
        return Some(java_split(s, ':'));
    }
    let close = s.find(']')?;
    if close + 2 == s.len() {
        return None;
    }
    if close + 2 < s.len() {
        // ZooKeeper skips the one character after `]`, whatever it is.
        let rest = s.get(close + 2..)?;
        let mut parts = vec![&s[1..close]];
        parts.extend(java_split(rest, ':'));
        return Some(parts);
    }
    Some(vec![&s[1..close]])
}

/// `Integer.parseInt`, then `InetSocketAddress`'s range check.
fn java_port(s: &str) -> Option<u16> {
    s.parse::<i32>().ok().and_then(|p| u16::try_from(p).ok())
}

/// `new InetSocketAddress(host, port).getHostString()`: an address literal comes back in Java's
/// own form (IPv6 in eight uncompressed groups, IPv4-mapped IPv6 as IPv4), an empty host as
/// `localhost`, a name as written.
fn java_host_string(host: &str) -> String {
    if host.is_empty() {
        return "localhost".to_owned();
    }
    if let Ok(v4) = host.parse::<Ipv4Addr>() {
        return v4.to_string();
    }
    if let Ok(v6) = host.parse::<Ipv6Addr>() {
        if let Some(v4) = v6.to_ipv4_mapped() {
            return v4.to_string();
        }
        let groups: Vec<String> = v6.segments().iter().map(|g| format!("{g:x}")).collect();
        return groups.join(":");
    }
    host.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Every expected string below is what ZooKeeper 3.8's ConfigUtils.getClientConfigStr (Debian's
    // zookeeper.jar on Java 17) returned for the same data.

    #[test]
    fn standalone_and_observed_ensemble() {
        assert_eq!(client_config_str(""), " ");
        assert_eq!(
            client_config_str(
                "server.1=127.0.0.1:28881:38881:participant\n\
                 server.2=127.0.0.1:28882:38882:participant;0.0.0.0:27182\n\
                 server.3=localhost:28883:38883:participant;127.0.0.1:27183\n\
                 version=0"
            ),
            "0 0.0.0.0:27182,,127.0.0.1:27183"
        );
        assert_eq!(client_config_str("server.1=h:1:2;1\n"), " 0.0.0.0:1");
        assert_eq!(
            client_config_str("foo=bar\nserverX=1\nserver.=h:1:2;9\n"),
            " 0.0.0.0:9"
        );
    }

    fn servers(ids: impl Iterator<Item = u32>) -> String {
        ids.map(|i| {
            format!(
                "server.{i}=127.0.0.1:{}:{}:participant;127.0.0.1:{}\n",
                2000 + i,
                3000 + i,
                4000 + i
            )
        })
        .collect()
    }

    fn ports(ids: &[u32]) -> String {
        let list: Vec<String> = ids
            .iter()
            .map(|i| format!("127.0.0.1:{}", 4000 + i))
            .collect();
        list.join(",")
    }

    #[test]
    fn order_of_larger_ensembles() {
        assert_eq!(
            client_config_str(&format!("{}version=100000003", servers(1..=11))),
            format!("100000003 {}", ports(&[10, 11, 2, 1, 6, 5, 4, 3, 9, 8, 7]))
        );
        assert_eq!(
            client_config_str(&format!("{}version=0", servers(1..=12))),
            format!("0 {}", ports(&[10, 11, 2, 1, 12, 6, 5, 4, 3, 9, 8, 7]))
        );
        #[rustfmt::skip]
        let all: [u32; 256] = [
            124, 245, 125, 246, 126, 247, 127, 248, 128, 249, 129, 240, 120, 241, 121, 242, 122,
            243, 123, 244, 135, 136, 137, 138, 139, 250, 130, 251, 131, 252, 132, 253, 133, 254,
            134, 255, 146, 147, 148, 149, 140, 141, 142, 143, 144, 145, 157, 158, 159, 2, 1, 0, 6,
            5, 150, 4, 151, 3, 152, 153, 9, 154, 8, 155, 7, 156, 170, 18, 19, 16, 17, 10, 168, 11,
            169, 14, 15, 12, 13, 160, 161, 162, 163, 164, 165, 166, 167, 180, 181, 179, 171, 172,
            173, 174, 175, 176, 177, 178, 190, 191, 192, 38, 39, 32, 33, 30, 31, 36, 37, 34, 35,
            182, 183, 184, 185, 186, 187, 188, 189, 29, 27, 28, 21, 22, 20, 25, 26, 23, 24, 193,
            194, 195, 196, 197, 198, 199, 54, 55, 52, 53, 58, 59, 56, 57, 50, 51, 49, 43, 44, 41,
            42, 47, 48, 45, 46, 40, 76, 77, 74, 75, 78, 79, 72, 73, 70, 71, 65, 66, 63, 64, 69,
            67, 68, 61, 62, 60, 209, 98, 201, 99, 202, 96, 203, 97, 204, 205, 206, 207, 208, 90,
            91, 94, 95, 92, 93, 200, 87, 212, 88, 213, 85, 214, 86, 215, 216, 217, 89, 218, 219,
            80, 83, 84, 81, 210, 82, 211, 102, 223, 103, 224, 104, 225, 105, 226, 106, 227, 107,
            228, 108, 229, 109, 220, 100, 221, 101, 222, 113, 234, 114, 235, 115, 236, 116, 237,
            117, 238, 118, 239, 119, 230, 110, 231, 111, 232, 112, 233,
        ];
        assert_eq!(
            client_config_str(&format!("{}version=0", servers(0..=255))),
            format!("0 {}", ports(&all))
        );
    }

    #[test]
    fn client_hosts_in_java_form() {
        assert_eq!(
            client_config_str(
                "server.1=[::1]:1:2;[::1]:2181\nserver.2=h:1:2;[::ffff:10.0.0.1]:5\n\
                 server.3=h:1:2;:7\nserver.4=h:1:2;LocalHost:8\nversion=a"
            ),
            "a 10.0.0.1:5,0:0:0:0:0:0:0:1:2181,LocalHost:8,localhost:7"
        );
    }

    #[test]
    fn refused_lines_are_left_out() {
        // Only server.10 (role with blanks) and server.9 (empty client part) are accepted.
        assert_eq!(
            client_config_str(
                "server.1=h:1:1;1\nserver.2=h:1:2|h:3:4;2\nserver.3=h:1:2:voter;3\n\
                 server.4=h:1:2;x\nserver.5=h:1:2; 5\nserver.6=h:1:2;6;7\nserver.7=h:1:2;a:b:7\n\
                 server.8=h:1\nserver.9=h:1:2;\nserver.10=h:1:2: observer ;10"
            ),
            " 0.0.0.0:10,"
        );
    }

    #[test]
    fn properties_syntax_and_repeated_keys() {
        assert_eq!(
            client_config_str(
                "# comment\n  server.1 = h:1:2;1  \n! other\nserver.2:h:1:2;2\nserver.3 h:1:2;3\n\
                 server.4=h:1:\\\n   2;4\nversion = 1f \nserver.1=h:1:2;11\n\
                 ser\\u0076er.5=h:1:2;5\r\nserver.6\t=\t=h:1:2;6\n"
            ),
            "1f 0.0.0.0:2,0.0.0.0:11,0.0.0.0:6,0.0.0.0:5,0.0.0.0:4,0.0.0.0:3"
        );
    }
}
