//! `server.N=host:quorumPort:electionPort[:participant|observer][;[clientHost:]clientPort]` lines.

use std::fmt;

/// Whether an ensemble member votes. `conf` prints the ordinal (`peerType=0` or `1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LearnerType {
    /// Votes in elections and on proposals.
    #[default]
    Participant,
    /// Replicates and serves clients, never votes.
    Observer,
}

impl LearnerType {
    /// ZooKeeper's `LearnerType.ordinal()`, printed by `conf` as `peerType`.
    pub fn ordinal(self) -> u8 {
        match self {
            LearnerType::Participant => 0,
            LearnerType::Observer => 1,
        }
    }

    /// The word used in `server.N` lines.
    pub fn name(self) -> &'static str {
        match self {
            LearnerType::Participant => "participant",
            LearnerType::Observer => "observer",
        }
    }

    /// Parses `participant` or `observer`, ignoring case and surrounding blanks as ZooKeeper does.
    pub fn parse(s: &str) -> Option<LearnerType> {
        match s.trim().to_ascii_lowercase().as_str() {
            "participant" => Some(LearnerType::Participant),
            "observer" => Some(LearnerType::Observer),
            _ => None,
        }
    }
}

/// Where an ensemble member takes client connections (the part after `;`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAddress {
    /// As written; `0.0.0.0` when the line gave only a port, as in ZooKeeper.
    pub host: String,
    /// The client port.
    pub port: u16,
}

/// One `server.N` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumServer {
    /// The `N` of `server.N`, matched against `myid`.
    pub id: u64,
    /// Host name or address literal as written (IPv6 without its brackets).
    pub host: String,
    /// Port followers connect to the leader on.
    pub quorum_port: u16,
    /// Port for leader election.
    pub election_port: u16,
    /// Voter or observer.
    pub learner_type: LearnerType,
    /// Client address, if the line has a `;` part.
    pub client: Option<ClientAddress>,
}

const WRONG_FORMAT: &str = "does not have the form host:quorumPort:electionPort[:participant|observer][;[clientHost:]clientPort]";

impl QuorumServer {
    /// Parses the value of `server.<id>`; the error is the reason, for the caller to wrap with the key.
    pub fn parse(id: u64, value: &str) -> Result<QuorumServer, String> {
        let mut halves = value.split(';');
        let server_part = halves.next().unwrap_or_default().trim();
        let client_part = halves.next().map(str::trim).filter(|s| !s.is_empty());
        if halves.next().is_some() {
            return Err(WRONG_FORMAT.to_owned());
        }
        if server_part.contains('|') {
            return Err("multiple addresses per server are not supported".to_owned());
        }
        let parts = host_and_ports(server_part)?;
        if !(3..=4).contains(&parts.len()) {
            return Err(WRONG_FORMAT.to_owned());
        }
        let host = parts[0].to_owned();
        if host.is_empty() {
            return Err(format!("empty host; {WRONG_FORMAT}"));
        }
        let quorum_port = parse_port(parts[1], "quorum port")?;
        let election_port = parse_port(parts[2], "election port")?;
        if quorum_port == election_port {
            return Err(format!(
                "quorum port and election port must be different (both {quorum_port})"
            ));
        }
        let learner_type = match parts.get(3) {
            Some(word) => LearnerType::parse(word)
                .ok_or_else(|| format!("unrecognised peer type `{word}`"))?,
            None => LearnerType::Participant,
        };
        let client = client_part.map(parse_client).transpose()?;
        Ok(QuorumServer {
            id,
            host,
            quorum_port,
            election_port,
            learner_type,
            client,
        })
    }
}

/// ZooKeeper's `QuorumServer.toString()`: what `conf` prints after `server.N=`.
impl fmt::Display for QuorumServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}:{}",
            delimited(&self.host),
            self.quorum_port,
            self.election_port,
            self.learner_type.name()
        )?;
        if let Some(client) = &self.client {
            write!(f, ";{}:{}", delimited(&client.host), client.port)?;
        }
        Ok(())
    }
}

