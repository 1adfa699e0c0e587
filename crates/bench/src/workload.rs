//! What each benchmark operation does.

use client::{Client, CreateOptions};
use rand::Rng;

/// A benchmark workload.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Workload {
    /// Create new persistent znodes.
    Create,
    /// setData on existing keys.
    Set,
    /// getData on existing keys.
    Get,
    /// exists on existing keys.
    Exists,
    /// Delete znodes (each created just before, untimed).
    Delete,
    /// getData with probability `read_ratio`, otherwise setData.
    Mixed { read_ratio: f64 },
    /// A multi of `ops` setData operations.
    Multi { ops: usize },
    /// `watchers` sessions watch one znode; time from a write until every watcher has its event.
    Watch { watchers: usize },
    /// Open a session, create an ephemeral, close the session.
    Sessions,
}

impl Workload {
    /// The name printed in reports.
    pub fn name(&self) -> String {
        match self {
            Workload::Create => "create".into(),
            Workload::Set => "set".into(),
            Workload::Get => "get".into(),
            Workload::Exists => "exists".into(),
            Workload::Delete => "delete".into(),
            Workload::Mixed { read_ratio } => format!("mixed-{:.0}%-reads", read_ratio * 100.0),
            Workload::Multi { ops } => format!("multi-{ops}"),
            Workload::Watch { watchers } => format!("watch-{watchers}"),
            Workload::Sessions => "sessions".into(),
        }
    }

    /// Whether the workload reads and writes the pre-created key space.
    pub fn needs_keys(&self) -> bool {
        matches!(
            self,
            Workload::Set
                | Workload::Get
                | Workload::Exists
                | Workload::Mixed { .. }
                | Workload::Multi { .. }
        )
    }
}

/// The root under which the benchmark creates its znodes.
pub const ROOT: &str = "/ferrokeeper-bench";

/// The path of key `i`.
pub fn key(i: usize) -> String {
    format!("{ROOT}/k{i:08}")
}

/// One timed operation of a key-space or create/delete workload. `unique` names new znodes.
pub async fn run_one(
    zk: &Client,
    workload: Workload,
    keys: usize,
    value: &[u8],
    unique: &str,
) -> Result<(), String> {
    let pick = || key(rand::rng().random_range(0..keys.max(1)));
    let result = match workload {
        Workload::Create => zk
            .create(
                &format!("{ROOT}/new/{unique}"),
                value,
                &CreateOptions::persistent(),
            )
            .await
            .map(drop),
        Workload::Set => zk.set_data(&pick(), value, None).await.map(drop),
        Workload::Get => zk.get_data(&pick()).await.map(drop),
        Workload::Exists => zk.exists(&pick()).await.map(drop),
        Workload::Delete => zk.delete(&format!("{ROOT}/new/{unique}"), None).await,
        Workload::Mixed { read_ratio } => {
            if rand::rng().random_bool(read_ratio.clamp(0.0, 1.0)) {
                zk.get_data(&pick()).await.map(drop)
            } else {
                zk.set_data(&pick(), value, None).await.map(drop)
            }
        }
        Workload::Multi { ops } => {
            let mut multi = zk.multi();
            for _ in 0..ops {
                multi = multi.set_data(&pick(), value, None);
            }
            return multi.commit().await.map(drop).map_err(|e| e.to_string());
        }
        Workload::Watch { .. } | Workload::Sessions => Ok(()),
    };
    result.map_err(|e| e.to_string())
}
