//! The shell's process arguments, as zkCli takes them: `-server host:port[,...][/chroot]`,
//! `-timeout ms`, `-r`, then an optional command and its arguments (one-shot mode).

use crate::error::ShellError;

/// zkCli's default server.
pub const DEFAULT_SERVER: &str = "localhost:2181";

/// Parsed process arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellOptions {
    /// The connect string.
    pub server: String,
    /// Session timeout in milliseconds.
    pub timeout_ms: u64,
    /// Allow read-only servers (`-r`).
    pub read_only: bool,
    /// A command to run instead of the interactive loop.
    pub command: Vec<String>,
}

impl ShellOptions {
    /// Parses `args` (without the program and subcommand names). Both zkCli's single-dash
    /// options and GNU-style `--server`/`--server=...` are accepted; the first word that is not
    /// an option starts the command.
    pub fn parse(args: &[String]) -> Result<ShellOptions, ShellError> {
        let mut o = ShellOptions {
            server: DEFAULT_SERVER.to_string(),
            timeout_ms: 30_000,
            read_only: false,
            command: Vec::new(),
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let (name, inline) = match a.split_once('=') {
                Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
                _ => (a.as_str(), None),
            };
            let mut value = || {
                inline
                    .clone()
                    .or_else(|| it.next().cloned())
                    .ok_or_else(|| {
                        ShellError::Invalid(format!("Error: no argument found for option {name}"))
                    })
            };
            match name {
                "-server" | "--server" => o.server = value()?,
                "-timeout" | "--timeout" => {
                    let v = value()?;
                    o.timeout_ms = v
                        .parse()
                        .map_err(|_| ShellError::Invalid(format!("bad timeout: {v}")))?;
                }
                "-r" | "--read-only" => o.read_only = true,
                _ if !a.starts_with('-') => {
                    o.command.push(a.clone());
                    o.command.extend(it.cloned());
                    break;
                }
                // zkCli ignores options it does not know.
                _ => {}
            }
        }
        Ok(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<ShellOptions, ShellError> {
        let args: Vec<String> = s.split_whitespace().map(String::from).collect();
        ShellOptions::parse(&args)
    }

    #[test]
    fn single_dash_server_and_one_shot_command() {
        let o = parse("-server 127.0.0.1:2999,h2:1/app ls -s /").unwrap();
        assert_eq!(o.server, "127.0.0.1:2999,h2:1/app");
        assert_eq!(o.command, ["ls", "-s", "/"]);
    }

    #[test]
    fn double_dash_forms() {
        assert_eq!(parse("--server h:1").unwrap().server, "h:1");
        let o = parse("--server=h:2 --timeout=5000 -r").unwrap();
        assert_eq!(
            (o.server.as_str(), o.timeout_ms, o.read_only),
            ("h:2", 5000, true)
        );
        assert!(o.command.is_empty());
    }

    #[test]
    fn defaults_and_errors() {
        let o = parse("").unwrap();
        assert_eq!(o.server, DEFAULT_SERVER);
        assert_eq!(o.timeout_ms, 30_000);
        assert!(parse("-server").is_err());
        assert!(parse("-timeout abc").is_err());
    }
}