fn delimited(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

/// Splits on `:`, keeping a bracketed IPv6 host whole.
fn host_and_ports(s: &str) -> Result<Vec<&str>, String> {
    if let Some(rest) = s.strip_prefix('[') {
        let close = rest
            .find(']')
            .ok_or_else(|| format!("unclosed `[` in `{s}`"))?;
        let host = &rest[..close];
        let after = &rest[close + 1..];
        let mut parts = vec![host];
        if !after.is_empty() {
            let ports = after
                .strip_prefix(':')
                .ok_or_else(|| format!("expected `:` after `]` in `{s}`"))?;
            parts.extend(ports.split(':'));
        }
        Ok(parts)
    } else {
        Ok(s.split(':').collect())
    }
}

fn parse_client(s: &str) -> Result<ClientAddress, String> {
    let parts = host_and_ports(s)?;
    match parts.as_slice() {
        [port] => Ok(ClientAddress {
            host: "0.0.0.0".to_owned(),
            port: parse_port(port, "client port")?,
        }),
        [host, port] if !host.is_empty() => Ok(ClientAddress {
            host: (*host).to_owned(),
            port: parse_port(port, "client port")?,
        }),
        _ => Err(WRONG_FORMAT.to_owned()),
    }
}

fn parse_port(s: &str, what: &str) -> Result<u16, String> {
    s.trim()
        .parse::<u16>()
        .map_err(|_| format!("{what} `{s}` is not a port number (0-65535)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_line_is_a_participant_without_client_address() {
        let s = QuorumServer::parse(1, "zk1.example:2888:3888").unwrap();
        assert_eq!(s.id, 1);
        assert_eq!(s.host, "zk1.example");
        assert_eq!((s.quorum_port, s.election_port), (2888, 3888));
        assert_eq!(s.learner_type, LearnerType::Participant);
        assert_eq!(s.client, None);
        assert_eq!(s.to_string(), "zk1.example:2888:3888:participant");
    }

    #[test]
    fn observer_with_client_port_only_binds_all_interfaces() {
        let s = QuorumServer::parse(4, "127.0.0.1:23884:23894:Observer ;22924").unwrap();
        assert_eq!(s.learner_type, LearnerType::Observer);
        assert_eq!(
            s.client,
            Some(ClientAddress {
                host: "0.0.0.0".to_owned(),
                port: 22924
            })
        );
        // Shape captured from ZooKeeper 3.8's `conf`.
        assert_eq!(
            s.to_string(),
            "127.0.0.1:23884:23894:observer;0.0.0.0:22924"
        );
    }

    #[test]
    fn client_host_and_port() {
        let s =
            QuorumServer::parse(3, "127.0.0.1:23883:23893:participant;127.0.0.1:22923").unwrap();
        assert_eq!(
            s.to_string(),
            "127.0.0.1:23883:23893:participant;127.0.0.1:22923"
        );
    }

    #[test]
    fn bracketed_ipv6_hosts() {
        let s = QuorumServer::parse(2, "[::1]:2888:3888;[::1]:2181").unwrap();
        assert_eq!(s.host, "::1");
        assert_eq!(s.client.as_ref().map(|c| c.host.as_str()), Some("::1"));
        assert_eq!(s.to_string(), "[::1]:2888:3888:participant;[::1]:2181");
    }

    #[test]
    fn trailing_semicolon_means_no_client_address() {
        let s = QuorumServer::parse(1, "h:1:2;").unwrap();
        assert_eq!(s.client, None);
    }

    #[test]
    fn malformed_lines_are_rejected_with_a_reason() {
        let cases = [
            ("h:2888", "does not have the form"),
            ("h:1:2:participant:extra", "does not have the form"),
            ("h:1:2;3;4", "does not have the form"),
            ("h:x:3888", "quorum port `x`"),
            ("h:2888:70000", "election port `70000`"),
            ("h:2888:2888", "must be different"),
            ("h:1:2:voter", "unrecognised peer type `voter`"),
            ("h:1:2;host:port", "client port `port`"),
            ("h:1:2;a:b:3", "does not have the form"),
            ("h:1:2|h2:3:4", "multiple addresses"),
            ("[::1:1:2", "unclosed"),
            ("[::1]x:1:2", "expected `:`"),
            (":1:2", "empty host"),
        ];
        for (value, expected) in cases {
            let err = QuorumServer::parse(1, value).unwrap_err();
            assert!(
                err.contains(expected),
                "{value}: got `{err}`, wanted `{expected}`"
            );
        }
    }

    #[test]
    fn learner_type_ordinals_match_zookeeper() {
        assert_eq!(LearnerType::Participant.ordinal(), 0);
        assert_eq!(LearnerType::Observer.ordinal(), 1);
        assert_eq!(
            LearnerType::parse(" OBSERVER "),
            Some(LearnerType::Observer)
        );
        assert_eq!(LearnerType::parse("leader"), None);
    }
}
