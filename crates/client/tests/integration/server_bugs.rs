//! Where Ferrokeeper was once seen to differ from ZooKeeper, kept as regression tests: each case
//! runs on both servers with the same assertions.

use crate::common::{wait_state, within, Ctx};
use client::{Client, CreateOptions, EventType, SessionState};
use testkit::proxy::Proxy;

/// A notification's header zxid is the transaction that fired it (3.9), or −1 when there is
/// none: ZooKeeper 3.9 fires the events of a reconnect's setWatches with `NO_ZXID` (−1), since
/// no single transaction fired them (`DataTree.setWatches`). A client must never be told a zxid
/// that is not the change's.
async fn missed_events_carry_no_wrong_zxid(ctx: Ctx) {
    let proxy = Proxy::start(ctx.server.addr).await;
    let c = ctx
        .client_with(Client::builder(), &proxy.connect_string())
        .await;
    let other = ctx.client().await;
    let d = ctx.path("d");
    c.create(&d, b"", &CreateOptions::persistent())
        .await
        .unwrap();
    let (_, _, watch) = c.get_data_w(&d).await.unwrap();
    proxy.set_blocked(true);
    wait_state(&c, SessionState::Disconnected).await;
    let changed_at = other.set_data(&d, b"1", None).await.unwrap().mzxid;
    // A later write, so the server's last zxid is not the change's.
    other
        .create(&ctx.path("later"), b"", &CreateOptions::persistent())
        .await
        .unwrap();
    proxy.set_blocked(false);
    let ev = within("missed data change", watch).await;
    assert_eq!(ev.event_type, EventType::NodeDataChanged);
    assert!(
        ev.zxid.is_none() || ev.zxid == Some(changed_at),
        "event zxid {:?}, but the change was at {changed_at}",
        ev.zxid
    );
}

mod zookeeper {
    #[test]
    fn missed_events_carry_no_wrong_zxid() {
        crate::common::run(
            testkit::Target::ZooKeeper,
            "missed_events_carry_no_wrong_zxid",
            super::missed_events_carry_no_wrong_zxid,
        );
    }
}

mod ferrokeeper {
    #[test]
    fn missed_events_carry_no_wrong_zxid() {
        crate::common::run(
            testkit::Target::Ferrokeeper,
            "missed_events_carry_no_wrong_zxid",
            super::missed_events_carry_no_wrong_zxid,
        );
    }
}
