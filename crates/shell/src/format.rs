//! The text zkCli prints: stats, ACLs, watch events, dates; and zkCli's ACL syntax.

use crate::error::ShellError;
use client::{perms, Acl, EventType, Id, KeeperState, Stat};

/// A stat as zkCli's `StatPrinter` prints it, one `name = value` line each.
pub fn stat(s: &Stat) -> String {
    format!(
        "cZxid = 0x{:x}\nctime = {}\nmZxid = 0x{:x}\nmtime = {}\npZxid = 0x{:x}\ncversion = {}\n\
         dataVersion = {}\naclVersion = {}\nephemeralOwner = 0x{:x}\ndataLength = {}\nnumChildren = {}\n",
        s.czxid,
        java_date(s.ctime),
        s.mzxid,
        java_date(s.mtime),
        s.pzxid,
        s.cversion,
        s.version,
        s.aversion,
        s.ephemeral_owner,
        s.data_length,
        s.num_children
    )
}

/// Milliseconds since the epoch in Java's `Date.toString()` layout (`Thu Jan 01 00:00:00 UTC
/// 1970`), always in UTC: the shell does not read the local time zone database.
pub fn java_date(ms: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{} {} {:02} {:02}:{:02}:{:02} UTC {}",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(m - 1) as usize],
        d,
        tod / 3600,
        tod % 3600 / 60,
        tod % 60,
        y
    )
}

/// Days since 1970-01-01 to (year, month, day), Howard Hinnant's proleptic Gregorian algorithm.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A list as Java's `List.toString()` prints it: `[a, b]`.
pub fn java_list<S: AsRef<str>>(items: &[S]) -> String {
    let parts: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
    format!("[{}]", parts.join(", "))
}

/// Permission letters in zkCli's order (`cdrwa`).
pub fn perm_string(p: i32) -> String {
    [
        (perms::CREATE, 'c'),
        (perms::DELETE, 'd'),
        (perms::READ, 'r'),
        (perms::WRITE, 'w'),
        (perms::ADMIN, 'a'),
    ]
    .iter()
    .filter(|(bit, _)| p & bit != 0)
    .map(|(_, c)| *c)
    .collect()
}

/// One ACL entry as zkCli's `getAcl` prints it (two lines).
pub fn acl_entry(a: &Acl) -> String {
    format!(
        "'{},'{}\n: {}\n",
        a.id.scheme,
        a.id.id,
        perm_string(a.perms)
    )
}

/// Parses zkCli's ACL syntax (unknown permission letters are skipped, as zkCli skips them), `scheme:id:perms[,scheme:id:perms...]`; the id may itself hold
/// colons (digest ids do), so the scheme ends at the first colon and the perms start after the last.
pub fn parse_acl(s: &str) -> Result<Vec<Acl>, ShellError> {
    s.split(',')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let bad =
                || ShellError::Invalid(format!("{part} does not have the form scheme:id:perm"));
            let (scheme, rest) = part.split_once(':').ok_or_else(bad)?;
            let (id, letters) = rest.rsplit_once(':').ok_or_else(bad)?;
            let bits = letters
                .chars()
                .map(|c| match c {
                    'r' => perms::READ,
                    'w' => perms::WRITE,
                    'c' => perms::CREATE,
                    'd' => perms::DELETE,
                    'a' => perms::ADMIN,
                    _ => 0,
                })
                .fold(0, |acc, bit| acc | bit);
            Ok(Acl::new(bits, Id::new(scheme, id)))
        })
        .collect()
}

/// The permission letters of an ACL string that zkCli does not know; it reports each as
/// `Unknown perm type: X` and goes on without it.
pub fn unknown_perms(s: &str) -> Vec<char> {
    s.split(',')
        .filter_map(|part| part.rsplit_once(':').map(|(_, letters)| letters))
        .flat_map(str::chars)
        .filter(|c| !"rwcda".contains(*c))
        .collect()
}

/// Java's `KeeperState` name for a state.
fn keeper_state_name(s: KeeperState) -> String {
    format!("{s:?}")
}

/// A watch event in `WatchedEvent.toString()` form (ZooKeeper 3.8, without the zxid); session
/// events have no path and print `null`, as Java does.
pub fn watched_event(state: KeeperState, event_type: EventType, path: &str) -> String {
    let path = if path.is_empty() { "null" } else { path };
    format!(
        "WatchedEvent state:{} type:{event_type:?} path:{path}",
        keeper_state_name(state)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_like_java() {
        assert_eq!(java_date(0), "Thu Jan 01 00:00:00 UTC 1970");
        // 2024-02-29T13:05:09.123Z, a leap day and a Thursday.
        assert_eq!(java_date(1_709_211_909_123), "Thu Feb 29 13:05:09 UTC 2024");
    }

    #[test]
    fn stat_lines() {
        let s = Stat {
            czxid: 0x1a,
            mzxid: 0x1b,
            ctime: 0,
            mtime: 0,
            version: 2,
            cversion: 3,
            aversion: 1,
            ephemeral_owner: -1,
            data_length: 5,
            num_children: 0,
            pzxid: 0x1a,
        };
        let text = stat(&s);
        assert!(text.starts_with("cZxid = 0x1a\nctime = Thu Jan 01"));
        assert!(text.contains("\ndataVersion = 2\naclVersion = 1\n"));
        // Java prints negative longs in two's complement.
        assert!(text.contains("ephemeralOwner = 0xffffffffffffffff\n"));
    }

    #[test]
    fn acl_round_trip() {
        let acl = parse_acl("digest:alice:aYXl=:cdrwa,world:anyone:r").unwrap();
        assert_eq!(acl.len(), 2);
        assert_eq!(acl[0].id.scheme, "digest");
        assert_eq!(acl[0].id.id, "alice:aYXl=");
        assert_eq!(acl[0].perms, perms::ALL);
        assert_eq!(acl_entry(&acl[1]), "'world,'anyone\n: r\n");
        let auth = parse_acl("auth::cdrwa").unwrap();
        assert_eq!(
            (auth[0].id.scheme.as_str(), auth[0].id.id.as_str()),
            ("auth", "")
        );
        // zkCli (3.8, checked) creates `world:anyone:rq` with just `r`.
        assert_eq!(parse_acl("world:anyone:rq").unwrap()[0].perms, perms::READ);
        assert_eq!(unknown_perms("world:anyone:rq,ip:1.2.3.4:xa"), ['q', 'x']);
        assert!(parse_acl("nocolon").is_err());
    }

    #[test]
    fn events_and_lists() {
        assert_eq!(
            watched_event(KeeperState::SyncConnected, EventType::NodeDataChanged, "/x"),
            "WatchedEvent state:SyncConnected type:NodeDataChanged path:/x"
        );
        assert_eq!(
            watched_event(KeeperState::SyncConnected, EventType::None, ""),
            "WatchedEvent state:SyncConnected type:None path:null"
        );
        assert_eq!(java_list(&["a", "b"]), "[a, b]");
        assert_eq!(java_list::<&str>(&[]), "[]");
    }
}
