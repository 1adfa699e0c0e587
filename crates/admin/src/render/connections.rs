//! `cons`, and the connection lines `stat` shares (ZooKeeper's `ServerCnxn.dumpConnectionInfo`).

use crate::format::{hex, java_socket_addr};
use crate::snapshot::{ConnectionStats, Snapshot};
use std::fmt::{self, Write};

pub(super) fn cons(out: &mut String, snap: &Snapshot) -> fmt::Result {
    for c in &snap.connections {
        connection(out, c, false)?;
        writeln!(out)?;
    }
    writeln!(out)
}

/// One connection, without the line break.
pub(super) fn connection(out: &mut String, c: &ConnectionStats, brief: bool) -> fmt::Result {
    write!(
        out,
        " {}[{:x}](queued={},recved={},sent={}",
        java_socket_addr(&c.remote),
        c.interest_ops,
        c.outstanding_requests,
        c.packets_received,
        c.packets_sent
    )?;
    if let (false, Some(s)) = (brief, &c.session) {
        write!(
            out,
            ",sid=0x{},lop={},est={},to={}",
            hex(s.session_id),
            s.last_operation,
            s.established_ms,
            s.session_timeout_ms
        )?;
        if let Some(cxid) = s.last_cxid {
            write!(out, ",lcxid=0x{}", hex(i64::from(cxid)))?;
        }
        write!(
            out,
            ",lzxid=0x{},lresp={},llat={},minlat={},avglat={},maxlat={}",
            hex(s.last_zxid),
            s.last_response_ms,
            s.last_latency_ms,
            s.latency.min_ms(),
            s.latency.avg_ms_truncated(),
            s.latency.max_ms()
        )?;
    }
    out.write_str(")")
}

#[cfg(test)]
mod tests {
    use crate::sample;
    use crate::snapshot::{ConnectionSession, Latency};
    use crate::word::Word;

    #[test]
    fn cons_matches_zookeeper() {
        let snap = sample::standalone();
        // Captured from ZooKeeper 3.8 (`cons`, two kazoo sessions and the asking connection).
        let expected = " /127.0.0.1:50926[0](queued=0,recved=1,sent=0)\n \
            /127.0.0.1:50922[1](queued=0,recved=5,sent=5,sid=0x1000006f84b0001,lop=GETC,\
            est=1795320331305,to=15000,lcxid=0x4,lzxid=0x7,lresp=471885,llat=1,minlat=0,avglat=0,maxlat=2)\n \
            /127.0.0.1:50918[1](queued=0,recved=11,sent=11,sid=0x1000006f84b0000,lop=PING,\
            est=1795320331269,to=10000,lcxid=0x9,lzxid=0x7,lresp=474837,llat=1,minlat=0,avglat=4,maxlat=13)\n\
            \n";
        assert_eq!(Word::Cons.render(&snap), expected);
    }

    #[test]
    fn cons_after_crst_matches_zookeeper() {
        let mut snap = sample::standalone();
        for c in &mut snap.connections {
            c.packets_received = 0;
            c.packets_sent = 0;
            if let Some(s) = &mut c.session {
                *s = ConnectionSession {
                    last_operation: "NA".to_owned(),
                    last_cxid: None,
                    last_zxid: -1,
                    last_response_ms: 0,
                    last_latency_ms: 0,
                    latency: Latency::default(),
                    ..s.clone()
                };
            }
        }
        snap.connections[0].remote = "127.0.0.1:51984".parse().unwrap();
        snap.connections[0].packets_received = 1;
        snap.connections.rotate_left(1);
        // Captured from ZooKeeper 3.8 (`cons` right after `crst`).
        let expected = " /127.0.0.1:50922[1](queued=0,recved=0,sent=0,sid=0x1000006f84b0001,lop=NA,\
            est=1795320331305,to=15000,lzxid=0xffffffffffffffff,lresp=0,llat=0,minlat=0,avglat=0,maxlat=0)\n \
            /127.0.0.1:50918[1](queued=0,recved=0,sent=0,sid=0x1000006f84b0000,lop=NA,\
            est=1795320331269,to=10000,lzxid=0xffffffffffffffff,lresp=0,llat=0,minlat=0,avglat=0,maxlat=0)\n \
            /127.0.0.1:51984[0](queued=0,recved=1,sent=0)\n\
            \n";
        assert_eq!(Word::Cons.render(&snap), expected);
    }

    #[test]
    fn no_connections() {
        let mut snap = sample::standalone();
        snap.connections.clear();
        assert_eq!(Word::Cons.render(&snap), "\n");
    }

    #[test]
    fn interest_ops_print_in_hex() {
        let mut snap = sample::standalone();
        snap.connections.truncate(1);
        snap.connections[0].interest_ops = 12;
        assert!(Word::Cons.render(&snap).contains("[c](queued"));
    }
}
