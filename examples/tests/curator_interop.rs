//! Curator interop: Java processes using Apache Curator's `InterProcessMutex` (Debian's
//! libcurator-recipes-java 5.4) and Rust tasks using `recipes::InterProcessMutex` contend for
//! one lock path, against Ferrokeeper and against ZooKeeper. Every holder appends `acquire` and
//! `release` lines to one file opened with `O_APPEND` (one write per line), so the file's line
//! order is the real order of those writes across processes: mutual exclusion holds iff every
//! `acquire` is followed by the same holder's `release` before any other `acquire`.
//!
//! The Java side is `tests/curator/LockContender.java`, compiled here with `javac`. Without
//! `java`, `javac` or the jars the tests are skipped with a message, unless
//! `FK_REQUIRE_CURATOR=1` (CI) makes that a failure.

mod common;

use common::{start, temp_log, Proc};
use ferrokeeper_examples::event_log::{field, now_micros, EventLog};
use recipes::InterProcessMutex;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use testkit::Target;

const LOCK: &str = "/interop/lock";
const ROUNDS: usize = 10;
const HOLD: Duration = Duration::from_millis(20);
const JAVA_CONTENDERS: usize = 2;
const RUST_CONTENDERS: usize = 2;
const STEP: Duration = Duration::from_secs(120);

/// The jars the Java contender needs, as Debian installs them.
const JARS: [&str; 8] = [
    "curator-recipes.jar",
    "curator-framework.jar",
    "curator-client.jar",
    "zookeeper.jar",
    "zookeeper-jute.jar",
    "guava.jar",
    "slf4j-api.jar",
    "slf4j-nop.jar",
];

/// Where the jars are: `FK_JAVA_LIBS`, else Debian's `/usr/share/java`.
fn java_libs() -> PathBuf {
    std::env::var_os("FK_JAVA_LIBS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/share/java"))
}

/// The classpath for `LockContender`, compiled once per test binary; `Err` says why the Java
/// side cannot run here.
fn java_classpath() -> Result<String, String> {
    static COMPILED: OnceLock<Result<String, String>> = OnceLock::new();
    COMPILED.get_or_init(compile).clone()
}

fn compile() -> Result<String, String> {
    for tool in ["java", "javac"] {
        if testkit::server::which(tool).is_none() {
            return Err(format!("`{tool}` is not on PATH"));
        }
    }
    let libs = java_libs();
    let missing: Vec<&str> = JARS
        .iter()
        .copied()
        .filter(|j| !libs.join(j).exists())
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "missing in {}: {} (apt-get install libcurator-recipes-java libslf4j-java)",
            libs.display(),
            missing.join(", ")
        ));
    }
    let jars: Vec<String> = JARS
        .iter()
        .map(|j| libs.join(j).display().to_string())
        .collect();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/curator/LockContender.java");
    let classes = Path::new(env!("CARGO_TARGET_TMPDIR")).join("curator-classes");
    std::fs::create_dir_all(&classes).expect("create the classes dir");
    let out = Command::new("javac")
        .arg("-d")
        .arg(&classes)
        .args(["-cp", &jars.join(":")])
        .arg(&source)
        .output()
        .expect("run javac");
    // The jars are here, so a compile error is a real failure, not a reason to skip.
    assert!(
        out.status.success(),
        "javac {} failed:\n{}",
        source.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(format!("{}:{}", classes.display(), jars.join(":")))
}

/// The classpath, or `None` after saying why the test is skipped.
fn classpath_or_skip(test: &str) -> Option<String> {
    match java_classpath() {
        Ok(cp) => Some(cp),
        Err(why) if std::env::var_os("FK_REQUIRE_CURATOR").is_some() => {
            panic!("{test}: the Curator side cannot run and FK_REQUIRE_CURATOR is set: {why}")
        }
        Err(why) => {
            eprintln!("SKIPPED {test}: the Curator side cannot run here: {why}");
            None
        }
    }
}

/// What a log of holds shows once checked.
#[derive(Debug, Default, PartialEq, Eq)]
struct Holds {
    /// Completed holds per contender.
    per_holder: BTreeMap<String, usize>,
    /// Consecutive holds by a Java then a Rust contender, and the other way round.
    java_to_rust: usize,
    rust_to_java: usize,
}

