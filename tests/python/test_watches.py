"""One-shot watches through kazoo: data, exists on a missing node, children; ordering."""

import queue
import threading

from kazoo.protocol.states import EventType

TIMEOUT = 10


def watcher():
    q = queue.Queue()
    return q, q.put


def test_data_watch_fires_once(connect, root):
    a, b = connect(), connect()
    p = root + "/w"
    a.create(p, b"0")
    q, cb = watcher()
    a.get(p, watch=cb)
    b.set(p, b"1")
    b.set(p, b"2")
    ev = q.get(timeout=TIMEOUT)
    assert (ev.type, ev.path) == (EventType.CHANGED, p)
    b.set(p, b"3")
    a.sync(p)
    assert q.empty(), "a one-shot watch fired twice"


def test_data_watch_on_delete(connect, root):
    a, b = connect(), connect()
    p = root + "/wd"
    a.create(p)
    q, cb = watcher()
    a.get(p, watch=cb)
    b.delete(p)
    ev = q.get(timeout=TIMEOUT)
    assert (ev.type, ev.path) == (EventType.DELETED, p)


def test_exists_watch_on_missing_node(connect, root):
    a, b = connect(), connect()
    p = root + "/later"
    q, cb = watcher()
    assert a.exists(p, watch=cb) is None
    b.create(p, ephemeral=True)
    ev = q.get(timeout=TIMEOUT)
    assert (ev.type, ev.path) == (EventType.CREATED, p)


def test_child_watch(connect, root):
    a, b = connect(), connect()
    p = root + "/cw"
    a.create(p)
    q, cb = watcher()
    a.get_children(p, watch=cb)
    b.set(p, b"data changes do not fire child watches")
    b.create(p + "/k")
    ev = q.get(timeout=TIMEOUT)
    assert (ev.type, ev.path) == (EventType.CHILD, p)
    a.get_children(p, watch=cb)
    b.delete(p + "/k")
    assert q.get(timeout=TIMEOUT).type == EventType.CHILD
    a.get_children(p, watch=cb)
    b.delete(p)
    ev = q.get(timeout=TIMEOUT)
    assert (ev.type, ev.path) == (EventType.DELETED, p)


def test_event_arrives_before_the_read_that_sees_the_change(connect, catch_up, root):
    """The watcher callback runs before the result of a read issued after the change returns."""
    a, b = connect(), connect()
    p = root + "/order"
    a.create(p, b"0")
    seen = []
    fired = threading.Event()

    def cb(ev):
        seen.append(("event", ev.type))
        fired.set()

    a.get(p, watch=cb)
    b.set(p, b"1")
    # In an ensemble a's member may not have applied b's write yet; sync waits until it has, and
    # the event must still come before the answer of the read that sees the change.
    catch_up(a, p)
    data, _ = a.get(p)
    seen.append(("read", data))
    fired.wait(TIMEOUT)
    assert seen[0] == ("event", EventType.CHANGED), seen
    assert seen[1] == ("read", b"1")


def test_data_watch_recipe_follows_changes(connect, root):
    a, b = connect(), connect()
    p = root + "/dw"
    a.create(p, b"v0")
    got = queue.Queue()
    a.DataWatch(p, lambda data, stat: got.put(data))
    assert got.get(timeout=TIMEOUT) == b"v0"
    b.set(p, b"v1")
    assert got.get(timeout=TIMEOUT) == b"v1"
    b.delete(p)
    assert got.get(timeout=TIMEOUT) is None


def test_children_watch_recipe(connect, root):
    a, b = connect(), connect()
    p = root + "/chw"
    a.create(p)
    got = queue.Queue()
    a.ChildrenWatch(p, lambda kids: got.put(sorted(kids)))
    assert got.get(timeout=TIMEOUT) == []
    b.create(p + "/x")
    assert got.get(timeout=TIMEOUT) == ["x"]
    b.create(p + "/y")
    assert got.get(timeout=TIMEOUT) == ["x", "y"]
