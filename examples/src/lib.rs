//! Runnable case studies: each binary in `src/bin/` runs against a local server with one command
//! (`cargo run -p ferrokeeper-examples --bin <name> -- --server 127.0.0.1:2181`) and has a test in
//! `tests/` that checks the guarantee it demonstrates. See `examples/README.md` for the list.
//!
//! The library holds what several case studies share: a log file that several processes append
//! to ([`event_log`]), the checker of the leader-election case study ([`terms`]), and waiting
//! for a termination signal ([`shutdown`]).

pub mod event_log;
pub mod shutdown;
pub mod terms;
