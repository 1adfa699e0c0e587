//! The ensemble's membership in `/zookeeper/config`, where `getConfig` (zkCli's `config`) reads it.
//!
//! ZooKeeper writes it outside the log: every member sets the node from its own configuration
//! when it starts (`QuorumPeerMain` → `ZKDatabase.initConfigInZKDatabase`), even with reconfig
//! disabled, and again after loading a snapshot, so the text survives restarts without a txn. A
//! standalone server leaves the node empty. Members with the same `server.N` lines render the same
//! text; only the node's mtime, the moment each member started, differs between them.

use crate::config::{QuorumServer, ServerConfig};
use consensus::{Clock, SystemClock};
use std::fmt::Write;
use std::net::{Ipv4Addr, Ipv6Addr};
use tree::DataTree;

/// The configuration version of a static zoo.cfg that was never reconfigured: `version=0`.
pub const STATIC_CONFIG_VERSION: i64 = 0;

/// ZooKeeper's `QuorumVerifier.toString()`: one `server.N=<spec>` line per member, then
/// `version=<hex>` without a final line break. `spec` is `QuorumServer.toString()`, which always
/// names the role and shows a client address only where the `server.N` line gave one.
///
/// ZooKeeper walks a `HashMap` keyed by server id, which for ids below 16 in ensembles of up to 12
/// is ascending id order; this is ascending id order always, the same order `conf` prints.
pub fn render(servers: &[QuorumServer], version: i64) -> String {
    let mut sorted: Vec<&QuorumServer> = servers.iter().collect();
    sorted.sort_by_key(|s| s.id);
    let mut text = String::new();
    for s in sorted {
        // Writing into a String cannot fail.
        let _ = write!(
            text,
            "server.{}={}:{}:{}:{}",
            s.id,
            delimited(&java_host_string(&s.host)),
            s.quorum_port,
            s.election_port,
            s.learner_type.name()
        );
        if let Some(client) = &s.client {
            let _ = write!(
                text,
                ";{}:{}",
                delimited(&java_host_string(&client.host)),
                client.port
            );
        }
        text.push('\n');
    }
    let _ = write!(text, "version={version:x}");
    text
}

/// How Java prints a host it was given as text (`InetSocketAddress.getHostString()`): an address
/// literal in Java's own form (IPv6 as eight uncompressed groups, IPv4-mapped IPv6 as IPv4), a
/// name as written.
fn java_host_string(host: &str) -> String {
    if let Ok(v4) = host.parse::<Ipv4Addr>() {
        return v4.to_string();
    }
    match host.parse::<Ipv6Addr>() {
        Ok(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let groups: Vec<String> = v6.segments().iter().map(|g| format!("{g:x}")).collect();
                groups.join(":")
            }
        },
        Err(_) => host.to_owned(),
    }
}

/// `QuorumServer.delimitedHostString`: IPv6 in brackets.
fn delimited(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

/// Puts this member's membership into `tree`'s `/zookeeper/config`, stamped with the wall clock;
/// a standalone server's tree is left alone.
pub fn init_config_node(tree: &mut DataTree, config: &ServerConfig) {
    if !crate::ensemble::is_ensemble(config) {
        return;
    }
    let text = render(&config.servers, STATIC_CONFIG_VERSION);
    tree.set_config_data(text.as_bytes(), STATIC_CONFIG_VERSION, SystemClock.now_ms());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(id: u64, value: &str) -> QuorumServer {
        QuorumServer::parse(id, value).expect("server line")
    }

    #[test]
    fn renders_what_a_zookeeper_member_stores() {
        // zoo.cfg lines of a real ZooKeeper 3.8 ensemble and the text its members stored in
        // /zookeeper/config (read back with zkCli `config`): the role is always named, the
        // client part only where the line has one, a bare client port binds 0.0.0.0.
        let servers = [
            line(3, "localhost:28883:38883:participant;127.0.0.1:27183"),
            line(1, "127.0.0.1:28881:38881"),
            line(2, "127.0.0.1:28882:38882;27182"),
        ];
        assert_eq!(
            render(&servers, 0),
            "server.1=127.0.0.1:28881:38881:participant\n\
             server.2=127.0.0.1:28882:38882:participant;0.0.0.0:27182\n\
             server.3=localhost:28883:38883:participant;127.0.0.1:27183\n\
             version=0"
        );
    }

    #[test]
    fn observers_address_literals_and_the_version_in_hex() {
        // Hosts as ZooKeeper 3.8's QuorumServer.toString() prints these lines: Java's form of
        // an address literal, names as written.
        let servers = [
            line(1, "[::1]:2888:3888;[::1]:2181"),
            line(2, "LocalHost:2888:3888:observer;[::ffff:10.0.0.1]:2181"),
            line(3, "[::ffff:127.0.0.1]:2888:3888;[0:0::1]:5"),
        ];
        assert_eq!(
            render(&servers, 0x1_0000_0003),
            "server.1=[0:0:0:0:0:0:0:1]:2888:3888:participant;[0:0:0:0:0:0:0:1]:2181\n\
             server.2=LocalHost:2888:3888:observer;10.0.0.1:2181\n\
             server.3=127.0.0.1:2888:3888:participant;[0:0:0:0:0:0:0:1]:5\n\
             version=100000003"
        );
    }

    #[test]
    fn only_ensemble_members_fill_the_node() {
        let member = ServerConfig::from_str_contents(
            "server.1=127.0.0.1:2888:3888\nserver.2=127.0.0.1:2889:3889\n",
        )
        .expect("config");
        let mut tree = DataTree::new();
        init_config_node(&mut tree, &member);
        let (data, stat) = tree.get_data("/zookeeper/config").expect("config node");
        assert_eq!(
            data.as_deref(),
            Some(
                &b"server.1=127.0.0.1:2888:3888:participant\n\
                   server.2=127.0.0.1:2889:3889:participant\nversion=0"[..]
            )
        );
        assert_eq!((stat.version, stat.mzxid), (-1, 0));
        assert!(stat.mtime > 0);

        let standalone = ServerConfig::from_str_contents("clientPort=2181\n").expect("config");
        let mut tree = DataTree::new();
        init_config_node(&mut tree, &standalone);
        let (data, stat) = tree.get_data("/zookeeper/config").expect("config node");
        assert_eq!(data.as_deref(), Some(&b""[..]));
        assert_eq!((stat.version, stat.mtime), (0, 0));
    }
}
