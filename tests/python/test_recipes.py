"""kazoo's recipes as a smoke test: Lock, Election, Counter, Queue, Barrier."""

import threading
import time


def test_lock_excludes(connect, root):
    a, b = connect(), connect()
    la = a.Lock(root + "/lock", "a")
    lb = b.Lock(root + "/lock", "b")
    assert la.acquire(timeout=10)
    assert not lb.acquire(blocking=False), "two holders of one lock"
    assert sorted(lb.contenders()) == ["a"]
    la.release()
    assert lb.acquire(timeout=10)
    lb.release()


def test_election_picks_one_leader(connect, root):
    a, b = connect(), connect()
    leaders = []
    done = threading.Event()

    def lead(name):
        leaders.append(name)
        done.wait(10)

    ea = a.Election(root + "/elect", "a")
    eb = b.Election(root + "/elect", "b")
    ta = threading.Thread(target=ea.run, args=(lead, "a"), daemon=True)
    ta.start()
    deadline = time.time() + 10
    while not leaders and time.time() < deadline:
        time.sleep(0.05)
    tb = threading.Thread(target=eb.run, args=(lead, "b"), daemon=True)
    tb.start()
    time.sleep(0.5)
    assert leaders == ["a"]
    assert sorted(ea.contenders()) == ["a", "b"]
    done.set()
    ta.join(10)
    deadline = time.time() + 10
    while len(leaders) < 2 and time.time() < deadline:
        time.sleep(0.05)
    assert leaders == ["a", "b"], "leadership did not pass on"
    tb.join(10)


def test_counter_is_atomic(connect, catch_up, root):
    clients = [connect() for _ in range(3)]

    def bump(c):
        counter = c.Counter(root + "/count")
        for _ in range(20):
            counter += 1

    threads = [threading.Thread(target=bump, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    catch_up(clients[0], root + "/count")
    assert clients[0].Counter(root + "/count").value == 60


def test_queue_fifo_and_locking_queue(connect, catch_up, root):
    a, b = connect(), connect()
    q = a.Queue(root + "/q")
    for item in (b"one", b"two", b"three"):
        q.put(item)
    assert len(q) == 3
    catch_up(b, root + "/q")
    got = [b.Queue(root + "/q").get() for _ in range(3)]
    assert got == [b"one", b"two", b"three"]
    lq = a.LockingQueue(root + "/lq")
    lq.put(b"job", priority=10)
    lq.put(b"urgent", priority=1)
    catch_up(b, root + "/lq")
    worker = b.LockingQueue(root + "/lq")
    assert worker.get(timeout=10) == b"urgent"
    assert worker.consume()
    assert worker.get(timeout=10) == b"job"
    assert worker.consume()


def test_barrier(connect, catch_up, root):
    a, b = connect(), connect()
    barrier = a.Barrier(root + "/barrier")
    barrier.create()
    catch_up(b, root + "/barrier")
    passed = threading.Event()

    def waiter():
        if b.Barrier(root + "/barrier").wait(timeout=10):
            passed.set()

    t = threading.Thread(target=waiter)
    t.start()
    time.sleep(0.3)
    assert not passed.is_set()
    barrier.remove()
    t.join(10)
    assert passed.is_set()
