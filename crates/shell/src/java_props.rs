//! Java's `Properties` as zkCli's `config -c` reads the configuration data with it: `load`'s
//! syntax, and the order `entrySet()` walks the entries in, which decides the order of the
//! addresses zkCli prints.
//!
//! Since Java 9 a `Properties` is a `ConcurrentHashMap` created for 8 entries (a table of 16
//! bins). Iteration goes bin by bin; a bin lists its keys in insertion order until the table
//! doubles (at three quarters full), when each bin splits into two and the keys before the bin's
//! last run of same-destination keys change order. That is modelled here; bins turning into trees
//! (8 keys in one bin) are not, as `server.N` keys for any N up to 255 never share a bin that much.

use std::collections::VecDeque;

/// The `key=value` pairs of `text` as `Properties.load` reads them, in `entrySet()` order. A key
/// given twice keeps its first place and its last value.
pub(crate) fn load(text: &str) -> Vec<(String, String)> {
    let mut map = ConcurrentMap::new();
    for line in logical_lines(text) {
        let (key, value) = split_entry(&line);
        map.put(key, value);
    }
    map.into_entries()
}

fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\u{c}')
}

/// `Properties.LineReader`: natural lines joined where one ends in an odd number of
/// backslashes (the joined line's leading blanks dropped), blank and comment (`#`, `!`) lines
/// skipped, leading blanks removed. Escapes are kept for [`split_entry`].
fn logical_lines(text: &str) -> Vec<Vec<char>> {
    let chars: Vec<char> = text.chars().collect();
    let mut lines = Vec::new();
    let mut line: Vec<char> = Vec::new();
    let mut skip_blanks = true;
    let mut continued = false;
    let mut backslash = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        if skip_blanks {
            if is_blank(c) || (!continued && (c == '\r' || c == '\n')) {
                continue;
            }
            skip_blanks = false;
            continued = false;
        }
        if line.is_empty() && (c == '#' || c == '!') {
            while i < chars.len() && chars[i] != '\r' && chars[i] != '\n' {
                i += 1;
            }
            skip_blanks = true;
            continue;
        }
        if c != '\r' && c != '\n' {
            line.push(c);
            backslash = c == '\\' && !backslash;
            continue;
        }
        if c == '\r' && chars.get(i) == Some(&'\n') {
            i += 1;
        }
        if backslash {
            line.pop();
            backslash = false;
            skip_blanks = true;
            continued = true;
        } else {
            lines.push(std::mem::take(&mut line));
            skip_blanks = true;
        }
    }
    if !line.is_empty() {
        if backslash {
            line.pop();
        }
        lines.push(line);
    }
    lines
}

/// `Properties.load0`: the key runs to the first unescaped `=`, `:` or blank; blanks and one
/// separator after it are skipped; both halves are then unescaped.
fn split_entry(line: &[char]) -> (String, String) {
    let mut key_end = line.len();
    let mut value_start = line.len();
    let mut has_separator = false;
    let mut backslash = false;
    for (i, &c) in line.iter().enumerate() {
        if !backslash && (c == '=' || c == ':') {
            (key_end, value_start, has_separator) = (i, i + 1, true);
            break;
        }
        if !backslash && is_blank(c) {
            (key_end, value_start) = (i, i + 1);
            break;
        }
        backslash = c == '\\' && !backslash;
    }
    while let Some(&c) = line.get(value_start) {
        if !is_blank(c) {
            if !has_separator && (c == '=' || c == ':') {
                has_separator = true;
            } else {
                break;
            }
        }
        value_start += 1;
    }
    (
        unescape(&line[..key_end]),
        unescape(&line[value_start.min(line.len())..]),
    )
}

