"""Requests kazoo 2.11 has no method for, in kazoo's own request style, sent through its
connection with `client._call`: createContainer, createTTL, getEphemerals, getAllChildrenNumber,
whoAmI."""

from collections import namedtuple

from kazoo.handlers.utils import AsyncResult  # noqa: F401  (re-exported for tests)
from kazoo.protocol.serialization import int_struct, read_string, stat_struct, write_buffer, write_string
from kazoo.protocol.states import ZnodeStat
from kazoo.security import OPEN_ACL_UNSAFE


def _acl_bytes(acl):
    b = bytearray(int_struct.pack(len(acl)))
    for a in acl:
        b.extend(int_struct.pack(a.perms) + write_string(a.id.scheme) + write_string(a.id.id))
    return b


def _path_and_stat(bytes, offset):
    path, offset = read_string(bytes, offset)
    return path, ZnodeStat._make(stat_struct.unpack_from(bytes, offset))


class CreateContainer(namedtuple("CreateContainer", "path data acl")):
    type = 19

    def serialize(self):
        b = bytearray(write_string(self.path))
        b.extend(write_buffer(self.data))
        b.extend(_acl_bytes(self.acl))
        b.extend(int_struct.pack(4))
        return b

    @classmethod
    def deserialize(cls, bytes, offset):
        return _path_and_stat(bytes, offset)


class CreateTTL(namedtuple("CreateTTL", "path data acl flags ttl")):
    type = 21

    def serialize(self):
        b = bytearray(write_string(self.path))
        b.extend(write_buffer(self.data))
        b.extend(_acl_bytes(self.acl))
        b.extend(int_struct.pack(self.flags))
        b.extend(self.ttl.to_bytes(8, "big", signed=True))
        return b

    @classmethod
    def deserialize(cls, bytes, offset):
        return _path_and_stat(bytes, offset)


def _string_list(bytes, offset):
    count = int_struct.unpack_from(bytes, offset)[0]
    offset += int_struct.size
    out = []
    for _ in range(max(count, 0)):
        s, offset = read_string(bytes, offset)
        out.append(s)
    return out, offset


class GetEphemerals(namedtuple("GetEphemerals", "prefix")):
    type = 103

    def serialize(self):
        return bytearray(write_string(self.prefix))

    @classmethod
    def deserialize(cls, bytes, offset):
        return _string_list(bytes, offset)[0]


class GetAllChildrenNumber(namedtuple("GetAllChildrenNumber", "path")):
    type = 104

    def serialize(self):
        return bytearray(write_string(self.path))

    @classmethod
    def deserialize(cls, bytes, offset):
        return int_struct.unpack_from(bytes, offset)[0]


class WhoAmI(namedtuple("WhoAmI", "unused")):
    """whoAmI has no body; the field only keeps the tuple truthy (kazoo skips falsy requests)."""

    type = 107

    def serialize(self):
        return bytearray()

    @classmethod
    def deserialize(cls, bytes, offset):
        count = int_struct.unpack_from(bytes, offset)[0]
        offset += int_struct.size
        out = []
        for _ in range(max(count, 0)):
            scheme, offset = read_string(bytes, offset)
            user, offset = read_string(bytes, offset)
            out.append((scheme, user))
        return out


def call(client, request, timeout=10):
    """Sends `request` on `client`'s session and waits for the decoded answer."""
    result = client.handler.async_result()
    client._call(request, result)
    return result.get(timeout=timeout)


def create_container(client, path, data=b""):
    return call(client, CreateContainer(path, data, OPEN_ACL_UNSAFE))


def create_ttl(client, path, ttl_ms, data=b"", sequential=False):
    return call(client, CreateTTL(path, data, OPEN_ACL_UNSAFE, 6 if sequential else 5, ttl_ms))
