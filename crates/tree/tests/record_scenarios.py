#!/usr/bin/env python3
"""Records the expected outputs of tree scenario files from a real ZooKeeper.

    python3 crates/tree/tests/record_scenarios.py crates/tree/tests/testdata/create.txt ...

For each file it starts a fresh ZooKeeper (Debian's 3.8 jars; a free loopback port; TTL nodes on;
container sweeping effectively off), replays every command over the raw protocol and rewrites the
file with what the server answered, in the format `tests/scenario/mod.rs` prints:

- zxids are renumbered to the scenario's own count of txns (the recorder's watcher session takes
  zxids the scenario does not see), and times are `zxid x 1000`, as the Rust runner stamps them;
- session ids print as the scenario's session names;
- watch lines come from a super-user watcher that puts a persistent watch on every path a write
  could fire for (the paths it names, their parents, predicted sequential names, the closing
  session's ephemerals), so every trigger shows, in firing order.

Files whose first line is `# hand-written` use commands ZooKeeper has no client op for
(`expire`, `candidates`, `at=`) and are skipped.
"""
import base64
import hashlib
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

JARS = ["zookeeper", "zookeeper-jute", "slf4j-api", "slf4j-log4j12", "log4j-1.2", "commons-cli",
        "metrics-core", "netty-all", "snappy-java"]
SUPER_PASSWORD = "secret"
ERRORS = {0: "Ok", -1: "SystemError", -2: "RuntimeInconsistency", -3: "DataInconsistency",
          -4: "ConnectionLoss", -5: "MarshallingError", -6: "Unimplemented",
          -7: "OperationTimeout", -8: "BadArguments", -12: "UnknownSession",
          -13: "NewConfigNoQuorum", -14: "ReconfigInProgress", -100: "ApiError", -101: "NoNode",
          -102: "NoAuth", -103: "BadVersion", -108: "NoChildrenForEphemerals",
          -110: "NodeExists", -111: "NotEmpty", -112: "SessionExpired", -113: "InvalidCallback",
          -114: "InvalidAcl", -115: "AuthFailed", -118: "SessionMoved", -119: "NotReadOnly",
          -120: "EphemeralOnLocalSession", -121: "NoWatcher", -122: "RequestTimeout",
          -123: "ReconfigDisabled", -124: "SessionClosedRequireSaslAuth",
          -125: "QuotaExceeded", -127: "ThrottledOp"}
EVENTS = {1: "NodeCreated", 2: "NodeDeleted", 3: "NodeDataChanged", 4: "NodeChildrenChanged"}
OPS = {"create": 1, "create2": 15, "container": 19, "ttl": 21}
DELETE, SETDATA, SETACL, CHECK, MULTI = 2, 5, 7, 13, 14
STAT_FMT = ">qqqqiiiqiiq"


def digest_id(user_password):
    user = user_password.split(":")[0]
    return user + ":" + base64.b64encode(hashlib.sha1(user_password.encode()).digest()).decode()


# ---- jute encoding ----
def s_int(v): return struct.pack(">i", v)
def s_long(v): return struct.pack(">q", v)
def s_bool(v): return b"\x01" if v else b"\x00"
def s_buf(b): return s_int(-1) if b is None else s_int(len(b)) + b
def s_str(s): return s_buf(s.encode())


def s_acls(acls):
    out = s_int(len(acls))
    for perms, scheme, ident in acls:
        out += s_int(perms) + s_str(scheme) + s_str(ident)
    return out


class Reader:
    def __init__(self, b):
        self.b, self.o = b, 0

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.b, self.o)
        self.o += struct.calcsize(fmt)
        return v

    def int(self): return self.take(">i")[0]
    def long(self): return self.take(">q")[0]
    def bool(self): return self.take(">?")[0]

    def buf(self):
        n = self.int()
        if n < 0:
            return None
        v = self.b[self.o:self.o + n]
        self.o += n
        return v

    def str(self):
        v = self.buf()
        return None if v is None else v.decode()

    def stat(self): return self.take(STAT_FMT)
    def done(self): return self.o >= len(self.b)


