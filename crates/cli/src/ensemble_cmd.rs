//! `ferrokeeper ensemble`: a local N-member ensemble on loopback for development, one process per
//! member, each with its own zoo.cfg, myid and data directory.

use clap::Args;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

#[derive(Args, Debug)]
pub struct EnsembleArgs {
    /// Number of members (participants).
    #[arg(long, default_value_t = 3)]
    size: u16,
    /// Directory holding each member's configuration, data and log (`<dir>/<id>/`).
    #[arg(long, value_name = "DIR", default_value = "ensemble")]
    dir: PathBuf,
    /// Client port of member 1; member N listens on this + N - 1.
    #[arg(long, default_value_t = 2181)]
    client_port: u16,
    /// Quorum port of member 1; member N uses this + N - 1 (election ports: + 1000).
    #[arg(long, default_value_t = 2888)]
    quorum_port: u16,
}

/// The zoo.cfg of member `id`.
fn zoo_cfg(args: &EnsembleArgs, id: u16, data_dir: &Path) -> String {
    let mut cfg = format!(
        "tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir={}\nclientPort={}\nclientPortAddress=127.0.0.1\n\
         4lw.commands.whitelist=*\n",
        data_dir.display(),
        args.client_port + id - 1,
    );
    for member in 1..=args.size {
        let quorum = args.quorum_port + member - 1;
        cfg.push_str(&format!(
            "server.{member}=127.0.0.1:{quorum}:{}\n",
            quorum + 1000
        ));
    }
    cfg
}

/// Writes every member's files, starts them and waits for Ctrl-C (then stops them).
pub fn run(args: EnsembleArgs) -> Result<(), String> {
    if args.size == 0 {
        return Err("an ensemble needs at least one member".into());
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let base = std::path::absolute(&args.dir).map_err(|e| e.to_string())?;
    let mut children: Vec<(u16, Child)> = Vec::new();
    for id in 1..=args.size {
        let dir = base.join(id.to_string());
        let data_dir = dir.join("data");
        std::fs::create_dir_all(&data_dir)
            .map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
        std::fs::write(data_dir.join("myid"), format!("{id}\n"))
            .map_err(|e| format!("cannot write myid: {e}"))?;
        let cfg_path = dir.join("zoo.cfg");
        std::fs::write(&cfg_path, zoo_cfg(&args, id, &data_dir))
            .map_err(|e| format!("cannot write {}: {e}", cfg_path.display()))?;
        let log_path = dir.join("server.log");
        let log = std::fs::File::create(&log_path)
            .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
        let err = log.try_clone().map_err(|e| e.to_string())?;
        let mut command = Command::new(&exe);
        stop_with_parent(&mut command);
        let child = command
            .arg("server")
            .arg("--config")
            .arg(&cfg_path)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start member {id}: {e}"))?;
        children.push((id, child));
    }
    let connect: Vec<String> = (1..=args.size)
        .map(|id| format!("127.0.0.1:{}", args.client_port + id - 1))
        .collect();
    println!("ensemble of {} started under {}", args.size, base.display());
    println!("connect string: {}", connect.join(","));
    println!(
        "logs: {}/<id>/server.log; Ctrl-C stops every member",
        base.display()
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let outcome = runtime.block_on(async {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .map_err(|e| e.to_string())?;
        loop {
            tokio::select! {
                r = tokio::signal::ctrl_c() => return r.map_err(|e| e.to_string()),
                _ = terminate.recv() => return Ok(()),
                () = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
            for (id, child) in children.iter_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(format!("member {id} exited ({status}); see its server.log"));
                }
            }
        }
    });
    for (_, child) in children.iter_mut() {
        let _ = child.kill();
        let _ = child.wait();
    }
    outcome
}

/// Members get SIGTERM when this process dies, however it dies (even `kill -9`), so a stopped
/// ensemble never leaves members running in the background.
fn stop_with_parent(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl and getppid are async-signal-safe and the closure allocates nothing.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died between fork and prctl.
            if libc::getppid() == 1 {
                return Err(std::io::Error::other("the ensemble command already exited"));
            }
            Ok(())
        });
    }
}
