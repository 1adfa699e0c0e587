//! Splitting a command line into words, as zkCli's `MyCommandOptions.parseCommand` does: words are
//! separated by whitespace, and a word that starts with `"` or `'` runs to the matching quote
//! (quotes removed), so data with spaces can be given as `set /x "a b"`.

/// The words of `line`.
pub fn split(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut rest = line.trim_start();
    while !rest.is_empty() {
        let first = rest.chars().next().unwrap_or(' ');
        let (word, after) = if first == '"' || first == '\'' {
            match rest[1..].find(first) {
                // Quoted words end at the closing quote, even when something follows it.
                Some(end) => (&rest[1..1 + end], &rest[end + 2..]),
                // An unclosed quote is an ordinary word, as zkCli's pattern treats it.
                None => split_plain(rest),
            }
        } else {
            split_plain(rest)
        };
        words.push(word.to_string());
        rest = after.trim_start();
    }
    words
}

fn split_plain(s: &str) -> (&str, &str) {
    match s.find(char::is_whitespace) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn plain_words() {
        assert_eq!(split("  ls   -s /a "), ["ls", "-s", "/a"]);
        assert!(split("   ").is_empty());
    }

    #[test]
    fn quoted_words_keep_spaces() {
        assert_eq!(
            split("set /a \"hello world\" 'x y'"),
            ["set", "/a", "hello world", "x y"]
        );
        assert_eq!(split("create /a ''"), ["create", "/a", ""]);
    }

    #[test]
    fn unclosed_quote_is_plain() {
        assert_eq!(split("set /a \"oops"), ["set", "/a", "\"oops"]);
    }
}
