//! Creating an ephemeral-sequential node "with protection", as Curator does: the name carries
//! a random guid, so that a creator whose request was cut off by a connection loss can tell
//! whether the server created its node, and never leaves an orphan it does not know about.

use crate::error::Error;
use crate::sequence::{protected_prefix, uuid_v4};
use crate::session::{classify, ensure_path, retrying, wait_connected};
use client::{Client, CreateMode, CreateOptions};

/// A created protected node.
#[derive(Debug, Clone)]
pub(crate) struct ProtectedNode {
    /// Its name inside the parent (`_c_<guid>-<marker><seq>`).
    pub(crate) name: String,
    /// Its full path.
    pub(crate) path: String,
    /// The zxid of its creation.
    pub(crate) czxid: i64,
}

/// Creates `<parent>/_c_<guid>-<marker><seq>` (ephemeral sequential) holding `data`, creating
/// `parent` if needed.
pub(crate) async fn create(
    client: &Client,
    parent: &str,
    marker: &str,
    data: &[u8],
) -> Result<ProtectedNode, Error> {
    let prefix = protected_prefix(&uuid_v4());
    let base = format!("{parent}/{prefix}{marker}");
    let opts = CreateOptions::ephemeral().with_mode(CreateMode::EphemeralSequential);
    loop {
        match client.create(&base, data, &opts).await {
            Ok((path, stat)) => {
                let name = path.rsplit('/').next().unwrap_or_default().to_string();
                return Ok(ProtectedNode {
                    name,
                    path,
                    czxid: stat.czxid,
                });
            }
            Err(client::Error::NoNode) => ensure_path(client, parent).await?,
            Err(client::Error::ConnectionLoss | client::Error::RequestTimeout) => {
                wait_connected(client).await?;
                if let Some(found) = find(client, parent, &prefix).await? {
                    return Ok(found);
                }
            }
            Err(e) => return Err(classify(client, e)),
        }
    }
}

/// The node under `parent` whose name starts with `prefix`, if the server created one.
async fn find(client: &Client, parent: &str, prefix: &str) -> Result<Option<ProtectedNode>, Error> {
    let children = match retrying(client, || client.get_children(parent)).await {
        Ok(c) => c,
        Err(Error::Client(client::Error::NoNode)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let Some(name) = children.into_iter().find(|c| c.starts_with(prefix)) else {
        return Ok(None);
    };
    let path = format!("{parent}/{name}");
    match retrying(client, || client.exists(&path)).await? {
        Some(stat) if stat.ephemeral_owner == client.session_id() => Ok(Some(ProtectedNode {
            name,
            path,
            czxid: stat.czxid,
        })),
        _ => Ok(None),
    }
}

/// Deletes a recipe node, riding out connection losses; a node already gone is fine.
pub(crate) async fn delete(client: &Client, path: &str) -> Result<(), Error> {
    match retrying(client, || client.delete(path, None)).await {
        Ok(()) | Err(Error::Client(client::Error::NoNode)) => Ok(()),
        Err(e) => Err(e),
    }
}
