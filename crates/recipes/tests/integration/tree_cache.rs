//! The tree cache converges to the server's subtree after random changes, after changes made
//! while its client was cut off and re-attached through another server address, and its
//! event stream always replays to the cache. A cache whose session expires mid-refresh or
//! mid-rebuild stops with its last state while a cache in a live session converges.

use crate::common::{both_targets, eventually, expire_doomed, wait_state, within, Ctx, Doomed};
use client::{Client, CreateMode, CreateOptions, SessionState};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use recipes::tree_cache::{CachedNode, TreeEvent};
use recipes::{Error, TreeCache};
use std::collections::BTreeMap;
use std::time::Duration;
use testkit::proxy::Proxy;

type Tree = BTreeMap<String, CachedNode>;

/// The server's subtree at `root`, read while nothing changes it.
async fn server_tree(zk: &Client, root: &str) -> Tree {
    zk.sync(root).await.unwrap();
    let mut out = Tree::new();
    let mut todo = vec![root.to_string()];
    while let Some(p) = todo.pop() {
        let (data, stat) = match zk.get_data(&p).await {
            Ok(r) => r,
            Err(client::Error::NoNode) => continue,
            Err(e) => panic!("{p}: {e}"),
        };
        for c in zk.get_children(&p).await.unwrap() {
            todo.push(format!("{p}/{c}"));
        }
        out.insert(p, CachedNode { data, stat });
    }
    out
}

/// What the events say: path → (data, czxid, mzxid).
type Mirror = BTreeMap<String, (Vec<u8>, i64, i64)>;

fn key(n: &CachedNode) -> (Vec<u8>, i64, i64) {
    (n.data.clone(), n.stat.czxid, n.stat.mzxid)
}

/// Applies every queued event to `mirror`, checking each makes sense; returns how many
/// `Initialized` events came.
fn drain(cache: &mut TreeCache, mirror: &mut Mirror) -> usize {
    let mut initialized = 0;
    while let Some(ev) = cache.try_next_event() {
        match ev {
            TreeEvent::Added { path, node } => {
                assert!(
                    mirror.insert(path.clone(), key(&node)).is_none(),
                    "{path} added twice"
                );
                let parent = &path[..path.rfind('/').unwrap()];
                assert!(
                    path == cache.root() || mirror.contains_key(parent),
                    "{path} added before its parent"
                );
            }
            TreeEvent::Updated { path, node } => {
                let old = mirror.insert(path.clone(), key(&node));
                assert!(old.is_some_and(|o| o != key(&node)), "{path}: empty update");
            }
            TreeEvent::Removed { path, node } => {
                assert_eq!(mirror.remove(&path), Some(key(&node)), "{path}");
                let below = format!("{path}/");
                assert!(
                    !mirror.keys().any(|k| k.starts_with(&below)),
                    "{path} removed before its children"
                );
            }
            TreeEvent::Initialized => initialized += 1,
        }
    }
    initialized
}

fn mirror_of(tree: &Tree) -> Mirror {
    tree.iter().map(|(p, n)| (p.clone(), key(n))).collect()
}

async fn converge(cache: &mut TreeCache, mirror: &mut Mirror, want: &Tree) {
    eventually(
        "cache equals the server",
        Duration::from_secs(10),
        || async { cache.snapshot() == *want },
    )
    .await;
    drain(cache, mirror);
    assert_eq!(
        *mirror,
        mirror_of(want),
        "events do not replay to the cache"
    );
}

/// Random creates, sets and deletes under `root`, the writer knowing the tree exactly.
async fn random_changes(zk: &Client, root: &str, rng: &mut StdRng, ops: usize, next: &mut usize) {
    let mut nodes: Vec<String> = server_tree(zk, root).await.into_keys().collect();
    for _ in 0..ops {
        let roll = rng.random_range(0..100);
        let data: Vec<u8> = (0..rng.random_range(0..12)).map(|_| rng.random()).collect();
        if roll < 45 || nodes.len() < 2 {
            let parent = nodes[rng.random_range(0..nodes.len())].clone();
            if parent.matches('/').count() > 5 {
                continue;
            }
            *next += 1;
            let mode = if rng.random_range(0..10) == 0 {
                CreateMode::PersistentSequential
            } else {
                CreateMode::Persistent
            };
            let (path, _) = zk
                .create(
                    &format!("{parent}/n{next}"),
                    &data,
                    &CreateOptions::persistent().with_mode(mode),
                )
                .await
                .unwrap();
            nodes.push(path);
        } else if roll < 80 {
            let node = &nodes[rng.random_range(0..nodes.len())];
            zk.set_data(node, &data, None).await.unwrap();
        } else {
            let leaves: Vec<usize> = (1..nodes.len())
                .filter(|&i| {
                    let below = format!("{}/", nodes[i]);
                    !nodes.iter().any(|n| n.starts_with(&below))
                })
                .collect();
            let i = leaves[rng.random_range(0..leaves.len())];
            zk.delete(&nodes[i], None).await.unwrap();
            nodes.swap_remove(i);
        }
    }
}

