//! The shell's front end: one-shot mode, the interactive loop (rustyline: line editing, a
//! history file, completion of command names and znode paths) and the piped-stdin loop.

use crate::command;
use crate::exec::{Flow, Output, Shell};
use crate::options::ShellOptions;
use client::blocking::Client;
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{Editor, Helper};
use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Runs the shell as `ferrokeeper shell ARGS` does; returns whether everything succeeded (the
/// one-shot command, or the last command of a session, as zkCli's exit code reports).
pub fn run(args: &[String]) -> bool {
    let options = match ShellOptions::parse(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return false;
        }
    };
    let io = Output::stdio();
    let mut shell = Shell::new(io, Duration::from_millis(options.timeout_ms));
    if options.command.is_empty() {
        println!("Connecting to {}", options.server);
    } else {
        // One-shot output is for scripts: only the command's answer, no session events.
        shell.set_print_watches(false);
    }
    if let Err(e) = shell.connect(&options.server) {
        shell.report(&e);
        if !options.command.is_empty() {
            return false;
        }
    }
    if !options.command.is_empty() {
        return match command::parse(&options.command).and_then(|c| shell.execute(c)) {
            Ok(_) => true,
            Err(e) => {
                shell.report(&e);
                false
            }
        };
    }
    if std::io::stdin().is_terminal() {
        interactive(&mut shell)
    } else {
        piped(&mut shell)
    }
}

/// Runs `line`, printing its error; returns (go on?, succeeded?).
fn step(shell: &mut Shell, line: &str) -> (bool, bool) {
    match shell.execute_line(line) {
        Ok(Flow::Continue) => (true, true),
        Ok(Flow::Quit) => (false, true),
        Err(e) => {
            shell.report(&e);
            (true, false)
        }
    }
}

/// Commands from a pipe or file: no prompt, no echo, like zkCli without a terminal.
fn piped(shell: &mut Shell) -> bool {
    let mut ok = true;
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let (go_on, succeeded) = step(shell, &line);
        ok = succeeded;
        if !go_on {
            break;
        }
    }
    ok
}

fn history_file() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".ferrokeeper_history"))
}

fn interactive(shell: &mut Shell) -> bool {
    let helper = ShellHelper {
        client: shell.client_slot(),
    };
    let mut editor: Editor<ShellHelper, DefaultHistory> = match Editor::new() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("line editor unavailable ({e}); reading plain lines");
            return piped(shell);
        }
    };
    editor.set_helper(Some(helper));
    let file = history_file();
    if let Some(f) = &file {
        // A missing history file is the normal first run.
        let _ = editor.load_history(f);
    }
    let mut ok = true;
    loop {
        match editor.readline(&shell.prompt()) {
            Ok(line) => {
                if !line.trim().is_empty() {
                    let _ = editor.add_history_entry(line.as_str());
                }
                let (go_on, succeeded) = step(shell, &line);
                ok = succeeded;
                if !go_on {
                    break;
                }
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(_) => break,
        }
    }
    if let Some(f) = &file {
        if let Err(e) = editor.save_history(f) {
            eprintln!("cannot save history to {}: {e}", f.display());
        }
    }
    ok
}

/// Completion of command names (first word) and znode paths (words starting with `/`).
struct ShellHelper {
    client: Arc<Mutex<Option<Client>>>,
}

impl ShellHelper {
    fn children(&self, parent: &str) -> Vec<String> {
        let zk = self
            .client
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let Some(zk) = zk else { return Vec::new() };
        let mut c = zk.get_children(parent).unwrap_or_default();
        c.sort();
        c
    }
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let (start, found) = completions(line, pos, |parent| self.children(parent));
        let pairs = found
            .into_iter()
            .map(|s| Pair {
                display: s.clone(),
                replacement: s,
            })
            .collect();
        Ok((start, pairs))
    }
}

