//! Spawns server processes so that they die with the test process, even when it is killed.
//!
//! Linux's parent-death signal fires when the *thread* that forked the child exits, and test
//! threads come and go; so every child is forked by one spawner thread that lives as long as the
//! process.

use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Mutex, OnceLock};

type SpawnJob = (Command, Sender<io::Result<Child>>);

static SPAWNER: OnceLock<Mutex<Sender<SpawnJob>>> = OnceLock::new();

fn spawner() -> &'static Mutex<Sender<SpawnJob>> {
    SPAWNER.get_or_init(|| {
        let (tx, rx) = channel::<SpawnJob>();
        std::thread::Builder::new()
            .name("testkit-spawner".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
                // The sender lives in a static, so the loop never ends and this thread
                // outlives every test.
            })
            .expect("cannot start the spawner thread");
        Mutex::new(tx)
    })
}

/// Spawns `cmd` with SIGKILL as its parent-death signal.
pub(crate) fn spawn_tied(mut cmd: Command) -> io::Result<Child> {
    // SAFETY: prctl and getppid are async-signal-safe; the closure allocates nothing.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died between fork and prctl.
            if libc::getppid() == 1 {
                return Err(io::Error::other("parent already exited"));
            }
            Ok(())
        });
    }
    let (tx, rx) = channel();
    {
        let guard = spawner()
            .lock()
            .map_err(|_| io::Error::other("spawner lock poisoned"))?;
        guard
            .send((cmd, tx))
            .map_err(|_| io::Error::other("spawner thread is gone"))?;
    }
    rx.recv()
        .map_err(|_| io::Error::other("spawner thread dropped the request"))?
}
