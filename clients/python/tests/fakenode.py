"""A fake ringkv node for the client's tests: the node side of docs/protocol.md in Python.

It takes connections on a loopback port, answers the hello (refusing versions other than 1),
enforces its max_frame_bytes, idle timeout and max_in_flight, and serves put/get/del with
siblings and opaque contexts (one actor, dots as counters, a context is the set of dots it
covers), status, ring and ping. Tests steer it to answer out of order, late or never, with
errors, with frames it should not send, to say goodbye, or to drop every connection.

With ``tls=(cert, key, ca)`` (PEM files, as scripts/certs.sh writes them) it speaks TLS, 1.2
at least (``tls_maximum`` caps it), like a node's listeners: it asks for a client certificate and verifies it against
``ca`` (``client_cert="required"`` refuses a client without one), and ``tokens`` ({token:
principal}) are the bearer tokens it takes in a Hello; a token it does not know gets a goodbye
ERR_UNAUTHENTICATED. Its HelloReply's principal is the certificate's CN, else the token's
owner. A TLS connection is served by one thread: steer it with the hello, not with delays or
the *_all calls, which would use its SSL object from a second thread.

Keys that steer one request:
  b"!err:N..."     answer Error{code N}
  b"!wrong..."     answer with a reply of another call
  b"!unknown..."   answer with a result field this protocol does not have
  b"!silent..."    never answer
"""

import socket
import ssl
import struct
import threading
import time

from ringkv._framing import HEADER, frame
from ringkv._proto.messages import client_pb2, common_pb2, protocol_pb2

CONTEXT_MAGIC = b"fake-ctx:"
MAX_KEY = 1024
MAX_VALUE = 1 << 20


def encode_context(dots):
    return CONTEXT_MAGIC + b",".join(b"%d" % d for d in sorted(dots))


def decode_context(context):
    """The dots a context covers, or None for a context this node cannot have issued."""
    if not context:
        return set()
    if not context.startswith(CONTEXT_MAGIC):
        return None
    body = context[len(CONTEXT_MAGIC):]
    try:
        return {int(d) for d in body.split(b",")} if body else set()
    except ValueError:
        return None


class Store:
    """Siblings per (ns, key), each with its own dot; a write supersedes the dots its context
    covers, exactly, so writes that did not see each other stay siblings."""

    def __init__(self):
        self.lock = threading.Lock()
        self.objects = {}  # (ns, key) -> {dot: Sibling}
        self.counter = 0

    def read(self, ns, key):
        with self.lock:
            siblings = dict(self.objects.get((ns, key), {}))
        reply = client_pb2.GetReply(context=encode_context(siblings))
        for dot in sorted(siblings):
            reply.siblings.add().CopyFrom(siblings[dot])
        return reply

    def write(self, ns, key, seen, value, deleted):
        with self.lock:
            self.counter += 1
            dot = self.counter
            obj = self.objects.setdefault((ns, key), {})
            for covered in seen:
                obj.pop(covered, None)
            obj[dot] = common_pb2.Sibling(
                dot=common_pb2.Dot(actor=b"fake", counter=dot),
                value=value,
                deleted=deleted,
                timestamp_ms=int(time.time() * 1000),
            )
        return encode_context(seen | {dot})


def error_response(request_id, code, message):
    response = protocol_pb2.Response(id=request_id)
    response.error.code = code
    response.error.message = message
    return response


