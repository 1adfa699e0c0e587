//! Integration tests of the recipes over real TCP, each run against real ZooKeeper 3.8 and
//! against Ferrokeeper with the same assertions (one test binary, so each server starts once).

mod barrier;
mod cache;
mod common;
mod counter;
mod group;
mod leader;
mod lock;
mod priority_queue;
mod queue;
mod rwlock;
mod selector;
mod semaphore;
mod single_barrier;
mod tree_cache;
mod versioned;