/// The completions of the word ending at `pos` in `line`: where the replaced word starts and
/// its replacements. The first word completes to command names (with a trailing space), a word
/// starting with `/` to the children of its parent znode, listed by `children` (sorted); any
/// other word to nothing.
fn completions(
    line: &str,
    pos: usize,
    children: impl FnOnce(&str) -> Vec<String>,
) -> (usize, Vec<String>) {
    let before = &line[..pos];
    let start = before
        .rfind(char::is_whitespace)
        .map(|i| i + 1)
        .unwrap_or(0);
    let word = &before[start..];
    if start == 0 {
        let names = command::names()
            .filter(|n| n.starts_with(word))
            .map(|n| format!("{n} "))
            .collect();
        return (0, names);
    }
    if !word.starts_with('/') {
        return (pos, Vec::new());
    }
    let (parent, prefix) = match word.rfind('/') {
        Some(0) => ("/", &word[1..]),
        Some(i) => (&word[..i], &word[i + 1..]),
        None => return (pos, Vec::new()),
    };
    let base = if parent == "/" { "" } else { parent };
    let found = children(parent)
        .into_iter()
        .filter(|c| c.starts_with(prefix))
        .map(|c| format!("{base}/{c}"))
        .collect();
    (start, found)
}

// No hints, highlighting or multi-line validation: the defaults do nothing.
impl Hinter for ShellHelper {
    type Hint = String;
}
impl Highlighter for ShellHelper {}
impl Validator for ShellHelper {}
impl Helper for ShellHelper {}

#[cfg(test)]
mod tests {
    use super::completions;
    use std::cell::RefCell;

    /// A tree of `/`, `/app`, `/apple` and `/app/a1`, `/app/a2`, `/app/b`, recording which
    /// parents were listed.
    fn tree<'a>(asked: &'a RefCell<Vec<String>>) -> impl FnOnce(&str) -> Vec<String> + 'a {
        move |parent| {
            asked.borrow_mut().push(parent.to_string());
            let names: &[&str] = match parent {
                "/" => &["app", "apple", "zookeeper"],
                "/app" => &["a1", "a2", "b"],
                _ => &[],
            };
            names.iter().map(|n| n.to_string()).collect()
        }
    }

    #[test]
    fn first_word_completes_command_names() {
        let asked = RefCell::new(Vec::new());
        assert_eq!(
            completions("get", 3, tree(&asked)),
            (
                0,
                vec![
                    "get ".to_string(),
                    "getAcl ".into(),
                    "getAllChildrenNumber ".into(),
                    "getEphemerals ".into()
                ]
            )
        );
        assert_eq!(completions("rm", 2, tree(&asked)), (0, vec!["rmr ".into()]));
        assert_eq!(
            completions("nosuch", 6, tree(&asked)).1,
            Vec::<String>::new()
        );
        let all = completions("", 0, tree(&asked)).1;
        assert!(all.contains(&"ls ".to_string()) && all.contains(&"help ".to_string()));
        assert!(asked.borrow().is_empty(), "command names need no server");
    }

    #[test]
    fn paths_complete_to_children_of_their_parent() {
        let asked = RefCell::new(Vec::new());
        assert_eq!(
            completions("ls /ap", 6, tree(&asked)),
            (3, vec!["/app".to_string(), "/apple".into()])
        );
        assert_eq!(
            completions("get -s /app/a", 13, tree(&asked)),
            (7, vec!["/app/a1".to_string(), "/app/a2".into()])
        );
        assert_eq!(
            completions("ls /app/", 8, tree(&asked)),
            (
                3,
                vec!["/app/a1".to_string(), "/app/a2".into(), "/app/b".into()]
            )
        );
        assert_eq!(*asked.borrow(), ["/", "/app", "/app"]);
    }

    #[test]
    fn completion_stops_at_the_cursor_and_ignores_other_words() {
        let asked = RefCell::new(Vec::new());
        // The cursor is inside `/app/b`: only `/ap` counts.
        assert_eq!(
            completions("ls /app/b", 6, tree(&asked)),
            (3, vec!["/app".to_string(), "/apple".into()])
        );
        // Options and data are not paths.
        assert_eq!(completions("ls -R", 5, tree(&asked)), (5, Vec::new()));
        assert_eq!(completions("set /a da", 9, tree(&asked)), (9, Vec::new()));
        assert_eq!(*asked.borrow(), ["/"]);
    }
}
