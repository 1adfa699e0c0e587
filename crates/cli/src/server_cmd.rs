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
        tokio::signal::ctrl_c()
            .await
            .map_err(|e| format!("cannot wait for Ctrl-C: {e}"))?;
        tracing::info!("shutting down");
        running.shutdown();
        Ok(())
    })
}
