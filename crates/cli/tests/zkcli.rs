//! Debian's zkCli.sh against each target: one batch of commands (tests/zkcli/*.zkcli, fed on
//! stdin to one JVM), its output normalised (zxids by rank, times, session ids, the test root) and
//! compared with the output recorded from real ZooKeeper (tests/zkcli/*.expected). The ZooKeeper
//! variant re-checks that recording against the live server; `FK_ZKCLI_BLESS=1` rewrites it.
//! With `FK_TEST_ENSEMBLE=N` the shared Ferrokeeper server is an N-member ensemble and zkCli gets
//! `-server` with every member's address (testkit::shared).

mod common;

use common::output::{hex_after, sort_whoami_blocks};

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use testkit::Target;

fn script_dir() -> PathBuf {
    common::workspace_root().join("tests/zkcli")
}

/// Output lines that depend on the JVM, the terminal or event timing, not on the server's answers.
fn is_noise(line: &str) -> bool {
    let l = line.trim();
    l.is_empty()
        || l.starts_with("SLF4J:")
        || l.starts_with("Connecting to ")
        || l.starts_with("Welcome to ZooKeeper!")
        || l.starts_with("JLine support")
        || l.starts_with("WATCHER::")
        || l.starts_with("WatchedEvent state:")
}

/// Replaces the root, times, session ids and zxids (by rank among the zxids in the output).
fn normalise(raw: &str, root: &str) -> String {
    let lines: Vec<String> = raw
        .lines()
        .filter(|l| !is_noise(l))
        .map(|l| l.replace(root, "{ROOT}"))
        .collect();
    let lines = sort_whoami_blocks(lines);
    let zxid_keys = ["cZxid", "mZxid", "pZxid"];
    let mut zxids = BTreeSet::new();
    for l in &lines {
        for k in zxid_keys {
            if let Some(h) = hex_after(l, k) {
                if let Ok(v) = i64::from_str_radix(h.trim(), 16) {
                    zxids.insert(v);
                }
            }
        }
    }
    let rank = |v: i64| zxids.iter().position(|z| *z == v).unwrap_or(usize::MAX);
    let mut out = String::new();
    for l in &lines {
        let mut done = false;
        for k in zxid_keys {
            if let Some(h) = hex_after(l, k) {
                if let Ok(v) = i64::from_str_radix(h.trim(), 16) {
                    out.push_str(&format!("{k} = Z{}\n", rank(v)));
                    done = true;
                }
            }
        }
        if done {
            continue;
        }
        if l.len() > 2 && l.starts_with('[') && l.ends_with(']') {
            // Lists such as getEphemerals come in hash order; compare them as sets.
            let mut items: Vec<&str> = l[1..l.len() - 1].split(", ").collect();
            items.sort_unstable();
            out.push_str(&format!("[{}]\n", items.join(", ")));
        } else if l.starts_with("ctime = ") || l.starts_with("mtime = ") {
            out.push_str(&format!("{} = <time>\n", &l[..5]));
        } else if let Some(owner) = l.strip_prefix("ephemeralOwner = ") {
            let owner = if owner.trim() == "0x0" {
                "0x0"
            } else {
                "<session>"
            };
            out.push_str(&format!("ephemeralOwner = {owner}\n"));
        } else {
            out.push_str(l);
            out.push('\n');
        }
    }
    out
}

fn run_zkcli(server: &str, commands: &str) -> String {
    let zkcli = testkit::target::ZKCLI;
    if !std::path::Path::new(zkcli).exists() {
        panic!("{zkcli} is missing: `apt-get install -y zookeeper`");
    }
    // zkCli prints some answers (e.g. "Created ...") on stderr: one pipe for both keeps the order.
    let (mut reader, writer) = std::io::pipe().expect("pipe");
    let mut cmd = Command::new("timeout");
    cmd.args(["120", zkcli, "-server", server])
        .stdin(Stdio::piped())
        .stdout(writer.try_clone().expect("clone pipe"))
        .stderr(writer);
    let mut child = cmd.spawn().expect("spawn zkCli.sh");
    // Our copies of the write end must close, or reading never sees EOF.
    drop(cmd);
    {
        let mut stdin = child.stdin.take().expect("zkCli stdin");
        stdin.write_all(commands.as_bytes()).expect("feed zkCli");
    }
    let mut out = String::new();
    std::io::Read::read_to_string(&mut reader, &mut out).expect("read zkCli output");
    let status = child.wait().expect("wait for zkCli");
    assert!(status.success(), "zkCli.sh exited with {status}:\n{out}");
    out
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

/// The `-server` argument: the shared server's connect string, checked to name every ensemble
/// member when `FK_TEST_ENSEMBLE` asks for one (else the ensemble pass would test nothing new).
fn server_arg(target: Target, server: &testkit::shared::SharedServer) -> String {
    let hosts = server.connect_string();
    let size = std::env::var(testkit::shared::ENSEMBLE_ENV)
        .ok()
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|&n| n > 1 && target == Target::Ferrokeeper)
        .unwrap_or(1);
    assert_eq!(
        hosts.split(',').count(),
        size,
        "{target}: zkCli would get {hosts}, not {size} address(es)"
    );
    println!("zkCli -server {hosts}");
    hosts
}

fn check_script(target: Target, name: &str) {
    let dir = script_dir();
    let script = fs::read_to_string(dir.join(format!("{name}.zkcli"))).expect("read zkcli script");
    let root = testkit::unique_root(&format!("zkcli_{name}_{}", target.name()));
    let commands = format!("{}\nquit\n", script.replace("{ROOT}", &root));
    let server = common::server(target);
    let raw = run_zkcli(&server_arg(target, &server), &commands);
    let actual = normalise(&raw, &root);
    let expected_path = dir.join(format!("{name}.expected"));
    if target == Target::ZooKeeper && std::env::var_os("FK_ZKCLI_BLESS").is_some() {
        let mut f = fs::File::create(&expected_path).expect("write expected output");
        f.write_all(actual.as_bytes()).unwrap();
        return;
    }
    let expected = fs::read_to_string(&expected_path).expect("read expected output");
    assert!(
        expected.lines().count() > 20,
        "expected output is implausibly short"
    );
    assert!(
        actual == expected,
        "zkCli output against {target} differs from ZooKeeper's recording ({})\n{}\n--- raw output ---\n{raw}",
        expected_path.display(),
        first_difference(&expected, &actual)
    );
}

mod zookeeper {
    #[test]
    fn zkcli_basic() {
        super::check_script(testkit::Target::ZooKeeper, "basic");
    }
}

mod ferrokeeper {
    #[test]
    fn zkcli_basic() {
        super::check_script(testkit::Target::Ferrokeeper, "basic");
    }
}
