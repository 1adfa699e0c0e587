//! `ferrokeeper server`.

use clap::Args;
use server::config::ServerConfig;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ServerArgs {
    /// A ZooKeeper zoo.cfg to read; flags below override it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Client port (zoo.cfg `clientPort`).
    #[arg(long)]
    port: Option<u16>,
    /// Data directory (zoo.cfg `dataDir`).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

/// Loads the configuration, starts the server and serves until Ctrl-C.
pub fn run(args: ServerArgs) -> Result<(), String> {
    let mut config = match &args.config {
        Some(path) => ServerConfig::from_file(path).map_err(|e| e.to_string())?,
        None => ServerConfig::default(),
    };
    if let Some(port) = args.port {
        config = config.with_port(port);
    }
    if let Some(dir) = args.data_dir {
        config = config.with_data_dir(dir);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async move {
        let running = server::start(config).await.map_err(|e| e.to_string())?;
        tracing::info!(
            "ferrokeeper {}, client port {}",
            env!("CARGO_PKG_VERSION"),
            running.local_addr
        );
        tokio::select! {
            stop = stop_requested() => stop?,
            () = running.consensus_failed() => {
                tracing::error!("stopping: this server can no longer order writes (see the errors above)");
                running.shutdown();
                return Err("consensus stopped on an error; restart the server to recover".into());
            }
        }
        tracing::info!("shutting down");
        running.shutdown_gracefully(SHUTDOWN_SNAPSHOT_LIMIT).await;
        tracing::info!("stopped");
        Ok(())
    })
}

/// How long a stopping server may spend on its final snapshot before it exits anyway (the log
/// still holds everything; the next start replays it).
const SHUTDOWN_SNAPSHOT_LIMIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Waits for Ctrl-C or, on Unix, SIGTERM (what `kill`, systemd and container runtimes send).
async fn stop_requested() -> Result<(), String> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term =
            signal(SignalKind::terminate()).map_err(|e| format!("cannot wait for SIGTERM: {e}"))?;
        tokio::select! {
            ctrl_c = tokio::signal::ctrl_c() => {
                ctrl_c.map_err(|e| format!("cannot wait for Ctrl-C: {e}"))
            }
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c()
            .await
            .map_err(|e| format!("cannot wait for Ctrl-C: {e}"))
    }
}
