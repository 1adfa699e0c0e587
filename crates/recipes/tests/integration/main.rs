//! Integration tests of the recipes over real TCP, each run against real ZooKeeper 3.8 and
//! against Ferrokeeper with the same assertions (one test binary, so each server starts once).

mod barrier;
mod cache;
mod common;
mod counter;
mod group;
mod leader;
mod lock;
mod proxy;
mod queue;
mod versioned;
