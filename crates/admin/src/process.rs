//! Facts about this process and host for `envi` and `mntr`, read from the OS on demand.

use std::path::Path;

/// `envi`'s lines, with ZooKeeper's keys where they mean something outside a JVM
/// (`zookeeper.version` first: kazoo's `server_version()` parses it).
pub fn environment(full_version: &str) -> Vec<(String, String)> {
    let na = || "<NA>".to_owned();
    let var = |name: &str| std::env::var(name).ok();
    let lines = vec![
        ("zookeeper.version", full_version.to_owned()),
        (
            "host.name",
            read_trimmed("/proc/sys/kernel/hostname").unwrap_or_else(na),
        ),
        ("os.name", java_os_name().to_owned()),
        ("os.arch", java_os_arch().to_owned()),
        (
            "os.version",
            read_trimmed("/proc/sys/kernel/osrelease").unwrap_or_else(na),
        ),
        (
            "user.name",
            var("USER").or_else(|| var("LOGNAME")).unwrap_or_else(na),
        ),
        ("user.home", var("HOME").unwrap_or_else(na)),
        (
            "user.dir",
            std::env::current_dir()
                .map(|d| d.display().to_string())
                .unwrap_or_else(|_| na()),
        ),
        ("java.io.tmpdir", std::env::temp_dir().display().to_string()),
        ("process.id", std::process::id().to_string()),
    ];
    lines.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// (open, maximum) file descriptors of this process, where the OS exposes them (Linux `/proc`).
pub fn file_descriptors() -> (Option<u64>, Option<u64>) {
    let open = std::fs::read_dir("/proc/self/fd")
        .ok()
        .map(|entries| entries.count() as u64);
    let max = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| max_open_files(&limits));
    (open, max)
}

/// The soft limit on the `Max open files` line of `/proc/self/limits`.
fn max_open_files(limits: &str) -> Option<u64> {
    limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|soft| soft.parse().ok())
}

fn read_trimmed(path: impl AsRef<Path>) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// Java's `os.name` spelling.
fn java_os_name() -> &'static str {
    match std::env::consts::OS {
        "linux" => "Linux",
        "macos" => "Mac OS X",
        "windows" => "Windows",
        "freebsd" => "FreeBSD",
        other => other,
    }
}

/// Java's `os.arch` spelling.
fn java_os_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "x86" => "x86",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_starts_with_the_version_kazoo_parses() {
        let env = environment("3.9.0-ferrokeeper-0.1.0, built on x");
        assert_eq!(env[0].0, "zookeeper.version");
        assert_eq!(env[0].1, "3.9.0-ferrokeeper-0.1.0, built on x");
        let keys: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
        for key in ["host.name", "os.name", "os.arch", "os.version", "user.dir"] {
            assert!(keys.contains(&key), "{key}");
        }
        assert!(env.iter().all(|(_, v)| !v.contains('\n')));
    }

    #[test]
    fn limits_parsing() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max processes             127448               127448               processes\n\
                      Max open files            20000                524288               files\n";
        assert_eq!(max_open_files(limits), Some(20000));
        assert_eq!(
            max_open_files("Max open files unlimited unlimited files\n"),
            None
        );
        assert_eq!(max_open_files(""), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn descriptors_are_counted_on_linux() {
        let (open, max) = file_descriptors();
        let open = open.expect("/proc/self/fd");
        assert!(open >= 3, "stdin, stdout, stderr at least: {open}");
        assert!(max.expect("/proc/self/limits") >= open);
    }
}
