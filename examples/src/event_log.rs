//! An append-only log of `key=value` lines that several processes write to at once.
//!
//! The file is opened with `O_APPEND` and every line goes out in one `write`, so lines from
//! different processes never interleave and their order in the file is the order in which the
//! writes happened. That order is what the checkers rely on: if process A writes a line before
//! it does something and process B writes a line after it saw that something, A's line comes
//! first.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// Microseconds since the Unix epoch: comparable between processes on one machine.
pub fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// A log file shared with other processes.
#[derive(Debug)]
pub struct EventLog {
    file: Mutex<File>,
}

impl EventLog {
    /// Opens `path` for appending, creating it if needed.
    pub fn open(path: &Path) -> io::Result<EventLog> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(EventLog {
            file: Mutex::new(file),
        })
    }

    /// Appends `line` and a newline in a single write.
    pub fn record(&self, line: &str) -> io::Result<()> {
        let mut buf = String::with_capacity(line.len() + 1);
        buf.push_str(line);
        buf.push('\n');
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        // One `write` of a short line is one append; `write_all` only loops on a short write.
        file.write_all(buf.as_bytes())
    }
}

/// The value of `key` in a line of `key=value` words.
///
/// ```
/// use ferrokeeper_examples::event_log::field;
/// assert_eq!(field("lead term=12 id=c1", "term"), Some("12"));
/// assert_eq!(field("lead term=12 id=c1", "at"), None);
/// ```
pub fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key).and_then(|rest| rest.strip_prefix('=')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_from_two_handles_stay_whole_and_ordered() {
        let dir = std::env::temp_dir().join(format!("fk-event-log-{}", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        let a = EventLog::open(&dir).unwrap();
        let b = EventLog::open(&dir).unwrap();
        for i in 0..50 {
            a.record(&format!("from=a n={i}")).unwrap();
            b.record(&format!("from=b n={i}")).unwrap();
        }
        let text = std::fs::read_to_string(&dir).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 100);
        for (i, pair) in lines.chunks(2).enumerate() {
            assert_eq!(pair, [format!("from=a n={i}"), format!("from=b n={i}")]);
        }
        std::fs::remove_file(&dir).unwrap();
    }

    #[test]
    fn field_matches_whole_keys_only() {
        assert_eq!(field("term=1 termx=2", "term"), Some("1"));
        assert_eq!(field("termx=2", "term"), None);
        assert_eq!(field("a=", "a"), Some(""));
    }
}
