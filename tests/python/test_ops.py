"""Every data operation through kazoo (plus raw kazoo-style requests for the ops kazoo lacks)."""

import time

import pytest
from kazoo.exceptions import (
    BadArgumentsError,
    BadVersionError,
    NoChildrenForEphemeralsError,
    NodeExistsError,
    NoNodeError,
    NotEmptyError,
    RolledBackError,
)
from kazoo.security import OPEN_ACL_UNSAFE

import fkproto
import fkserver


def wait_until(pred, timeout=10.0, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(step)
    return False


def test_create_persistent_and_stat(zk, root):
    before = zk.exists(root)
    path, stat = zk.create(root + "/a", b"hello", include_data=True)
    assert path == root + "/a"
    assert stat.czxid == stat.mzxid == stat.pzxid
    assert stat.ctime == stat.mtime
    assert (stat.version, stat.cversion, stat.aversion) == (0, 0, 0)
    assert stat.ephemeralOwner == 0
    assert (stat.dataLength, stat.numChildren) == (5, 0)
    data, got = zk.get(root + "/a")
    assert data == b"hello" and got == stat
    after = zk.exists(root)
    assert after.cversion == before.cversion + 1
    assert after.numChildren == before.numChildren + 1
    assert after.pzxid == stat.czxid
    with pytest.raises(NodeExistsError):
        zk.create(root + "/a")
    with pytest.raises(NoNodeError):
        zk.create(root + "/missing/child")


def test_create_sequential_counts_creations(zk, root):
    d = root + "/seq"
    zk.create(d)
    assert zk.create(d + "/n-", sequence=True) == d + "/n-0000000000"
    zk.create(d + "/p")
    zk.delete(d + "/p")
    assert zk.exists(d).cversion == 3
    # The suffix counts creations under the parent, not cversion (which counts deletes too).
    assert zk.create(d + "/n-", sequence=True, ephemeral=True) == d + "/n-0000000002"
    assert sorted(zk.get_children(d)) == ["n-0000000000", "n-0000000002"]


def test_ephemeral_owner_and_no_children(connect, catch_up, root):
    a = connect()
    b = connect()
    a.create(root + "/e", b"x", ephemeral=True)
    catch_up(b, root)
    assert b.exists(root + "/e").ephemeralOwner == a.client_id[0]
    with pytest.raises(NoChildrenForEphemeralsError):
        a.create(root + "/e/child")
    a.stop()
    catch_up(b, root)
    assert b.exists(root + "/e") is None, "closeSession must delete ephemerals before it returns"


def test_container_reaped_after_last_child(zk, root):
    box = root + "/box"
    path, stat = fkproto.create_container(zk, box)
    assert path == box and stat.ephemeralOwner == 0
    time.sleep(1.5)
    assert zk.exists(box) is not None, "a container that never had a child was reaped"
    zk.create(box + "/k")
    zk.delete(box + "/k")
    assert wait_until(lambda: zk.exists(box) is None), "empty container was not reaped"


def test_ttl_node_expires(zk, root):
    _, stat = fkproto.create_ttl(zk, root + "/long", 3_600_000)
    assert stat.ephemeralOwner == 0
    fkproto.create_ttl(zk, root + "/short", 300)
    path, _ = fkproto.create_ttl(zk, root + "/tseq-", 3_600_000, sequential=True)
    assert path == root + "/tseq-0000000002"
    with pytest.raises(BadArgumentsError):
        fkproto.create_ttl(zk, root + "/zero", 0)
    assert wait_until(lambda: zk.exists(root + "/short") is None), "TTL node outlived its TTL"
    assert zk.exists(root + "/long") is not None


def test_delete_versions_and_children(zk, root):
    p = root + "/d"
    zk.create(p)
    zk.set(p, b"1")
    zk.create(p + "/k")
    with pytest.raises(NotEmptyError):
        zk.delete(p)
    zk.delete(p + "/k", version=0)
    with pytest.raises(BadVersionError):
        zk.delete(p, version=0)
    zk.delete(p, version=1)
    with pytest.raises(NoNodeError):
        zk.delete(p)


def test_set_data_versions(zk, root):
    p = root + "/s"
    _, created = zk.create(p, b"a", include_data=True)
    s1 = zk.set(p, b"bb", version=0)
    assert (s1.version, s1.dataLength, s1.czxid) == (1, 2, created.czxid)
    assert s1.mzxid > created.mzxid and s1.pzxid == created.pzxid
    with pytest.raises(BadVersionError):
        zk.set(p, b"x", version=0)
    assert zk.set(p, b"ccc").version == 2
    with pytest.raises(NoNodeError):
        zk.set(root + "/missing", b"")
    assert zk.get(p)[0] == b"ccc"


def test_exists_get_children(zk, root):
    assert zk.exists(root + "/none") is None
    p = root + "/kids"
    zk.create(p)
    for n in ("x", "a", "m"):
        zk.create(p + "/" + n)
    assert sorted(zk.get_children(p)) == ["a", "m", "x"]
    kids, stat = zk.get_children(p, include_data=True)
    assert sorted(kids) == ["a", "m", "x"]
    assert (stat.numChildren, stat.cversion) == (3, 3)
    with pytest.raises(NoNodeError):
        zk.get_children(root + "/none")


def test_large_data_round_trip(zk, root):
    big = bytes(range(256)) * 1000
    zk.create(root + "/big", big)
    assert zk.get(root + "/big")[0] == big


def test_sync(zk, root):
    assert zk.sync(root) == root


def test_transaction_success(zk, root):
    p = root + "/m"
    zk.create(p, b"0")
    t = zk.transaction()
    t.check(p, 0)
    t.create(p + "/a", b"a")
    t.create(p + "/s-", sequence=True)
    t.set_data(p, b"1", version=0)
    t.delete(p + "/a", version=0)
    results = t.commit()
    assert results[0] is True
    assert results[1] == p + "/a"
    assert results[2] == p + "/s-0000000001"
    assert results[3].version == 1
    assert results[4] is True
    assert zk.get_children(p) == ["s-0000000001"]


def test_transaction_failure_is_atomic(zk, root):
    p = root + "/mf"
    zk.create(p, b"0")
    t = zk.transaction()
    t.create(p + "/a")
    t.check(p, 5)
    t.set_data(p, b"x")
    results = t.commit()
    # Ops before the failure roll back, the failing op reports its error, the rest are
    # runtime inconsistencies (kazoo maps both to exception instances).
    assert isinstance(results[0], RolledBackError)
    assert isinstance(results[1], BadVersionError)
    assert type(results[2]).__name__ == "RuntimeInconsistency"
    assert zk.exists(p + "/a") is None
    assert zk.get(p)[0] == b"0"


def test_get_ephemerals_and_all_children_number(connect, catch_up, root):
    a = connect()
    b = connect()
    a.create(root + "/eph")
    a.create(root + "/eph/one", ephemeral=True)
    a.create(root + "/eph/two", ephemeral=True)
    a.create(root + "/ephx", ephemeral=True)
    b.create(root + "/eph/theirs", ephemeral=True)
    catch_up(a, root)
    mine = sorted(fkproto.call(a, fkproto.GetEphemerals(root + "/eph")))
    assert mine == [root + "/eph/one", root + "/eph/two", root + "/ephx"]
    assert fkproto.call(b, fkproto.GetEphemerals(root + "/nothing")) == []
    assert fkproto.call(a, fkproto.GetAllChildrenNumber(root)) == 5
    assert fkproto.call(a, fkproto.GetAllChildrenNumber(root + "/eph")) == 3
    with pytest.raises(NoNodeError):
        fkproto.call(a, fkproto.GetAllChildrenNumber(root + "/zzz"))


def test_who_am_i(zk):
    assert fkproto.call(zk, fkproto.WhoAmI(None)) == [("ip", "127.0.0.1")]
    zk.add_auth("digest", "alice:secret")
    assert sorted(fkproto.call(zk, fkproto.WhoAmI(None))) == [("digest", "alice"), ("ip", "127.0.0.1")]


def test_acl_get_set(zk, root):
    from kazoo.security import make_acl

    p = root + "/acl"
    zk.create(p)
    acls, stat = zk.get_acls(p)
    assert acls == OPEN_ACL_UNSAFE and stat.aversion == 0
    ro = [make_acl("world", "anyone", read=True, admin=True)]
    assert zk.set_acls(p, ro, version=0).aversion == 1
    with pytest.raises(BadVersionError):
        zk.set_acls(p, ro, version=0)
    assert zk.get_acls(p)[0] == ro


def test_four_letter_words(zk, server):
    assert zk.command(b"ruok") == "imok"
    # kazoo asks the server it is connected to: in an ensemble, some member.
    srvr = zk.command(b"srvr")
    assert "Zxid: 0x" in srvr
    modes = [fkserver.mode(port) for port in server.ports]
    if server.ensemble:
        assert fkserver.srvr_mode(srvr) in ("leader", "follower"), srvr
        assert sorted(modes) == ["follower"] * (len(modes) - 1) + ["leader"], modes
    else:
        assert fkserver.srvr_mode(srvr) == "standalone", srvr
        assert modes == ["standalone"]
    # kazoo's command() reads one 8 KiB chunk; mntr is longer, so read it whole.
    for port, mode in zip(server.ports, modes):
        mntr = fkserver.four_letter(port, "mntr")
        lines = dict(line.split("\t", 1) for line in mntr.strip().splitlines())
        assert "zk_version" in lines and "zk_znode_count" in lines
        assert int(lines["zk_znode_count"]) > 0
        assert lines.get("zk_server_state") == mode, (port, lines.get("zk_server_state"))
