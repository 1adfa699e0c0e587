//! zkCli's commands as typed values, parsed from the words of a command line.
//!
//! Options follow zkCli's commons-cli parsing: they may appear anywhere after the command name,
//! boolean flags may be bundled (`-es`), and an option's value is the next word.

use crate::error::ShellError;

/// Which watches `removewatches` removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchKind {
    /// `-c`: child watches.
    Children,
    /// `-d`: data watches.
    Data,
    /// `-a` (the default): every kind.
    Any,
}

/// One shell command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `ls [-s] [-w] [-R] path`.
    Ls {
        /// Print the stat after the children.
        stat: bool,
        /// Leave a child watch.
        watch: bool,
        /// List the whole subtree, one path a line.
        recursive: bool,
        /// The node.
        path: String,
    },
    /// `get [-s] [-w] path`.
    Get {
        /// Print the stat after the data.
        stat: bool,
        /// Leave a data watch.
        watch: bool,
        /// The node.
        path: String,
    },
    /// `create [-s] [-e] [-c] [-t ttl] path [data] [acl]`.
    Create {
        /// `-s`: sequential.
        sequential: bool,
        /// `-e`: ephemeral.
        ephemeral: bool,
        /// `-c`: container.
        container: bool,
        /// `-t`: time to live in milliseconds.
        ttl: Option<i64>,
        /// The node.
        path: String,
        /// Its data; without it zkCli creates the node with null data.
        data: Option<String>,
        /// Its ACL in zkCli's `scheme:id:perms,...` form; open by default.
        acl: Option<String>,
    },
    /// `set [-s] [-v version] path data`.
    Set {
        /// Print the new stat.
        stat: bool,
        /// Expected data version.
        version: Option<i32>,
        /// The node.
        path: String,
        /// The new data.
        data: String,
    },
    /// `stat [-w] path`.
    Stat {
        /// Leave an exists watch.
        watch: bool,
        /// The node.
        path: String,
    },
    /// `delete [-v version] path`.
    Delete {
        /// Expected data version.
        version: Option<i32>,
        /// The node.
        path: String,
    },
    /// `deleteall path` (also `rmr`).
    DeleteAll {
        /// The subtree's root.
        path: String,
    },
    /// `getAcl [-s] path`.
    GetAcl {
        /// Print the stat after the ACL.
        stat: bool,
        /// The node.
        path: String,
    },
    /// `setAcl [-s] [-v version] [-R] path acl`.
    SetAcl {
        /// Print the new stat.
        stat: bool,
        /// Expected ACL version.
        version: Option<i32>,
        /// Apply to the whole subtree.
        recursive: bool,
        /// The node.
        path: String,
        /// The ACL in `scheme:id:perms,...` form.
        acl: String,
    },
    /// `addauth scheme auth`.
    AddAuth {
        /// E.g. `digest`.
        scheme: String,
        /// E.g. `user:password`.
        auth: String,
    },
    /// `sync path`.
    Sync {
        /// The node.
        path: String,
    },
    /// `addWatch [-m mode] path`.
    AddWatch {
        /// `true` for PERSISTENT_RECURSIVE (the default), `false` for PERSISTENT.
        recursive: bool,
        /// The node.
        path: String,
    },
    /// `removewatches path [-c|-d|-a]`.
    RemoveWatches {
        /// The node.
        path: String,
        /// Which watches.
        kind: WatchKind,
    },
    /// `getEphemerals [path]`.
    GetEphemerals {
        /// Prefix; `/` when omitted.
        path: String,
    },
    /// `config [-c] [-w] [-s]`: the ensemble's configuration (`/zookeeper/config`, whatever the
    /// chroot).
    Config {
        /// `-c`: only the version and the client addresses (zkCli's client connection string).
        connect_string: bool,
        /// `-w`: leave a watch on the configuration.
        watch: bool,
        /// `-s`: print the stat after the data.
        stat: bool,
    },
    /// `getAllChildrenNumber path`.
    GetAllChildrenNumber {
        /// The node.
        path: String,
    },
    /// `whoami`.
    WhoAmI,
    /// `history`.
    History,
    /// `redo cmdno`.
    Redo(usize),
    /// `printwatches [on|off]`.
    PrintWatches(Option<bool>),
    /// `close`.
    Close,
    /// `connect [host:port]`.
    Connect(Option<String>),
    /// `quit`.
    Quit,
    /// `help` (also any unknown command prints it).
    Help,
}

