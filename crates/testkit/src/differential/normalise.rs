//! Turns server answers into text that two correct servers agree on: zxids by order of
//! appearance, session ids by slot, times checked for plausibility instead of compared, children
//! sorted, paths relative to the run's root.

use jute::proto::WatcherEvent;
use jute::{Acl, ErrorCode, EventType, Stat};
use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

/// Clock slack allowed between the test and the server when judging ctime/mtime.
const TIME_SLACK_MS: i64 = 10_000;

/// Per-server normalisation state for one run.
#[derive(Debug)]
pub struct Normaliser {
    root: String,
    zxids: HashMap<i64, usize>,
    max_zxid: i64,
    sessions: HashMap<i64, String>,
    start_ms: i64,
}

/// Milliseconds since the epoch, now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Normaliser {
    /// A normaliser for a run under `root`.
    pub fn new(root: &str) -> Self {
        Self {
            root: root.to_string(),
            zxids: HashMap::new(),
            max_zxid: i64::MIN,
            sessions: HashMap::new(),
            start_ms: now_ms(),
        }
    }

    /// Names session id `id` as `label` (e.g. `s1.0`: slot 1, first session).
    pub fn name_session(&mut self, id: i64, label: String) {
        self.sessions.insert(id, label);
    }

    /// `Zn`, numbered in order of first appearance. A new value below one already seen is marked
    /// `<`, because zxids must grow with every write.
    pub fn zxid(&mut self, z: i64) -> String {
        if z == 0 {
            return "0".into();
        }
        if let Some(n) = self.zxids.get(&z) {
            return format!("Z{n}");
        }
        let n = self.zxids.len();
        self.zxids.insert(z, n);
        let backwards = z < self.max_zxid;
        self.max_zxid = self.max_zxid.max(z);
        if backwards {
            format!("Z{n}<")
        } else {
            format!("Z{n}")
        }
    }

    /// A session id as its slot label; 0 stays 0.
    pub fn owner(&self, id: i64) -> String {
        if id == 0 {
            return "0".into();
        }
        self.sessions
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("unknown-session({id:#x})"))
    }

    /// A path relative to the run's root (`/` for the root itself); foreign paths verbatim.
    pub fn path(&self, p: &str) -> String {
        if p == self.root {
            "/".into()
        } else if let Some(rest) = p.strip_prefix(&self.root) {
            if rest.starts_with('/') {
                rest.to_string()
            } else {
                format!("!{p}")
            }
        } else {
            format!("!{p}")
        }
    }

    fn time_ok(&self, t: i64) -> bool {
        t >= self.start_ms - TIME_SLACK_MS && t <= now_ms() + TIME_SLACK_MS
    }

    /// Every stat field, zxids and owner normalised, times judged.
    pub fn stat(&mut self, s: &Stat) -> String {
        let times = if s.mtime >= s.ctime && self.time_ok(s.ctime) && self.time_ok(s.mtime) {
            "ok".to_string()
        } else {
            format!("BAD(c={},m={})", s.ctime, s.mtime)
        };
        let c = self.zxid(s.czxid);
        let m = self.zxid(s.mzxid);
        let p = self.zxid(s.pzxid);
        format!(
            "stat{{c={c} m={m} p={p} v={} cv={} av={} eph={} len={} nc={} t={times}}}",
            s.version,
            s.cversion,
            s.aversion,
            self.owner(s.ephemeral_owner),
            s.data_length,
            s.num_children,
        )
    }

    /// Children sorted.
    pub fn children(&self, c: &[String]) -> String {
        let mut c = c.to_vec();
        c.sort();
        format!("[{}]", c.join(","))
    }

    /// A watch notification.
    pub fn event(&self, e: &WatcherEvent) -> String {
        let kind = EventType::from_i32(e.event_type)
            .map(|t| format!("{t:?}"))
            .unwrap_or_else(|| format!("type{}", e.event_type));
        format!("{kind} {} state={}", self.path(&e.path), e.state)
    }
}

/// An error code by name.
pub fn err_name(code: i32) -> String {
    ErrorCode::from_i32(code)
        .map(|c| format!("{c:?}"))
        .unwrap_or_else(|| format!("err{code}"))
}

/// An ACL list, order kept (ZooKeeper returns it as stored).
pub fn acl(acl: &[Acl]) -> String {
    let parts: Vec<String> = acl
        .iter()
        .map(|a| format!("{}:{}:{}", a.id.scheme, a.id.id, a.perms))
        .collect();
    format!("[{}]", parts.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zxids_are_numbered_by_first_appearance() {
        let mut n = Normaliser::new("/r");
        assert_eq!(n.zxid(100), "Z0");
        assert_eq!(n.zxid(250), "Z1");
        assert_eq!(n.zxid(100), "Z0");
        assert_eq!(n.zxid(0), "0");
        // A new zxid older than one already seen is flagged.
        assert_eq!(n.zxid(120), "Z2<");
    }

    #[test]
    fn paths_are_relative_to_the_root() {
        let n = Normaliser::new("/r");
        assert_eq!(n.path("/r"), "/");
        assert_eq!(n.path("/r/a/b"), "/a/b");
        assert_eq!(n.path("/rx"), "!/rx");
        assert_eq!(n.path("/other"), "!/other");
    }

    #[test]
    fn stats_hide_times_but_judge_them() {
        let mut n = Normaliser::new("/r");
        let t = now_ms();
        let good = Stat {
            czxid: 5,
            mzxid: 6,
            pzxid: 5,
            ctime: t,
            mtime: t,
            ..Stat::default()
        };
        assert!(n.stat(&good).ends_with("t=ok}"));
        let bad = Stat {
            ctime: t,
            mtime: t - 1,
            ..good
        };
        assert!(n.stat(&bad).contains("t=BAD"));
    }
}