class Client:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.buf = b""
        self.events = []
        self.xid = 1
        self.send(s_int(0) + s_long(0) + s_int(30000) + s_long(0) + s_buf(b"\0" * 16) + s_bool(False))
        r = Reader(self.frame())
        r.int(), r.int()
        self.session_id = r.long()

    def send(self, body):
        self.sock.sendall(s_int(len(body)) + body)

    def frame(self):
        while len(self.buf) < 4 or len(self.buf) < 4 + struct.unpack(">i", self.buf[:4])[0]:
            d = self.sock.recv(65536)
            if not d:
                raise EOFError("server closed the connection")
            self.buf += d
        n = struct.unpack(">i", self.buf[:4])[0]
        f, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
        return f

    def call(self, op, body=b"", xid=None):
        if xid is None:
            xid, self.xid = self.xid, self.xid + 1
        self.send(s_int(xid) + s_int(op) + body)
        while True:
            r = Reader(self.frame())
            rx, zxid, err = r.int(), r.long(), r.int()
            if rx == -1:
                self.events.append((r.int(), r.int(), r.str()))
            elif rx == xid:
                return zxid, err, r


def op_data(given, opts):
    """A create's or set's data; `nulldata=1` sends a null buffer (length -1)."""
    return None if "nulldata" in opts else (given or "").encode()


def create_body(op, opts, path):
    flags = int(opts.get("flags", "0"))
    body = s_str(path) + s_buf(op_data(opts.get("data"), opts)) + s_acls(parse_acl(opts.get("acl"))) + s_int(flags)
    if op == "ttl":
        body += s_long(int(opts.get("ttl", "0")))
    return body


def parse_acl(spec):
    if spec is None:
        return [(31, "world", "anyone")]
    if spec == "none":
        return []
    out = []
    for entry in spec.split(","):
        parts = entry.split(":", 2)
        perms, scheme, ident = int(parts[0]), parts[1], parts[2] if len(parts) > 2 else ""
        if scheme == "digestpw":
            scheme, ident = "digest", digest_id(ident)
        out.append((perms, scheme, ident))
    return out


def split_args(words):
    args, opts = [], {}
    for w in words:
        if "=" in w and not w.startswith("/"):
            k, v = w.split("=", 1)
            opts[k] = v
        else:
            args.append(w)
    return args, opts


def unquote(p):
    return p[1:-1] if len(p) >= 2 and p[0] == '"' and p[-1] == '"' else p


def parent(path):
    i = path.rfind("/")
    return None if i < 0 else (path[:i] or "/")


def is_sequential(opts):
    return int(opts.get("flags", "0")) in (2, 3, 6)


