//! `ferrokeeper shell`: zkCli's arguments are passed through untouched, so its single-dash
//! `-server host:port` works as well as `--server`.

use clap::Args;

/// Arguments of `ferrokeeper shell`.
#[derive(Args)]
pub struct ShellArgs {
    /// `-server host:port[,host:port][/chroot] [-timeout ms] [-r] [command args...]`
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
    args: Vec<String>,
}

/// Runs the shell; the error carries no message because the shell has printed it already.
pub fn run(args: ShellArgs) -> Result<(), String> {
    if shell::repl::run(&args.args) {
        Ok(())
    } else {
        Err(String::new())
    }
}
