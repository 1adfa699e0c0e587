#!/usr/bin/env python3
"""Capture golden jute frames from a real ZooKeeper 3.8 server, and probe a few server facts.

How to re-run (by hand; CI only reads the committed fixtures):

    python3 crates/jute/tests/golden/capture.py            # from the workspace root

Needs Debian's `zookeeper` package (3.8, jars under /usr/share/java) and Python `kazoo`.
The script starts its own ZooKeeper on a free loopback port (never 2181) with a throwaway data
directory, puts a recording TCP proxy between kazoo and that server, drives one operation per
"exchange", and writes one `<exchange>.hex` file per exchange next to this script. Then it probes
the frame-size limit, four-letter words and a few other facts over raw sockets and prints them
(FINDINGS.md in this directory is written by hand from that output). The server is always killed
on exit.

Fixture format (read by crates/jute/tests/golden.rs), one frame per line:

    # comment
    > connect <hex>     client -> server, the session handshake (ConnectRequest)
    < connect <hex>     server -> client, its ConnectResponse
    > packet <hex>      client -> server, RequestHeader + body
    < packet <hex>      server -> client, ReplyHeader + body
    > raw <hex>         unframed bytes (four-letter words)
    < raw <hex>

Every <hex> of a `connect`/`packet` line is the whole frame including its 4-byte length prefix.
Pings (xid -2) are dropped from every exchange except `ping`, because kazoo sends them whenever it
likes.
"""

import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

from kazoo.client import KazooClient
from kazoo.security import make_digest_acl, ACL, Id

HERE = os.path.dirname(os.path.abspath(__file__))
CLASSPATH = ":".join(
    [
        "/usr/share/java/zookeeper.jar",
        "/usr/share/java/zookeeper-jute.jar",
        "/usr/share/java/slf4j-api.jar",
        "/usr/share/java/slf4j-log4j12.jar",
        "/usr/share/java/log4j-1.2.jar",
        "/usr/share/java/commons-cli.jar",
        "/usr/share/java/metrics-core.jar",
        "/usr/share/java/netty-all.jar",
        "/usr/share/java/snappy-java.jar",
        "/etc/zookeeper/conf",
    ]
)
MAX_BUFFER = 0xFFFFF
PING_XID = -2


# ---------------------------------------------------------------------------------------------
# Jute encoding helpers (just enough to craft the requests kazoo cannot send).


def i32(v):
    return struct.pack(">i", v)


def i64(v):
    return struct.pack(">q", v)


def boolean(v):
    return b"\x01" if v else b"\x00"


def buf(b):
    return i32(-1) if b is None else i32(len(b)) + b


def ustr(s):
    return buf(s.encode())


def open_acl():
    # vector<ACL> with one entry: perms ALL, world:anyone
    return i32(1) + i32(31) + ustr("world") + ustr("anyone")


def multi_header(op, done, err):
    return i32(op) + boolean(done) + i32(err)


def frame(body):
    return i32(len(body)) + body


def connect_request(read_only_byte, session_id=0, passwd=b"\x00" * 16, timeout=10000):
    body = i32(0) + i64(0) + i32(timeout) + i64(session_id) + buf(passwd)
    if read_only_byte is not None:
        body += boolean(read_only_byte)
    return frame(body)


class RawRequest:
    """A request kazoo sends on its own session with its own xid: we only supply type and body."""

    def __init__(self, op, body=b""):
        self.type = op
        self.body = body

    def serialize(self):
        return self.body

    def deserialize(self, data, offset):
        return bytes(data[offset:])


def raw_call(client, op, body=b""):
    """Sends a crafted request through kazoo; returns the reply body or raises kazoo's error."""
    result = client.handler.async_result()
    client._call(RawRequest(op, body), result)
    return result.get(timeout=10)


