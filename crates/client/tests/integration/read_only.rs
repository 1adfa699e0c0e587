//! Read-only mode: a client that allows it is served reads by an ensemble member cut off from its
//! quorum, and moves to a read-write server by itself as soon as one is there, either because the
//! member regains its quorum or because its own search (`isro`) finds one in the connect string.
//!
//! Run against a real ZooKeeper quorum (the harness passes `readonlymode.enabled` to its JVMs as
//! the system property QuorumPeer reads) and a Ferrokeeper ensemble, each test on ensembles of its
//! own (it kills members).

use client::{Client, CreateOptions, Error, SessionState};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use testkit::proxy::Proxy;
use testkit::suite::{runtime, shared_ensemble};
use testkit::{ServerConfig, Target, TestEnsemble};
use tokio::sync::broadcast;

/// Generous for a busy 2-core machine; the client normally gets there within a few seconds.
const REACH_READ_WRITE_WITHIN: Duration = Duration::from_secs(30);

/// Upper bound for each phase of a test run on the runtime, so a hang fails instead of sticking.
const PHASE_LIMIT: Duration = Duration::from_secs(60);

async fn limited<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(PHASE_LIMIT, fut)
        .await
        .unwrap_or_else(|_| panic!("{what} took longer than {PHASE_LIMIT:?}"))
}

/// Runs `body` against `target`. Each test starts the ensembles it needs itself, so it takes
/// neither the suite's shared server nor a root node.
fn on_own_ensembles(target: Target, _name: &str, body: fn(Target)) {
    body(target);
}

/// A 3-member ensemble of `target` with `readonlymode.enabled` (and local sessions), whose
/// member 2 is left alone (members 0 and 1 killed) and has gone read-only. `/ro` holds `v`.
fn ensemble_with_a_read_only_survivor(
    rt: &tokio::runtime::Runtime,
    target: Target,
) -> TestEnsemble {
    let mut config = match target {
        Target::Ferrokeeper => {
            ServerConfig::default().with_binary(testkit::target::ferrokeeper_binary())
        }
        Target::ZooKeeper => ServerConfig::default(),
    };
    config
        .extra
        .push(("readonlymode.enabled".into(), "true".into()));
    // Since 3.7 (ZOOKEEPER-3863) a read-only ZooKeeper member opens new sessions only as local
    // sessions: without this it answers a read-only client's handshake with a NOTREADONLY reply
    // header instead of a session.
    config
        .extra
        .push(("localSessionsEnabled".into(), "true".into()));
    let mut ensemble = TestEnsemble::start(target, 3, &config).expect("ensemble");
    let connect_string = ensemble.connect_string();
    rt.block_on(limited("writing /ro", async {
        let zk = Client::connect(&connect_string).await.expect("connect");
        zk.create("/ro", b"v", &CreateOptions::persistent())
            .await
            .expect("create /ro");
        zk.close().await.expect("close");
    }));
    ensemble.members[0].kill();
    ensemble.members[1].kill();
    let survivor = ensemble.members[2].addr();
    wait_isro(survivor, "ro", "the lone member to go read-only");
    ensemble
}

