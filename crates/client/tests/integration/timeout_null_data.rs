//! The request timeout (a request unanswered in time fails with `RequestTimeout` and the
//! connection is dropped, as ZooKeeper's client does with `zookeeper.request.timeout`) and null
//! data (`create`/`setData` with a null buffer, told apart from empty data on the way back).

use crate::common::{both_targets, drain_states, run, wait_state, Ctx};
use bytes::Buf;
use client::{Client, CreateOptions, Error, EventType, SessionState};
use jute::proto::RequestHeader;
use jute::{OpCode, Reader, Record};
use std::time::{Duration, Instant};
use testkit::proxy::Proxy;
use testkit::Target;

/// Long enough that the client's own silence detection (2/3 of it) cannot be what ends the
/// connection in these tests.
const LONG_SESSION: Duration = Duration::from_secs(20);

async fn unanswered_request_times_out_and_drops_the_connection(ctx: Ctx) {
    let limit = Duration::from_millis(800);
    let proxy = Proxy::start(ctx.server.addr).await;
    let c = ctx
        .client_with(
            Client::builder()
                .session_timeout(LONG_SESSION)
                .request_timeout(limit),
            &proxy.connect_string(),
        )
        .await;
    let id = c.session_id();
    let eph = ctx.path("eph");
    c.create(&eph, b"", &CreateOptions::ephemeral())
        .await
        .unwrap();
    let mut states = c.state_events();

    // Answered requests never trip the timeout, however many are in flight.
    let burst: Vec<_> = (0..200)
        .map(|_| {
            let (c, p) = (c.clone(), ctx.root.clone());
            tokio::spawn(async move { c.exists(&p).await })
        })
        .collect();
    for r in burst {
        assert!(r.await.unwrap().unwrap().is_some());
    }
    assert_eq!(drain_states(&mut states), [], "no reconnect while answered");

    proxy.freeze();
    let started = Instant::now();
    let first = {
        let c = c.clone();
        let p = ctx.root.clone();
        tokio::spawn(async move { (c.get_data(&p).await, started.elapsed()) })
    };
    // Sent well after the first, so the first one's timeout ends the connection while this
    // one still has time left: it fails as a connection loss, not as a timeout.
    tokio::time::sleep(limit / 2).await;
    let second = c.exists(&ctx.root).await;
    let (first, waited) = first.await.unwrap();
    assert_eq!(first.map(drop), Err(Error::RequestTimeout));
    assert!(
        waited >= limit && waited < limit + Duration::from_millis(1500),
        "timed out after {waited:?} for a limit of {limit:?}"
    );
    assert_eq!(second.map(drop), Err(Error::ConnectionLoss));

    // The session lives on over a new connection, with its ephemeral node.
    wait_state(&c, SessionState::Connected).await;
    assert_eq!(
        drain_states(&mut states),
        [SessionState::Disconnected, SessionState::Connected]
    );
    assert_eq!(proxy.accepted(), 2, "one reconnect");
    assert_eq!(c.session_id(), id);
    let stat = c.exists(&eph).await.unwrap().expect("ephemeral survives");
    assert_eq!(stat.ephemeral_owner, id);
}

/// A proxy that holds every new connection for `delay` before connecting it upstream, so the
/// client sits in a connection attempt that will succeed.
struct SlowProxy {
    addr: std::net::SocketAddr,
    kill: tokio::sync::broadcast::Sender<()>,
}

impl SlowProxy {
    async fn start(upstream: std::net::SocketAddr, delay: Duration) -> SlowProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (kill, _) = tokio::sync::broadcast::channel(4);
        let k = kill.clone();
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let mut killed = k.subscribe();
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = killed.recv() => {}
                    }
                });
            }
        });
        SlowProxy { addr, kill }
    }

    /// Closes every forwarded connection.
    fn drop_connections(&self) {
        let _ = self.kill.send(());
    }
}

/// A request that times out while the client is still connecting is never sent: its caller
/// was told it failed, so it must not take effect later.
async fn request_timed_out_while_connecting_is_not_sent_later(ctx: Ctx) {
    let limit = Duration::from_millis(500);
    let proxy = SlowProxy::start(ctx.server.addr, Duration::from_millis(2000)).await;
    let c = ctx
        .client_with(
            Client::builder()
                .session_timeout(LONG_SESSION)
                .request_timeout(limit),
            &proxy.addr.to_string(),
        )
        .await;
    let id = c.session_id();
    proxy.drop_connections();
    wait_state(&c, SessionState::Disconnected).await;
    let late = ctx.path("late");
    let started = Instant::now();
    assert_eq!(
        c.create(&late, b"", &CreateOptions::persistent())
            .await
            .map(drop),
        Err(Error::RequestTimeout)
    );
    assert!(started.elapsed() < limit + Duration::from_millis(1000));
    assert_eq!(c.state(), SessionState::Disconnected, "still connecting");
    wait_state(&c, SessionState::Connected).await;
    assert_eq!(c.session_id(), id);
    c.sync(&ctx.root).await.unwrap();
    assert_eq!(
        c.exists(&late).await.unwrap(),
        None,
        "the timed-out create went out"
    );
}

