//! `getConfig`: the ensemble's membership from /zookeeper/config, whatever the chroot.

use crate::common::{both_targets, within, Ctx};
use client::{Client, Error, EventType, CONFIG_NODE};

async fn get_config_reads_the_config_node_whatever_the_chroot(ctx: Ctx) {
    let plain = ctx.client().await;
    let (data, stat) = plain.get_config().await.unwrap();
    assert_eq!(
        plain.get_data(CONFIG_NODE).await.unwrap(),
        (data.clone(), stat.clone()),
        "getConfig is a getData of {CONFIG_NODE}"
    );
    if ctx.server.members.is_empty() {
        // Standalone (observed on ZooKeeper 3.8): empty, never written.
        assert!(data.is_empty(), "{}", String::from_utf8_lossy(&data));
        assert_eq!((stat.version, stat.aversion, stat.mzxid), (0, -1, 0));
    } else {
        // An ensemble member wrote its membership outside the log: dataVersion -1, mzxid is the
        // configuration's version (0).
        let text = String::from_utf8(data.clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), ctx.server.members.len() + 1, "{text}");
        for (i, line) in lines[..lines.len() - 1].iter().enumerate() {
            let prefix = format!("server.{}=127.0.0.1:", i + 1);
            assert!(
                line.starts_with(&prefix) && line.ends_with(":participant"),
                "{text}"
            );
        }
        assert_eq!(lines.last(), Some(&"version=0"));
        assert_eq!((stat.version, stat.aversion, stat.mzxid), (-1, -1, 0));
    }

    let chrooted = ctx
        .client_with(
            Client::builder(),
            &format!("{}{}", ctx.connect_string(), ctx.root),
        )
        .await;
    // The chroot's own /zookeeper/config does not exist: getConfig does not look there.
    assert_eq!(chrooted.get_data(CONFIG_NODE).await, Err(Error::NoNode));
    let (under_chroot, _, watch) = chrooted.get_config_w().await.unwrap();
    assert_eq!(under_chroot, data);

    // Only a reconfig changes the node in ZooKeeper; the super user can write it, which fires
    // the watch with the node's full path.
    let admin = ctx.client().await;
    admin.add_auth("digest", b"super:test").await.unwrap();
    admin.set_data(CONFIG_NODE, b"changed", None).await.unwrap();
    let ev = within("config watch", watch).await;
    admin.set_data(CONFIG_NODE, &data, None).await.unwrap();
    assert_eq!(
        (ev.event_type, ev.path.as_str()),
        (EventType::NodeDataChanged, CONFIG_NODE)
    );
}

/// `reconfig` reaches the server and comes back typed: both refuse it by default
/// (`reconfigEnabled=false`), before looking at the arguments or the caller's rights.
async fn reconfig_is_refused_while_reconfig_is_disabled(ctx: Ctx) {
    let c = ctx.client().await;
    assert_eq!(
        c.reconfig(Some("server.9=127.0.0.1:2888:3888;2181"), None, None, -1)
            .await
            .map(drop),
        Err(client::Error::ReconfigDisabled)
    );
    assert_eq!(
        c.reconfig(None, Some("9"), None, -1).await.map(drop),
        Err(client::Error::ReconfigDisabled)
    );
    assert_eq!(
        c.reconfig(None, None, Some(""), 0).await.map(drop),
        Err(client::Error::ReconfigDisabled)
    );
    // The connection is still usable. (The config node itself is not compared before and after:
    // the chroot test beside this one writes it on the same shared server.)
    c.exists("/").await.unwrap();
}

both_targets!(
    get_config_reads_the_config_node_whatever_the_chroot,
    reconfig_is_refused_while_reconfig_is_disabled,
);
