//! Re-registering watches after a reconnect: `setWatches`/`setWatches2` packets, split so that no
//! packet outgrows a server's frame limit however many watches the client holds.

use super::watches::WatchLists;
use bytes::BytesMut;
use jute::proto::{SetWatches, SetWatches2};
use jute::{OpCode, Record};

/// The most bytes of paths in one packet. ZooKeeper's client cuts its batches at 128 KiB of path
/// characters; this counts the encoded bytes (length prefixes included), so every packet stays
/// under 128 KiB plus one path, far below the default 1 MiB `jute.maxbuffer`.
pub(crate) const MAX_PATH_BYTES: usize = 128 * 1024;

/// One packet to send with xid −8: its op code and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SetWatchesPacket {
    pub(crate) op: OpCode,
    pub(crate) body: BytesMut,
}

/// Splits `lists` into packets carrying `relative_zxid`. A packet with no persistent watches is a
/// plain `setWatches` (op 101), which servers older than 3.6 also understand; any other is
/// `setWatches2` (op 105), as ZooKeeper's client does.
pub(crate) fn packets(relative_zxid: i64, lists: WatchLists) -> Vec<SetWatchesPacket> {
    let mut out = Vec::new();
    let mut batch = WatchLists::default();
    let mut size = 0usize;
    let sources = [
        (lists.data, 0usize),
        (lists.exist, 1),
        (lists.child, 2),
        (lists.persistent, 3),
        (lists.recursive, 4),
    ];
    for (paths, which) in sources {
        for path in paths {
            let cost = 4 + path.len();
            if size > 0 && size + cost > MAX_PATH_BYTES {
                out.push(encode(relative_zxid, std::mem::take(&mut batch)));
                size = 0;
            }
            size += cost;
            let list = match which {
                0 => &mut batch.data,
                1 => &mut batch.exist,
                2 => &mut batch.child,
                3 => &mut batch.persistent,
                _ => &mut batch.recursive,
            };
            list.push(path);
        }
    }
    if !batch.is_empty() {
        out.push(encode(relative_zxid, batch));
    }
    out
}

fn encode(relative_zxid: i64, b: WatchLists) -> SetWatchesPacket {
    let mut body = BytesMut::new();
    if b.persistent.is_empty() && b.recursive.is_empty() {
        SetWatches {
            relative_zxid,
            data_watches: b.data,
            exist_watches: b.exist,
            child_watches: b.child,
        }
        .encode(&mut body);
        SetWatchesPacket {
            op: OpCode::SetWatches,
            body,
        }
    } else {
        SetWatches2 {
            relative_zxid,
            data_watches: b.data,
            exist_watches: b.exist,
            child_watches: b.child,
            persistent_watches: b.persistent,
            persistent_recursive_watches: b.recursive,
        }
        .encode(&mut body);
        SetWatchesPacket {
            op: OpCode::SetWatches2,
            body,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jute::Reader;

    fn paths(prefix: &str, n: usize, len: usize) -> Vec<String> {
        (0..n)
            .map(|i| {
                let mut p = format!("/{prefix}{i}-");
                while p.len() < len {
                    p.push('x');
                }
                p
            })
            .collect()
    }

    #[test]
    fn nothing_to_send_is_no_packet() {
        assert!(packets(5, WatchLists::default()).is_empty());
    }

    #[test]
    fn small_sets_fit_one_packet_and_keep_the_old_op_without_persistent_watches() {
        let lists = WatchLists {
            data: vec!["/a".into()],
            child: vec!["/b".into()],
            ..Default::default()
        };
        let p = packets(42, lists);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].op, OpCode::SetWatches);
        let sw = SetWatches::decode(&mut Reader::new(p[0].body.clone().freeze())).unwrap();
        assert_eq!(sw.relative_zxid, 42);
        assert_eq!(sw.data_watches, vec!["/a".to_string()]);
        assert_eq!(sw.child_watches, vec!["/b".to_string()]);
    }

    #[test]
    fn large_sets_split_below_the_limit_and_lose_nothing() {
        let lists = WatchLists {
            data: paths("d", 3000, 100),
            exist: paths("e", 500, 100),
            child: paths("c", 3000, 100),
            persistent: paths("p", 10, 50),
            recursive: paths("r", 10, 50),
        };
        let want = lists.clone();
        let p = packets(1, lists);
        assert!(p.len() >= 5, "expected several packets, got {}", p.len());
        let mut got = WatchLists::default();
        for packet in &p {
            // Header (8) + zxid (8) + five counts (20) on top of the paths.
            assert!(
                packet.body.len() <= MAX_PATH_BYTES + 8 + 20,
                "{}",
                packet.body.len()
            );
            let mut r = Reader::new(packet.body.clone().freeze());
            if packet.op == OpCode::SetWatches2 {
                let sw = SetWatches2::decode(&mut r).unwrap();
                got.data.extend(sw.data_watches);
                got.exist.extend(sw.exist_watches);
                got.child.extend(sw.child_watches);
                got.persistent.extend(sw.persistent_watches);
                got.recursive.extend(sw.persistent_recursive_watches);
            } else {
                let sw = SetWatches::decode(&mut r).unwrap();
                got.data.extend(sw.data_watches);
                got.exist.extend(sw.exist_watches);
                got.child.extend(sw.child_watches);
            }
        }
        assert_eq!(got, want);
        assert_eq!(p.last().unwrap().op, OpCode::SetWatches2);
        assert_eq!(p[0].op, OpCode::SetWatches);
    }
}