/// Checks that holds never overlap: the lines must be `acquire X n`, `release X n`, pairwise.
fn check_exclusive(lines: &[String]) -> Result<Holds, String> {
    let mut holds = Holds::default();
    let mut held: Option<(String, String)> = None;
    let mut last_holder: Option<String> = None;
    for (i, line) in lines.iter().enumerate() {
        let kind = line.split_whitespace().next().unwrap_or("");
        let id = field(line, "id").ok_or_else(|| format!("line {i}: no id: {line}"))?;
        let n = field(line, "n").ok_or_else(|| format!("line {i}: no n: {line}"))?;
        match (kind, &held) {
            ("acquire", None) => {
                if let Some(prev) = &last_holder {
                    match (prev.starts_with("java"), id.starts_with("java")) {
                        (true, false) => holds.java_to_rust += 1,
                        (false, true) => holds.rust_to_java += 1,
                        _ => {}
                    }
                }
                held = Some((id.to_string(), n.to_string()));
            }
            ("acquire", Some((h, hn))) => {
                return Err(format!(
                    "line {i}: {id} acquired (round {n}) while {h} held the lock (round {hn})"
                ))
            }
            ("release", Some((h, hn))) if h == id && hn == n => {
                *holds.per_holder.entry(id.to_string()).or_default() += 1;
                last_holder = Some(id.to_string());
                held = None;
            }
            _ => return Err(format!("line {i}: unexpected {line} (holder {held:?})")),
        }
    }
    match held {
        Some((h, n)) => Err(format!("{h} never released round {n}")),
        None => Ok(holds),
    }
}

/// One Rust contender: its own session, `ROUNDS` holds, each logged; returns its fencing tokens.
async fn rust_contender(
    mutex: InterProcessMutex,
    id: String,
    log: Arc<EventLog>,
) -> Result<Vec<i64>, String> {
    let mut tokens = Vec::new();
    for n in 1..=ROUNDS {
        let guard = mutex
            .acquire()
            .await
            .map_err(|e| format!("{id}: acquire: {e}"))?;
        let token = guard.fencing_token();
        let at = now_micros();
        log.record(&format!("acquire id={id} n={n} at={at} token={token}"))
            .map_err(|e| e.to_string())?;
        tokio::time::sleep(HOLD).await;
        log.record(&format!("release id={id} n={n} at={}", now_micros()))
            .map_err(|e| e.to_string())?;
        guard
            .release()
            .await
            .map_err(|e| format!("{id}: release: {e}"))?;
        tokens.push(token);
    }
    Ok(tokens)
}

