"""ringkv.Client: the blocking and future-returning API over one pipelined connection.

A Client holds at most one connection, to the first of its addresses that answers the hello,
opened on the first request and again on the first request after a drop. Any number of
threads may share a Client; their requests travel together on that connection and are
answered in whatever order the node finishes them.
"""

import base64
import collections
import threading
import time
from concurrent.futures import TimeoutError as FutureTimeout

from . import _framing
from . import _tls
from . import errors
from ._connection import Connection, NotSent, handshake
from ._proto.messages import client_pb2, common_pb2, node_pb2

__version__ = "0.1"
CLIENT_NAME = "ringkv-python/" + __version__

_LEVELS = {
    "one": common_pb2.LEVEL_ONE,
    "quorum": common_pb2.LEVEL_QUORUM,
    "all": common_pb2.LEVEL_ALL,
    "local_quorum": common_pb2.LEVEL_LOCAL_QUORUM,
}


class ConflictError(ValueError):
    """``GetResult.value`` of a key with several live siblings: resolve them (``.siblings``)
    and write the result back with ``.context``, or use ``Client.update``."""

    def __init__(self, result):
        super().__init__(
            "%d siblings: resolve them and write back with the context" % len(result.siblings)
        )
        self.siblings = result.siblings
        self.context = result.context


class Version(collections.namedtuple("Version", "dot value deleted timestamp_ms")):
    """One sibling a get returned, live or a tombstone. ``dot`` names the write that made it,
    as kvctl shows it ("n1.kq3x9a:42": the coordinating node's incarnation and its counter);
    two reads that return the same dot return the same version. A write with the context of
    that read supersedes it, so a version once superseded never comes back."""

    __slots__ = ()


def dot_text(dot):
    """A Dot (messages/common.proto) as text, "actor:counter"."""
    return "%s:%d" % (dot.actor.decode("utf-8", "backslashreplace"), dot.counter)


class GetResult:
    """What a get found. ``siblings``: the live values (bytes), in the node's order; empty when
    the key is not found (never written, or deleted). ``context``: opaque bytes to pass to the
    next put or delete of this key. ``versions``: every sibling with its dot, tombstones
    included. ``raw``: the GetReply itself.
    """

    __slots__ = ("siblings", "context", "raw")

    def __init__(self, reply):
        self.siblings = [s.value for s in reply.siblings if not s.deleted]
        self.context = reply.context
        self.raw = reply

    @property
    def versions(self):
        """Every sibling the node returned, tombstones included, as Versions in its order."""
        return [
            Version(dot_text(s.dot), s.value, s.deleted, s.timestamp_ms)
            for s in self.raw.siblings
        ]

    @property
    def found(self):
        return bool(self.siblings)

    @property
    def value(self):
        """The one live value; None when not found; ConflictError when there are siblings."""
        if len(self.siblings) > 1:
            raise ConflictError(self)
        return self.siblings[0] if self.siblings else None

    def __repr__(self):
        return "GetResult(siblings=%r, context=%d bytes)" % (self.siblings, len(self.context))


def encode_token(context):
    """A context as the text token kvctl and the HTTP API show (unpadded base64url)."""
    return base64.urlsafe_b64encode(context).rstrip(b"=").decode("ascii")


def decode_token(token):
    """The context bytes of a kvctl / HTTP API token."""
    token = token.strip()
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def _as_bytes(value, what):
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    raise TypeError("%s must be bytes or str, not %s" % (what, type(value).__name__))


def _as_context(context):
    if context is None:
        return b""
    if isinstance(context, (bytes, bytearray, memoryview)):
        return bytes(context)
    raise TypeError(
        "a context is the bytes a get or put returned, not %s "
        "(for a kvctl token, use ringkv.decode_token)" % type(context).__name__
    )


def _level(level):
    if level is None:
        return common_pb2.LEVEL_UNSET
    if isinstance(level, int):
        return level
    try:
        return _LEVELS[level.lower()]
    except (KeyError, AttributeError):
        raise ValueError("level must be one of %s, not %r" % (", ".join(_LEVELS), level)) from None


def _parse_address(address):
    if isinstance(address, tuple):
        return address[0], int(address[1])
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError("an address is HOST:PORT, not %r" % (address,))
    return host.strip("[]"), int(port)


