//! One simulated ensemble member: the real Raft member (log store, snapshots, replication,
//! forwarding) over turmoil's network and an in-memory disk, plus a small client port that
//! proposes each request and answers when this member has applied it.

use crate::machine::{Machine, Reply, SimOp};
use consensus::raft::{
    Blocking, BoxFuture, EnsembleOptions, Environment, Member, PeerListener, PeerRead, PeerWrite,
    RaftConsensus, RaftStorage, Transport,
};
use consensus::{Clock, Consensus};
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use storage::fs::SharedFs;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Where members take Raft traffic.
pub const QUORUM_PORT: u16 = 9000;
/// Where members take simulated clients.
pub const CLIENT_PORT: u16 = 7000;
/// Members of the simulated ensemble: `m1`..`m3`.
pub const MEMBERS: u64 = 3;

/// turmoil's simulated TCP.
struct SimNet;

impl Transport for SimNet {
    fn connect<'a>(&'a self, addr: &'a str) -> BoxFuture<'a, io::Result<(PeerRead, PeerWrite)>> {
        Box::pin(async move {
            let stream = turmoil::net::TcpStream::connect(addr).await?;
            let (r, w) = stream.into_split();
            Ok((Box::new(r) as PeerRead, Box::new(w) as PeerWrite))
        })
    }

    fn listen(&self, addr: SocketAddr) -> BoxFuture<'_, io::Result<Box<dyn PeerListener>>> {
        Box::pin(async move {
            let listener = turmoil::net::TcpListener::bind(addr).await?;
            Ok(Box::new(SimListener(listener)) as Box<dyn PeerListener>)
        })
    }
}

struct SimListener(turmoil::net::TcpListener);

impl PeerListener for SimListener {
    fn accept(&mut self) -> BoxFuture<'_, io::Result<(PeerRead, PeerWrite, String)>> {
        Box::pin(async move {
            let (stream, peer) = self.0.accept().await?;
            let (r, w) = stream.into_split();
            Ok((
                Box::new(r) as PeerRead,
                Box::new(w) as PeerWrite,
                peer.to_string(),
            ))
        })
    }
}

/// The simulation's wall clock.
struct SimClock;

impl Clock for SimClock {
    fn now_ms(&self) -> i64 {
        turmoil::since_epoch().map_or(0, |d| d.as_millis() as i64)
    }
}

/// What the test driver can see of a running member: its machine (replaced on every restart).
pub type Slot = Arc<Mutex<Option<Arc<Machine>>>>;

/// Writes one length-prefixed postcard frame.
pub async fn write_frame<T: serde::Serialize>(
    w: &mut (impl AsyncWriteExt + Unpin),
    value: &T,
) -> io::Result<()> {
    let bytes = postcard::to_stdvec(value).map_err(io::Error::other)?;
    w.write_u32(bytes.len() as u32).await?;
    w.write_all(&bytes).await?;
    w.flush().await
}

/// Reads one frame written by [`write_frame`].
pub async fn read_frame<T: serde::de::DeserializeOwned>(
    r: &mut (impl AsyncReadExt + Unpin),
) -> io::Result<T> {
    let len = r.read_u32().await? as usize;
    if len > 1 << 16 {
        return Err(io::Error::other("frame too large"));
    }
    let mut bytes = vec![0u8; len];
    r.read_exact(&mut bytes).await?;
    postcard::from_bytes(&bytes).map_err(io::Error::other)
}

/// The member's software; turmoil calls it again after every restart. `fs` outlives restarts;
/// `rng_seed` differs per member and per boot, and follows from the simulation's seed.
pub async fn run(
    id: u64,
    fs: SharedFs,
    slot: Slot,
    snap_count: u64,
    rng_seed: u64,
) -> turmoil::Result {
    let env = Environment {
        transport: Arc::new(SimNet),
        fs,
        clock: Arc::new(SimClock),
        blocking: Blocking::Inline,
        rng_seed,
    };
    let dir = Path::new("/data/raft");
    let (storage, snapshot) = RaftStorage::open(dir, &env, storage::SegmentLayout::default())?;
    let machine = Machine::load(snapshot)?;
    *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::clone(&machine));
    let options = EnsembleOptions {
        my_id: id,
        members: (1..=MEMBERS)
            .map(|m| Member {
                id: m,
                addr: format!("m{m}:{QUORUM_PORT}"),
                voter: true,
            })
            .collect(),
        listen: SocketAddr::from(([0, 0, 0, 0], QUORUM_PORT)),
        dir: dir.to_owned(),
        snap_count,
        heartbeat: Duration::from_millis(30),
    };
    let raft: Arc<RaftConsensus<SimOp>> =
        Arc::new(RaftConsensus::start(options, storage, Arc::clone(&machine) as _).await?);
    let clients = turmoil::net::TcpListener::bind(("0.0.0.0", CLIENT_PORT)).await?;
    loop {
        let (stream, _) = clients.accept().await?;
        let raft = Arc::clone(&raft);
        let machine = Arc::clone(&machine);
        tokio::spawn(async move {
            let _ = serve_client(stream, raft, machine).await;
        });
    }
}

/// One client connection: a request at a time, answered once applied here.
async fn serve_client(
    mut stream: turmoil::net::TcpStream,
    raft: Arc<RaftConsensus<SimOp>>,
    machine: Arc<Machine>,
) -> io::Result<()> {
    loop {
        let op: SimOp = read_frame(&mut stream).await?;
        let answer = machine.expect(op.id);
        let reply = match raft.propose(Arc::new(op)) {
            Ok(()) => match answer.await {
                Ok(reply) => reply,
                // The machine was replaced; the client times out and counts it unknown.
                Err(_) => return Ok(()),
            },
            Err(_) => {
                machine.forget(op.id);
                Reply::NoQuorum
            }
        };
        write_frame(&mut stream, &reply).await?;
    }
}