/// Polls `isro` on `addr` until it answers `want`.
fn wait_isro(addr: SocketAddr, want: &str, what: &str) {
    let deadline = Instant::now() + PHASE_LIMIT;
    loop {
        let answer = testkit::four_letter::send(addr, "isro", Duration::from_secs(2));
        if answer.as_deref().is_ok_and(|a| a.trim() == want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: isro answered {answer:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A read-only client on `connect_string`, checked to be on `expected` read-only: reads work and
/// writes fail with NotReadOnly.
async fn read_only_client(connect_string: &str, expected: SocketAddr) -> Client {
    let ro = Client::builder()
        .read_only(true)
        .session_timeout(Duration::from_secs(10))
        .connect(connect_string)
        .await
        .expect("read-only connect");
    assert_eq!(ro.state(), SessionState::ConnectedReadOnly);
    assert_eq!(ro.session().server, Some(expected.to_string()));
    assert!(ro.exists("/").await.expect("a read").is_some());
    assert_eq!(
        ro.create("/refused", b"", &CreateOptions::persistent())
            .await,
        Err(Error::NotReadOnly)
    );
    ro
}

/// Waits until `ro` is connected read-write, then checks the states it went through: out of
/// read-only, never expired, ending connected.
async fn wait_read_write(ro: &Client, mut states: broadcast::Receiver<SessionState>) {
    let start = Instant::now();
    let mut rx = ro.state_watch();
    tokio::time::timeout(
        REACH_READ_WRITE_WITHIN,
        rx.wait_for(|s| *s == SessionState::Connected || s.is_terminal()),
    )
    .await
    .unwrap_or_else(|_| panic!("still {:?} after {REACH_READ_WRITE_WITHIN:?}", ro.state()))
    .expect("state channel");
    eprintln!("read-write after {:?}", start.elapsed());
    let mut seen = Vec::new();
    while let Ok(s) = states.try_recv() {
        seen.push(s);
    }
    assert_eq!(seen.first(), Some(&SessionState::Disconnected), "{seen:?}");
    assert_eq!(seen.last(), Some(&SessionState::Connected), "{seen:?}");
    assert!(!seen.iter().any(|s| s.is_terminal()), "{seen:?}");
}

/// Sets `path` to `data`, retrying connection losses (a fresh quorum may still be settling its
/// leader) for at most `REACH_READ_WRITE_WITHIN`; any other error fails.
async fn write_eventually(zk: &Client, path: &str, data: &[u8]) {
    let deadline = Instant::now() + REACH_READ_WRITE_WITHIN;
    loop {
        match zk.set_data(path, data, None).await {
            Ok(_) => return,
            Err(Error::ConnectionLoss) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("write to {path} failed: {e}"),
        }
    }
}

fn read_only_session_reaches_the_quorum_when_it_returns(target: Target) {
    let rt = runtime();
    let mut ensemble = ensemble_with_a_read_only_survivor(&rt, target);
    let survivor = ensemble.members[2].addr();
    let connect_string = ensemble.connect_string();
    let (ro, states) = rt.block_on(limited("the read-only session", async {
        let ro = read_only_client(&connect_string, survivor).await;
        let (data, _) = ro
            .get_data("/ro")
            .await
            .expect("read on the read-only member");
        assert_eq!(data, b"v");
        let states = ro.state_events();
        (ro, states)
    }));
    let read_only_session = ro.session_id();

    // A member returns and the survivor has its quorum again; nobody touches the client.
    ensemble.members[1].restart().expect("restart member 1");
    rt.block_on(limited("moving to read-write", async {
        wait_read_write(&ro, states).await;
        // The read-only session was the survivor's own: the quorum never knew it, so the
        // client asked for a new one rather than being told it expired.
        assert_ne!(ro.session_id(), read_only_session);
        write_eventually(&ro, "/ro", b"w").await;
        let (data, _) = ro.get_data("/ro").await.expect("read back");
        assert_eq!(data, b"w");
        ro.close().await.expect("close");
    }));
}

fn read_only_session_finds_a_read_write_server_in_its_connect_string(target: Target) {
    let rt = runtime();
    let ensemble = ensemble_with_a_read_only_survivor(&rt, target);
    let survivor = ensemble.members[2].addr();
    // The read-write server is another one altogether (the ensemble's lost members cannot come
    // back without giving the survivor its quorum again), behind a proxy that refuses
    // connections until it is opened. It is a member of another ensemble rather than a
    // standalone server: ZooKeeper's zxids carry the leader's epoch in their high 32 bits, and a
    // standalone ZooKeeper stays in epoch 0, behind anything an ensemble ever served.
    let rw = shared_ensemble(target).addr;
    let root = testkit::unique_root("read_only_search");
    let (proxy, ro, states) = rt.block_on(limited("the read-only session", async {
        let proxy = Proxy::start(rw).await;
        proxy.set_blocked(true);
        let ro =
            read_only_client(&format!("{survivor},{}", proxy.connect_string()), survivor).await;
        // Both servers are ahead of the client: a server behind the last zxid it saw would
        // refuse it (ZooKeeper does the same). The writer uses the proxied member alone, so
        // the zxids it sees are that member's.
        let writer = Client::connect(&rw.to_string()).await.expect("connect");
        writer
            .create(&root, b"", &CreateOptions::persistent())
            .await
            .expect("create root");
        assert!(
            writer.last_zxid() >> 32 >= ro.last_zxid() >> 32,
            "the read-write ensemble (zxid {:#x}) is in an earlier epoch than the read-only \
             member (zxid {:#x}): no number of writes gets it ahead",
            writer.last_zxid(),
            ro.last_zxid()
        );
        while writer.last_zxid() <= ro.last_zxid() {
            writer.set_data(&root, b"", None).await.expect("set_data");
        }
        writer.close().await.expect("close");
        let states = ro.state_events();
        (proxy, ro, states)
    }));

    proxy.set_blocked(false);
    rt.block_on(limited("moving to read-write", async {
        wait_read_write(&ro, states).await;
        assert_eq!(ro.session().server, Some(proxy.connect_string()));
        ro.create(&format!("{root}/moved"), b"", &CreateOptions::persistent())
            .await
            .expect("write on the read-write server");
        ro.close().await.expect("close");
    }));
    // The survivor never stopped being read-only: the client left it on its own.
    wait_isro(survivor, "ro", "the survivor to still be read-only");
    drop(ensemble);
}

testkit::both_targets!(
    crate::read_only::on_own_ensembles;
    read_only_session_reaches_the_quorum_when_it_returns,
    read_only_session_finds_a_read_write_server_in_its_connect_string,
);
