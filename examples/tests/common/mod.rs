//! Shared by the example tests: a server of either kind, example processes whose output lines
//! are collected as they come, and signals to crash, pause or stop those processes.

// Each test binary uses its own subset of these helpers.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};
use testkit::{ServerConfig, Target, TestServer};

/// Starts a server of `target` with the test defaults (short ticks, so sessions expire fast).
pub fn start(target: Target) -> TestServer {
    let config = match target {
        Target::Ferrokeeper => {
            ServerConfig::default().with_binary(testkit::target::ferrokeeper_binary())
        }
        Target::ZooKeeper => ServerConfig::default(),
    };
    TestServer::start(target, &config).unwrap_or_else(|e| panic!("start {target}: {e}"))
}

/// A child process whose stdout lines are read by a thread as they come.
pub struct Proc {
    pub name: String,
    child: Child,
    rx: Receiver<String>,
    /// Every line received so far.
    pub lines: Vec<String>,
    exited: Option<ExitStatus>,
}

impl Proc {
    /// Spawns `cmd` with its stdout captured (stderr goes to the test's).
    pub fn spawn(name: &str, mut cmd: Command) -> Proc {
        cmd.stdin(Stdio::null());
        Proc::start(name, cmd)
    }

    /// Like [`Proc::spawn`], with a pipe to the process's stdin.
    pub fn spawn_with_stdin(name: &str, mut cmd: Command) -> (Proc, ChildStdin) {
        cmd.stdin(Stdio::piped());
        let mut p = Proc::start(name, cmd);
        let stdin = p.child.stdin.take().expect("piped stdin");
        (p, stdin)
    }

    fn start(name: &str, mut cmd: Command) -> Proc {
        let mut child = cmd
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {name}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Proc {
            name: name.to_string(),
            child,
            rx,
            lines: Vec::new(),
            exited: None,
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Waits for the next line (after those already received) matching `pred`; panics after
    /// `limit`, showing every line so far.
    pub fn wait_line(
        &mut self,
        what: &str,
        limit: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(line) => {
                    self.lines.push(line.clone());
                    if pred(&line) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => panic!(
                    "{}: no {what} within {limit:?}; lines so far:\n{}",
                    self.name,
                    self.lines.join("\n")
                ),
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "{}: exited ({:?}) without {what}; lines:\n{}",
                    self.name,
                    self.child.try_wait(),
                    self.lines.join("\n")
                ),
            }
        }
    }

    /// Waits for the process to exit (at most `limit`) and collects its remaining lines.
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        if let Some(s) = self.exited {
            return s;
        }
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("try_wait") {
                break s;
            }
            assert!(
                Instant::now() < deadline,
                "{} still running after {limit:?}; lines:\n{}",
                self.name,
                self.lines.join("\n")
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        // The reader thread ends at EOF; take what it still has.
        while let Ok(line) = self.rx.recv_timeout(Duration::from_secs(2)) {
            self.lines.push(line);
        }
        self.exited = Some(status);
        status
    }

    /// SIGKILL: the process gets no chance to clean up; its session just stops.
    pub fn crash(&mut self) {
        self.child.kill().expect("SIGKILL");
        let status = self.child.wait().expect("reap");
        self.exited = Some(status);
    }

    /// Sends `sig` (SIGTERM to stop cleanly, SIGSTOP/SIGCONT to pause and resume).
    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on our own child's pid, which stays reserved until we reap it.
        let rc = unsafe { libc::kill(self.pid(), sig) };
        assert_eq!(rc, 0, "kill({}, {sig}) failed", self.pid());
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.exited.is_none() {
            // SIGKILL also ends a paused (SIGSTOP) process.
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A fresh log file in its own temporary directory (removed when the guard drops).
pub fn temp_log(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    (dir, path)
}
