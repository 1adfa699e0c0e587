//! Settings that change what the tree accepts. Every replica must apply the same ones.

/// Tree behaviour switches, each named after the ZooKeeper setting it mirrors.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TreeConfig {
    /// `zookeeper.extendedTypesEnabled`: allows TTL nodes. Off in ZooKeeper by default, where a
    /// TTL create answers `Unimplemented`.
    pub extended_types_enabled: bool,
    /// `zookeeper.enforceQuota`: hard quotas under `/zookeeper/quota` reject writes with
    /// `QuotaExceeded`. Off by default (quota usage is still tracked).
    pub enforce_quota: bool,
    /// `znode.container.maxNeverUsedIntervalMs`: a container that never had a child becomes
    /// deletable after this many ms since its last change; 0 (the default) keeps it forever.
    pub container_max_never_used_ms: i64,
}
