//! Integration tests of the client over real TCP, each run against real ZooKeeper 3.8 and
//! against Ferrokeeper with the same assertions (one test binary, so each server starts once).

mod blocking;
mod chroot_auth;
mod common;
mod config;
mod ensemble_expiry;
mod ensemble_failover;
mod multi;
mod ops;
mod pipelining;
mod read_only;
mod server_bugs;
mod session;
mod timeout_null_data;
mod watches;
