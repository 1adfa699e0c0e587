//! Running commands against a session and printing their answers as zkCli does.

use crate::client_config;
use crate::command::{self, Command, WatchKind};
use crate::error::ShellError;
use crate::format;
use crate::tokens;
use client::blocking::Client;
use client::{
    AddWatchMode, Builder, CreateMode, CreateOptions, EventType, KeeperState, SessionState,
    WatchFuture, WatcherType,
};
use std::collections::VecDeque;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A shared writer; watch events arrive on other threads and print through it too.
pub type Sink = Arc<Mutex<dyn Write + Send>>;

/// Where answers (stdout) and errors (stderr) go.
#[derive(Clone)]
pub struct Output {
    /// Answers.
    pub out: Sink,
    /// Errors and zkCli's `Created ...` lines.
    pub err: Sink,
}

impl Output {
    /// The process's stdout and stderr.
    pub fn stdio() -> Output {
        Output {
            out: Arc::new(Mutex::new(std::io::stdout())),
            err: Arc::new(Mutex::new(std::io::stderr())),
        }
    }
}

fn write_to(sink: &Sink, text: &str) -> std::io::Result<()> {
    // A poisoned lock only means another printer panicked; the writer itself is still usable.
    let mut w = sink.lock().unwrap_or_else(|e| e.into_inner());
    w.write_all(text.as_bytes())?;
    w.flush()
}

/// Whether the shell goes on after a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Read the next command.
    Continue,
    /// `quit`.
    Quit,
}

/// A shell: the current session, its connect string, the numbered command history.
pub struct Shell {
    client: Arc<Mutex<Option<Client>>>,
    host: String,
    timeout: Duration,
    history: Vec<String>,
    io: Output,
    print_watches: Arc<AtomicBool>,
    /// Threads printing watch events; joined when the session closes so no delivered event is
    /// lost at exit.
    printers: Mutex<Vec<JoinHandle<()>>>,
}

/// How long closing waits for watch printers to finish.
const PRINTER_GRACE: Duration = Duration::from_secs(2);

impl Shell {
    /// A shell that prints to `io`, not yet connected.
    pub fn new(io: Output, timeout: Duration) -> Shell {
        Shell {
            client: Arc::new(Mutex::new(None)),
            host: String::new(),
            timeout,
            history: Vec::new(),
            io,
            print_watches: Arc::new(AtomicBool::new(true)),
            printers: Mutex::new(Vec::new()),
        }
    }

    /// Turns printing of watch and session events on or off (`printwatches`).
    pub fn set_print_watches(&self, on: bool) {
        self.print_watches.store(on, Ordering::Relaxed);
    }

    /// The session slot, shared with the line editor's path completion.
    pub fn client_slot(&self) -> Arc<Mutex<Option<Client>>> {
        self.client.clone()
    }

    fn client(&self) -> Result<Client, ShellError> {
        let slot = self.client.lock().unwrap_or_else(|e| e.into_inner());
        slot.clone().ok_or(ShellError::NotConnected)
    }

    /// Connects to `host` (closing any previous session), announcing it as zkCli's default
    /// watcher does.
    pub fn connect(&mut self, host: &str) -> Result<(), ShellError> {
        self.close_session();
        self.host = host.to_string();
        let builder = Builder::default().session_timeout(self.timeout);
        let zk = Client::connect_with(builder, host).map_err(|e| ShellError::keeper(e, host))?;
        *self.client.lock().unwrap_or_else(|e| e.into_inner()) = Some(zk);
        self.print_event(KeeperState::SyncConnected, EventType::None, "")?;
        Ok(())
    }

    fn close_session(&mut self) {
        let old = self.client.lock().unwrap_or_else(|e| e.into_inner()).take();
        let Some(zk) = old else { return };
        // The session is going away either way; a failed close only leaves it to expire.
        let _ = zk.close();
        // Dropping the last handle ends the session's watches, which lets their printers finish.
        drop(zk);
        let printers =
            std::mem::take(&mut *self.printers.lock().unwrap_or_else(|e| e.into_inner()));
        let deadline = Instant::now() + PRINTER_GRACE;
        for p in printers {
            while !p.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            if p.is_finished() {
                // A printer that panicked has nothing more to print.
                let _ = p.join();
            }
        }
        (self.event_printer())(KeeperState::Closed, EventType::None, "");
    }

