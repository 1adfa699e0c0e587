//! Waiting for the signal that asks a long-running example process to stop cleanly.

use std::io;
use tokio::signal::unix::{signal, Signal, SignalKind};

/// SIGINT (Ctrl-C) and SIGTERM, caught from the moment [`Shutdown::listen`] returns.
///
/// A process stopped this way can leave its group or election and close its session, so its
/// ephemeral nodes go at once; a process killed with SIGKILL cannot, and its nodes stay until
/// the server expires its session.
#[derive(Debug)]
pub struct Shutdown {
    interrupt: Signal,
    terminate: Signal,
}

impl Shutdown {
    /// Starts catching the signals. Call it before announcing readiness: a signal that arrives
    /// earlier still kills the process the default way. Needs a tokio runtime.
    pub fn listen() -> io::Result<Shutdown> {
        Ok(Shutdown {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    /// Resolves at the next SIGINT or SIGTERM.
    pub async fn requested(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}