async fn converges_after_random_changes(ctx: Ctx) {
    let root = ctx.path("tree");
    let writer = ctx.client().await;
    // The root does not exist yet: the cache starts empty and picks it up.
    let mut cache = TreeCache::start(ctx.client().await, &root).await.unwrap();
    let mut mirror = Mirror::new();
    assert_eq!(drain(&mut cache, &mut mirror), 1);
    assert!(cache.snapshot().is_empty());

    writer
        .create(&root, b"r", &CreateOptions::persistent())
        .await
        .unwrap();
    let mut rng = StdRng::seed_from_u64(0x5eed);
    let mut next = 0;
    random_changes(&writer, &root, &mut rng, 150, &mut next).await;
    let want = server_tree(&writer, &root).await;
    assert!(want.len() > 10, "the random changes built a tree");
    converge(&mut cache, &mut mirror, &want).await;
    let kids = cache.children(&root);
    let mut server_kids = writer.get_children(&root).await.unwrap();
    server_kids.sort();
    assert_eq!(kids, server_kids);

    // A second cache starting on the populated tree adds everything, then says so.
    let mut second = TreeCache::start(ctx.client().await, &root).await.unwrap();
    let mut second_mirror = Mirror::new();
    assert_eq!(drain(&mut second, &mut second_mirror), 1);
    assert_eq!(second_mirror, mirror_of(&want));

    // Removing the whole tree, deepest first, empties the cache.
    let mut paths: Vec<String> = want.keys().cloned().collect();
    paths.sort_by_key(|p| std::cmp::Reverse(p.matches('/').count()));
    for p in paths {
        writer.delete(&p, None).await.unwrap();
    }
    converge(&mut cache, &mut mirror, &Tree::new()).await;
    assert!(mirror.is_empty());
}

async fn rebuilt_after_reconnect_elsewhere(ctx: Ctx) {
    let root = ctx.path("tree");
    let writer = ctx.client().await;
    writer
        .create(&root, b"", &CreateOptions::persistent())
        .await
        .unwrap();
    let mut rng = StdRng::seed_from_u64(42);
    let mut next = 0;
    random_changes(&writer, &root, &mut rng, 40, &mut next).await;

    let p1 = Proxy::start(ctx.server.addr).await;
    let p2 = Proxy::start(ctx.server.addr).await;
    let zk = ctx
        .client_with(
            Client::builder().session_timeout(Duration::from_millis(4000)),
            &format!("{},{}", p1.connect_string(), p2.connect_string()),
        )
        .await;
    let mut cache = TreeCache::start(zk.clone(), &root).await.unwrap();
    let mut mirror = Mirror::new();
    converge(&mut cache, &mut mirror, &server_tree(&writer, &root).await).await;

    // Cut off, the cache hears nothing of these changes.
    let session = zk.session_id();
    let first = zk.session().server.unwrap();
    let other = if first == p1.connect_string() {
        &p2
    } else {
        &p1
    };
    p1.set_blocked(true);
    p2.set_blocked(true);
    wait_state(&zk, SessionState::Disconnected).await;
    random_changes(&writer, &root, &mut rng, 40, &mut next).await;
    let want = server_tree(&writer, &root).await;
    assert_ne!(cache.snapshot(), want, "the changes while cut off matter");

    // The session comes back through the other address.
    other.set_blocked(false);
    wait_state(&zk, SessionState::Connected).await;
    assert_eq!(zk.session_id(), session);
    assert_ne!(zk.session().server.unwrap(), first, "the session moved");
    converge(&mut cache, &mut mirror, &want).await;

    // And keeps following changes afterwards.
    random_changes(&writer, &root, &mut rng, 20, &mut next).await;
    converge(&mut cache, &mut mirror, &server_tree(&writer, &root).await).await;

    // Once the session ends the cache stops with its last state.
    let last = cache.snapshot();
    zk.close().await.unwrap();
    let err = within("cache stops", async {
        loop {
            if let Err(e) = cache.changed().await {
                break e;
            }
        }
    })
    .await;
    assert!(matches!(err, Error::SessionEnded(_)), "{err:?}");
    assert!(!cache.is_running());
    writer
        .create(&format!("{root}/after"), b"", &CreateOptions::persistent())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(cache.snapshot(), last);
    drain(&mut cache, &mut mirror);
    assert!(within("event stream ends", cache.next_event())
        .await
        .is_none());
}

/// getData's op code in ZooKeeper's protocol, to find the walk's reads among the frames.
const GET_DATA: i32 = 4;

/// How many getData requests the client sent on the proxy's connection number `conn`.
fn reads_on(proxy: &Proxy, conn: usize) -> usize {
    proxy
        .frames()
        .iter()
        .filter(|(c, frame)| {
            // A request frame: xid, then the op code.
            *c == conn && frame.len() >= 8 && frame[4..8] == GET_DATA.to_be_bytes()
        })
        .count()
}