fn java_and_rust_contenders_exclude_each_other(target: Target) {
    let test = format!("java_and_rust_contenders_exclude_each_other({target})");
    let Some(classpath) = classpath_or_skip(&test) else {
        return;
    };
    let server = start(target);
    let addr = server.connect_string();
    let (_dir, log_path) = temp_log("lock.log");
    let log_arg = log_path.to_str().expect("utf-8 temp path").to_string();

    let mut javas: Vec<(Proc, std::process::ChildStdin)> = (1..=JAVA_CONTENDERS)
        .map(|i| {
            let id = format!("java-{i}");
            let mut cmd = Command::new("java");
            cmd.args(["-cp", &classpath, "LockContender", &addr, LOCK, &id])
                .args([&ROUNDS.to_string(), &HOLD.as_millis().to_string(), &log_arg]);
            Proc::spawn_with_stdin(&id, cmd)
        })
        .collect();
    for (p, _) in &mut javas {
        let want = format!("ready id={}", p.name);
        p.wait_line("readiness", STEP, |l| l == want);
    }

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let log = Arc::new(EventLog::open(&log_path).expect("open the log"));
    let tokens: Vec<Vec<i64>> = rt.block_on(async {
        let mut sessions = Vec::new();
        for i in 1..=RUST_CONTENDERS {
            let zk = client::Client::connect(&addr).await.expect("connect");
            let mutex = InterProcessMutex::new(zk.clone(), LOCK).expect("lock path");
            sessions.push((format!("rust-{i}"), zk, mutex));
        }
        // Everyone starts together, so Java and Rust contenders queue behind each other.
        for (_, stdin) in &mut javas {
            writeln!(stdin, "go").expect("start a Java contender");
        }
        let tasks: Vec<_> = sessions
            .iter()
            .map(|(id, _, mutex)| {
                tokio::spawn(rust_contender(mutex.clone(), id.clone(), log.clone()))
            })
            .collect();
        let mut tokens = Vec::new();
        for t in tasks {
            let done = tokio::time::timeout(STEP, t)
                .await
                .expect("Rust contender stuck");
            tokens.push(
                done.expect("Rust contender panicked")
                    .unwrap_or_else(|e| panic!("{e}")),
            );
        }
        for (_, zk, _) in sessions {
            let _ = zk.close().await;
        }
        tokens
    });

    for (p, _) in &mut javas {
        let status = p.wait_exit(STEP);
        assert!(status.success(), "{} failed: {status}", p.name);
        assert!(p.lines.iter().any(|l| *l == format!("done id={}", p.name)));
    }

    // Every contender is done: no lock node may be left.
    rt.block_on(async {
        let zk = client::Client::connect(&addr).await.expect("connect");
        match zk.get_children(LOCK).await {
            Ok(left) => assert!(left.is_empty(), "lock nodes left behind: {left:?}"),
            // Curator's parents are containers: the server may have removed the empty one.
            Err(client::Error::NoNode) => {}
            Err(e) => panic!("list {LOCK}: {e}"),
        }
        let _ = zk.close().await;
    });

    let lines: Vec<String> = std::fs::read_to_string(&log_path)
        .expect("read the log")
        .lines()
        .map(str::to_string)
        .collect();
    let holds = check_exclusive(&lines).unwrap_or_else(|e| {
        panic!(
            "mutual exclusion violated against {target}: {e}\n{}",
            lines.join("\n")
        )
    });
    let ids: Vec<String> = (1..=JAVA_CONTENDERS)
        .map(|i| format!("java-{i}"))
        .chain((1..=RUST_CONTENDERS).map(|i| format!("rust-{i}")))
        .collect();
    for id in &ids {
        assert_eq!(
            holds.per_holder.get(id),
            Some(&ROUNDS),
            "holds of {id}: {holds:?}"
        );
    }
    assert_eq!(holds.per_holder.len(), ids.len(), "{holds:?}");
    assert!(
        holds.java_to_rust > 0 && holds.rust_to_java > 0,
        "the lock never passed between Java and Rust: {holds:?}"
    );
    // Tokens are lock nodes' creation zxids: a later holder's token is larger.
    let rust_tokens: Vec<i64> = lines
        .iter()
        .filter_map(|l| field(l, "token").map(|t| t.parse().expect("numeric token")))
        .collect();
    assert_eq!(rust_tokens.len(), ROUNDS * RUST_CONTENDERS);
    assert!(
        rust_tokens.windows(2).all(|w| w[0] < w[1]),
        "fencing tokens out of order: {rust_tokens:?}"
    );
    assert_eq!(
        tokens.iter().map(Vec::len).sum::<usize>(),
        rust_tokens.len()
    );
    eprintln!("{target}: {holds:?}");
}

#[test]
fn java_and_rust_contenders_exclude_each_other_ferrokeeper() {
    java_and_rust_contenders_exclude_each_other(Target::Ferrokeeper);
}

#[test]
fn java_and_rust_contenders_exclude_each_other_zookeeper() {
    java_and_rust_contenders_exclude_each_other(Target::ZooKeeper);
}

#[test]
fn the_checker_catches_overlapping_holds() {
    let lines = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let good = lines(&[
        "acquire id=java-1 n=1",
        "release id=java-1 n=1",
        "acquire id=rust-1 n=1 token=5",
        "release id=rust-1 n=1",
        "acquire id=java-1 n=2",
        "release id=java-1 n=2",
    ]);
    let holds = check_exclusive(&good).unwrap();
    assert_eq!((holds.java_to_rust, holds.rust_to_java), (1, 1));
    assert_eq!(holds.per_holder["java-1"], 2);

    let overlap = lines(&[
        "acquire id=java-1 n=1",
        "acquire id=rust-1 n=1",
        "release id=java-1 n=1",
        "release id=rust-1 n=1",
    ]);
    assert!(check_exclusive(&overlap)
        .unwrap_err()
        .contains("while java-1 held"));
    let foreign_release = lines(&["acquire id=java-1 n=1", "release id=rust-1 n=1"]);
    assert!(check_exclusive(&foreign_release).is_err());
    let unreleased = lines(&["acquire id=java-1 n=1"]);
    assert!(check_exclusive(&unreleased).is_err());
}
