//! Client-side path rules and the chroot that is prepended to every path sent and stripped from
//! every path received.

use crate::error::Error;

/// Checks `path` against ZooKeeper's path rules (the same check the server makes), so a bad
/// path fails here with a message instead of as a server error. `sequential` allows the trailing
/// `/` of a sequential create, whose name is then only the suffix.
pub(crate) fn validate(path: &str, sequential: bool) -> Result<(), Error> {
    jute::validate_path(path, sequential)
        .map_err(|why| Error::invalid(format!("invalid path {path:?}: {why}")))
}

/// The chroot suffix of a connect string (`host:port/app`), or none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Chroot(Option<String>);

impl Chroot {
    /// A chroot from the path part of a connect string; `/` means none.
    pub(crate) fn new(path: &str) -> Result<Chroot, Error> {
        if path.is_empty() || path == "/" {
            return Ok(Chroot(None));
        }
        validate(path, false)?;
        Ok(Chroot(Some(path.to_string())))
    }

    /// The chroot, if any.
    pub(crate) fn as_str(&self) -> Option<&str> {
        self.0.as_deref()
    }

    /// The server path for a client path.
    pub(crate) fn prepend(&self, path: &str) -> String {
        match &self.0 {
            None => path.to_string(),
            Some(root) if path == "/" => root.clone(),
            Some(root) => format!("{root}{path}"),
        }
    }

    /// The client path for a server path. A path outside the chroot (which a server never
    /// sends for requests made under it) is returned unchanged rather than mangled.
    pub(crate) fn strip(&self, path: &str) -> String {
        let Some(root) = &self.0 else {
            return path.to_string();
        };
        match path.strip_prefix(root.as_str()) {
            Some("") => "/".to_string(),
            Some(rest) if rest.starts_with('/') => rest.to_string(),
            _ => path.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_paths() {
        for p in ["/", "/a", "/a/b", "/a.b/c..d", "/zookeeper", "/ünïcödé"] {
            assert_eq!(validate(p, false), Ok(()), "{p}");
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
            "/a/..",
            "/a/./b",
            "/a\u{0}",
            "/\u{1}",
            "/\u{fff5}",
        ] {
            assert!(
                matches!(validate(p, false), Err(Error::InvalidArgument(_))),
                "{p:?}"
            );
        }
    }

    #[test]
    fn sequential_create_may_end_with_a_slash() {
        assert_eq!(validate("/a/", true), Ok(()));
        assert!(validate("/a//", true).is_err());
        assert!(validate("/a/", false).is_err());
    }

    #[test]
    fn chroot_prepends_and_strips() {
        let c = Chroot::new("/app").unwrap();
        assert_eq!(c.prepend("/"), "/app");
        assert_eq!(c.prepend("/x/y"), "/app/x/y");
        assert_eq!(c.strip("/app"), "/");
        assert_eq!(c.strip("/app/x"), "/x");
        // Not under the chroot (only a prefix of a name): left alone.
        assert_eq!(c.strip("/apple"), "/apple");
        let none = Chroot::new("/").unwrap();
        assert_eq!(none.prepend("/x"), "/x");
        assert_eq!(none.strip("/x"), "/x");
    }

    #[test]
    fn chroot_must_be_a_valid_path() {
        assert!(Chroot::new("/app/").is_err());
        assert!(Chroot::new("/a//b").is_err());
    }
}
