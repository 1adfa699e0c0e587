//! Parsing `host1:port1,host2:port2/chroot`, ZooKeeper's connect string.

use crate::error::Error;
use crate::path::Chroot;

/// ZooKeeper's client port, used when a host names none.
pub const DEFAULT_PORT: u16 = 2181;

/// One server of the connect string, resolved only when connecting (so DNS changes are seen).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostPort {
    pub(crate) host: String,
    pub(crate) port: u16,
}

impl std::fmt::Display for HostPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// A parsed connect string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConnectString {
    pub(crate) hosts: Vec<HostPort>,
    pub(crate) chroot: Chroot,
}

impl ConnectString {
    /// Parses `s`; the chroot starts at the first `/`.
    pub(crate) fn parse(s: &str) -> Result<ConnectString, Error> {
        let (hosts_part, chroot) = match s.find('/') {
            Some(i) => (&s[..i], Chroot::new(&s[i..])?),
            None => (s, Chroot::default()),
        };
        let mut hosts = Vec::new();
        for item in hosts_part.split(',') {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            hosts.push(parse_host(item)?);
        }
        if hosts.is_empty() {
            return Err(Error::invalid(format!(
                "connect string {s:?} names no server"
            )));
        }
        Ok(ConnectString { hosts, chroot })
    }
}

fn parse_host(item: &str) -> Result<HostPort, Error> {
    let bad = || Error::invalid(format!("invalid server address {item:?}"));
    // `[v6]:port` or `[v6]`.
    if let Some(rest) = item.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(bad)?;
        let port = match after {
            "" => DEFAULT_PORT,
            p => p
                .strip_prefix(':')
                .and_then(|p| p.parse().ok())
                .ok_or_else(bad)?,
        };
        return Ok(HostPort {
            host: host.to_string(),
            port,
        });
    }
    match item.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => Ok(HostPort {
            host: host.to_string(),
            port: port.parse().map_err(|_| bad())?,
        }),
        // A bare IPv6 address without brackets cannot carry a port.
        Some(_) => Ok(HostPort {
            host: item.to_string(),
            port: DEFAULT_PORT,
        }),
        None => Ok(HostPort {
            host: item.to_string(),
            port: DEFAULT_PORT,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hp(host: &str, port: u16) -> HostPort {
        HostPort {
            host: host.into(),
            port,
        }
    }

    #[test]
    fn hosts_and_chroot() {
        let c = ConnectString::parse("a:1,b:2/app/x").unwrap();
        assert_eq!(c.hosts, vec![hp("a", 1), hp("b", 2)]);
        assert_eq!(c.chroot.as_str(), Some("/app/x"));
    }

    #[test]
    fn default_port_and_no_chroot() {
        let c = ConnectString::parse("a,b:7").unwrap();
        assert_eq!(c.hosts, vec![hp("a", 2181), hp("b", 7)]);
        assert_eq!(c.chroot.as_str(), None);
        assert_eq!(ConnectString::parse("a:1/").unwrap().chroot.as_str(), None);
    }

    #[test]
    fn ipv6() {
        let c = ConnectString::parse("[::1]:5,[fe80::2]").unwrap();
        assert_eq!(c.hosts, vec![hp("::1", 5), hp("fe80::2", 2181)]);
        assert_eq!(c.hosts[0].to_string(), "[::1]:5");
    }

    #[test]
    fn rejects_garbage() {
        assert!(ConnectString::parse("").is_err());
        assert!(ConnectString::parse("/app").is_err());
        assert!(ConnectString::parse("a:x").is_err());
        assert!(ConnectString::parse("a:1/app/").is_err());
        assert!(ConnectString::parse("[::1").is_err());
    }
}
