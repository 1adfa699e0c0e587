//! `ferrokeeper shell` end to end: scripted sessions on stdin against each target, normalised
//! (zxids by rank, times, session ids, the test root) and compared with expected output.
//!
//! - tests/zkcli/basic.zkcli must print exactly what Debian's zkCli.sh printed against real
//!   ZooKeeper (tests/zkcli/basic.expected), against both targets.
//! - tests/shell/*.shell are sessions with watches, ACLs, errors, history and reconnects; their
//!   expected output (tests/shell/*.expected) is Debian's zkCli.sh against real ZooKeeper, which
//!   `FK_SHELL_BLESS=1` re-records. Watch events arrive asynchronously (in zkCli too), so they
//!   are compared as a sorted list at the end.
//! - tests/shell/config.shell: `config` (standalone: an empty configuration), also under a chroot.
//! - One-shot mode: `ferrokeeper shell -server X cmd args` runs one command and reports failure
//!   in its exit code.

mod common;

use common::output::{hex_after, sort_whoami_blocks};

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::process::{Command, Output, Stdio};
use testkit::Target;

/// The shell's output with the root, server, times, session ids and zxids made comparable; watch
/// events are moved, sorted, to a section at the end.
fn normalise(raw: &str, root: &str, server: &str) -> String {
    let mut events = Vec::new();
    let mut lines = Vec::new();
    for l in raw.lines() {
        let l = l.replace(root, "{ROOT}").replace(server, "{SERVER}");
        let t = l.trim();
        let noise = [
            "Connecting to ",
            "SLF4J:",
            "Welcome to ZooKeeper!",
            "JLine support",
        ];
        if t.is_empty() || t == "WATCHER::" || noise.iter().any(|n| t.starts_with(n)) {
            continue;
        }
        if t.starts_with("WatchedEvent ") {
            events.push(l);
        } else {
            lines.push(l);
        }
    }
    let lines = sort_whoami_blocks(lines);
    let keys = ["cZxid", "mZxid", "pZxid"];
    let zxid = |l: &str, k: &str| hex_after(l, k).and_then(|h| i64::from_str_radix(h, 16).ok());
    let zxids: BTreeSet<i64> = lines
        .iter()
        .flat_map(|l| keys.iter().filter_map(move |k| zxid(l, k)))
        .collect();
    let rank = |v: i64| zxids.iter().position(|z| *z == v).unwrap_or(usize::MAX);
    let mut out = String::new();
    for l in &lines {
        if let Some((k, v)) = keys.iter().find_map(|k| zxid(l, k).map(|v| (k, v))) {
            out.push_str(&format!("{k} = Z{}\n", rank(v)));
        } else if l.len() > 2 && l.starts_with('[') && l.ends_with(']') {
            let mut items: Vec<&str> = l[1..l.len() - 1].split(", ").collect();
            items.sort_unstable();
            out.push_str(&format!("[{}]\n", items.join(", ")));
        } else if l.starts_with("ctime = ") || l.starts_with("mtime = ") {
            out.push_str(&format!("{} = <time>\n", &l[..5]));
        } else if let Some(owner) = l.strip_prefix("ephemeralOwner = ") {
            let owner = if owner == "0x0" { "0x0" } else { "<session>" };
            out.push_str(&format!("ephemeralOwner = {owner}\n"));
        } else {
            out.push_str(l);
            out.push('\n');
        }
    }
    events.sort();
    out.push_str("--- watch events (sorted) ---\n");
    for e in events {
        out.push_str(&e);
        out.push('\n');
    }
    out
}

/// The part before the watch events (zkCli's recordings have none).
fn without_events(normalised: &str) -> &str {
    normalised
        .split("--- watch events")
        .next()
        .unwrap_or(normalised)
}

/// Which shell runs a script.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Program {
    /// `ferrokeeper shell`.
    Ours,
    /// Debian's zkCli.sh, the reference.
    ZkCli,
}