# ---------------------------------------------------------------------------------------------
# The server.


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="jute-golden-")
        self.port = free_port()
        cfg = os.path.join(self.dir, "zoo.cfg")
        with open(cfg, "w") as f:
            f.write(
                "tickTime=2000\n"
                f"dataDir={self.dir}/data\n"
                f"clientPort={self.port}\n"
                "clientPortAddress=127.0.0.1\n"
                # ruok answers, stat is known but not whitelisted: both cases get probed.
                "4lw.commands.whitelist=ruok,mntr\n"
                "admin.enableServer=false\n"
            )
        self.log = open(os.path.join(self.dir, "server.log"), "w")
        self.proc = subprocess.Popen(
            [
                "java",
                "-Dzookeeper.extendedTypesEnabled=true",
                "-Dzookeeper.root.logger=INFO,CONSOLE",
                "-cp",
                CLASSPATH,
                "org.apache.zookeeper.server.ZooKeeperServerMain",
                cfg,
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if four_letter(self.port, b"ruok") == b"imok":
                    return
            except OSError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError("ZooKeeper did not start; see " + self.log.name)

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def recv_exact(sock, n):
    out = b""
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            raise EOFError(f"connection closed after {len(out)} of {n} bytes")
        out += chunk
    return out


def recv_frame(sock):
    (length,) = struct.unpack(">i", recv_exact(sock, 4))
    return recv_exact(sock, length)


def four_letter(port, word):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(word)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk


# ---------------------------------------------------------------------------------------------
# The recording proxy.


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.frames = []  # (conn, direction, kind, bytes)
        self.current = None

    def add(self, conn, direction, kind, data):
        with self.lock:
            if self.current is not None:
                self.current.append((conn, direction, kind, data))
            self.frames.append((conn, direction, kind, data))

    def begin(self):
        with self.lock:
            self.current = []

    def end(self):
        with self.lock:
            got, self.current = self.current, None
        return got


class Proxy:
    def __init__(self, upstream_port, recorder):
        self.upstream = upstream_port
        self.recorder = recorder
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.conns = []
        self.next_conn = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.upstream))
            conn = self.next_conn
            self.next_conn += 1
            self.conns.append((client, server))
            for src, dst, direction in ((client, server, ">"), (server, client, "<")):
                threading.Thread(
                    target=self._pump, args=(conn, src, dst, direction), daemon=True
                ).start()

    def _pump(self, conn, src, dst, direction):
        pending = b""
        first = True
        while True:
            try:
                chunk = src.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                for s in (src, dst):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                return
            pending += chunk
            # Record whole frames before forwarding them, so a reply is on record by the time
            # kazoo returns it to us.
            while len(pending) >= 4:
                (length,) = struct.unpack(">i", pending[:4])
                if len(pending) < 4 + length:
                    break
                data, pending = pending[: 4 + length], pending[4 + length :]
                self.recorder.add(conn, direction, "connect" if first else "packet", data)
                first = False
                dst.sendall(data)

    def drop_connections(self):
        for client, server in self.conns:
            for s in (client, server):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        self.conns = []


def xid_of(kind, data):
    if kind != "packet":
        return None
    return struct.unpack(">i", data[4:8])[0]