class Client:
    """A client of one ringkv cluster, reached through ``addresses``: "host:port" or a list of
    them, tried in order whenever a connection has to be opened.

    timeout          seconds a request may take (sent to the node as its deadline); the
                     client gives up ``grace`` seconds later with Timeout
    connect_timeout  seconds to connect and finish the hello, per address
    ns               namespace of requests that name none ("" is the node's "default")
    client_name      prefixed to "ringkv-python/0.1" in the Hello, for the node's log
    max_node_frame_bytes  the largest frame taken from a node (64 MiB)

    TLS and credentials (each argument left None is taken from its environment variable,
    when set and not empty):
    ca      RINGKV_CA     the cluster CA's certificate (PEM file, as scripts/certs.sh writes
                          ca.pem): with it, connections speak TLS (1.2 at least), trust this CA
                          alone and check that the node's certificate names the host as given
                          (an IP address or a name)
    cert    RINGKV_CERT   this client's certificate (PEM), presented to the node; needs key
    key     RINGKV_KEY    and ca. Its name (CN) is the principal the node takes the client for
    token   RINGKV_TOKEN  a bearer token (at most 1024 bytes), sent in the Hello: who the
                          client is without a certificate
    A certificate without its key or without a CA, or a token past 1024 bytes, is a ValueError
    here, before any connection. When the TLS handshake fails, connecting raises
    Unauthenticated if a side refused the other's certificate, else ConnectFailed; either
    message holds OpenSSL's reason.
    """

    def __init__(
        self,
        addresses,
        timeout=10.0,
        connect_timeout=5.0,
        ns="",
        grace=1.0,
        client_name="",
        max_node_frame_bytes=_framing.DEFAULT_MAX_NODE_FRAME_BYTES,
        cert=None,
        key=None,
        ca=None,
        token=None,
    ):
        if isinstance(addresses, (str, tuple)):
            addresses = [addresses]
        self.addresses = [_parse_address(a) for a in addresses]
        if not self.addresses:
            raise ValueError("no address given")
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.ns = ns or ""
        self.grace = grace
        self.client_name = (client_name + " " if client_name else "") + CLIENT_NAME
        self.max_node_frame_bytes = max_node_frame_bytes
        self._tls, self._token = _tls.credentials(cert, key, ca, token)
        self._lock = threading.Lock()  # held while (re)connecting
        self._conn = None
        self._closed = False

    # -- connection ------------------------------------------------------------------------

    def connect(self):
        """Opens the connection now rather than on the first request; returns the node id."""
        return self._connection().node_id

    @property
    def node_id(self):
        """The id of the node connected to, or None."""
        conn = self._conn
        return conn.node_id if conn is not None and not conn.closed else None

    @property
    def principal(self):
        """Who the node connected to takes this client for (its certificate's name or its
        token's owner; "" when the node checks no credentials), or None when not connected."""
        conn = self._conn
        return conn.principal if conn is not None and not conn.closed else None

    @property
    def tls(self):
        """Whether connections speak TLS (a CA was given)."""
        return self._tls is not None

    def close(self):
        """Closes the connection; requests still in flight fail with ConnectionLost."""
        with self._lock:
            self._closed = True
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close("closed by the client")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _connection(self):
        with self._lock:
            if self._closed:
                raise ValueError("the client is closed")
            if self._conn is not None and not self._conn.closed:
                return self._conn
            self._conn = self._open()
            return self._conn

    def _open(self):
        failures, refusal = [], None
        for address in self.addresses:
            try:
                sock, hello = handshake(
                    address, self.connect_timeout, self.client_name, self.max_node_frame_bytes,
                    tls=self._tls, token=self._token,
                )
            except errors.Error as e:  # the node answered, and not with a HelloReply we take
                failures.append(e)
                refusal = refusal or e
                continue
            except OSError as e:
                failures.append(e)
                continue
            return Connection(
                sock, address, hello, self.grace, self.timeout, self.max_node_frame_bytes
            )
        if refusal is not None:
            raise refusal
        raise errors.ConnectFailed(
            "no node could be reached: "
            + "; ".join("%s:%d: %s" % (a + (f,)) for a, f in zip(self.addresses, failures)),
            failures,
        )

    def _submit(self, kind, call, timeout, decode):
        timeout = self.timeout if timeout is None else timeout
        conn = self._connection()
        try:
            return conn.submit(kind, call, timeout, decode)
        except NotSent:  # closed under us before anything was sent: a new one, once
            return self._connection().submit(kind, call, timeout, decode)

    def _wait(self, future, timeout):
        timeout = self.timeout if timeout is None else timeout
        try:
            # The connection fails the future at its deadline; this wait is only a backstop.
            return future.result(timeout + self.grace + 5.0)
        except FutureTimeout:
            raise errors.Timeout("no answer in time: the outcome is unknown") from None

    def _options(self, ns, timeout, r=None, w=None, n=None, level=None):
        timeout = self.timeout if timeout is None else timeout
        return common_pb2.RequestOptions(
            ns=self.ns if ns is None else ns,
            r=r or 0,
            w=w or 0,
            n=n or 0,
            level=_level(level),
            timeout_ms=max(int(timeout * 1000), 1),
        )

    # -- key-value calls ---------------------------------------------------------------------

    def submit_get(self, key, ns=None, r=None, n=None, level=None, timeout=None):
        """Like get, but returns a concurrent.futures.Future of the GetResult at once."""
        request = client_pb2.GetRequest(
            options=self._options(ns, timeout, r=r, n=n, level=level), key=_as_bytes(key, "key")
        )
        return self._submit("get", request, timeout, GetResult)

    def get(self, key, ns=None, r=None, n=None, level=None, timeout=None):
        """Reads ``key``: a GetResult with its live siblings and the context for the next write.
        A key that does not exist (or was deleted) is found=False, not an error."""
        return self._wait(self.submit_get(key, ns, r, n, level, timeout), timeout)

    def submit_put(self, key, value, context=None, ns=None, w=None, n=None, level=None,
                   timeout=None):
        """Like put, but returns a concurrent.futures.Future of the new context at once."""
        request = client_pb2.PutRequest(
            options=self._options(ns, timeout, w=w, n=n, level=level),
            key=_as_bytes(key, "key"),
            value=_as_bytes(value, "value"),
            context=_as_context(context),
        )
        return self._submit("put", request, timeout, _context_of)

    def put(self, key, value, context=None, ns=None, w=None, n=None, level=None, timeout=None):
        """Stores ``value`` under ``key``. With the context of an earlier get it supersedes
        exactly what that get saw; without one it becomes a sibling of whatever is there.
        Returns the new context, which covers the new value."""
        return self._wait(self.submit_put(key, value, context, ns, w, n, level, timeout), timeout)

    def submit_delete(self, key, context=None, ns=None, w=None, n=None, level=None,
                      timeout=None):
        """Like delete, but returns a concurrent.futures.Future of the new context at once."""
        request = client_pb2.DeleteRequest(
            options=self._options(ns, timeout, w=w, n=n, level=level),
            key=_as_bytes(key, "key"),
            context=_as_context(context),
        )
        return self._submit("del", request, timeout, _context_of)

    def delete(self, key, context=None, ns=None, w=None, n=None, level=None, timeout=None):
        """Deletes ``key`` by writing a tombstone; with a context it supersedes what that get
        saw, without one it supersedes nothing. Returns the new context."""
        return self._wait(self.submit_delete(key, context, ns, w, n, level, timeout), timeout)

    def update(self, key, resolve, ns=None, retries=3, r=None, w=None, level=None,
               timeout=None):
        """Read-modify-write: reads ``key``, calls ``resolve(siblings)`` with its live values
        (a list of bytes: empty when not found, several when writers raced) and writes what it
        returns (bytes or str; None deletes) back with the read's context, so the result
        supersedes every sibling it was given. Returns the new context.

        A read that fails with Unavailable or Timeout is tried again (up to ``retries`` more
        times in all). So is a write, but with the same value and context rather than a new
        read: after a Timeout the first write may have been applied, and retrying with the
        context (as docs/protocol.md advises) at worst leaves two equal siblings, where
        resolving again could apply a non-idempotent change twice."""
        attempts = retries + 1
        while True:
            try:
                current = self.get(key, ns=ns, r=r, level=level, timeout=timeout)
                break
            except (errors.Unavailable, errors.Timeout):
                attempts -= 1
                if attempts <= 0:
                    raise
        value = resolve(list(current.siblings))
        while True:
            try:
                if value is None:
                    return self.delete(key, current.context, ns=ns, w=w, level=level,
                                       timeout=timeout)
                return self.put(key, value, current.context, ns=ns, w=w, level=level,
                                timeout=timeout)
            except (errors.Unavailable, errors.Timeout):
                attempts -= 1
                if attempts <= 0:
                    raise

    # -- node calls ----------------------------------------------------------------------

    def status(self, timeout=None):
        """The node's StatusReply (messages/client.proto): its id, members, storage counters."""
        future = self._submit("status", client_pb2.StatusRequest(), timeout, _itself)
        return self._wait(future, timeout)

    def ring(self, ns=None, timeout=None):
        """The placement as the node computes it: a RingReply (messages/node.proto), with
        replicas counted at namespace ``ns``'s n."""
        request = node_pb2.RingRequest(ns=self.ns if ns is None else ns)
        return self._wait(self._submit("ring", request, timeout, _itself), timeout)

    def ping(self, timeout=None):
        """Asks the node for a Pong; returns the round trip in seconds."""
        start = time.monotonic()
        self._wait(self._submit("ping", None, timeout, _itself), timeout)
        return time.monotonic() - start


def _context_of(reply):
    return reply.context


def _itself(reply):
    return reply