/// What the doomed cache was doing when its session was cut off for good.
#[derive(Debug, Clone, Copy)]
enum CutOff {
    /// Nothing: it was waiting for events.
    Idle,
    /// The event of a creation had reached it, the reply to its re-read had not.
    MidRefresh,
    /// It had been re-attached after changes made while it was cut off, and its walk of the
    /// subtree had read a few nodes.
    MidRebuild,
}

/// A tree cache whose session is cut off (`cut`) and expires while the tree keeps changing. As its
/// module documents, it stops and keeps its last state (what it held before the cut: neither
/// the interrupted re-read nor the interrupted walk shows), `changed` fails with
/// `SessionEnded(Expired)`, its events replay to that state and then end. A cache in a live
/// session converges to the final tree and keeps following, and a new cache on a new session
/// starts from it.
async fn tree_cache_expires(ctx: Ctx, cut: CutOff) {
    let root = ctx.path("tree");
    let writer = ctx.client().await;
    writer
        .create(&root, b"", &CreateOptions::persistent())
        .await
        .unwrap();
    let mut rng = StdRng::seed_from_u64(7);
    let mut next = 0;
    random_changes(&writer, &root, &mut rng, 40, &mut next).await;
    let before = server_tree(&writer, &root).await;
    let mut live = TreeCache::start(ctx.client().await, &root).await.unwrap();
    let mut live_mirror = Mirror::new();
    converge(&mut live, &mut live_mirror, &before).await;
    // Its `alive` node is outside the cached subtree.
    let Doomed {
        proxy,
        client: doomed_client,
        alive,
    } = ctx.doomed().await;
    let mut doomed = TreeCache::start(doomed_client.clone(), &root)
        .await
        .unwrap();
    let mut doomed_mirror = Mirror::new();
    converge(&mut doomed, &mut doomed_mirror, &before).await;

    match cut {
        CutOff::Idle => proxy.set_blocked(true),
        CutOff::MidRefresh => {
            // The creation's event is the next frame from the server; the re-read's reply is
            // lost.
            proxy.mute_after(1);
            writer
                .create(&format!("{root}/cut"), b"", &CreateOptions::persistent())
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(150)).await;
            proxy.set_blocked(true);
        }
        CutOff::MidRebuild => {
            proxy.set_blocked(true);
            wait_state(&doomed_client, SessionState::Disconnected).await;
            random_changes(&writer, &root, &mut rng, 20, &mut next).await;
            // Back for the handshake, the watch's re-registration and three of the walk's
            // replies; then silence, and cut off for good.
            proxy.mute_after(2 + 3);
            proxy.set_blocked(false);
            wait_state(&doomed_client, SessionState::Connected).await;
            tokio::time::sleep(Duration::from_millis(200)).await;
            proxy.set_blocked(true);
            let conn = proxy.accepted() - 1;
            assert!(
                reads_on(&proxy, conn) >= 2,
                "the walk did not get past the root"
            );
        }
    }
    random_changes(&writer, &root, &mut rng, 20, &mut next).await;
    let want = server_tree(&writer, &root).await;
    converge(&mut live, &mut live_mirror, &want).await;

    expire_doomed(&writer, &doomed_client, &alive, &proxy).await;
    let err = within("doomed cache stops", async {
        loop {
            if let Err(e) = doomed.changed().await {
                break e;
            }
        }
    })
    .await;
    assert_eq!(err, Error::SessionEnded(SessionState::Expired), "{cut:?}");
    assert!(!doomed.is_running());
    assert_eq!(doomed.snapshot(), before, "{cut:?}: not its last state");
    drain(&mut doomed, &mut doomed_mirror);
    assert_eq!(
        doomed_mirror,
        mirror_of(&before),
        "{cut:?}: events do not replay to the cache"
    );
    assert!(within("event stream ends", doomed.next_event())
        .await
        .is_none());

    random_changes(&writer, &root, &mut rng, 10, &mut next).await;
    let want = server_tree(&writer, &root).await;
    converge(&mut live, &mut live_mirror, &want).await;
    assert_eq!(
        doomed.snapshot(),
        before,
        "{cut:?}: changed after it stopped"
    );
    let fresh = TreeCache::start(ctx.client().await, &root).await.unwrap();
    assert_eq!(fresh.snapshot(), want);
}

async fn idle_tree_cache_expires(ctx: Ctx) {
    tree_cache_expires(ctx, CutOff::Idle).await;
}

async fn tree_cache_expires_mid_refresh(ctx: Ctx) {
    tree_cache_expires(ctx, CutOff::MidRefresh).await;
}

async fn tree_cache_expires_mid_rebuild(ctx: Ctx) {
    tree_cache_expires(ctx, CutOff::MidRebuild).await;
}

both_targets!(
    converges_after_random_changes,
    rebuilt_after_reconnect_elsewhere,
    idle_tree_cache_expires,
    tree_cache_expires_mid_refresh,
    tree_cache_expires_mid_rebuild,
);