/// Command names and their option strings, as zkCli's usage lists them.
pub const USAGE: &[(&str, &str)] = &[
    ("addWatch", "[-m mode] path # optional mode is one of [PERSISTENT, PERSISTENT_RECURSIVE] - default is PERSISTENT_RECURSIVE"),
    ("addauth", "scheme auth"),
    ("close", ""),
    ("config", "[-c] [-w] [-s]"),
    ("connect", "host:port"),
    ("create", "[-s] [-e] [-c] [-t ttl] path [data] [acl]"),
    ("delete", "[-v version] path"),
    ("deleteall", "path"),
    ("get", "[-s] [-w] path"),
    ("getAcl", "[-s] path"),
    ("getAllChildrenNumber", "path"),
    ("getEphemerals", "path"),
    ("history", ""),
    ("ls", "[-s] [-w] [-R] path"),
    ("printwatches", "on|off"),
    ("quit", ""),
    ("redo", "cmdno"),
    ("removewatches", "path [-c|-d|-a] [-l]"),
    ("rmr", "path"),
    ("set", "[-s] [-v version] path data"),
    ("setAcl", "[-s] [-v version] [-R] path acl"),
    ("stat", "[-w] path"),
    ("sync", "path"),
    ("whoami", ""),
];

/// The command names, for completion.
pub fn names() -> impl Iterator<Item = &'static str> {
    USAGE.iter().map(|(n, _)| *n).chain(std::iter::once("help"))
}

fn usage(cmd: &str) -> ShellError {
    let opts = USAGE
        .iter()
        .find(|(n, _)| *n == cmd)
        .map(|(_, o)| *o)
        .unwrap_or("");
    ShellError::Usage(format!("{cmd} {opts}"))
}

/// The options and positional words of one command line.
struct Parsed {
    flags: Vec<char>,
    values: Vec<(char, String)>,
    args: Vec<String>,
}

impl Parsed {
    fn flag(&self, c: char) -> bool {
        self.flags.contains(&c)
    }

    fn value(&self, c: char) -> Option<&str> {
        self.values
            .iter()
            .rev()
            .find(|(k, _)| *k == c)
            .map(|(_, v)| v.as_str())
    }
}

/// Splits `words` into flags from `flags`, valued options from `valued`, and positional words.
fn parse_opts(
    cmd: &str,
    words: &[String],
    flags: &str,
    valued: &str,
) -> Result<Parsed, ShellError> {
    let mut p = Parsed {
        flags: Vec::new(),
        values: Vec::new(),
        args: Vec::new(),
    };
    let mut it = words.iter();
    while let Some(w) = it.next() {
        let Some(body) = w.strip_prefix('-').filter(|b| !b.is_empty()) else {
            p.args.push(w.clone());
            continue;
        };
        let mut chars = body.chars();
        while let Some(c) = chars.next() {
            if valued.contains(c) {
                let rest: String = chars.by_ref().collect();
                let v = if rest.is_empty() {
                    it.next().cloned().ok_or_else(|| usage(cmd))?
                } else {
                    rest
                };
                p.values.push((c, v));
            } else if flags.contains(c) {
                p.flags.push(c);
            } else {
                return Err(ShellError::UnknownOption(format!("-{c}")));
            }
        }
    }
    Ok(p)
}

fn version(v: Option<&str>) -> Result<Option<i32>, ShellError> {
    v.map(|s| {
        s.parse::<i32>()
            .map_err(|_| ShellError::Invalid(format!("version {s} is not a number")))
    })
    .transpose()
}

