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
/// trailing `/` that a sequential create may end with. Every violation is `BadArguments`.
pub fn validate_path(path: &str, sequential: bool) -> Result<(), ErrorCode> {
    jute::validate_path(path, sequential).map_err(|_| ErrorCode::BadArguments)
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
