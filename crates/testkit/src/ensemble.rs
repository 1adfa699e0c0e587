//! A real ensemble on loopback: one server process per member, each with its own data directory,
//! `myid` and client port, for failover and partition tests against Ferrokeeper or ZooKeeper.

use crate::server::{free_port, HarnessError, TestServer, READY_TIMEOUT};
use crate::{four_letter, ServerConfig, Target};
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
}
