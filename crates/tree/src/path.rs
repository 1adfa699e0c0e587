//! Path rules, as ZooKeeper's `PathUtils.validatePath` and the prep stage apply them.

use jute::ErrorCode;

/// The root's path.
pub(crate) const ROOT: &str = "/";
/// ZooKeeper's own subtree.
pub(crate) const PROC_ZOOKEEPER: &str = "/zookeeper";
/// Where quota limits and usage live.
pub(crate) const QUOTA_ZOOKEEPER: &str = "/zookeeper/quota";
/// The ensemble's dynamic configuration.
pub(crate) const CONFIG_ZOOKEEPER: &str = "/zookeeper/config";

/// Validates a client path by ZooKeeper's rules (`PathUtils.validatePath`). `sequential` allows the
/// trailing `/` that a sequential create may end with.
pub fn validate_path(path: &str, sequential: bool) -> Result<(), ErrorCode> {
    if sequential {
        // A sequential create appends digits, so the path is judged as if one were there already.
        let mut with_digit = String::with_capacity(path.len() + 1);
        with_digit.push_str(path);
        with_digit.push('1');
        return validate(&with_digit);
    }
    validate(path)
}

fn validate(path: &str) -> Result<(), ErrorCode> {
    let bytes = path.as_bytes();
    if bytes.first() != Some(&b'/') {
        return Err(ErrorCode::BadArguments);
    }
    if bytes.len() == 1 {
        return Ok(());
    }
    if bytes.last() == Some(&b'/') {
        return Err(ErrorCode::BadArguments);
    }
    for segment in path[1..].split('/') {
        if segment.is_empty() || segment == "." || segment == ".." {
            return Err(ErrorCode::BadArguments);
        }
        if segment.chars().any(is_forbidden_char) {
            return Err(ErrorCode::BadArguments);
        }
    }
    Ok(())
}

/// Java judges UTF-16 units: anything outside the Basic Multilingual Plane arrives as a surrogate
/// pair, which falls in the forbidden `\ud800..\uf8ff` range.
fn is_forbidden_char(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{e000}'..='\u{f8ff}'
        | '\u{fff0}'..='\u{ffff}')
        || (c as u32) > 0xffff
}

/// Splits `path` into (parent, child name) the way the prep stage does: at the last `/`, with
/// the root's children getting the parent `/`. Fails for paths without a `/` or with a NUL.
pub(crate) fn split_parent(path: &str) -> Result<(&str, &str), ErrorCode> {
    if path.contains('\0') {
        return Err(ErrorCode::BadArguments);
    }
    let slash = path.rfind('/').ok_or(ErrorCode::BadArguments)?;
    let parent = if slash == 0 { ROOT } else { &path[..slash] };
    Ok((parent, &path[slash + 1..]))
}

/// The nodes ZooKeeper itself owns, which no client may delete.
pub(crate) fn is_special_path(path: &str) -> bool {
    matches!(
        path,
        ROOT | PROC_ZOOKEEPER | QUOTA_ZOOKEEPER | CONFIG_ZOOKEEPER
    )
}

/// Number of UTF-16 units in `path`: ZooKeeper's data-size estimate counts Java string length.
pub(crate) fn java_len(s: &str) -> i64 {
    s.chars().map(|c| c.len_utf16() as i64).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_paths() {
        for p in [
            "/", "/a", "/a/b", "/a.b", "/...", "/.a", "/a..", "/a/b-c_d", "/é", "/ ",
        ] {
            assert_eq!(validate_path(p, false), Ok(()), "{p:?}");
        }
    }

    #[test]
    fn rejects_invalid_paths() {
        for p in [
            "",
            "a",
            "/a/",
            "//",
            "/a//b",
            "/.",
            "/..",
            "/a/.",
            "/a/../b",
            "/a\0b",
            "/a\u{1}",
            "/a\u{7f}",
            "/a\u{9f}",
            "/a\u{e000}",
            "/a\u{f8ff}",
            "/a\u{fff0}",
            "/a\u{1f600}",
        ] {
            assert_eq!(
                validate_path(p, false),
                Err(ErrorCode::BadArguments),
                "{p:?}"
            );
        }
    }

    #[test]
    fn sequential_allows_trailing_slash() {
        assert_eq!(validate_path("/a/", true), Ok(()));
        assert_eq!(validate_path("/a/", false), Err(ErrorCode::BadArguments));
        assert_eq!(validate_path("/.", true), Ok(()));
    }

    #[test]
    fn splits_parent() {
        assert_eq!(split_parent("/a"), Ok(("/", "a")));
        assert_eq!(split_parent("/a/b"), Ok(("/a", "b")));
        assert_eq!(split_parent("/"), Ok(("/", "")));
        assert_eq!(split_parent("a"), Err(ErrorCode::BadArguments));
        assert_eq!(split_parent("/a\0"), Err(ErrorCode::BadArguments));
    }
}