/// Parses the words of one line (`words[0]` is the command name).
pub fn parse(words: &[String]) -> Result<Command, ShellError> {
    let Some((cmd, rest)) = words.split_first() else {
        return Err(ShellError::Usage("No command entered".into()));
    };
    let cmd = cmd.as_str();
    let path1 = |p: &Parsed| -> Result<String, ShellError> {
        match p.args.as_slice() {
            [path] => Ok(path.clone()),
            _ => Err(usage(cmd)),
        }
    };
    Ok(match cmd {
        "ls" | "ls2" => {
            let p = parse_opts(cmd, rest, "swR", "")?;
            Command::Ls {
                stat: p.flag('s') || cmd == "ls2",
                watch: p.flag('w'),
                recursive: p.flag('R'),
                path: path1(&p)?,
            }
        }
        "get" => {
            let p = parse_opts(cmd, rest, "sw", "")?;
            Command::Get {
                stat: p.flag('s'),
                watch: p.flag('w'),
                path: path1(&p)?,
            }
        }
        "create" => {
            let p = parse_opts(cmd, rest, "sec", "t")?;
            let ttl = p
                .value('t')
                .map(|t| {
                    t.parse::<i64>()
                        .map_err(|_| ShellError::Invalid(format!("ttl {t} is not a number")))
                })
                .transpose()?;
            let mut args = p.args.iter().cloned();
            let path = args.next().ok_or_else(|| usage(cmd))?;
            let data = args.next();
            let acl = args.next();
            if args.next().is_some() {
                return Err(usage(cmd));
            }
            Command::Create {
                sequential: p.flag('s'),
                ephemeral: p.flag('e'),
                container: p.flag('c'),
                ttl,
                path,
                data,
                acl,
            }
        }
        "set" => {
            let p = parse_opts(cmd, rest, "s", "v")?;
            let [path, data] = p.args.as_slice() else {
                return Err(usage(cmd));
            };
            Command::Set {
                stat: p.flag('s'),
                version: version(p.value('v'))?,
                path: path.clone(),
                data: data.clone(),
            }
        }
        "stat" => {
            let p = parse_opts(cmd, rest, "w", "")?;
            Command::Stat {
                watch: p.flag('w'),
                path: path1(&p)?,
            }
        }
        "delete" => {
            let p = parse_opts(cmd, rest, "", "v")?;
            Command::Delete {
                version: version(p.value('v'))?,
                path: path1(&p)?,
            }
        }
        "deleteall" | "rmr" => {
            // `-b batch` only tunes how zkCli batches deletes; the result is the same.
            let p = parse_opts(cmd, rest, "", "b")?;
            Command::DeleteAll { path: path1(&p)? }
        }
        "getAcl" => {
            let p = parse_opts(cmd, rest, "s", "")?;
            Command::GetAcl {
                stat: p.flag('s'),
                path: path1(&p)?,
            }
        }
        "setAcl" => {
            let p = parse_opts(cmd, rest, "sR", "v")?;
            let [path, acl] = p.args.as_slice() else {
                return Err(usage(cmd));
            };
            Command::SetAcl {
                stat: p.flag('s'),
                version: version(p.value('v'))?,
                recursive: p.flag('R'),
                path: path.clone(),
                acl: acl.clone(),
            }
        }
        "addauth" => match rest {
            [scheme, auth] => Command::AddAuth {
                scheme: scheme.clone(),
                auth: auth.clone(),
            },
            // zkCli allows `addauth scheme` with empty auth data.
            [scheme] => Command::AddAuth {
                scheme: scheme.clone(),
                auth: String::new(),
            },
            _ => return Err(usage(cmd)),
        },
        "sync" => Command::Sync {
            path: path1(&parse_opts(cmd, rest, "", "")?)?,
        },
        "addWatch" => {
            let p = parse_opts(cmd, rest, "", "m")?;
            let recursive = match p.value('m') {
                None | Some("PERSISTENT_RECURSIVE") => true,
                Some("PERSISTENT") => false,
                Some(other) => {
                    return Err(ShellError::Invalid(format!("Unsupported mode: {other}")))
                }
            };
            Command::AddWatch {
                recursive,
                path: path1(&p)?,
            }
        }
        "removewatches" => {
            // `-l` (remove locally when the server is unreachable) is accepted and ignored.
            let p = parse_opts(cmd, rest, "cdal", "")?;
            let kind = if p.flag('c') {
                WatchKind::Children
            } else if p.flag('d') {
                WatchKind::Data
            } else {
                WatchKind::Any
            };
            Command::RemoveWatches {
                path: path1(&p)?,
                kind,
            }
        }
        "getEphemerals" => {
            let p = parse_opts(cmd, rest, "", "")?;
            match p.args.as_slice() {
                [] => Command::GetEphemerals { path: "/".into() },
                [path] => Command::GetEphemerals { path: path.clone() },
                _ => return Err(usage(cmd)),
            }
        }
        "config" => {
            // zkCli ignores words after the options.
            let p = parse_opts(cmd, rest, "cws", "")?;
            Command::Config {
                connect_string: p.flag('c'),
                watch: p.flag('w'),
                stat: p.flag('s'),
            }
        }
        "getAllChildrenNumber" => Command::GetAllChildrenNumber {
            path: path1(&parse_opts(cmd, rest, "", "")?)?,
        },
        "whoami" => Command::WhoAmI,
        "history" => Command::History,
        "redo" => match rest {
            [n] => Command::Redo(
                n.parse()
                    .map_err(|_| ShellError::Invalid("Command index out of range".into()))?,
            ),
            _ => return Err(usage(cmd)),
        },
        "printwatches" => match rest {
            [] => Command::PrintWatches(None),
            [v] => Command::PrintWatches(Some(v == "on")),
            _ => return Err(usage(cmd)),
        },
        "close" => Command::Close,
        "connect" => Command::Connect(rest.first().cloned()),
        "quit" => Command::Quit,
        "help" => Command::Help,
        other => return Err(ShellError::UnknownCommand(other.to_string())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::split;

    fn p(line: &str) -> Result<Command, ShellError> {
        parse(&split(line))
    }

    #[test]
    fn ls_flags_anywhere_and_bundled() {
        assert_eq!(
            p("ls -sR /a").unwrap(),
            Command::Ls {
                stat: true,
                watch: false,
                recursive: true,
                path: "/a".into()
            }
        );
        assert_eq!(
            p("ls /a -w").unwrap(),
            Command::Ls {
                stat: false,
                watch: true,
                recursive: false,
                path: "/a".into()
            }
        );
    }

    #[test]
    fn create_with_everything() {
        assert_eq!(
            p("create -e -s /a/seq- \"some data\" world:anyone:r").unwrap(),
            Command::Create {
                sequential: true,
                ephemeral: true,
                container: false,
                ttl: None,
                path: "/a/seq-".into(),
                data: Some("some data".into()),
                acl: Some("world:anyone:r".into()),
            }
        );
        match p("create -t 500 /t").unwrap() {
            Command::Create { ttl, data, .. } => {
                assert_eq!(ttl, Some(500));
                assert_eq!(data, None);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn set_and_delete_versions() {
        assert_eq!(
            p("set -s -v 3 /a x").unwrap(),
            Command::Set {
                stat: true,
                version: Some(3),
                path: "/a".into(),
                data: "x".into()
            }
        );
        assert_eq!(
            p("delete -v 0 /a").unwrap(),
            Command::Delete {
                version: Some(0),
                path: "/a".into()
            }
        );
        assert!(matches!(p("set -v x /a d"), Err(ShellError::Invalid(_))));
    }

    #[test]
    fn usage_errors_name_the_syntax() {
        assert_eq!(
            p("set /a").unwrap_err().to_string(),
            "set [-s] [-v version] path data"
        );
        assert_eq!(p("ls").unwrap_err().to_string(), "ls [-s] [-w] [-R] path");
        assert_eq!(
            p("ls -x /").unwrap_err().to_string(),
            "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -x"
        );
        assert_eq!(
            p("frobnicate /").unwrap_err().to_string(),
            "Command not found frobnicate"
        );
        assert!(matches!(p("delete -v"), Err(ShellError::Usage(_))));
    }

    #[test]
    fn watches_and_misc() {
        assert_eq!(
            p("addWatch -m PERSISTENT /a").unwrap(),
            Command::AddWatch {
                recursive: false,
                path: "/a".into()
            }
        );
        assert_eq!(
            p("addWatch /a").unwrap(),
            Command::AddWatch {
                recursive: true,
                path: "/a".into()
            }
        );
        assert_eq!(
            p("removewatches /a -d").unwrap(),
            Command::RemoveWatches {
                path: "/a".into(),
                kind: WatchKind::Data
            }
        );
        assert_eq!(
            p("getEphemerals").unwrap(),
            Command::GetEphemerals { path: "/".into() }
        );
        assert_eq!(p("redo 2").unwrap(), Command::Redo(2));
        assert_eq!(
            p("config -s -cw extra").unwrap(),
            Command::Config {
                connect_string: true,
                watch: true,
                stat: true
            }
        );
        assert_eq!(
            p("config -x").unwrap_err().to_string(),
            "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -x"
        );
        assert_eq!(
            p("setAcl -R -v 1 /a digest:u:p:cdrwa").unwrap(),
            Command::SetAcl {
                stat: false,
                version: Some(1),
                recursive: true,
                path: "/a".into(),
                acl: "digest:u:p:cdrwa".into()
            }
        );
    }
}
