"""Fixtures for the kazoo suite: env FK_TARGET=zookeeper|ferrokeeper picks the server, FK_BINARY
names the ferrokeeper binary."""

import os
import re
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from kazoo.client import KazooClient  # noqa: E402

import fkserver  # noqa: E402


def pytest_report_header(config):
    target = os.environ.get("FK_TARGET", "zookeeper")
    n = fkserver.ensemble_size(target)
    return "server under test: %s%s" % (target, " ensemble of %d" % n if n else " standalone")


@pytest.fixture(scope="session")
def server():
    target = os.environ.get("FK_TARGET", "zookeeper")
    srv = fkserver.start(target, os.environ.get("FK_BINARY"))
    yield srv
    srv.stop()


@pytest.fixture
def root(request, server):
    """A path of this test's own, already created."""
    name = re.sub(r"[^A-Za-z0-9]", "_", request.node.name)
    path = "/py-%s-%d" % (name, os.getpid())
    c = KazooClient(hosts=server.hosts, timeout=10)
    c.start(timeout=15)
    c.create(path)
    c.stop()
    c.close()
    return path


@pytest.fixture
def connect(server):
    """Factory for started clients; all are stopped at teardown."""
    clients = []

    def make(**kwargs):
        kwargs.setdefault("timeout", 10)
        c = KazooClient(hosts=server.hosts, **kwargs)
        c.start(timeout=15)
        clients.append(c)
        return c

    yield make
    for c in clients:
        try:
            c.stop()
            c.close()
        except Exception:
            pass


@pytest.fixture
def catch_up(server):
    """`catch_up(client, path)` before a client reads what another session wrote.

    In an ensemble the two may be on different members, and as in ZooKeeper only `sync` brings the
    reader's member up to date. One server has always applied a write before answering it, so
    standalone nothing is sent and the test keeps checking exactly that.
    """

    def catch_up(client, path):
        if server.ensemble:
            assert client.sync(path) == path

    return catch_up


@pytest.fixture
def zk(connect):
    return connect()
