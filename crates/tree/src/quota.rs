//! Quota bookkeeping under `/zookeeper/quota`: `<path>/zookeeper_limits` holds the limits set on
//! `<path>`, `<path>/zookeeper_stats` its usage, both as ZooKeeper's `StatsTrack` text.

use std::collections::BTreeMap;

/// The node holding a quota's limits.
pub(crate) const LIMIT_NODE: &str = "zookeeper_limits";
/// The node holding a quota's usage.
pub(crate) const STAT_NODE: &str = "zookeeper_stats";

const COUNT: &str = "count";
const BYTES: &str = "bytes";
const COUNT_HARD_LIMIT: &str = "countHardLimit";
const BYTE_HARD_LIMIT: &str = "byteHardLimit";

/// `StatsTrack`: `key=value` pairs separated by `,` or `;`; a missing key reads as -1.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct StatsTrack {
    values: BTreeMap<String, i64>,
}

impl StatsTrack {
    /// Parses the text; pairs that do not parse are skipped (ZooKeeper would fail the request).
    pub(crate) fn parse(data: &[u8]) -> Self {
        let text = String::from_utf8_lossy(data);
        let mut values = BTreeMap::new();
        for pair in text.split([',', ';']).filter(|p| !p.is_empty()) {
            let mut kv = pair.split('=');
            let (Some(key), value) = (kv.next(), kv.next()) else {
                continue;
            };
            let value = match value {
                None | Some("") => Some(-1),
                Some(v) => v.parse().ok(),
            };
            if let Some(value) = value {
                values.insert(key.to_string(), value);
            }
        }
        Self { values }
    }

    fn get(&self, key: &str) -> i64 {
        self.values.get(key).copied().unwrap_or(-1)
    }

    pub(crate) fn count(&self) -> i64 {
        self.get(COUNT)
    }
    pub(crate) fn bytes(&self) -> i64 {
        self.get(BYTES)
    }
    pub(crate) fn count_hard_limit(&self) -> i64 {
        self.get(COUNT_HARD_LIMIT)
    }
    pub(crate) fn byte_hard_limit(&self) -> i64 {
        self.get(BYTE_HARD_LIMIT)
    }

    pub(crate) fn set_count(&mut self, v: i64) {
        self.values.insert(COUNT.to_string(), v);
    }
    pub(crate) fn set_bytes(&mut self, v: i64) {
        self.values.insert(BYTES.to_string(), v);
    }

    /// ZooKeeper's text form: `count=N,bytes=N`, then `=` and `;key=value` for any other keys,
    /// sorted (the extra `=` keeps pre-3.7 parsers reading only count and bytes).
    pub(crate) fn to_text(&self) -> String {
        let mut out = format!("{COUNT}={},{BYTES}={}", self.count(), self.bytes());
        let mut extra = self
            .values
            .iter()
            .filter(|(k, _)| k.as_str() != COUNT && k.as_str() != BYTES)
            .peekable();
        if extra.peek().is_some() {
            out.push('=');
            for (k, v) in extra {
                out.push_str(&format!(";{k}={v}"));
            }
        }
        out
    }
}

/// The quota root key for a path, as ZooKeeper's `PathTrie` splits it: components that are
/// blank after trimming are dropped.
pub(crate) fn trie_key(path: &str) -> String {
    let mut key = String::with_capacity(path.len());
    for part in path.split('/').filter(|p| !java_trim(p).is_empty()) {
        key.push('/');
        key.push_str(part);
    }
    key
}

/// Java's `String.trim`: strips every char up to and including the space.
fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

/// `/zookeeper/quota<path>/zookeeper_limits`.
pub(crate) fn limit_path(path: &str) -> String {
    format!("{}{path}/{LIMIT_NODE}", crate::path::QUOTA_ZOOKEEPER)
}

/// `/zookeeper/quota<path>/zookeeper_stats`.
pub(crate) fn stat_path(path: &str) -> String {
    format!("{}{path}/{STAT_NODE}", crate::path::QUOTA_ZOOKEEPER)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_like_zookeeper() {
        let s = StatsTrack::parse(b"count=5,bytes=-1=;byteHardLimit=10;countHardLimit=3");
        assert_eq!(s.count(), 5);
        assert_eq!(s.bytes(), -1);
        assert_eq!(s.count_hard_limit(), 3);
        assert_eq!(s.byte_hard_limit(), 10);
        assert_eq!(
            s.to_text(),
            "count=5,bytes=-1=;byteHardLimit=10;countHardLimit=3"
        );
        let mut t = StatsTrack::default();
        t.set_count(2);
        t.set_bytes(7);
        assert_eq!(t.to_text(), "count=2,bytes=7");
        assert_eq!(StatsTrack::parse(b"").count(), -1);
    }

    #[test]
    fn trie_keys_drop_blank_components() {
        assert_eq!(trie_key("/a/b"), "/a/b");
        assert_eq!(trie_key("/a/ /b"), "/a/b");
        assert_eq!(trie_key("/"), "");
    }
}
