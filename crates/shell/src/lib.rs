//! `ferrokeeper shell`: a zkCli-compatible shell for ZooKeeper and Ferrokeeper.
//!
//! The commands, their options and the text they print follow Apache ZooKeeper's `zkCli.sh`, so
//! scripts written against zkCli keep working: answers go to stdout, errors and `Created ...` to
//! stderr, as zkCli does.
//!
//! - [`options`] parses the process arguments (`-server host:port[/chroot] [cmd args...]`).
//! - [`tokens`] splits a command line into words as zkCli does (quotes group words).
//! - [`command`] turns words into a typed [`command::Command`].
//! - [`exec`] runs commands against a session and prints their answers.
//! - [`repl`] is the interactive loop (line editing, history, completion) and the piped-stdin loop.

#![warn(missing_docs)]

pub mod client_config;
pub mod command;
mod error;
pub mod exec;
pub mod format;
mod java_props;
pub mod options;
pub mod repl;
pub mod tokens;

pub use error::ShellError;
pub use exec::{Flow, Output, Shell};
pub use options::ShellOptions;