def write_fixture(name, description, frames, keep_pings=False):
    lines = [f"# {description}", "# captured by capture.py from ZooKeeper 3.8.0 (Debian) and kazoo"]
    for _conn, direction, kind, data in frames:
        if not keep_pings and xid_of(kind, data) == PING_XID:
            continue
        lines.append(f"{direction} {kind} {data.hex()}")
    with open(os.path.join(HERE, name + ".hex"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {name}.hex ({len(lines) - 2} frames)")


# ---------------------------------------------------------------------------------------------
# The exchanges.


def capture(server):
    recorder = Recorder()
    proxy = Proxy(server.port, recorder)
    client = KazooClient(hosts=f"127.0.0.1:{proxy.port}", timeout=10.0)

    def exchange(name, description, action, keep_pings=False):
        recorder.begin()
        action()
        time.sleep(0.3)  # let trailing notifications through the proxy
        write_fixture(name, description, recorder.end(), keep_pings)

    exchange("connect", "kazoo's session handshake (ConnectRequest with the readOnly byte)", client.start)

    client.create("/golden", b"root")
    client.create("/golden/data", b"hello")
    client.create("/golden/parent", b"")
    client.create("/golden/parent/a", b"")
    client.create("/golden/parent/b", b"")

    exchange(
        "create_persistent",
        "create /golden/persistent (op 1, flags 0), CreateResponse",
        lambda: client.create("/golden/persistent", b"payload"),
    )
    exchange(
        "create_ephemeral_sequential",
        "create /golden/eseq- ephemeral+sequential (op 1, flags 3)",
        lambda: client.create("/golden/eseq-", b"e", ephemeral=True, sequence=True),
    )
    exchange(
        "create2",
        "create2 /golden/c2 (op 15), Create2Response with the new node's Stat",
        lambda: client.create("/golden/c2", b"c2", include_data=True),
    )
    exchange(
        "create_container",
        "createContainer /golden/container (op 19, flags 4), crafted: Create2Response",
        lambda: raw_call(client, 19, ustr("/golden/container") + buf(b"") + open_acl() + i32(4)),
    )
    exchange(
        "create_ttl",
        "createTTL /golden/ttl (op 21, flags 5, ttl 600000), crafted; extended types enabled",
        lambda: raw_call(
            client, 21, ustr("/golden/ttl") + buf(b"t") + open_acl() + i32(5) + i64(600000)
        ),
    )
    exchange("get_data", "getData /golden/data, no watch", lambda: client.get("/golden/data"))
    exchange(
        "set_data",
        "setData /golden/data version 0, SetDataResponse",
        lambda: client.set("/golden/data", b"world", version=0),
    )
    exchange("exists_hit", "exists /golden/data", lambda: client.exists("/golden/data"))
    exchange(
        "exists_miss",
        "exists /golden/missing: error NoNode (-101), header only",
        lambda: client.exists("/golden/missing"),
    )
    exchange(
        "get_children",
        "getChildren /golden/parent (op 8)",
        lambda: client.get_children("/golden/parent"),
    )
    exchange(
        "get_children2",
        "getChildren2 /golden/parent (op 12)",
        lambda: client.get_children("/golden/parent", include_data=True),
    )
    exchange("delete", "delete /golden/persistent version -1", lambda: client.delete("/golden/persistent"))
    exchange("get_acl", "getACL /golden/data", lambda: client.get_acls("/golden/data"))
    digest_acl = make_digest_acl("golden", "secret", all=True)
    world_read = ACL(1, Id("world", "anyone"))
    exchange(
        "set_acl",
        "setACL /golden/c2 [digest golden ALL, world:anyone READ] version -1",
        lambda: client.set_acls("/golden/c2", [digest_acl, world_read]),
    )

    def multi_success():
        t = client.transaction()
        t.create("/golden/m1", b"m")
        t.set_data("/golden/m1", b"m2")
        t.check("/golden/m1", 1)
        t.delete("/golden/m1")
        results = t.commit()
        assert not any(isinstance(r, Exception) for r in results), results

    exchange("multi_success", "multi: create, setData, check, delete /golden/m1", multi_success)

    def multi_failure():
        t = client.transaction()
        t.create("/golden/m2", b"")
        t.create("/golden/data", b"")  # exists: NodeExists
        t.set_data("/golden/data", b"x")
        results = t.commit()
        print("  multi failure results as kazoo sees them:", results)

    exchange(
        "multi_failure",
        "multi: create /golden/m2 (ok), create /golden/data (NodeExists), setData /golden/data",
        multi_failure,
    )

    def multi_read():
        body = (
            multi_header(4, False, -1) + ustr("/golden/data") + boolean(False)
            + multi_header(8, False, -1) + ustr("/golden/parent") + boolean(False)
            + multi_header(4, False, -1) + ustr("/golden/missing") + boolean(False)
            + multi_header(-1, True, -1)
        )
        raw_call(client, 22, body)

    exchange(
        "multi_read",
        "multiRead (op 22), crafted: getData /golden/data, getChildren /golden/parent, getData /golden/missing",
        multi_read,
    )
    exchange("sync", "sync /golden", lambda: client.sync("/golden"))

    def wait_for_ping():
        deadline = time.time() + 30
        while time.time() < deadline:
            with recorder.lock:
                seen = {(d, xid_of(k, b)) for _, d, k, b in recorder.current}
            if (">", PING_XID) in seen and ("<", PING_XID) in seen:
                return
            time.sleep(0.1)
        raise RuntimeError("kazoo sent no ping")

    exchange("ping", "ping (xid -2, op 11) and its reply", wait_for_ping, keep_pings=True)

    fired = threading.Event()

    def watch():
        client.get("/golden/data", watch=lambda event: fired.set())
        client.set("/golden/data", b"changed")
        if not fired.wait(5):
            raise RuntimeError("watch did not fire")

    exchange(
        "watch_notification",
        "getData /golden/data with watch, setData on it, the NodeDataChanged notification (xid -1)",
        watch,
    )
    exchange(
        "auth",
        "auth packet (xid -4, op 100) digest golden:secret",
        lambda: client.add_auth("digest", "golden:secret"),
    )

    def add_watch():
        raw_call(client, 106, ustr("/golden/parent") + i32(1))
        client.create("/golden/parent/c", b"")

    exchange(
        "add_watch",
        "addWatch /golden/parent persistent recursive (op 106), crafted; then a create below it fires NodeCreated",
        add_watch,
    )
    exchange(
        "remove_watches",
        "removeWatches /golden/parent type Any (op 18), crafted",
        lambda: raw_call(client, 18, ustr("/golden/parent") + i32(3)),
    )
    exchange("who_am_i", "whoAmI (op 107), crafted, after digest auth", lambda: raw_call(client, 107))
    exchange(
        "get_all_children_number",
        "getAllChildrenNumber /golden (op 104), crafted",
        lambda: raw_call(client, 104, ustr("/golden")),
    )
    exchange(
        "get_ephemerals",
        "getEphemerals /golden (op 103), crafted",
        lambda: raw_call(client, 103, ustr("/golden")),
    )
    exchange(
        "set_watches2",
        "setWatches2 (op 105), crafted with a normal xid",
        lambda: raw_call(
            client,
            105,
            i64(0)
            + i32(1) + ustr("/golden/data")
            + i32(1) + ustr("/golden/missing")
            + i32(1) + ustr("/golden/parent")
            + i32(0)
            + i32(1) + ustr("/golden"),
        ),
    )

    def expect_error(action, error):
        try:
            action()
        except error:
            return
        raise RuntimeError(f"expected {error.__name__}")

    from kazoo.exceptions import BadVersionError, NoNodeError, NodeExistsError, NotEmptyError

    exchange(
        "error_no_node",
        "getData /golden/missing: NoNode (-101)",
        lambda: expect_error(lambda: client.get("/golden/missing"), NoNodeError),
    )
    exchange(
        "error_node_exists",
        "create /golden/data again: NodeExists (-110)",
        lambda: expect_error(lambda: client.create("/golden/data", b""), NodeExistsError),
    )
    exchange(
        "error_bad_version",
        "setData /golden/data version 42: BadVersion (-103)",
        lambda: expect_error(lambda: client.set("/golden/data", b"", version=42), BadVersionError),
    )
    exchange(
        "error_not_empty",
        "delete /golden/parent: NotEmpty (-111)",
        lambda: expect_error(lambda: client.delete("/golden/parent"), NotEmptyError),
    )

    exchange(
        "set_watches",
        "setWatches (op 101), crafted with a normal xid (Java clients use xid -8; kazoo never sends it)",
        lambda: raw_call(
            client,
            101,
            i64(0x7FFFFFFF)
            + i32(1) + ustr("/golden/data")
            + i32(0)
            + i32(1) + ustr("/golden/parent"),
        ),
    )

    # A dropped connection makes kazoo reconnect with its session id and password, and re-send
    # its auth packets.
    connected = threading.Event()

    def listener(state):
        if state == "CONNECTED":
            connected.set()

    def reconnect():
        client.add_listener(listener)
        proxy.drop_connections()
        if not connected.wait(20):
            raise RuntimeError("kazoo did not reconnect")
        client.sync("/")  # the setWatches went out before this and was answered first

    exchange(
        "reconnect",
        "kazoo reconnects its session (ConnectRequest with session id and lastZxidSeen), re-sends auth, then sync /",
        reconnect,
    )
    exchange("close_session", "closeSession (op -11) and its reply", client.stop)
    client.close()

    # An old client: no readOnly byte, so no readOnly byte in the answer.
    recorder.begin()
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as s:
        s.sendall(connect_request(None))
        recv_frame(s)
        s.sendall(frame(i32(1) + i32(-11)))
        recv_frame(s)
    time.sleep(0.3)
    write_fixture(
        "connect_old_client",
        "a ConnectRequest without the readOnly byte (raw socket), its ConnectResponse, closeSession",
        recorder.end(),
    )

    with open(os.path.join(HERE, "four_letter_ruok.hex"), "w") as f:
        answer = four_letter(server.port, b"ruok")
        f.write("# four-letter word ruok on a fresh connection (raw bytes, no framing)\n")
        f.write(f"> raw {b'ruok'.hex()}\n< raw {answer.hex()}\n")
    print("wrote four_letter_ruok.hex")


# ---------------------------------------------------------------------------------------------
# Probes over raw sockets.


def session(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(connect_request(False))
    recv_frame(s)
    return s


def closed_without_reply(sock, wait=5):
    """True if the server closed the connection (EOF or reset) without sending a frame."""
    sock.settimeout(wait)
    try:
        data = sock.recv(65536)
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True
    return data == b""


def set_data_frame(path, size):
    body = i32(7) + i32(5) + ustr(path) + buf(b"x" * size) + i32(-1)
    return frame(body)


def probe(server):
    port = server.port
    print("\n== probes ==")
    s = session(port)
    s.sendall(frame(i32(1) + i32(1) + ustr("/probe") + buf(b"") + open_acl() + i32(0)))
    recv_frame(s)
    s.close()

    overhead = len(set_data_frame("/probe", 0)) - 4
    largest = MAX_BUFFER - overhead
    for label, size in [
        ("largest data that fits a 0xfffff frame", largest),
        ("one byte more (frame 0x100000)", largest + 1),
        ("data exactly 0xfffff bytes", MAX_BUFFER),
        ("data exactly 1 MiB", 1 << 20),
        ("data 1 MiB + 1", (1 << 20) + 1),
    ]:
        s = session(port)
        f = set_data_frame("/probe", size)
        try:
            s.sendall(f)
        except OSError as e:
            print(f"setData {label}: data {size}, frame length {len(f) - 4}: send failed {e!r}")
            continue
        s.settimeout(10)
        try:
            reply = recv_frame(s)
            xid, zxid, err = struct.unpack(">iqi", reply[:16])
            print(f"setData {label}: data {size}, frame length {len(f) - 4}: reply err {err}")
        except (EOFError, ConnectionResetError) as e:
            print(f"setData {label}: data {size}, frame length {len(f) - 4}: connection closed ({e})")
        s.close()

    # A bare oversized length prefix: is the connection closed before any body arrives?
    for length in (MAX_BUFFER, MAX_BUFFER + 1, -1):
        s = session(port)
        s.sendall(i32(length))
        print(f"length prefix {length:#x} with no body: closed at once = {closed_without_reply(s, 3)}")
        s.close()

    # Ping with a normal xid: which xid comes back?
    s = session(port)
    s.sendall(frame(i32(77) + i32(11)))
    xid, zxid, err = struct.unpack(">iqi", recv_frame(s)[:16])
    print(f"ping sent with xid 77: reply xid {xid}, err {err}")
    s.close()

    # Four-letter words.
    for word in (b"ruok", b"stat", b"srvr", b"abcd"):
        try:
            answer = four_letter(port, word)
        except OSError as e:
            answer = repr(e).encode()
        print(f"4lw {word.decode()}: {answer[:120]!r}")
    s = session(port)
    s.sendall(b"ruok")
    print(f"ruok after the handshake: closed without reply = {closed_without_reply(s, 3)}")
    s.close()

    # check (op 13) outside a multi.
    s = session(port)
    for version in (0, -1):
        s.sendall(frame(i32(9) + i32(13) + ustr("/probe") + i32(version)))
        try:
            reply = recv_frame(s)
            print(f"check outside multi, version {version}: reply {reply.hex()}")
        except (EOFError, ConnectionResetError, socket.timeout) as e:
            print(f"check outside multi, version {version}: no reply, connection closed ({e!r})")
            break
    s.close()

    # A null data buffer (-1) at create: what does getData answer?
    s = session(port)
    s.sendall(frame(i32(1) + i32(1) + ustr("/probe-null") + buf(None) + open_acl() + i32(0)))
    recv_frame(s)
    s.sendall(frame(i32(2) + i32(4) + ustr("/probe-null") + boolean(False)))
    reply = recv_frame(s)
    (length,) = struct.unpack(">i", reply[16:20])
    print(f"getData of a node created with null data: data length field {length}")
    # An invalid UTF-8 path: decoded with replacement characters, then rejected as a path?
    s.sendall(frame(i32(3) + i32(4) + buf(b"/\xff\xfe") + boolean(False)))
    reply = recv_frame(s)
    print(f"getData with invalid UTF-8 path: err {struct.unpack('>iqi', reply[:16])[2]}")
    # A vector count of -2 (Java reads any negative count as empty).
    s.sendall(frame(i32(4) + i32(1) + ustr("/probe-neg") + buf(b"") + i32(-2) + i32(0)))
    reply = recv_frame(s)
    print(f"create with acl count -2: err {struct.unpack('>iqi', reply[:16])[2]}")
    # Trailing garbage after a request body.
    s.sendall(frame(i32(5) + i32(3) + ustr("/probe") + boolean(False) + b"garbage"))
    reply = recv_frame(s)
    print(f"exists with 7 trailing bytes: err {struct.unpack('>iqi', reply[:16])[2]}")
    # A truncated body.
    s.sendall(frame(i32(6) + i32(4) + i32(10) + b"/pro"))
    try:
        reply = recv_frame(s)
        print(f"getData with truncated path: err {struct.unpack('>iqi', reply[:16])[2]}")
    except (EOFError, ConnectionResetError) as e:
        print(f"getData with truncated path: connection closed ({e})")
    s.close()


def main():
    server = Server()
    try:
        if "--probe-only" not in sys.argv:
            capture(server)
        probe(server)
    except Exception:
        server.log.flush()
        with open(server.log.name) as log:
            print("---- last server log lines ----\n" + "".join(log.readlines()[-40:]))
        raise
    finally:
        server.stop()


if __name__ == "__main__":
    main()