/// `Properties.loadConvert`: `\t \n \r \f`, `\uXXXX`, and `\x` for any other `x`. (Java refuses
/// a malformed `\u`; it is kept as written here.)
fn unescape(s: &[char]) -> String {
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        i += 1;
        if c != '\\' || i == s.len() {
            out.push(c);
            continue;
        }
        let e = s[i];
        i += 1;
        match e {
            't' => out.push('\t'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            'f' => out.push('\u{c}'),
            'u' => {
                let hex: String = s[i..].iter().take(4).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(ch) if hex.len() == 4 => {
                        out.push(ch);
                        i += 4;
                    }
                    _ => out.push('u'),
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// `String.hashCode()` over UTF-16 code units.
fn java_hash(s: &str) -> u32 {
    s.encode_utf16()
        .fold(0u32, |h, u| h.wrapping_mul(31).wrapping_add(u32::from(u)))
}

/// `ConcurrentHashMap.spread`.
fn spread(h: u32) -> u32 {
    (h ^ (h >> 16)) & 0x7fff_ffff
}

struct Entry {
    hash: u32,
    key: String,
    value: String,
}

/// The bin layout of a single-threaded `ConcurrentHashMap`.
struct ConcurrentMap {
    table: Vec<VecDeque<Entry>>,
    count: usize,
}

impl ConcurrentMap {
    fn new() -> ConcurrentMap {
        ConcurrentMap {
            table: (0..16).map(|_| VecDeque::new()).collect(),
            count: 0,
        }
    }

    fn put(&mut self, key: String, value: String) {
        let hash = spread(java_hash(&key));
        let n = self.table.len();
        let bin = &mut self.table[hash as usize & (n - 1)];
        if let Some(e) = bin.iter_mut().find(|e| e.key == key) {
            e.value = value;
            return;
        }
        bin.push_back(Entry { hash, key, value });
        self.count += 1;
        if self.count >= n - n / 4 {
            self.grow();
        }
    }

    /// `ConcurrentHashMap.transfer`: bin `i` splits into `i` and `i + n`. The bin's last run of
    /// entries bound for one side moves as it is; the entries before it are pushed, one by one,
    /// onto the front of their side, which reverses them.
    fn grow(&mut self) {
        let n = self.table.len();
        let mut next: Vec<VecDeque<Entry>> = (0..2 * n).map(|_| VecDeque::new()).collect();
        for (i, mut bin) in std::mem::take(&mut self.table).into_iter().enumerate() {
            let high = |e: &Entry| e.hash as usize & n != 0;
            let mut last_run = 0;
            for j in 1..bin.len() {
                if high(&bin[j]) != high(&bin[j - 1]) {
                    last_run = j;
                }
            }
            let tail = bin.split_off(last_run);
            let (mut lo, mut hi) = match tail.front() {
                Some(e) if high(e) => (VecDeque::new(), tail),
                _ => (tail, VecDeque::new()),
            };
            for e in bin {
                if high(&e) {
                    hi.push_front(e);
                } else {
                    lo.push_front(e);
                }
            }
            next[i] = lo;
            next[i + n] = hi;
        }
        self.table = next;
    }

    fn into_entries(self) -> Vec<(String, String)> {
        self.table
            .into_iter()
            .flatten()
            .map(|e| (e.key, e.value))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(text: &str) -> Vec<String> {
        load(text).into_iter().map(|(k, _)| k).collect()
    }

    #[test]
    fn load_syntax() {
        let text = "# comment\n  a = 1  \n! other\nb:2\nc 3\nd=x\\\n   y\ne\t=\t=4\r\n\\u0066=5\nf=6\nk\\=ey=7\n\nlast\\";
        let mut got = load(text);
        got.sort();
        let want = [
            ("a", "1  "),
            ("b", "2"),
            ("c", "3"),
            ("d", "xy"),
            ("e", "=4"),
            ("f", "6"),
            ("k=ey", "7"),
            ("last", ""),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn hashes_match_java() {
        // String.hashCode() of these keys, from a JVM.
        assert_eq!(java_hash("server.1"), 0x5233_7046);
        assert_eq!(java_hash("version"), 0x14f5_1cd8);
        assert_eq!(java_hash(""), 0);
    }

    #[test]
    fn iteration_order_matches_java_properties() {
        // The order Java 17's Properties walked these keys in (ZooKeeper 3.8's
        // getClientConfigStr, one address per key), before and after the table grows.
        let lines = |ids: &[u32]| -> String {
            let servers: String = ids.iter().map(|i| format!("server.{i}=x\n")).collect();
            format!("{servers}version=0")
        };
        let ids = |keys: Vec<String>| -> Vec<u32> {
            keys.iter()
                .filter_map(|k| k.strip_prefix("server.")?.parse().ok())
                .collect()
        };
        assert_eq!(ids(keys(&lines(&[1, 2, 3]))), [2, 1, 3]);
        assert_eq!(ids(keys(&lines(&[30, 10, 20]))), [10, 30, 20]);
        let one_to_30: Vec<u32> = (1..=30).collect();
        assert_eq!(
            ids(keys(&lines(&one_to_30))),
            [
                18, 19, 16, 17, 10, 11, 30, 14, 15, 12, 13, 29, 27, 28, 21, 22, 20, 2, 25, 1, 26,
                23, 24, 6, 5, 4, 3, 9, 8, 7
            ]
        );
    }
}