class FakeNode:
    def __init__(self, node_id="fake1", max_frame_bytes=4 << 20, idle_timeout_ms=0,
                 max_in_flight=0, version=1, tls=None, client_cert="optional", tokens=None,
                 host="127.0.0.1", tls_maximum=None):
        self.node_id = node_id
        self.max_frame_bytes = max_frame_bytes
        self.idle_timeout_ms = idle_timeout_ms
        self.max_in_flight = max_in_flight
        self.version = version
        self.store = Store()
        self.lock = threading.Lock()
        self.connections = []
        self.hellos = []  # every Hello received
        self.principals = []  # the principal each HelloReply named
        self.peer_names = []  # the CN of each verified client certificate (None: no certificate)
        self.tls_versions = []  # the TLS version of each handshake done
        self.tls_failures = []  # why each failed handshake failed (OpenSSL's words)
        self.tokens = dict(tokens or {})
        self.tls = None
        if tls is not None:
            cert, key, ca = tls
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls.minimum_version = ssl.TLSVersion.TLSv1_2
            if tls_maximum is not None:
                self.tls.maximum_version = tls_maximum
            self.tls.load_cert_chain(cert, key)
            self.tls.load_verify_locations(cafile=ca)
            self.tls.verify_mode = {"optional": ssl.CERT_OPTIONAL,
                                    "required": ssl.CERT_REQUIRED}[client_cert]
        self.goodbyes_sent = []  # codes of the goodbyes this node sent
        self.requests = 0
        self.pings = 0
        self.accepted = 0
        self.max_unanswered = 0  # most requests one connection had unanswered at once
        self.delays = {}  # key -> seconds before its answer leaves
        self.refuse = None  # (code, message): a goodbye instead of a HelloReply
        self._reorder = 0  # answers to hold, then send last first
        self._held = []
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._listener = socket.create_server((host, 0), family=family)
        self.port = self._listener.getsockname()[1]
        self.address = ("[%s]:%d" if ":" in host else "%s:%d") % (host, self.port)
        self._stopped = False
        threading.Thread(target=self._accept_loop, daemon=True).start()

    # -- steering ------------------------------------------------------------------------

    def reorder(self, count):
        """Holds the next ``count`` answers, then sends them last first."""
        with self.lock:
            self._reorder = count
            self._held = []

    def drop_all(self):
        """Closes every connection at once, without a goodbye."""
        for conn in self._live():
            conn.drop()

    def goodbye_all(self, code, message):
        for conn in self._live():
            conn.goodbye(code, message)

    def send_raw_all(self, data):
        for conn in self._live():
            conn.send(data)

    def stop(self):
        self._stopped = True
        try:
            # Wakes the accept() in progress: close() alone leaves the socket listening
            # (for that accept) as long as the call lasts.
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # ignored: not listening any more
        self._listener.close()
        self.drop_all()

    def _live(self):
        with self.lock:
            return [c for c in self.connections if not c.closed]

    # -- serving -------------------------------------------------------------------------

    def _accept_loop(self):
        while not self._stopped:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            conn = _NodeConnection(self, sock)
            with self.lock:
                self.accepted += 1
                self.connections.append(conn)
            threading.Thread(target=conn.serve, daemon=True).start()

    def answer(self, conn, request):
        """The Response to one Request, or None to never answer it."""
        call = request.WhichOneof("call")
        if call is None:
            return error_response(request.id, common_pb2.ERR_INVALID_ARGUMENT, "no call")
        message = getattr(request, call)
        key = getattr(message, "key", b"")
        if key.startswith(b"!silent"):
            return None
        if key.startswith(b"!err:"):
            code = int(key[5:6])
            return error_response(request.id, code, "injected error %d" % code)
        response = protocol_pb2.Response(id=request.id)
        if key.startswith(b"!wrong"):
            response.pong.SetInParent()
            return response
        if key.startswith(b"!unknown"):
            return response  # with an unknown field appended by _send
        if call == "ping":
            with self.lock:
                self.pings += 1
            response.pong.SetInParent()
        elif call == "status":
            response.status.node_id = self.node_id
            response.status.address = self.address
            member = response.status.members.add(id=self.node_id, address=self.address)
            member.state = common_pb2.MEMBER_UP
        elif call == "ring":
            response.ring.partitions = 256
            response.ring.n = 1
        elif call in ("put", "get", "del"):
            refused = self._check(message, call)
            if refused is not None:
                return error_response(request.id, *refused)
            ns = message.options.ns or "default"
            if call == "get":
                response.get.CopyFrom(self.store.read(ns, key))
            else:
                seen = decode_context(message.context)
                if seen is None:
                    return error_response(request.id, common_pb2.ERR_INVALID_ARGUMENT,
                                          "a context this node cannot have issued")
                value = message.value if call == "put" else b""
                getattr(response, call).context = self.store.write(
                    ns, key, seen, value, deleted=(call == "del"))
        else:
            return error_response(request.id, common_pb2.ERR_INVALID_ARGUMENT,
                                  "%s is not served on this listener" % call)
        return response

    def _check(self, message, call):
        options = message.options
        if not message.key:
            return common_pb2.ERR_INVALID_ARGUMENT, "an empty key"
        if len(message.key) > MAX_KEY:
            return common_pb2.ERR_TOO_LARGE, "a key of %d bytes" % len(message.key)
        if call == "put" and len(message.value) > MAX_VALUE:
            return common_pb2.ERR_TOO_LARGE, "a value of %d bytes" % len(message.value)
        if options.level and (options.r or options.w):
            return common_pb2.ERR_INVALID_ARGUMENT, "both a level and r/w"
        if options.r > 1 or options.w > 1 or options.n > 1:
            return common_pb2.ERR_INVALID_ARGUMENT, "n is 1 here"
        return None

    def deliver(self, conn, response, key):
        """Sends ``response`` now, later (delays), or with the held batch (reorder)."""
        delay = self.delays.get(key, 0)
        if delay:
            threading.Timer(delay, conn.respond, (response, key)).start()
            return
        with self.lock:
            if self._reorder:
                self._held.append((response, key))
                if len(self._held) < self._reorder:
                    return
                batch, self._held, self._reorder = self._held[::-1], [], 0
            else:
                batch = [(response, key)]
        for response, key in batch:
            conn.respond(response, key)