class Recorder:
    def __init__(self, port):
        self.port = port
        self.watcher = Client(port)
        self.watcher.call(100, s_int(0) + s_str("digest") + s_buf(("super:" + SUPER_PASSWORD).encode()), xid=-4)
        self.sessions = {}
        self.zxids = {0: 0}
        self.count = 0
        self.watched = set()

    # ---- output helpers ----
    def zx(self, real):
        return str(self.zxids[real]) if real in self.zxids else "?%x" % real

    def stat(self, s):
        czxid, mzxid, ctime, mtime, version, cversion, aversion, owner, dlen, nch, pzxid = s
        names = {c.session_id: n for n, c in self.sessions.items()}
        owner_s = "0" if owner == 0 else names.get(owner, hex(owner))
        t = lambda z: str(self.zxids[z] * 1000) if z in self.zxids else "?"
        return ("czxid=%s mzxid=%s pzxid=%s ctime=%s mtime=%s version=%d cversion=%d aversion=%d "
                "owner=%s dlen=%d nchildren=%d" % (self.zx(czxid), self.zx(mzxid), self.zx(pzxid),
                                                   t(czxid), t(mzxid), version, cversion, aversion,
                                                   owner_s, dlen, nch))

    # ---- watches ----
    def watch(self, path):
        if path is None or path in self.watched:
            return
        zx, err, _ = self.watcher.call(106, s_str(path) + s_int(0))
        if err == 0:
            self.watched.add(path)

    def stored_cversion(self, path):
        zx, err, r = self.watcher.call(3, s_str(path) + s_bool(False))
        if err:
            return None
        s = r.stat()
        return (s[5] + s[9]) // 2

    def watch_for(self, ops, closing=None):
        seq_next = {}
        for cmd, args, opts in ops:
            if not args:
                continue
            path = unquote(args[0])
            self.watch(path)
            self.watch(parent(path))
            par = parent(path)
            if cmd == "create" and par is not None:
                # Every create under a parent advances the counter a sequential name takes.
                if par not in seq_next:
                    seq_next[par] = self.stored_cversion(par) or 0
                if is_sequential(opts):
                    self.watch("%s%010d" % (path, seq_next[par]))
                seq_next[par] += 1
        if closing is not None:
            zx, err, r = closing.call(103, s_str("/"))
            for _ in range(r.int() if err == 0 else 0):
                p = r.str()
                self.watch(p)
                self.watch(parent(p))

    def drain_events(self):
        self.watcher.call(3, s_str("/") + s_bool(False))
        lines = ["  watch %s %s" % (EVENTS[t], p) for t, _, p in self.watcher.events]
        self.watcher.events.clear()
        return lines

    def txn_done(self, real_zxid, ok):
        self.count += 1
        if ok:
            self.zxids[real_zxid] = self.count

    # ---- commands ----
    def run(self, lines):
        words = lines[0].split()
        args, opts = split_args(words[1:])
        cmd = words[0]
        if cmd == "config":
            return ["ok"]
        if cmd == "connect":
            self.watcher.call(3, s_str("/") + s_bool(False))
            c = Client(self.port)
            self.sessions[args[0]] = c
            # The session's createSession txn is the newest zxid the watcher can observe.
            zx, _, _ = c.call(3, s_str("/") + s_bool(False))
            self.txn_done(zx, True)
            return ["connected"]
        if cmd == "close":
            c = self.sessions[args[0]]
            self.watch_for([], closing=c)
            zx, err, _ = c.call(-11)
            self.txn_done(zx, err == 0)
            # ZooKeeper deletes a session's ephemerals in hash-set order; the tree uses path order.
            events = self.drain_events()
            pairs = sorted(zip(events[0::2], events[1::2]), key=lambda p: p[0].split()[-1])
            events = [line for pair in pairs for line in pair]
            return (["closed"] if err == 0 else ["error " + ERRORS[err]]) + events
        if cmd == "auth":
            err = self.sessions[args[0]].call(100, s_int(0) + s_str(args[1]) + s_buf(args[2].encode()), xid=-4)[1]
            return ["ok" if err == 0 else "error " + ERRORS[err]]
        if cmd in ("create", "delete", "set", "setacl", "check"):
            c = self.sessions[args[0]]
            self.watch_for([(cmd, args[1:], opts)])
            path = unquote(args[1])
            if cmd == "create":
                op = opts.get("op", "create")
                zx, err, r = c.call(OPS[op], create_body(op, opts, path))
                ok = lambda: "created " + r.str() + ("" if op == "create" else " " + self.stat(r.stat()))
            elif cmd == "delete":
                zx, err, r = c.call(DELETE, s_str(path) + s_int(int(opts.get("v", "-1"))))
                ok = lambda: "deleted"
            elif cmd == "set":
                data = op_data(args[2] if len(args) > 2 else None, opts)
                zx, err, r = c.call(SETDATA, s_str(path) + s_buf(data) + s_int(int(opts.get("v", "-1"))))
                ok = lambda: "set " + self.stat(r.stat())
            elif cmd == "setacl":
                zx, err, r = c.call(SETACL, s_str(path) + s_acls(parse_acl(args[2])) + s_int(int(opts.get("v", "-1"))))
                ok = lambda: "setacl " + self.stat(r.stat())
            else:
                raise SystemExit("top-level check breaks ZooKeeper 3.8's connection; use it in a multi")
            self.txn_done(zx, err == 0)
            return [ok() if err == 0 else "error " + ERRORS[err]] + self.drain_events()
        if cmd == "multi":
            c = self.sessions[args[0]]
            ops = []
            for l in lines[1:]:
                w = l.split()
                a, o = split_args(w[1:])
                ops.append((w[0], a, o))
            self.watch_for(ops)
            body = b""
            for op, a, o in ops:
                path = unquote(a[0]) if a else ""
                if op == "create":
                    kind = o.get("op", "create")
                    code, rec = OPS[kind], create_body(kind, o, path)
                elif op == "delete":
                    code, rec = DELETE, s_str(path) + s_int(int(o.get("v", "-1")))
                elif op == "set":
                    code, rec = SETDATA, s_str(path) + s_buf(op_data(a[1] if len(a) > 1 else None, o)) + s_int(int(o.get("v", "-1")))
                elif op == "check":
                    code, rec = CHECK, s_str(path) + s_int(int(o.get("v", "-1")))
                else:
                    raise SystemExit("unknown multi op " + op)
                body += s_int(code) + s_bool(False) + s_int(-1) + rec
            body += s_int(-1) + s_bool(True) + s_int(-1)
            zx, err, r = c.call(MULTI, body)
            if err:
                self.txn_done(zx, False)
                return ["error " + ERRORS[err]] + self.drain_events()
            results, failed = [], False
            while True:
                op, done, e = r.int(), r.bool(), r.int()
                if done:
                    break
                if op == -1:
                    code = r.int()
                    failed = failed or code != 0
                    results.append(("error", code))
                elif op in (1, 15, 19, 21):
                    p = r.str()
                    results.append(("created", p, None if op == 1 else r.stat()))
                elif op == DELETE:
                    results.append(("deleted",))
                elif op == SETDATA:
                    results.append(("set", r.stat()))
                elif op == CHECK:
                    results.append(("checked",))
            self.txn_done(zx, not failed)
            out = ["multi failed" if failed else "multi ok"]
            for res in results:
                if res[0] == "error":
                    out.append("  error " + ERRORS[res[1]])
                elif res[0] == "created":
                    out.append("  created " + res[1] + ("" if res[2] is None else " " + self.stat(res[2])))
                elif res[0] == "set":
                    out.append("  set " + self.stat(res[1]))
                else:
                    out.append("  " + res[0])
            return out + self.drain_events()
        w = self.watcher
        path = unquote(args[0]) if args else "/"
        if cmd == "stat":
            zx, err, r = w.call(3, s_str(path) + s_bool(False))
            return [self.stat(r.stat()) if err == 0 else "error " + ERRORS[err]]
        if cmd == "get":
            zx, err, r = w.call(4, s_str(path) + s_bool(False))
            if err:
                return ["error " + ERRORS[err]]
            data = r.buf()
            shown = "<null>" if data is None else data.decode("utf-8", "replace")
            return ["data=%s %s" % (shown, self.stat(r.stat()))]
        if cmd == "ls":
            zx, err, r = w.call(12, s_str(path) + s_bool(False))
            if err:
                return ["error " + ERRORS[err]]
            kids = sorted(r.str() for _ in range(r.int()))
            return ["[%s] %s" % (" ".join(kids), self.stat(r.stat()))]
        if cmd == "getacl":
            zx, err, r = w.call(6, s_str(path))
            if err:
                return ["error " + ERRORS[err]]
            acl = ["%d:%s:%s" % (r.int(), r.str(), r.str()) for _ in range(r.int())]
            return ["acl=%s %s" % (",".join(acl), self.stat(r.stat()))]
        if cmd == "count":
            zx, err, r = w.call(104, s_str(path))
            return [str(r.int()) if err == 0 else "error " + ERRORS[err]]
        if cmd == "ephemerals":
            c = self.sessions[args[0]]
            prefix = unquote(args[1]) if len(args) > 1 else "/"
            zx, err, r = c.call(103, s_str(prefix))
            if err:
                return ["error " + ERRORS[err]]
            eph = sorted(r.str() for _ in range(r.int()))
            return ["[%s]" % ", ".join('"%s"' % e for e in eph)]
        raise SystemExit("command %s has no ZooKeeper equivalent; mark the file # hand-written" % cmd)


