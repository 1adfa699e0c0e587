//! One server process (ZooKeeper or Ferrokeeper) on a free loopback port, killed on drop.

use crate::config::ServerConfig;
use crate::four_letter;
use crate::process::spawn_tied;
use crate::raw::RawClient;
use crate::target::{ferrokeeper_binary_from_env, Target, ZOOKEEPER_CLASSPATH};
use std::fs;
use std::io::{self, Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a server may take to answer `ruok`. A JVM on a busy 2-core machine needs a few seconds.
pub const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a test server could not be started.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// A prerequisite is not installed; the message names the package.
    #[error("missing prerequisite: {0}")]
    Missing(String),
    /// Spawning or preparing files failed.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
    /// The process exited before it became ready.
    #[error("{target} exited during startup ({status}); log tail:\n{log}")]
    Exited {
        target: Target,
        status: String,
        log: String,
    },
    /// A shared server failed to start earlier in this process; the message is that failure.
    #[error("shared server unavailable: {0}")]
    Shared(String),
    /// The process never answered `ruok` with `imok`.
    #[error("{target} did not answer ruok with imok within {timeout:?}; log tail:\n{log}")]
    NotReady {
        target: Target,
        timeout: Duration,
        log: String,
    },
}

fn io_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> HarnessError {
    let context = context.into();
    move |source| HarnessError::Io { context, source }
}

/// A loopback port for a test server to listen on. Never 2181, which is reserved for the user.
///
/// Ports come from below the kernel's ephemeral range: a port the kernel handed out for `bind(0)`
/// may be handed out again a moment later as the source port of some outgoing connection (every
/// test client makes them), and the server that was meant to listen there then fails with
/// "address in use". Below that range only listeners we place ourselves live. Within one process a
/// counter keeps successive calls apart; a random start keeps concurrent test processes apart.
pub fn free_port() -> io::Result<u16> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);
    let (low, high) = private_port_range();
    let span = u32::from(high - low);
    if span == 0 {
        // The ephemeral range covers everything: let the kernel choose and hope.
        return Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
            .local_addr()?
            .port());
    }
    let _ = NEXT.compare_exchange(
        u32::MAX,
        random_seed() % span,
        Ordering::Relaxed,
        Ordering::Relaxed,
    );
    for _ in 0..span {
        let offset = NEXT.fetch_add(1, Ordering::Relaxed) % span;
        // `offset < span`, so this fits in u16.
        let port = low + offset as u16;
        if port == 2181 {
            continue;
        }
        if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return Ok(port);
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AddrInUse,
        format!("no free port in {low}..{high}"),
    ))
}

/// Ports outside `/proc/sys/net/ipv4/ip_local_port_range`: below it when there is room (the usual
/// 32768..60999 leaves 10000..32768), above it otherwise.
fn private_port_range() -> (u16, u16) {
    let ephemeral = fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|text| {
            let mut it = text.split_whitespace().map(|n| n.parse::<u16>().ok());
            Some((it.next()??, it.next()??))
        })
        .unwrap_or((32768, 60999));
    if ephemeral.0 >= 12000 {
        (10000, ephemeral.0)
    } else {
        (ephemeral.1.saturating_add(1).max(1025), u16::MAX)
    }
}

fn random_seed() -> u32 {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.finish() as u32
}

/// A running server. Dropping it kills the process and deletes its directory.
pub struct TestServer {
    target: Target,
    port: u16,
    child: Option<Child>,
    dir: tempfile::TempDir,
    log_path: PathBuf,
    config_path: PathBuf,
    config: ServerConfig,
    /// `Some(myid)` for an ensemble member, which ZooKeeper runs as a quorum peer.
    my_id: Option<u64>,
}

impl std::fmt::Debug for TestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestServer")
            .field("target", &self.target)
            .field("port", &self.port)
            .field("dir", &self.dir.path())
            .finish()
    }
}

impl TestServer {
    /// Starts `target` with `config` and waits until it answers `ruok` with `imok`.
    pub fn start(target: Target, config: &ServerConfig) -> Result<TestServer, HarnessError> {
        let port = free_port().map_err(io_err("finding a free port"))?;
        let mut server = TestServer::spawn(target, config, port, None)?;
        server.wait_ready(READY_TIMEOUT)?;
        Ok(server)
    }

