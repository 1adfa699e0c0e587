"""Sessions through kazoo: expiry, close, re-attach with the right and wrong password."""

import queue
import socket
import struct
import time

from kazoo.client import KazooClient
from kazoo.protocol.states import EventType, KazooState

import fkserver


def raw_create_ephemeral(sock, xid, path):
    """create (op 1) of an ephemeral node with an open ACL on a raw session socket."""
    p = path.encode()
    body = struct.pack(">ii", xid, 1) + struct.pack(">i", len(p)) + p + struct.pack(">i", 0)
    body += struct.pack(">i", 1) + struct.pack(">i", 31)
    for s in (b"world", b"anyone"):
        body += struct.pack(">i", len(s)) + s
    body += struct.pack(">i", 1)
    sock.sendall(struct.pack(">i", len(body)) + body)
    n = struct.unpack(">i", fkserver.recv_exact(sock, 4))[0]
    reply = fkserver.recv_exact(sock, n)
    return struct.unpack_from(">iqi", reply)[2]


def test_expiry_deletes_ephemerals_and_fires_watches(server, zk, catch_up, root):
    # A raw session that never pings expires after the minimum timeout.
    sock, negotiated, sid, pw = fkserver.handshake(server.port, timeout_ms=1000)
    assert negotiated == fkserver.MIN_SESSION_TIMEOUT_MS
    p = root + "/doomed"
    assert raw_create_ephemeral(sock, 1, p) == 0
    q = queue.Queue()
    catch_up(zk, p)
    zk.get(p, watch=q.put)
    ev = q.get(timeout=10)
    assert (ev.type, ev.path) == (EventType.DELETED, p)
    assert zk.exists(p) is None
    # Re-attaching the expired session is refused with a zero timeout, by every member.
    for port in server.ports:
        s2, t2, _, _ = fkserver.handshake(port, session_id=sid, passwd=pw)
        s2.close()
        assert t2 == 0, "port %d let an expired session re-attach" % port
    sock.close()


def test_reattach_with_same_id_and_password(server, connect, catch_up, root):
    # The first client loses its connection without closing its session. Were it still running,
    # the two would fight over the session in an ensemble: ZooKeeper refuses a write from a
    # connection on a member the session has moved away from, and the client's reconnect moves the
    # session back, taking it from the other.
    sock, _, sid, pw = fkserver.handshake(server.port, timeout_ms=10000)
    p = root + "/kept"
    assert raw_create_ephemeral(sock, 1, p) == 0
    sock.close()
    b = KazooClient(hosts=server.hosts, client_id=(sid, pw), timeout=10)
    b.start(timeout=15)
    try:
        assert b.client_id[0] == sid
        catch_up(b, p)
        assert b.exists(p).ephemeralOwner == sid
    finally:
        b.stop()
        b.close()
    # b's stop closed the session: the ephemeral is gone.
    c = connect()
    assert c.exists(p) is None


def test_wrong_password_is_expired(server, connect, root):
    a = connect()
    sid, pw = a.client_id
    bad = bytes([pw[0] ^ 0xFF]) + pw[1:]
    for port in server.ports:
        sock, timeout, _, _ = fkserver.handshake(port, session_id=sid, passwd=bad)
        sock.close()
        assert timeout == 0, "port %d: a wrong password must be answered as an expired session" % port
    states = []
    b = KazooClient(hosts=server.hosts, client_id=(sid, bad), timeout=10)
    b.add_listener(states.append)
    b.start(timeout=15)
    try:
        # kazoo treats the refused session as expired and starts a new one.
        assert b.client_id[0] != sid
        assert states[-1] == KazooState.CONNECTED
    finally:
        b.stop()
        b.close()
    assert a.exists(root) is not None, "the real session was harmed"


def test_negotiated_timeouts(server):
    cases = ((10, fkserver.MIN_SESSION_TIMEOUT_MS), (10**7, fkserver.MAX_SESSION_TIMEOUT_MS), (4321, 4321))
    for port in server.ports:
        for asked, want in cases:
            sock, got, _, pw = fkserver.handshake(port, timeout_ms=asked)
            sock.close()
            assert got == want and len(pw) == 16, (port, asked, got)


def test_connection_loss_keeps_session(server, root):
    c = KazooClient(hosts=server.hosts, timeout=10)
    c.start(timeout=15)
    try:
        p = root + "/survivor"
        c.create(p, ephemeral=True)
        sid = c.client_id[0]
        # Drop the TCP connection under kazoo; it reconnects to the same session.
        c._connection._socket.shutdown(socket.SHUT_RDWR)
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                if c.exists(p) is not None:
                    break
            except Exception:
                time.sleep(0.1)
        assert c.client_id[0] == sid
        assert c.exists(p).ephemeralOwner == sid
    finally:
        c.stop()
        c.close()
