"""Start the server under test (real ZooKeeper or Ferrokeeper) for the kazoo suite.

Mirrors crates/testkit: a free loopback port, a generated zoo.cfg, readiness when `ruok` answers
`imok` and a session handshake succeeds, and the process killed at the end. With env
`FK_TEST_ENSEMBLE=N` (N > 1) the Ferrokeeper "server" is an N-member ensemble on loopback, as in
crates/testkit/src/shared.rs, and clients get every member's address.
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
ENSEMBLE_ENV = "FK_TEST_ENSEMBLE"
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


def ensemble_size(target):
    """N when env FK_TEST_ENSEMBLE=N asks for an ensemble of N > 1 members of `target`, else None.

    Only Ferrokeeper: real ZooKeeper stays the standalone reference, as in crates/testkit.
    """
    try:
        n = int(os.environ.get(ENSEMBLE_ENV, ""))
    except ValueError:
        return None
    return n if target == "ferrokeeper" and n > 1 else None


def start(target, binary=None):
    """The server the suite runs against: a Server, or an Ensemble when ensemble_size says so."""
    n = ensemble_size(target)
    return Ensemble(target, n, binary) if n else Server(target, binary)


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
    try:
        body = struct.pack(">iqiqi", 0, 0, timeout_ms, session_id, len(passwd)) + passwd + b"\0"
        s.sendall(struct.pack(">i", len(body)) + body)
        n = struct.unpack(">i", recv_exact(s, 4))[0]
        resp = recv_exact(s, n)
    except BaseException:
        s.close()
        raise
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


def srvr_mode(text):
    """The `Mode:` of a `srvr` answer (standalone, leader, follower...), or None."""
    for line in text.splitlines():
        if line.startswith("Mode: "):
            return line[len("Mode: "):].strip()
    return None


def mode(port):
    """The `srvr` Mode of the server on `port`, or None when it does not answer."""
    try:
        return srvr_mode(four_letter(port, "srvr"))
    except OSError:
        return None


class Server:
    """One running server; `stop()` kills it and removes its directory.

    With `my_id` it is an ensemble member: `extra_cfg` carries the `server.N` lines, `myid` goes
    into its dataDir, and it is only started (a member serves once a quorum of them runs); the
    Ensemble waits for it.
    """

    ensemble = False

    def __init__(self, target, binary=None, extra_cfg=None, port=None, my_id=None):
        check_prerequisites(target, binary)
        self.target = target
        self.my_id = my_id
        self.dir = tempfile.mkdtemp(prefix="fk-kazoo-%s-" % target)
        self.data_dir = os.path.join(self.dir, "data")
        os.makedirs(self.data_dir)
        if my_id is not None:
            with open(os.path.join(self.data_dir, "myid"), "w") as f:
                f.write("%d\n" % my_id)
        self.port = port if port is not None else free_port()
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
            # QuorumPeerMain is the entry point that reads `server.N` lines and `myid`.
            main = "org.apache.zookeeper.server.%s" % (
                "quorum.QuorumPeerMain" if my_id is not None else "ZooKeeperServerMain"
            )
            cmd = [
                "java", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xmx512m",
                "-Dzookeeper.admin.enableServer=false",
                "-Dzookeeper.root.logger=INFO,CONSOLE",
                "-Dznode.container.checkIntervalMs=500",
                "-cp", ":".join(ZK_CLASSPATH),
                main, self.cfg_path,
            ]
        else:
            cmd = [binary, "server", "--config", self.cfg_path]
        self.proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.dir
        )
        log.close()
        if my_id is not None:
            return
        try:
            self.wait_ready(60)
        except Exception:
            # The exception already carries the log tail.
            self.stop()
            raise

    @property
    def hosts(self):
        return "127.0.0.1:%d" % self.port

    @property
    def ports(self):
        """Every client port that serves this suite: here just one."""
        return [self.port]

    def log_tail(self, n=4000):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-n:].decode(errors="replace")
        except OSError:
            return "<no log>"

    def check_running(self):
        if self.proc.poll() is not None:
            raise RuntimeError(
                "%s%s exited during startup (%s):\n%s"
                % (self.target, self._member_label(), self.proc.returncode, self.log_tail())
            )

    def _member_label(self):
        return "" if self.my_id is None else " member %d" % self.my_id

    def serves(self, probe_timeout=2.0):
        """Whether it answers `ruok` with `imok` and completes a session handshake."""
        try:
            if four_letter(self.port, "ruok", timeout=probe_timeout) != "imok":
                return False
            # ZooKeeper answers imok before it serves sessions (it closes session connections
            # until then), so a real handshake is the readiness test that matters. A probe that
            # gets no answer is retried soon rather than waited on.
            s, _, _, _ = handshake(self.port, timeout=probe_timeout)
            s.close()
            return True
        except (OSError, ConnectionError, struct.error):
            return False

    def wait_ready(self, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.check_running()
            if self.serves():
                return
            time.sleep(0.05)
        raise RuntimeError(
            "%s%s not ready after %ss:\n%s"
            % (self.target, self._member_label(), timeout, self.log_tail())
        )

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class Ensemble:
    """`size` members on loopback, as crates/testkit/src/ensemble.rs starts them: each its own
    zoo.cfg with every `server.N=127.0.0.1:quorumPort:electionPort` line, `myid` N in its dataDir,
    and its own client port. Ready once every member serves sessions and one says it leads.
    `stop()` kills every member."""

    ensemble = True

    def __init__(self, target, size, binary=None, timeout=60):
        check_prerequisites(target, binary)
        self.target = target
        extra = {}
        client_ports = []
        for my_id in range(1, size + 1):
            extra["server.%d" % my_id] = "127.0.0.1:%d:%d" % (free_port(), free_port())
            client_ports.append(free_port())
        extra["initLimit"] = "10"
        extra["syncLimit"] = "5"
        self.members = []
        try:
            for i, port in enumerate(client_ports):
                self.members.append(Server(target, binary, extra, port=port, my_id=i + 1))
            self._wait_ready(timeout)
        except Exception:
            self.stop()
            raise

    @property
    def hosts(self):
        """Every member's address: kazoo picks one and fails over to the others."""
        return ",".join(m.hosts for m in self.members)

    @property
    def port(self):
        """Member 1's client port, for raw sessions and four-letter words aimed at one member."""
        return self.members[0].port

    @property
    def ports(self):
        return [m.port for m in self.members]

    def modes(self):
        """Each member's `srvr` Mode (None where it does not answer)."""
        return [mode(m.port) for m in self.members]

    def _wait_ready(self, timeout):
        deadline = time.time() + timeout
        pending = list(self.members)
        while time.time() < deadline:
            for m in self.members:
                m.check_running()
            pending = [m for m in pending if not m.serves()]
            if not pending and "leader" in self.modes():
                return
            time.sleep(0.05)
        raise RuntimeError(
            "%s ensemble not ready after %ss (modes %s, not serving: %s):\n%s"
            % (
                self.target,
                timeout,
                self.modes(),
                [m.my_id for m in pending],
                "\n".join(
                    "--- member %d ---\n%s" % (m.my_id, m.log_tail(2000)) for m in self.members
                ),
            )
        )

    def stop(self):
        for m in self.members:
            m.stop()