/// Runs the shell with `args` and `stdin`; stdout and stderr share one pipe, so their lines keep
/// the order the shell wrote them in.
fn run_shell(program: Program, args: &[&str], stdin: &str) -> (String, std::process::ExitStatus) {
    let (mut reader, writer) = std::io::pipe().expect("pipe");
    let mut cmd = Command::new("timeout");
    cmd.arg("120");
    match program {
        Program::Ours => cmd.arg(common::fk_bin()).arg("shell"),
        Program::ZkCli => cmd.arg(testkit::target::ZKCLI),
    };
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(writer.try_clone().expect("clone pipe"))
        .stderr(writer);
    let mut child = cmd.spawn().expect("spawn ferrokeeper shell");
    // Our copies of the write end must close, or reading never sees EOF.
    drop(cmd);
    {
        let mut input = child.stdin.take().expect("shell stdin");
        input.write_all(stdin.as_bytes()).expect("feed shell");
    }
    let mut out = String::new();
    std::io::Read::read_to_string(&mut reader, &mut out).expect("read shell output");
    let status = child.wait().expect("wait for shell");
    (out, status)
}

fn first_difference(expected: &str, actual: &str) -> String {
    let e: Vec<&str> = expected.lines().collect();
    let a: Vec<&str> = actual.lines().collect();
    let i = e
        .iter()
        .zip(&a)
        .position(|(x, y)| x != y)
        .unwrap_or(e.len().min(a.len()));
    let from = i.saturating_sub(3);
    let mut s = format!("first difference at output line {}:\n", i + 1);
    for (n, l) in e.iter().enumerate().skip(from).take(8) {
        s.push_str(&format!("  expected {:>3}: {l}\n", n + 1));
    }
    for (n, l) in a.iter().enumerate().skip(from).take(8) {
        s.push_str(&format!("  actual   {:>3}: {l}\n", n + 1));
    }
    s
}

/// Runs `dir/name.ext` through the shell against `target`; returns (normalised, raw).
fn session(program: Program, target: Target, dir: &str, name: &str, ext: &str) -> (String, String) {
    let dir = common::workspace_root().join(dir);
    let script = fs::read_to_string(dir.join(format!("{name}.{ext}"))).expect("read script");
    let who = if program == Program::Ours {
        "fk"
    } else {
        "zkcli"
    };
    let root = testkit::unique_root(&format!("shell_{name}_{}_{who}", target.name()));
    let server = common::server(target).connect_string();
    let input = format!(
        "{}\nquit\n",
        script.replace("{ROOT}", &root).replace("{SERVER}", &server)
    );
    let (raw, status) = run_shell(program, &["-server", &server], &input);
    assert!(status.success(), "shell exited with {status}:\n{raw}");
    (normalise(&raw, &root, &server), raw)
}

fn compare(expected: &str, actual: &str, what: &str, raw: &str) {
    assert!(
        expected.lines().count() > 20,
        "expected output of {what} is implausibly short"
    );
    assert!(
        actual == expected,
        "{what} differs\n{}\n--- raw output ---\n{raw}",
        first_difference(expected, actual)
    );
}

/// Our shell prints what zkCli printed for the same commands against real ZooKeeper.
fn zkcli_basic(target: Target) {
    let (actual, raw) = session(Program::Ours, target, "tests/zkcli", "basic", "zkcli");
    let expected = fs::read_to_string(common::workspace_root().join("tests/zkcli/basic.expected"))
        .expect("read zkCli's recording");
    compare(
        &expected,
        without_events(&actual),
        &format!("shell against {target} vs zkCli's basic.expected"),
        &raw,
    );
}