    /// zkCli's prompt: `[zk: host:port(CONNECTED) N] `.
    pub fn prompt(&self) -> String {
        let state = match self
            .client
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            None => "CLOSED",
            Some(zk) => match zk.state() {
                SessionState::Connecting | SessionState::Disconnected => "CONNECTING",
                SessionState::Connected => "CONNECTED",
                SessionState::ConnectedReadOnly => "CONNECTEDREADONLY",
                SessionState::AuthFailed => "AUTH_FAILED",
                _ => "CLOSED",
            },
        };
        format!("[zk: {}({state}) {}] ", self.host, self.history.len())
    }

    /// Runs one line typed by the user: empty lines are skipped; others are numbered into the
    /// history (as zkCli does, even when they fail) and executed.
    pub fn execute_line(&mut self, line: &str) -> Result<Flow, ShellError> {
        let words = tokens::split(line);
        if words.is_empty() {
            return Ok(Flow::Continue);
        }
        self.history.push(line.to_string());
        let cmd = command::parse(&words).inspect_err(|e| {
            if matches!(e, ShellError::UnknownCommand(_)) {
                let _ = self.help();
            }
        })?;
        self.execute(cmd)
    }

    /// Runs one parsed command. Without a session, commands that need one print `Not connected`
    /// and count as done, as in zkCli.
    pub fn execute(&mut self, cmd: Command) -> Result<Flow, ShellError> {
        match self.execute_inner(cmd) {
            Err(ShellError::NotConnected) => {
                self.out("Not connected\n")?;
                Ok(Flow::Continue)
            }
            other => other,
        }
    }

    fn execute_inner(&mut self, cmd: Command) -> Result<Flow, ShellError> {
        match cmd {
            Command::Ls {
                stat,
                watch,
                recursive,
                path,
            } => self.ls(stat, watch, recursive, &path)?,
            Command::Get { stat, watch, path } => {
                let zk = self.client()?;
                let k = |e| ShellError::keeper(e, &path);
                let (data, st) = if watch {
                    let (d, s, w) = zk.get_data_opt_w(&path).map_err(k)?;
                    self.spawn_watch(w);
                    (d, s)
                } else {
                    zk.get_data_opt(&path).map_err(k)?
                };
                // zkCli prints null data as the word `null`, empty data as an empty line.
                let shown = data.map_or_else(
                    || "null".into(),
                    |d| String::from_utf8_lossy(&d).into_owned(),
                );
                self.out(&format!("{shown}\n"))?;
                if stat {
                    self.out(&format::stat(&st))?;
                }
            }
            Command::Create {
                sequential,
                ephemeral,
                container,
                ttl,
                path,
                data,
                acl,
            } => {
                let mode = create_mode(sequential, ephemeral, container, ttl)?;
                let acl = match acl {
                    Some(a) => self.parse_acl(&a)?,
                    None => client::Acl::open_unsafe(),
                };
                let options = match ttl {
                    Some(ms) => CreateOptions::new(mode, acl).with_ttl(mode, ms),
                    None => CreateOptions::new(mode, acl),
                };
                // Without data, zkCli creates the node with null data (not empty).
                let (created, _) = self
                    .client()?
                    .create_opt(&path, data.as_deref().map(str::as_bytes), &options)
                    .map_err(|e| ShellError::keeper(e, &path))?;
                self.err(&format!("Created {created}\n"))?;
            }
            Command::Set {
                stat,
                version,
                path,
                data,
            } => {
                let st = self
                    .client()?
                    .set_data(&path, data.as_bytes(), version)
                    .map_err(|e| ShellError::keeper(e, &path))?;
                if stat {
                    self.out(&format::stat(&st))?;
                }
            }
            Command::Stat { watch, path } => {
                let zk = self.client()?;
                let k = |e| ShellError::keeper(e, &path);
                let st = if watch {
                    let (s, w) = zk.exists_w(&path).map_err(k)?;
                    self.spawn_watch(w);
                    s
                } else {
                    zk.exists(&path).map_err(k)?
                };
                let st = st.ok_or_else(|| ShellError::keeper(client::Error::NoNode, &path))?;
                self.out(&format::stat(&st))?;
            }
            Command::Delete { version, path } => self
                .client()?
                .delete(&path, version)
                .map_err(|e| ShellError::keeper(e, &path))?,
            Command::DeleteAll { path } => {
                let zk = self.client()?;
                let nodes = subtree(&zk, &path)?;
                // Children before parents.
                for node in nodes.iter().rev() {
                    match zk.delete(node, None) {
                        Ok(()) | Err(client::Error::NoNode) => {}
                        Err(e) => return Err(ShellError::keeper(e, node)),
                    }
                }
            }
            Command::GetAcl { stat, path } => {
                let (acl, st) = self
                    .client()?
                    .get_acl(&path)
                    .map_err(|e| ShellError::keeper(e, &path))?;
                let text: String = acl.iter().map(format::acl_entry).collect();
                self.out(&text)?;
                if stat {
                    self.out(&format::stat(&st))?;
                }
            }
            Command::SetAcl {
                stat,
                version,
                recursive,
                path,
                acl,
            } => {
                let acl = self.parse_acl(&acl)?;
                let zk = self.client()?;
                let targets = if recursive {
                    subtree(&zk, &path)?
                } else {
                    vec![path.clone()]
                };
                let mut last = None;
                for node in &targets {
                    last = Some(
                        zk.set_acl(node, &acl, version)
                            .map_err(|e| ShellError::keeper(e, node))?,
                    );
                }
                if let (true, Some(st)) = (stat, last) {
                    self.out(&format::stat(&st))?;
                }
            }
            Command::AddAuth { scheme, auth } => self
                .client()?
                .add_auth(&scheme, auth.as_bytes())
                .map_err(|e| ShellError::keeper(e, &scheme))?,
            Command::Sync { path } => {
                self.client()?
                    .sync(&path)
                    .map_err(|e| ShellError::keeper(e, &path))?;
                self.out("Sync is OK\n")?;
            }
            Command::AddWatch { recursive, path } => {
                let mode = if recursive {
                    AddWatchMode::PersistentRecursive
                } else {
                    AddWatchMode::Persistent
                };
                let mut w = self
                    .client()?
                    .add_watch(&path, mode)
                    .map_err(|e| ShellError::keeper(e, &path))?;
                let printer = self.event_printer();
                self.keep_printer(std::thread::spawn(move || {
                    while let Some(ev) = w.next_blocking() {
                        if ev.event_type == EventType::None {
                            break;
                        }
                        printer(ev.state, ev.event_type, &ev.path);
                    }
                }));
            }
            Command::RemoveWatches { path, kind } => {
                let t = match kind {
                    WatchKind::Children => WatcherType::Children,
                    WatchKind::Data => WatcherType::Data,
                    WatchKind::Any => WatcherType::Any,
                };
                self.client()?
                    .remove_watches(&path, t)
                    .map_err(|e| ShellError::keeper(e, &path))?;
            }
            Command::GetEphemerals { path } => {
                // In the server's order, as zkCli prints it.
                let list = self
                    .client()?
                    .get_ephemerals(&path)
                    .map_err(|e| ShellError::keeper(e, &path))?;
                self.out(&format!("{}\n", format::java_list(&list)))?;
            }
            Command::Config {
                connect_string,
                watch,
                stat,
            } => self.config(connect_string, watch, stat)?,
            Command::GetAllChildrenNumber { path } => {
                let n = self
                    .client()?
                    .get_all_children_number(&path)
                    .map_err(|e| ShellError::keeper(e, &path))?;
                self.out(&format!("{n}\n"))?;
            }
            Command::WhoAmI => {
                let ids = self
                    .client()?
                    .who_am_i()
                    .map_err(|e| ShellError::keeper(e, ""))?;
                let mut text = String::from("Auth scheme: User\n");
                for i in ids {
                    text.push_str(&format!("{}: {}\n", i.auth_scheme, i.user));
                }
                self.out(&text)?;
            }
            Command::History => {
                // zkCli lists the last ten commands and this one.
                let n = self.history.len();
                let text: String = self
                    .history
                    .iter()
                    .enumerate()
                    .skip(n.saturating_sub(11))
                    .map(|(i, l)| format!("{i} - {l}\n"))
                    .collect();
                self.out(&text)?;
            }
            Command::Redo(i) => {
                let current = self.history.len().saturating_sub(1);
                if i >= current {
                    return Err(ShellError::Invalid("Command index out of range".into()));
                }
                let line = self.history[i].clone();
                let words = tokens::split(&line);
                if words.first().map(String::as_str) == Some("redo") {
                    return Err(ShellError::Invalid("No redoing redos".into()));
                }
                // The redo takes the number of the command it repeats, as in zkCli.
                if let Some(last) = self.history.last_mut() {
                    *last = line;
                }
                return self.execute(command::parse(&words)?);
            }
            Command::PrintWatches(None) => {
                let on = self.print_watches.load(Ordering::Relaxed);
                self.out(&format!(
                    "printwatches is {}\n",
                    if on { "on" } else { "off" }
                ))?;
            }
            Command::PrintWatches(Some(on)) => self.print_watches.store(on, Ordering::Relaxed),
            Command::Close => self.close_session(),
            Command::Connect(host) => {
                let host = host.unwrap_or_else(|| self.host.clone());
                self.connect(&host)?;
            }
            Command::Quit => {
                self.close_session();
                return Ok(Flow::Quit);
            }
            Command::Help => self.help()?,
        }
        Ok(Flow::Continue)
    }

    fn ls(&self, stat: bool, watch: bool, recursive: bool, path: &str) -> Result<(), ShellError> {
        let zk = self.client()?;
        let k = |e| ShellError::keeper(e, path);
        if recursive {
            let text: String = subtree(&zk, path)?
                .into_iter()
                .map(|p| format!("{p}\n"))
                .collect();
            return self.out(&text);
        }
        let (mut children, st) = if watch {
            let (c, w) = zk.get_children_w(path).map_err(k)?;
            self.spawn_watch(w);
            let st = if stat {
                zk.exists(path).map_err(k)?
            } else {
                None
            };
            (c, st)
        } else if stat {
            let (c, s) = zk.get_children2(path).map_err(k)?;
            (c, Some(s))
        } else {
            (zk.get_children(path).map_err(k)?, None)
        };
        children.sort();
        self.out(&format!("{}\n", format::java_list(&children)))?;
        if let Some(st) = st {
            self.out(&format::stat(&st))?;
        }
        Ok(())
    }

    /// zkCli's `config`: the data of `/zookeeper/config` (empty on a standalone server), or with
    /// `-c` only its version and client addresses.
    fn config(&self, connect_string: bool, watch: bool, stat: bool) -> Result<(), ShellError> {
        let zk = self.client()?;
        let k = |e| ShellError::keeper(e, client::CONFIG_NODE);
        let (data, st) = if watch {
            let (d, s, w) = zk.get_config_w().map_err(k)?;
            self.spawn_watch(w);
            (d, s)
        } else {
            zk.get_config().map_err(k)?
        };
        let text = String::from_utf8_lossy(&data);
        let shown = if connect_string {
            client_config::client_config_str(&text)
        } else {
            text.into_owned()
        };
        self.out(&format!("{shown}\n"))?;
        if stat {
            self.out(&format::stat(&st))?;
        }
        Ok(())
    }

    fn parse_acl(&self, text: &str) -> Result<Vec<client::Acl>, ShellError> {
        for c in format::unknown_perms(text) {
            self.err(&format!("Unknown perm type: {c}\n"))?;
        }
        format::parse_acl(text)
    }

    fn help(&self) -> Result<(), ShellError> {
        let mut text = String::from(
            "ZooKeeper -server host:port -client-configuration properties-file cmd args\n",
        );
        for (name, opts) in command::USAGE {
            text.push_str(&format!("\t{name} {opts}\n"));
        }
        self.err(&text)
    }

    fn out(&self, text: &str) -> Result<(), ShellError> {
        Ok(write_to(&self.io.out, text)?)
    }

    fn err(&self, text: &str) -> Result<(), ShellError> {
        Ok(write_to(&self.io.err, text)?)
    }

    /// Prints an error the way zkCli's main loop does.
    pub fn report(&self, e: &ShellError) {
        // Nothing better to do if stderr itself is gone.
        let _ = self.err(&format!("{e}\n"));
    }

    fn print_event(
        &self,
        state: KeeperState,
        event_type: EventType,
        path: &str,
    ) -> Result<(), ShellError> {
        (self.event_printer())(state, event_type, path);
        Ok(())
    }

    /// What zkCli's default watcher does with an event: `WATCHER::` and the event, each after
    /// an empty line, unless `printwatches off`.
    fn event_printer(&self) -> impl Fn(KeeperState, EventType, &str) + Send + 'static {
        let out = self.io.out.clone();
        let on = self.print_watches.clone();
        move |state, event_type, path| {
            if on.load(Ordering::Relaxed) {
                let text = format!(
                    "\nWATCHER::\n\n{}\n",
                    format::watched_event(state, event_type, path)
                );
                let _ = write_to(&out, &text);
            }
        }
    }

    fn spawn_watch(&self, w: WatchFuture) {
        let printer = self.event_printer();
        self.keep_printer(std::thread::spawn(move || {
            let ev = w.wait_blocking();
            // Session-end notices are the connection's business, not this watch's.
            if ev.event_type != EventType::None {
                printer(ev.state, ev.event_type, &ev.path);
            }
        }));
    }

    fn keep_printer(&self, handle: JoinHandle<()>) {
        let mut printers = self.printers.lock().unwrap_or_else(|e| e.into_inner());
        printers.retain(|p| !p.is_finished());
        printers.push(handle);
    }
}

