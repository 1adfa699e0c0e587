//! The subset of `java.util.Properties` text format that zoo.cfg files use, read the way Java reads
//! it: `key=value`, `key:value` or `key value`; `#` and `!` comment lines; a trailing odd backslash
//! joins the next line; `\t \n \r \f \uXXXX` escapes, any other escaped character stands for itself.

/// One `key=value` entry, with the line it started on (1-based) for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Property {
    pub key: String,
    pub value: String,
    pub line: usize,
}

/// A line Java's parser would also reject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: malformed \\uxxxx escape")]
pub(crate) struct MalformedEscape {
    pub line: usize,
}

/// Whitespace as `Properties.load` sees it (not Unicode whitespace).
fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\u{c}')
}

/// Splits `text` into properties in file order. Later duplicates are kept; the caller applies them
/// in order, so the last one wins as it does in Java.
pub(crate) fn parse(text: &str) -> Result<Vec<Property>, MalformedEscape> {
    let mut out = Vec::new();
    let mut lines = natural_lines(text).peekable();
    while let Some((line_no, raw)) = lines.next() {
        let first = raw.trim_start_matches(is_blank);
        if first.is_empty() || first.starts_with('#') || first.starts_with('!') {
            continue;
        }
        let mut logical = String::from(first);
        while ends_with_odd_backslashes(&logical) {
            logical.pop();
            match lines.next() {
                Some((_, next)) => logical.push_str(next.trim_start_matches(is_blank)),
                None => break,
            }
        }
        let (key, value) = split_key_value(&logical);
        out.push(Property {
            key: unescape(key, line_no)?,
            value: unescape(value, line_no)?,
            line: line_no,
        });
    }
    Ok(out)
}

/// Lines split on `\n`, `\r` or `\r\n`, numbered from 1.
fn natural_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut rest = text;
    let mut number = 0;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        number += 1;
        let end = rest.find(['\n', '\r']).unwrap_or(rest.len());
        let line = &rest[..end];
        let after = &rest[end..];
        rest = if let Some(stripped) = after.strip_prefix("\r\n") {
            stripped
        } else if after.is_empty() {
            after
        } else {
            &after[1..]
        };
        Some((number, line))
    })
}

fn ends_with_odd_backslashes(s: &str) -> bool {
    s.chars().rev().take_while(|&c| c == '\\').count() % 2 == 1
}

/// The key ends at the first unescaped `=`, `:` or blank; one `=`/`:` and the blanks around it
/// separate it from the value.
fn split_key_value(line: &str) -> (&str, &str) {
    let mut escaped = false;
    let mut key_end = line.len();
    for (i, c) in line.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '=' || c == ':' || is_blank(c) {
            key_end = i;
            break;
        }
    }
    let key = &line[..key_end];
    let mut rest = line[key_end..].trim_start_matches(is_blank);
    if let Some(stripped) = rest.strip_prefix(['=', ':']) {
        rest = stripped.trim_start_matches(is_blank);
    }
    (key, rest)
}

fn unescape(s: &str, line: usize) -> Result<String, MalformedEscape> {
    if !s.contains('\\') {
        return Ok(s.to_owned());
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                let code = (hex.len() == 4)
                    .then(|| u32::from_str_radix(&hex, 16).ok())
                    .flatten()
                    .ok_or(MalformedEscape { line })?;
                // A lone surrogate cannot be a Rust char; Java would keep it, we substitute.
                out.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse(text)
            .unwrap()
            .into_iter()
            .map(|p| (p.key, p.value))
            .collect()
    }

    fn pair(k: &str, v: &str) -> (String, String) {
        (k.to_owned(), v.to_owned())
    }

    #[test]
    fn separators_comments_and_blank_lines() {
        let text = "# comment\n! also comment\n\n  tickTime=2000\nclientPort : 2181\ndataDir /var/zk\nflag\n";
        assert_eq!(
            pairs(text),
            vec![
                pair("tickTime", "2000"),
                pair("clientPort", "2181"),
                pair("dataDir", "/var/zk"),
                pair("flag", ""),
            ]
        );
    }

    #[test]
    fn value_keeps_inner_separators_and_trailing_blanks() {
        assert_eq!(
            pairs("server.1=h:2888:3888;2181  \n"),
            vec![pair("server.1", "h:2888:3888;2181  ")]
        );
    }

    #[test]
    fn continuation_lines_join_without_leading_blanks() {
        assert_eq!(
            pairs("4lw.commands.whitelist=srvr,\\\n    ruok\nnext=1\n"),
            vec![
                pair("4lw.commands.whitelist", "srvr,ruok"),
                pair("next", "1")
            ]
        );
    }

    #[test]
    fn even_backslashes_do_not_continue() {
        assert_eq!(
            pairs("dataDir=C:\\\\zk\\\\\nx=1"),
            vec![pair("dataDir", "C:\\zk\\"), pair("x", "1")]
        );
    }

    #[test]
    fn escapes_and_unicode() {
        assert_eq!(
            pairs("a\\=b=c\\td\\u0041\\q\n"),
            vec![pair("a=b", "c\tdAq")]
        );
    }

    #[test]
    fn malformed_unicode_escape_names_the_line() {
        assert_eq!(parse("ok=1\nbad=\\u12\n"), Err(MalformedEscape { line: 2 }));
        assert_eq!(parse("bad=\\uzzzz\n"), Err(MalformedEscape { line: 1 }));
    }

    #[test]
    fn crlf_and_cr_line_endings_and_line_numbers() {
        let props = parse("a=1\r\n\r\nb=2\rc=3").unwrap();
        let got: Vec<(String, usize)> = props.into_iter().map(|p| (p.key, p.line)).collect();
        assert_eq!(
            got,
            vec![
                ("a".to_owned(), 1),
                ("b".to_owned(), 3),
                ("c".to_owned(), 4)
            ]
        );
    }

    #[test]
    fn comment_lines_do_not_continue() {
        assert_eq!(pairs("# note \\\nx=1\n"), vec![pair("x", "1")]);
    }
}