/// Without a request timeout, a request waits for as long as the connection lives: the client
/// drops a silent connection only after 2/3 of the session timeout, with `ConnectionLoss`.
async fn without_request_timeout_a_silent_server_means_connection_loss(ctx: Ctx) {
    let proxy = Proxy::start(ctx.server.addr).await;
    let c = ctx
        .client_with(
            Client::builder().session_timeout(Duration::from_secs(3)),
            &proxy.connect_string(),
        )
        .await;
    proxy.freeze();
    let started = Instant::now();
    assert_eq!(
        c.get_data(&ctx.root).await.map(drop),
        Err(Error::ConnectionLoss)
    );
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "gave up after {:?}, before any timeout could apply",
        started.elapsed()
    );
}

/// The body of every `op` request the client sent through `proxy`, in order.
fn bodies(proxy: &Proxy, op: OpCode) -> Vec<bytes::Bytes> {
    proxy
        .frames()
        .into_iter()
        .filter_map(|(_, frame)| {
            let mut r = Reader::new(frame.clone());
            let h = RequestHeader::decode(&mut r).ok()?;
            (h.op == op.as_i32()).then(|| frame.slice(8..))
        })
        .collect()
}

/// The data buffer's length field in a create or setData body (it follows the path).
fn data_length_field(body: &bytes::Bytes) -> i32 {
    let mut b = body.clone();
    let path_len = b.get_i32();
    b.advance(path_len as usize);
    b.get_i32()
}

/// Null data goes on the wire as length −1, is accepted by the server, and counts as no data
/// in the stat; the plain `get_data` reads it as empty.
async fn null_data_is_sent_as_null(ctx: Ctx) {
    let proxy = Proxy::start(ctx.server.addr).await;
    let c = ctx
        .client_with(Client::builder(), &proxy.connect_string())
        .await;
    let n = ctx.path("null");
    let (_, stat) = c
        .create_opt(&n, None, &CreateOptions::persistent())
        .await
        .unwrap();
    assert_eq!((stat.data_length, stat.version), (0, 0));
    let (data, _) = c.get_data(&n).await.unwrap();
    assert!(data.is_empty());

    let stat = c.set_data_opt(&n, Some(b"x"), Some(0)).await.unwrap();
    assert_eq!((stat.data_length, stat.version), (1, 1));
    let stat = c.set_data_opt(&n, None, Some(1)).await.unwrap();
    assert_eq!((stat.data_length, stat.version), (0, 2));
    assert_eq!(c.exists(&n).await.unwrap(), Some(stat));
    // A version check still applies to a null set.
    assert_eq!(
        c.set_data_opt(&n, None, Some(1)).await.map(drop),
        Err(Error::BadVersion)
    );

    let e = ctx.path("empty");
    c.create_opt(&e, Some(b""), &CreateOptions::persistent())
        .await
        .unwrap();

    let creates = bodies(&proxy, OpCode::Create2);
    let lengths: Vec<i32> = creates.iter().map(data_length_field).collect();
    assert_eq!(lengths, [-1, 0], "null create, then empty create");
    let sets = bodies(&proxy, OpCode::SetData);
    let lengths: Vec<i32> = sets.iter().map(data_length_field).collect();
    assert_eq!(lengths, [1, -1, -1]);
}

/// ZooKeeper 3.8 keeps null data apart from empty data: `getData` answers a null buffer
/// (length −1) for a node created or set with null data, an empty one for empty data.
async fn null_data_reads_back_as_null(ctx: Ctx) {
    let c = ctx.client().await;
    let n = ctx.path("null");
    c.create_opt(&n, None, &CreateOptions::persistent())
        .await
        .unwrap();
    let e = ctx.path("empty");
    c.create(&e, b"", &CreateOptions::persistent())
        .await
        .unwrap();
    let (data, stat) = c.get_data_opt(&n).await.unwrap();
    assert_eq!((data, stat.data_length), (None, 0));
    let (data, _) = c.get_data_opt(&e).await.unwrap();
    assert_eq!(data, Some(Vec::new()));
    let (data, _, watch) = c.get_data_opt_w(&n).await.unwrap();
    assert_eq!(data, None);

    c.set_data(&n, b"v", None).await.unwrap();
    assert_eq!(watch.await.event_type, EventType::NodeDataChanged);
    assert_eq!(c.get_data_opt(&n).await.unwrap().0, Some(b"v".to_vec()));
    c.set_data_opt(&e, None, None).await.unwrap();
    assert_eq!(c.get_data_opt(&e).await.unwrap().0, None);
    assert_eq!(
        c.get_data_opt(&ctx.path("missing")).await.map(drop),
        Err(Error::NoNode)
    );
}

both_targets!(
    unanswered_request_times_out_and_drops_the_connection,
    request_timed_out_while_connecting_is_not_sent_later,
    without_request_timeout_a_silent_server_means_connection_loss,
    null_data_is_sent_as_null,
);

#[test]
fn null_data_reads_back_as_null_on_zookeeper() {
    run(
        Target::ZooKeeper,
        "null_data_reads_back_as_null",
        null_data_reads_back_as_null,
    );
}

#[test]
fn null_data_reads_back_as_null_on_ferrokeeper() {
    run(
        Target::Ferrokeeper,
        "null_data_reads_back_as_null",
        null_data_reads_back_as_null,
    );
}