    /// Starts ensemble member `my_id` (its `server.N` lines are in `config.extra`) on client port
    /// `port`, without waiting: a member serves only once a quorum of them runs.
    pub fn spawn_member(
        target: Target,
        config: &ServerConfig,
        port: u16,
        my_id: u64,
    ) -> Result<TestServer, HarnessError> {
        TestServer::spawn(target, config, port, Some(my_id))
    }

    fn spawn(
        target: Target,
        config: &ServerConfig,
        port: u16,
        my_id: Option<u64>,
    ) -> Result<TestServer, HarnessError> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("fk-testkit-{}-", target.name()))
            .tempdir()
            .map_err(io_err("creating the server directory"))?;
        let data_dir = dir.path().join("data");
        fs::create_dir_all(&data_dir).map_err(io_err("creating dataDir"))?;
        if let Some(id) = my_id {
            fs::write(data_dir.join("myid"), format!("{id}\n")).map_err(io_err("writing myid"))?;
        }
        let config_path = dir.path().join("zoo.cfg");
        fs::write(&config_path, config.render(port, &data_dir))
            .map_err(io_err("writing zoo.cfg"))?;
        let log_path = dir.path().join("server.log");
        let mut server = TestServer {
            target,
            port,
            child: None,
            dir,
            log_path,
            config_path,
            config: config.clone(),
            my_id,
        };
        server.spawn_process(server.command()?)?;
        Ok(server)
    }

    /// The command line that starts this server.
    fn command(&self) -> Result<Command, HarnessError> {
        match self.target {
            Target::ZooKeeper => zookeeper_command(&self.config_path, &self.config, self.my_id),
            Target::Ferrokeeper => ferrokeeper_command(&self.config_path, &self.config),
        }
    }

    fn spawn_process(&mut self, mut cmd: Command) -> Result<(), HarnessError> {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .map_err(io_err("opening the server log"))?;
        let log2 = log.try_clone().map_err(io_err("cloning the log handle"))?;
        cmd.stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log2))
            .current_dir(self.dir.path());
        let child = spawn_tied(cmd).map_err(io_err(format!("spawning {}", self.target)))?;
        self.child = Some(child);
        Ok(())
    }

    /// Waits until the server answers `ruok` and accepts a session.
    pub fn wait_ready(&mut self, timeout: Duration) -> Result<(), HarnessError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(HarnessError::Exited {
                        target: self.target,
                        status: status.to_string(),
                        log: self.log_tail(4000),
                    });
                }
            }
            if let Ok(answer) = four_letter::send(self.addr(), "ruok", Duration::from_secs(2)) {
                // ZooKeeper answers imok before it serves sessions (it closes session connections
                // until then), so a real handshake is the readiness test that matters.
                if answer == "imok" {
                    if let Ok(client) = RawClient::connect(self.addr(), 10_000) {
                        let _ = client.close();
                        return Ok(());
                    }
                }
            }
            if Instant::now() >= deadline {
                return Err(HarnessError::NotReady {
                    target: self.target,
                    timeout,
                    log: self.log_tail(4000),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Which implementation this is.
    pub fn target(&self) -> Target {
        self.target
    }

    /// The client port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:<port>`.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// A connect string for clients: `127.0.0.1:<port>`.
    pub fn connect_string(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The server's `dataDir`.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The generated `zoo.cfg`.
    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// The settings it was started with.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// Sends a four-letter word and returns the answer.
    pub fn four_letter(&self, word: &str) -> io::Result<String> {
        four_letter::send(self.addr(), word, Duration::from_secs(5))
    }

    /// The last `max` bytes of the server's stdout+stderr.
    pub fn log_tail(&self, max: u64) -> String {
        let Ok(mut f) = fs::File::open(&self.log_path) else {
            return String::from("<no log>");
        };
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        let _ = f.seek(SeekFrom::Start(len.saturating_sub(max)));
        let mut buf = Vec::new();
        let _ = f.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    }

    /// True while the process is running.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Starts the same server again (same port, config and data directory) after [`kill`](Self::kill)
    /// and waits until it serves.
    pub fn restart(&mut self) -> Result<(), HarnessError> {
        self.kill();
        self.spawn_process(self.command()?)?;
        self.wait_ready(READY_TIMEOUT)
    }

    /// The `myid` of an ensemble member; `None` for a standalone server.
    pub fn my_id(&self) -> Option<u64> {
        self.my_id
    }

    /// The server process's id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(std::process::Child::id)
    }

    /// Kills the process with SIGKILL, as a crash would (idempotent).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// ZooKeeper's command line: `ZooKeeperServerMain` for a standalone server, `QuorumPeerMain` for
/// an ensemble member (the standalone main ignores `server.N` lines and would serve alone).
fn zookeeper_command(
    config_path: &Path,
    config: &ServerConfig,
    my_id: Option<u64>,
) -> Result<Command, HarnessError> {
    for jar in ZOOKEEPER_CLASSPATH {
        if !Path::new(jar).exists() {
            return Err(HarnessError::Missing(format!(
                "{jar} not found: install Debian's ZooKeeper with `apt-get install -y zookeeper`"
            )));
        }
    }
    let java = which("java").ok_or_else(|| {
        HarnessError::Missing(
            "`java` not on PATH: `apt-get install -y zookeeper` pulls in a JRE".into(),
        )
    })?;
    let mut cmd = Command::new(java);
    // Startup speed matters more than peak throughput for tests.
    cmd.args([
        "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1",
        "-Xss512k",
        "-Dzookeeper.admin.enableServer=false",
        "-Dzookeeper.root.logger=INFO,CONSOLE",
        "-Dzookeeper.console.threshold=INFO",
    ]);
    // Three members run at once next to the shared servers, so each gets a smaller heap; a
    // standalone server keeps room for the large-packet tests.
    cmd.arg(if my_id.is_some() {
        "-Xmx128m"
    } else {
        "-Xmx512m"
    });
    if let Some(v) = config.jute_max_buffer {
        // ZooKeeper's packet limit is read from `jute.maxbuffer` without the `zookeeper.` prefix
        // that zoo.cfg's unknown keys get, so it has to be a JVM flag.
        cmd.arg(format!("-Djute.maxbuffer={v}"));
    }
    if let Some(v) = config.container_check_interval_ms {
        // Read by ZooKeeperServerMain as a plain system property, not through zoo.cfg.
        cmd.arg(format!("-Dznode.container.checkIntervalMs={v}"));
    }
    if config
        .extra
        .iter()
        .any(|(k, v)| k == "readonlymode.enabled" && v.trim().eq_ignore_ascii_case("true"))
    {
        // QuorumPeer decides whether a LOOKING member starts its ReadOnlyZooKeeperServer with
        // `Boolean.getBoolean("readonlymode.enabled")`, a plain system property; QuorumPeerConfig
        // turns the zoo.cfg key into `zookeeper.readonlymode.enabled`, which nothing reads. The
        // zoo.cfg line stays for Ferrokeeper.
        cmd.arg("-Dreadonlymode.enabled=true");
    }
    cmd.arg("-cp")
        .arg(ZOOKEEPER_CLASSPATH.join(":"))
        .arg(if my_id.is_some() {
            "org.apache.zookeeper.server.quorum.QuorumPeerMain"
        } else {
            "org.apache.zookeeper.server.ZooKeeperServerMain"
        })
        .arg(config_path);
    Ok(cmd)
}

fn ferrokeeper_command(config_path: &Path, config: &ServerConfig) -> Result<Command, HarnessError> {
    let bin = config
        .ferrokeeper_binary
        .clone()
        .or_else(ferrokeeper_binary_from_env)
        .ok_or_else(|| {
            HarnessError::Missing(
                "no Ferrokeeper binary: set ServerConfig::ferrokeeper_binary or env FK_BINARY"
                    .into(),
            )
        })?;
    if !bin.exists() {
        return Err(HarnessError::Missing(format!(
            "Ferrokeeper binary {} does not exist (cargo build -p ferrokeeper)",
            bin.display()
        )));
    }
    let mut cmd = Command::new(bin);
    cmd.arg("server").arg("--config").arg(config_path);
    cmd.env("RUST_BACKTRACE", "1");
    Ok(cmd)
}

/// Finds an executable on PATH.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}