def parse_cases(text):
    """Yields (input lines, comment/blank lines before it)."""
    lines = text.split("\n")
    i, cases, pre = 0, [], []
    while i < len(lines):
        line = lines[i]
        if not line.strip() or line.startswith("#"):
            pre.append(line)
            i += 1
            continue
        inp = [line]
        i += 1
        while i < len(lines) and lines[i] != "----":
            inp.append(lines[i])
            i += 1
        i += 1
        while i < len(lines) and lines[i].strip():
            i += 1
        cases.append((pre, inp))
        pre = []
    return cases, pre


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_server(flags):
    work = tempfile.mkdtemp(prefix="tree-record-")
    port = free_port()
    with open(os.path.join(work, "zoo.cfg"), "w") as f:
        f.write("tickTime=2000\ndataDir=%s/data\nclientPort=%d\nclientPortAddress=127.0.0.1\n"
                "admin.enableServer=false\n4lw.commands.whitelist=ruok\n" % (work, port))
    cp = ":".join("/usr/share/java/%s.jar" % j for j in JARS) + ":/etc/zookeeper/conf"
    super_digest = digest_id("super:" + SUPER_PASSWORD)
    cmd = ["java", "-Dzookeeper.DigestAuthenticationProvider.superDigest=" + super_digest,
           "-Dznode.container.checkIntervalMs=1000000000"] + flags + [
        "-cp", cp, "org.apache.zookeeper.server.ZooKeeperServerMain", os.path.join(work, "zoo.cfg")]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(80):
        try:
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"ruok")
            if s.recv(4) == b"imok":
                return proc, port, work
        except OSError:
            pass
        time.sleep(0.25)
    proc.kill()
    proc.wait()
    shutil.rmtree(work, ignore_errors=True)
    raise SystemExit("ZooKeeper did not start")


def record(path):
    text = open(path).read()
    if text.startswith("# hand-written"):
        print("skip (hand-written)", path)
        return
    cases, tail = parse_cases(text)
    flags = ["-Dzookeeper.extendedTypesEnabled=true"]
    for _, inp in cases:
        w = inp[0].split()
        if w[0] == "config":
            if "no_extended_types" in w:
                flags.remove("-Dzookeeper.extendedTypesEnabled=true")
            if "enforce_quota" in w:
                flags.append("-Dzookeeper.enforceQuota=true")
    proc, port, work = start_server(flags)
    try:
        rec = None
        for _ in range(40):
            try:
                rec = Recorder(port)
                break
            except (EOFError, OSError):
                time.sleep(0.25)
        if rec is None:
            raise SystemExit("could not open a session")
        out = []
        for pre, inp in cases:
            out.extend(pre)
            out.extend(inp)
            out.append("----")
            out.extend(rec.run(inp))
        out.extend(tail)
        body = "\n".join(out)
        if not body.endswith("\n"):
            body += "\n"
        open(path, "w").write(body)
        print("recorded", path)
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    for p in sys.argv[1:]:
        record(p)
