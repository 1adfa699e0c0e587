//! Times rebuilding a big tree from snapshot bytes (the work a restart does), without I/O:
//! `cargo run --release -p tree --example restore_bench -- [znodes]` (default 1,000,000 znodes of
//! 100 B under one parent, the shape `ferrokeeper bench populate` makes).

use std::time::Instant;
use tree::snapshot::{read_snapshot, write_snapshot};
use tree::{TreeBuilder, TreeConfig};

fn main() {
    // With FK_RESTORE_BENCH_READ=<file>: only read that file (written by a previous run), for
    // profiling the read alone.
    if let Ok(file) = std::env::var("FK_RESTORE_BENCH_READ") {
        if let Ok(bytes) = std::fs::read(&file) {
            let began = Instant::now();
            let tree = read_snapshot(&mut bytes.as_slice(), TreeConfig::default()).expect("read");
            println!("read {} znodes in {:?}", tree.node_count(), began.elapsed());
            // Not dropped: the profile is of the read alone.
            std::mem::forget(tree);
            return;
        }
    }
    let count: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let mut builder = TreeBuilder::new(TreeConfig::default());
    let open = jute::Acl::open_unsafe();
    let stat = tree::PersistedStat::created(1, 0, 0);
    let began = Instant::now();
    for path in [
        "/",
        "/zookeeper",
        "/zookeeper/quota",
        "/zookeeper/config",
        "/ferrokeeper-bench",
    ] {
        builder
            .add_node(path, Some(bytes::Bytes::new()), open.clone(), stat)
            .expect("built-in node");
    }
    let data = bytes::Bytes::from(vec![7u8; 100]);
    for i in 0..count {
        let path = format!("/ferrokeeper-bench/k{i:010}");
        builder
            .add_node(&path, Some(data.clone()), open.clone(), stat)
            .expect("node");
    }
    let tree = builder.finish(count as i64).expect("tree");
    println!("built {count} znodes node by node in {:?}", began.elapsed());
    let began = Instant::now();
    let mut bytes = Vec::new();
    write_snapshot(&tree, &mut bytes).expect("write");
    println!(
        "wrote a {} MB snapshot in {:?}",
        bytes.len() >> 20,
        began.elapsed()
    );
    drop(tree);
    if let Ok(file) = std::env::var("FK_RESTORE_BENCH_READ") {
        std::fs::write(file, &bytes).expect("save the snapshot");
    }
    let began = Instant::now();
    let tree = read_snapshot(&mut bytes.as_slice(), TreeConfig::default()).expect("read");
    println!(
        "read {} znodes back in {:?}",
        tree.node_count(),
        began.elapsed()
    );
}