impl Drop for Shell {
    fn drop(&mut self) {
        self.close_session();
    }
}

fn create_mode(
    sequential: bool,
    ephemeral: bool,
    container: bool,
    ttl: Option<i64>,
) -> Result<CreateMode, ShellError> {
    let conflict = |what: &str| Err(ShellError::Invalid(what.to_string()));
    if ttl.is_some() {
        if ephemeral {
            return conflict("TTLs cannot be used with Ephemeral znodes");
        }
        if container {
            return conflict("TTLs cannot be used with Container znodes");
        }
        return Ok(if sequential {
            CreateMode::PersistentSequentialWithTtl
        } else {
            CreateMode::PersistentWithTtl
        });
    }
    if container {
        if ephemeral || sequential {
            return conflict("-c cannot be combined with -s or -e. Containers cannot be ephemeral or sequential.");
        }
        return Ok(CreateMode::Container);
    }
    Ok(match (ephemeral, sequential) {
        (true, true) => CreateMode::EphemeralSequential,
        (true, false) => CreateMode::Ephemeral,
        (false, true) => CreateMode::PersistentSequential,
        (false, false) => CreateMode::Persistent,
    })
}

/// `path` and all its descendants, breadth first with children sorted, parents before children.
fn subtree(zk: &Client, path: &str) -> Result<Vec<String>, ShellError> {
    let mut out = Vec::new();
    let mut queue = VecDeque::from([path.to_string()]);
    while let Some(node) = queue.pop_front() {
        let mut children = match zk.get_children(&node) {
            Ok(c) => c,
            // Gone meanwhile: only the root's absence is an error.
            Err(client::Error::NoNode) if node != path => continue,
            Err(e) => return Err(ShellError::keeper(e, &node)),
        };
        children.sort();
        for c in children {
            queue.push_back(if node == "/" {
                format!("/{c}")
            } else {
                format!("{node}/{c}")
            });
        }
        out.push(node);
    }
    Ok(out)
}
