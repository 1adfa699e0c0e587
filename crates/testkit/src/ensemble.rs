//! A real ensemble on loopback: one server process per member, each with its own data directory,
//! `myid` and client port, for failover and partition tests against Ferrokeeper or ZooKeeper
//! (whose members run as `QuorumPeerMain`, so it is the reference's own quorum).

use crate::server::{free_port, HarnessError, TestServer, READY_TIMEOUT};
use crate::shared::SharedServer;
use crate::{four_letter, ServerConfig, Target};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// A running ensemble. Dropping it kills every member.
#[derive(Debug)]
pub struct TestEnsemble {
    /// Member `i` has `myid` `i + 1`.
    pub members: Vec<TestServer>,
}

impl TestEnsemble {
    /// Starts `size` members of `target` and waits until every one serves sessions.
    pub fn start(target: Target, size: usize, config: &ServerConfig) -> Result<Self, HarnessError> {
        Self::start_with_observers(target, size, 0, config)
    }

    /// Like [`TestEnsemble::start`], plus `observers` non-voting members after the participants.
    pub fn start_with_observers(
        target: Target,
        participants: usize,
        observers: usize,
        config: &ServerConfig,
    ) -> Result<Self, HarnessError> {
        let size = participants + observers;
        let io = |context: &str| {
            let context = context.to_owned();
            move |source| HarnessError::Io { context, source }
        };
        let mut config = config.clone();
        let mut client_ports = Vec::with_capacity(size);
        for id in 1..=size {
            let quorum = free_port().map_err(io("finding a quorum port"))?;
            let election = free_port().map_err(io("finding an election port"))?;
            let role = if id > participants { ":observer" } else { "" };
            config.extra.push((
                format!("server.{id}"),
                format!("127.0.0.1:{quorum}:{election}{role}"),
            ));
            client_ports.push(free_port().map_err(io("finding a client port"))?);
        }
        if size == 1 {
            // One `server.1` line alone means standalone to ZooKeeper and to Ferrokeeper; this
            // asks both for a quorum peer of one instead.
            config
                .extra
                .push(("standaloneEnabled".into(), "false".into()));
        }
        config.extra.push(("initLimit".into(), "10".into()));
        config.extra.push(("syncLimit".into(), "5".into()));
        let mut members = Vec::with_capacity(size);
        for (i, port) in client_ports.into_iter().enumerate() {
            members.push(TestServer::spawn_member(
                target,
                &config,
                port,
                i as u64 + 1,
            )?);
        }
        for member in &mut members {
            member.wait_ready(READY_TIMEOUT)?;
        }
        Ok(Self { members })
    }

    /// `127.0.0.1:p1,127.0.0.1:p2,...` for every member.
    pub fn connect_string(&self) -> String {
        self.members
            .iter()
            .map(|m| m.addr().to_string())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The `Mode:` line of member `i`'s `srvr`, if it answers and serves.
    pub fn mode(&self, i: usize) -> Option<String> {
        let text =
            four_letter::send(self.members[i].addr(), "srvr", Duration::from_secs(2)).ok()?;
        text.lines()
            .find_map(|l| l.strip_prefix("Mode: "))
            .map(str::to_owned)
    }

    /// The index of the member that says it leads, waiting up to `timeout` for one.
    pub fn wait_leader(&self, timeout: Duration) -> Option<usize> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(i) = (0..self.members.len()).find(|&i| {
                self.members[i].pid().is_some() && self.mode(i).as_deref() == Some("leader")
            }) {
                return Some(i);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills member `i` with SIGKILL, as a crash would; the others go on (idempotent).
    pub fn kill(&mut self, i: usize) {
        self.members[i].kill();
    }

    /// Starts member `i` again on its port, config and data directory, and waits until it serves
    /// sessions (which needs a quorum of running members, itself included).
    pub fn restart(&mut self, i: usize) -> Result<(), HarnessError> {
        self.members[i].restart()
    }

    /// Waits up to `timeout` until a leader leads and every running member says in `srvr` that it
    /// leads, follows or observes: the ensemble serves again after a start, kill or restart.
    pub fn wait_serving(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let running: Vec<usize> = (0..self.members.len())
                .filter(|&i| self.members[i].is_running())
                .collect();
            let modes: Vec<Option<String>> = running.iter().map(|&i| self.mode(i)).collect();
            let has_leader = modes.iter().any(|m| m.as_deref() == Some("leader"));
            let all_serve = modes
                .iter()
                .all(|m| matches!(m.as_deref(), Some("leader" | "follower" | "observer")));
            if has_leader && all_serve {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The index of the member whose client address is `addr` (`host:port`, as a client reports
    /// its server).
    pub fn member_at(&self, addr: &str) -> Option<usize> {
        let addr: SocketAddr = addr.parse().ok()?;
        self.members.iter().position(|m| m.addr() == addr)
    }

    /// What a suite's test context needs to reach this ensemble: every member's address and the
    /// members' settings.
    pub fn as_shared(&self) -> SharedServer {
        SharedServer {
            target: self.members[0].target(),
            addr: self.members[0].addr(),
            config: self.members[0].config().clone(),
            members: self.members.iter().map(TestServer::addr).collect(),
        }
    }
}
