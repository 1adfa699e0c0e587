"""ACL schemes through kazoo: world, digest via add_auth, auth, ip, super."""

import pytest
from kazoo.exceptions import InvalidACLError, NoAuthError
from kazoo.security import make_acl, make_digest_acl, make_digest_acl_credential

ALICE = make_digest_acl_credential("alice", "secret")


def test_digest_credential_format():
    assert ALICE == "alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E="


def test_world_read_only(zk, root):
    p = root + "/ro"
    zk.create(p, b"d", acl=[make_acl("world", "anyone", read=True)])
    assert zk.get(p)[0] == b"d"
    with pytest.raises(NoAuthError):
        zk.set(p, b"x")
    with pytest.raises(NoAuthError):
        zk.create(p + "/k")


def test_digest_via_add_auth(connect, root):
    owner = connect(auth_data=[("digest", "alice:secret")])
    p = root + "/dg"
    owner.create(p, b"s", acl=[make_digest_acl("alice", "secret", all=True)])
    assert owner.get(p)[0] == b"s"
    anon = connect()
    with pytest.raises(NoAuthError):
        anon.get(p)
    assert anon.exists(p) is not None, "exists needs no permission"
    anon.add_auth("digest", "bob:secret")
    with pytest.raises(NoAuthError):
        anon.get(p)
    anon.add_auth("digest", "alice:secret")
    assert anon.get(p)[0] == b"s"


def test_auth_scheme(connect, root):
    c = connect(auth_data=[("digest", "alice:secret")])
    p = root + "/creator"
    c.create(p, acl=[make_acl("auth", "", all=True)])
    acls, _ = c.get_acls(p)
    assert [(a.perms, a.id.scheme, a.id.id) for a in acls] == [(31, "digest", ALICE)]
    anon = connect()
    with pytest.raises(InvalidACLError):
        anon.create(root + "/creator2", acl=[make_acl("auth", "", all=True)])


def test_ip_scheme(zk, root):
    zk.create(root + "/ip-ok", b"y", acl=[make_acl("ip", "127.0.0.1", all=True)])
    assert zk.get(root + "/ip-ok")[0] == b"y"
    zk.create(root + "/ip-no", b"n", acl=[make_acl("ip", "10.0.0.0/8", all=True)])
    with pytest.raises(NoAuthError):
        zk.get(root + "/ip-no")


def test_super_digest(connect, root):
    c = connect()
    p = root + "/locked"
    c.create(p, b"x", acl=[make_digest_acl("nobody", "pw", read=True)])
    with pytest.raises(NoAuthError):
        c.get(p)
    su = connect(auth_data=[("digest", "super:test")])
    assert su.get(p)[0] == b"x"
    su.set(p, b"y")
    su.delete(p)


def test_delete_needs_parent_permission(zk, root):
    p = root + "/perm"
    zk.create(p, acl=[make_acl("world", "anyone", create=True, read=True)])
    zk.create(p + "/k")
    with pytest.raises(NoAuthError):
        zk.delete(p + "/k")
    assert zk.get_children(p) == ["k"]
