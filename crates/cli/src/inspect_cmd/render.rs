//! The two output forms of `inspect`: a line of `key=value` text and a line of JSON, both built
//! from the same list of fields, plus the escaping and time formatting they need.

use std::fmt::Write as _;

/// One value of a printed field.
#[derive(Debug, Clone)]
pub enum Value<'a> {
    /// Printed bare in text, quoted in JSON.
    Str(&'a str),
    Int(i64),
    /// A session id: `0x…` in text and JSON (a string there: JSON numbers lose 64-bit ids).
    Hex(i64),
    /// A zxid: `0x…` in text, a number in JSON (zxids stay far below 2^53).
    Zxid(i64),
    /// Znode data: escaped between single quotes in text; a JSON string if it is UTF-8, else
    /// hex digits under the key with `Hex` appended. Null data (`None`, which ZooKeeper keeps
    /// apart from empty) is a bare `null` in both.
    Data(Option<&'a [u8]>),
    /// Nested records, e.g. the ops of a multi.
    List(Vec<Fields<'a>>),
}

/// Ordered `(key, value)` pairs. A key of `""` is printed without `key=` in text (the op name and
/// path, as ZooKeeper's tools print them).
#[derive(Debug, Clone, Default)]
pub struct Fields<'a>(pub Vec<(&'static str, Value<'a>)>);

impl<'a> Fields<'a> {
    pub fn push(&mut self, key: &'static str, value: Value<'a>) -> &mut Self {
        self.0.push((key, value));
        self
    }

    /// Space-separated text: `create /a dataLength=5 acl=1`.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for (key, value) in &self.0 {
            if !out.is_empty() {
                out.push(' ');
            }
            if !key.is_empty() {
                out.push_str(key);
                out.push('=');
            }
            match value {
                Value::Str(s) => out.push_str(s),
                Value::Int(v) => {
                    let _ = write!(out, "{v}");
                }
                Value::Hex(v) | Value::Zxid(v) => {
                    let _ = write!(out, "{v:#x}");
                }
                Value::Data(Some(d)) => out.push_str(&escape_text(d)),
                Value::Data(None) => out.push_str("null"),
                Value::List(items) => {
                    out.push('[');
                    let parts: Vec<String> = items.iter().map(Fields::text).collect();
                    out.push_str(&parts.join("; "));
                    out.push(']');
                }
            }
        }
        out
    }

    /// One JSON object; bare fields (key `""`) take the names given in `bare_keys`, in order.
    pub fn json(&self, bare_keys: &[&'static str]) -> String {
        let mut out = String::from("{");
        let mut bare = bare_keys.iter();
        for (key, value) in &self.0 {
            let key = if key.is_empty() {
                bare.next().copied().unwrap_or("value")
            } else {
                key
            };
            if out.len() > 1 {
                out.push(',');
            }
            match value {
                Value::Str(s) => {
                    let _ = write!(out, "{}:{}", quote(key), quote(s));
                }
                Value::Int(v) | Value::Zxid(v) => {
                    let _ = write!(out, "{}:{v}", quote(key));
                }
                Value::Hex(v) => {
                    let _ = write!(out, "{}:\"{v:#x}\"", quote(key));
                }
                Value::Data(None) => {
                    let _ = write!(out, "{}:null", quote(key));
                }
                Value::Data(Some(d)) => match std::str::from_utf8(d) {
                    Ok(s) => {
                        let _ = write!(out, "{}:{}", quote(key), quote(s));
                    }
                    Err(_) => {
                        let _ = write!(out, "{}:\"{}\"", quote(&format!("{key}Hex")), hex(d));
                    }
                },
                Value::List(items) => {
                    let parts: Vec<String> =
                        items.iter().map(|f| f.json(&["op", "path"])).collect();
                    let _ = write!(out, "{}:[{}]", quote(key), parts.join(","));
                }
            }
        }
        out.push('}');
        out
    }
}

/// A JSON string literal.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Bytes between single quotes: printable ASCII as is, `\'`, `\\`, `\n`, `\r`, `\t`, `\xNN`.
pub fn escape_text(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len() + 2);
    out.push('\'');
    for &b in data {
        match b {
            b'\'' => out.push_str("\\'"),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push('\'');
    out
}

fn hex(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len() * 2);
    for b in data {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Milliseconds since the epoch as ISO 8601 UTC, `2026-11-22T08:08:38.747Z`.
pub fn format_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let day_secs = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        day_secs / 3600,
        day_secs / 60 % 60,
        day_secs % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_match_zookeepers_rendering() {
        assert_eq!(format_time(0), "1970-01-01T00:00:00.000Z");
        // ZooKeeper 3.8's TxnLogToolkit printed this ctime as "11/22/26, 8:08:38 AM UTC".
        assert_eq!(format_time(1_795_334_918_747), "2026-11-22T08:08:38.747Z");
        assert_eq!(format_time(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(format_time(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn escaping_keeps_every_byte_recoverable() {
        assert_eq!(
            escape_text(b"a'b\\c\n\x00\xff"),
            "'a\\'b\\\\c\\n\\x00\\xff'"
        );
        assert_eq!(quote("q\"\\\n\u{1}é"), "\"q\\\"\\\\\\n\\u0001é\"");
    }

    #[test]
    fn fields_render_as_text_and_json() {
        let mut inner = Fields::default();
        inner
            .push("", Value::Str("delete"))
            .push("", Value::Str("/x"))
            .push("version", Value::Int(-1));
        let mut f = Fields::default();
        f.push("", Value::Str("multi"))
            .push("zxid", Value::Zxid(0x2a))
            .push("data", Value::Data(Some(b"\xfe")))
            .push("empty", Value::Data(Some(b"")))
            .push("null", Value::Data(None))
            .push("ops", Value::List(vec![inner]));
        assert_eq!(
            f.text(),
            "multi zxid=0x2a data='\\xfe' empty='' null=null ops=[delete /x version=-1]"
        );
        assert_eq!(
            f.json(&["op"]),
            r#"{"op":"multi","zxid":42,"dataHex":"fe","empty":"","null":null,"ops":[{"op":"delete","path":"/x","version":-1}]}"#
        );
    }
}
