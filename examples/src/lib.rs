//! Runnable case studies: each binary in `src/bin/` runs against a local server with one command
//! (`cargo run -p ferrokeeper-examples --bin <name> -- --server 127.0.0.1:2181`) and has a test in
//! `tests/` that checks the guarantee it demonstrates.
