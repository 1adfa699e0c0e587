"""Start the server under test (real ZooKeeper or Ferrokeeper) for the kazoo suite.

Mirrors crates/testkit: a free loopback port, a generated zoo.cfg, readiness when `ruok` answers
`imok` and a session handshake succeeds, and the process killed at the end.
"""

import os
import random
import shutil
import socket
import struct
import subprocess
import tempfile
import time

ZK_CLASSPATH = [
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

SUPER_DIGEST = "super:D/InIHSb7yEEbrWz8b9l71RjZJU="  # super:test
MIN_SESSION_TIMEOUT_MS = 1000
MAX_SESSION_TIMEOUT_MS = 30000


def _private_port_range():
    """Ports outside the kernel's ephemeral range (see crates/testkit's free_port for why)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = (int(n) for n in f.read().split())
    except (OSError, ValueError):
        low, high = 32768, 60999
    return (10000, low) if low >= 12000 else (high + 1, 65536)


_next_port = None


def free_port():
    global _next_port
    low, high = _private_port_range()
    span = high - low
    if _next_port is None:
        _next_port = random.randrange(span)
    for _ in range(span):
        port = low + _next_port % span
        _next_port += 1
        if port == 2181:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise OSError("no free port in %d..%d" % (low, high))


def four_letter(port, word, timeout=2.0):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(word.encode())
        out = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                return out.decode(errors="replace")
            out += chunk


def handshake(port, timeout_ms=10000, session_id=0, passwd=b"\0" * 16, timeout=5.0):
    """Opens a raw session; returns (socket, negotiated timeout, session id, password)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    body = struct.pack(">iqiqi", 0, 0, timeout_ms, session_id, len(passwd)) + passwd + b"\0"
    s.sendall(struct.pack(">i", len(body)) + body)
    n = struct.unpack(">i", recv_exact(s, 4))[0]
    resp = recv_exact(s, n)
    _, negotiated, sid, plen = struct.unpack_from(">iiqi", resp)
    pw = resp[20:20 + plen]
    return s, negotiated, sid, pw


def recv_exact(s, n):
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise ConnectionError("closed")
        out += chunk
    return out


def check_prerequisites(target, binary):
    """Fails with the command that installs what is missing."""
    if target == "zookeeper":
        missing = [j for j in ZK_CLASSPATH if not os.path.exists(j)]
        if missing or shutil.which("java") is None:
            raise RuntimeError(
                "ZooKeeper is not installed (missing %s): apt-get install -y zookeeper"
                % (missing or ["java"])
            )
    elif target == "ferrokeeper":
        if not binary or not os.path.exists(binary):
            raise RuntimeError(
                "FK_BINARY must name the ferrokeeper binary (got %r): cargo build -p ferrokeeper"
                % binary
            )
    else:
        raise RuntimeError("FK_TARGET must be zookeeper or ferrokeeper, got %r" % target)


class Server:
    """One running server; `stop()` kills it and removes its directory."""

    def __init__(self, target, binary=None, extra_cfg=None):
        check_prerequisites(target, binary)
        self.target = target
        self.dir = tempfile.mkdtemp(prefix="fk-kazoo-%s-" % target)
        self.data_dir = os.path.join(self.dir, "data")
        os.makedirs(self.data_dir)
        self.port = free_port()
        cfg = {
            "tickTime": "500",
            "dataDir": self.data_dir,
            "clientPort": str(self.port),
            "clientPortAddress": "127.0.0.1",
            "4lw.commands.whitelist": "*",
            "minSessionTimeout": str(MIN_SESSION_TIMEOUT_MS),
            "maxSessionTimeout": str(MAX_SESSION_TIMEOUT_MS),
            "DigestAuthenticationProvider.superDigest": SUPER_DIGEST,
            "extendedTypesEnabled": "true",
            "znode.container.checkIntervalMs": "500",
        }
        cfg.update(extra_cfg or {})
        self.cfg_path = os.path.join(self.dir, "zoo.cfg")
        with open(self.cfg_path, "w") as f:
            for k, v in cfg.items():
                f.write("%s=%s\n" % (k, v))
        self.log_path = os.path.join(self.dir, "server.log")
        log = open(self.log_path, "wb")
        if target == "zookeeper":
            cmd = [
                "java", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xmx512m",
                "-Dzookeeper.admin.enableServer=false",
                "-Dzookeeper.root.logger=INFO,CONSOLE",
                "-Dznode.container.checkIntervalMs=500",
                "-cp", ":".join(ZK_CLASSPATH),
                "org.apache.zookeeper.server.ZooKeeperServerMain", self.cfg_path,
            ]
        else:
            cmd = [binary, "server", "--config", self.cfg_path]
        self.proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.dir
        )
        log.close()
        try:
            self._wait_ready(60)
        except Exception:
            # The exception already carries the log tail.
            self.stop()
            raise

    @property
    def hosts(self):
        return "127.0.0.1:%d" % self.port

    def log_tail(self, n=4000):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-n:].decode(errors="replace")
        except OSError:
            return "<no log>"

    def _wait_ready(self, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    "%s exited during startup (%s):\n%s"
                    % (self.target, self.proc.returncode, self.log_tail())
                )
            try:
                if four_letter(self.port, "ruok") == "imok":
                    s, _, _, _ = handshake(self.port)
                    s.close()
                    return
            except (OSError, ConnectionError, struct.error):
                pass
            time.sleep(0.05)
        raise RuntimeError("%s not ready after %ss:\n%s" % (self.target, timeout, self.log_tail()))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
