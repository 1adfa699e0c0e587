//! `getConfig`: the ensemble's membership as the connected server knows it, read from
//! [`CONFIG_NODE`].

use crate::client::{decode, Client};
use crate::error::Error;
use crate::session::watches::{OneShotKind, Registration};
use crate::session::OnReply;
use crate::watch::WatchFuture;
use jute::proto::{GetDataRequest, GetDataResponse, ReconfigRequest};
use jute::{Request, Stat};
use tokio::sync::oneshot;

/// Where servers keep the ensemble's configuration (ZooKeeper's `ZooDefs.CONFIG_NODE`): lines
/// `server.N=host:quorumPort:electionPort:role[;clientHost:clientPort]` and `version=<hex>`, or
/// nothing on a standalone server.
pub const CONFIG_NODE: &str = "/zookeeper/config";

impl Client {
    /// The configuration data and stat of [`CONFIG_NODE`]. Like ZooKeeper's `getConfig`, this
    /// reads the node itself whatever the chroot, so a client under a chroot still sees the
    /// ensemble. A standalone server answers with empty data. Null data reads as empty.
    pub async fn get_config(&self) -> Result<(Vec<u8>, Stat), Error> {
        let resp = self.config_request(None).await?;
        Ok((resp.data.unwrap_or_default().to_vec(), resp.stat))
    }

    /// Like [`Client::get_config`], and watches [`CONFIG_NODE`] for a change. The event names
    /// the node by its full path, chroot or not (unless the chroot is the node itself or one of
    /// its parents, when it is stripped as for any other watch).
    pub async fn get_config_w(&self) -> Result<(Vec<u8>, Stat, WatchFuture), Error> {
        let (tx, rx) = oneshot::channel();
        // Registered under the node's own path, not the chroot's, as ZooKeeper's client does, so
        // the notification (and a re-registration after a reconnect) matches it.
        let reg = Registration::OneShot {
            kind: OneShotKind::Data,
            server_path: CONFIG_NODE.to_string(),
            tx,
        };
        let resp = self.config_request(Some(OnReply::Register(reg))).await?;
        Ok((
            resp.data.unwrap_or_default().to_vec(),
            resp.stat,
            WatchFuture::new(rx),
        ))
    }

    async fn config_request(&self, watch: Option<OnReply>) -> Result<GetDataResponse, Error> {
        let req = Request::GetData(GetDataRequest {
            path: CONFIG_NODE.to_string(),
            watch: watch.is_some(),
        });
        decode::<GetDataResponse>(self.call(&req, watch).await?)
    }
}

impl Client {
    /// ZooKeeper's `reconfig` (ZooKeeperAdmin): changes the ensemble's membership and answers
    /// the new configuration and its stat. Either an incremental change (`joining` and/or
    /// `leaving`: comma-separated `server.N=…` specs and server ids) or a bulk one (`new_members`,
    /// the whole new list); `None` is an argument not given, which the server tells apart from an
    /// empty one. `from_config` is the configuration version the change applies to, or -1 for
    /// whichever is current.
    ///
    /// Servers refuse it with [`Error::ReconfigDisabled`] unless `reconfigEnabled=true`, which is
    /// ZooKeeper's default and the only answer Ferrokeeper gives; callers also need the super user
    /// (or `skipACL`) on ZooKeeper.
    pub async fn reconfig(
        &self,
        joining: Option<&str>,
        leaving: Option<&str>,
        new_members: Option<&str>,
        from_config: i64,
    ) -> Result<(Vec<u8>, Stat), Error> {
        let req = Request::Reconfig(ReconfigRequest {
            joining_servers: joining.map(str::to_owned),
            leaving_servers: leaving.map(str::to_owned),
            new_members: new_members.map(str::to_owned),
            cur_config_id: from_config,
        });
        let resp = decode::<GetDataResponse>(self.call(&req, None).await?)?;
        Ok((resp.data.unwrap_or_default().to_vec(), resp.stat))
    }
}