fn scripted(target: Target, name: &str) {
    let path = common::workspace_root().join(format!("tests/shell/{name}.expected"));
    if target == Target::ZooKeeper && std::env::var_os("FK_SHELL_BLESS").is_some() {
        let (recorded, _) = session(Program::ZkCli, target, "tests/shell", name, "shell");
        fs::write(&path, &recorded).expect("write expected output");
    }
    let (actual, raw) = session(Program::Ours, target, "tests/shell", name, "shell");
    let expected = fs::read_to_string(&path).expect("read expected output");
    compare(
        &expected,
        &actual,
        &format!("shell session {name} against {target}"),
        &raw,
    );
}

/// tests/shell/config.shell records `config` on a standalone server, whose configuration node is
/// empty; an ensemble's members print their membership instead (ensemble_config.rs checks that).
fn scripted_config(target: Target) {
    if !common::server(target).members.is_empty() {
        println!("config.shell is recorded on a standalone server; the shared one is an ensemble");
        return;
    }
    scripted(target, "config");
}

fn one_shot(target: Target) {
    let server = common::server(target).connect_string();
    let root = testkit::unique_root(&format!("shell_oneshot_{}", target.name()));
    let run = |args: &[&str]| -> Output {
        Command::new(common::fk_bin())
            .arg("shell")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run ferrokeeper shell")
    };
    let text = |o: &Output| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };
    let created = run(&["-server", &server, "create", &root, "hello world"]);
    assert!(
        created.status.success(),
        "create failed: {}",
        text(&created)
    );
    assert_eq!(
        String::from_utf8_lossy(&created.stderr).trim(),
        format!("Created {root}")
    );
    // `--server` and a quoted word (one argv entry with a space) work too.
    let got = run(&["--server", &server, "get", &root]);
    assert!(got.status.success(), "get failed: {}", text(&got));
    let stdout = String::from_utf8_lossy(&got.stdout);
    assert_eq!(stdout.lines().last(), Some("hello world"), "{stdout}");

    let missing = format!("{root}/missing");
    let failed = run(&["-server", &server, "get", &missing]);
    assert!(!failed.status.success(), "get of a missing node succeeded");
    assert!(
        String::from_utf8_lossy(&failed.stderr)
            .contains(&format!("Node does not exist: {missing}")),
        "{}",
        text(&failed)
    );

    // A chroot in the connect string: paths are relative to it.
    let chrooted = format!("{server}{root}");
    let kid = run(&["-server", &chrooted, "create", "/kid"]);
    assert!(kid.status.success(), "chroot create: {}", text(&kid));
    let ls = run(&["-server", &server, "ls", &root]);
    assert_eq!(
        String::from_utf8_lossy(&ls.stdout).lines().last(),
        Some("[kid]"),
        "{}",
        text(&ls)
    );
    let usage = run(&["-server", &server, "set", &root]);
    assert!(!usage.status.success(), "a usage error exited 0");
    assert!(
        String::from_utf8_lossy(&usage.stderr).contains("set [-s] [-v version] path data"),
        "{}",
        text(&usage)
    );
}

mod zookeeper {
    use testkit::Target::ZooKeeper;

    #[test]
    fn shell_prints_what_zkcli_prints() {
        super::zkcli_basic(ZooKeeper);
    }

    #[test]
    fn shell_session() {
        super::scripted(ZooKeeper, "session");
    }

    #[test]
    fn shell_config() {
        super::scripted_config(ZooKeeper);
    }

    #[test]
    fn shell_one_shot() {
        super::one_shot(ZooKeeper);
    }
}

mod ferrokeeper {
    use testkit::Target::Ferrokeeper;

    #[test]
    fn shell_prints_what_zkcli_prints() {
        super::zkcli_basic(Ferrokeeper);
    }

    #[test]
    fn shell_session() {
        super::scripted(Ferrokeeper, "session");
    }

    #[test]
    fn shell_config() {
        super::scripted_config(Ferrokeeper);
    }

    #[test]
    fn shell_one_shot() {
        super::one_shot(Ferrokeeper);
    }
}