class _NodeConnection:
    def __init__(self, node, sock):
        self.node = node
        self.sock = sock
        self.closed = False
        self.send_lock = threading.Lock()
        self.unanswered = 0
        self.room = threading.Condition()  # max_in_flight: reading waits for answers

    def send(self, data):
        with self.send_lock:
            try:
                self.sock.sendall(data)
            except OSError:
                self.drop()

    def send_frame(self, message):
        self.send(frame(message.SerializeToString()))

    def respond(self, response, key):
        body = response.SerializeToString()
        if key.startswith(b"!unknown"):
            body += b"\x9a\x06\x00"  # field 99 of Response: unknown to every version
        self.send(frame(b"\x12" + varint(len(body)) + body))  # NodeFrame.response
        with self.room:
            self.unanswered -= 1
            self.room.notify_all()

    def goodbye(self, code, message):
        with self.node.lock:
            self.node.goodbyes_sent.append(code)
        goodbye = common_pb2.Error(code=code, message=message)
        self.send_frame(protocol_pb2.NodeFrame(goodbye=goodbye))
        self.drop()

    def drop(self):
        self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # ignored: already closed
        self.sock.close()

    def recv_exactly(self, n):
        data = bytearray()
        while len(data) < n:
            chunk = self.sock.recv(min(n - len(data), 1 << 20))
            if not chunk:
                break
            data += chunk
        return bytes(data)

    def read_frame(self):
        """The next ClientFrame; None when the connection is over (answered with a goodbye
        where the protocol says so)."""
        header = self.recv_exactly(4)
        if len(header) < 4:
            return None
        (length,) = HEADER.unpack(header)
        if length > self.node.max_frame_bytes:
            self.goodbye(common_pb2.ERR_TOO_LARGE, "a frame of %d bytes" % length)
            return None
        payload = self.recv_exactly(length)
        if len(payload) < length:
            return None
        message = protocol_pb2.ClientFrame()
        try:
            message.ParseFromString(payload)
        except Exception:
            message.Clear()
        if message.WhichOneof("frame") is None:
            self.goodbye(common_pb2.ERR_INVALID_ARGUMENT, "a frame that does not parse")
            return None
        return message

    def start_tls(self):
        """The server side of the handshake; False (after a lingering close, so that the
        client reads the alert rather than a reset) when it fails."""
        node = self.node
        self.sock.settimeout(5.0)
        self.sock = node.tls.wrap_socket(self.sock, server_side=True,
                                         do_handshake_on_connect=False)
        try:
            self.sock.do_handshake()
        except (ssl.SSLError, OSError) as e:
            with node.lock:
                node.tls_failures.append(str(e))
            try:
                self.sock.shutdown(socket.SHUT_WR)
                self.sock.settimeout(1.0)
                while self.sock.recv(1 << 16):
                    pass
            except OSError:
                pass  # ignored: closing anyway
            self.drop()
            return False
        self.sock.settimeout(None)
        peer = self.sock.getpeercert()
        name = None
        if peer:
            name = dict(attr for rdn in peer["subject"] for attr in rdn).get("commonName")
        with node.lock:
            node.tls_versions.append(self.sock.version())
            node.peer_names.append(name)
        self.peer_name = name
        return True

    def serve(self):
        node = self.node
        self.peer_name = None
        if node.tls is not None and not self.start_tls():
            return
        if node.idle_timeout_ms:
            self.sock.settimeout(node.idle_timeout_ms / 1000.0)
        try:
            first = self.read_frame()
            if first is None:
                return self.drop()
            if first.WhichOneof("frame") != "hello":
                return self.goodbye(common_pb2.ERR_INVALID_ARGUMENT, "the first frame is a Hello")
            with node.lock:
                node.hellos.append(first.hello)
            if node.refuse:
                return self.goodbye(*node.refuse)
            token = first.hello.token
            if token and token not in node.tokens:
                return self.goodbye(common_pb2.ERR_UNAUTHENTICATED, "a token this node does "
                                    "not know")
            principal = self.peer_name or node.tokens.get(token, "")
            with node.lock:
                node.principals.append(principal)
            reply = protocol_pb2.HelloReply(
                version=node.version, node_id=node.node_id, max_frame_bytes=node.max_frame_bytes,
                idle_timeout_ms=node.idle_timeout_ms, max_in_flight=node.max_in_flight,
                principal=principal)
            if first.hello.version != node.version:
                reply.error.code = common_pb2.ERR_INVALID_ARGUMENT
                reply.error.message = "protocol version %d is not spoken here" % first.hello.version
            self.send_frame(protocol_pb2.NodeFrame(hello=reply))
            if reply.HasField("error"):
                return self.drop()
            self._serve_requests()
        except socket.timeout:
            self.goodbye(common_pb2.ERR_TIMEOUT, "idle for %d ms" % node.idle_timeout_ms)
        except OSError:
            self.drop()

    def _serve_requests(self):
        node = self.node
        while not self.closed:
            if node.max_in_flight:
                with self.room:
                    while self.unanswered >= node.max_in_flight and not self.closed:
                        self.room.wait(0.1)
            message = self.read_frame()
            if message is None:
                return self.drop()
            if message.WhichOneof("frame") != "request":
                return self.goodbye(common_pb2.ERR_INVALID_ARGUMENT, "a second Hello")
            request = message.request
            with self.room:
                self.unanswered += 1
            with node.lock:
                node.requests += 1
                node.max_unanswered = max(node.max_unanswered, self.unanswered)
            response = node.answer(self, request)
            if response is not None:
                call = request.WhichOneof("call")
                key = getattr(getattr(request, call), "key", b"") if call else b""
                node.deliver(self, response, key)


def varint(n):
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def raw_header(length):
    """A frame header announcing ``length`` bytes (for frames that should be refused)."""
    return struct.pack(">I", length)
