"""One connection to one node: the hello, then pipelined requests matched to their responses
by id (docs/protocol.md, "The conversation").

Three daemon threads serve a connection, so no caller ever blocks on the socket:
  writer       sends queued frames, several per write when they pile up;
  reader       reads NodeFrames and completes the waiting futures, in whatever order
               the node answers;
  housekeeper  fails requests whose deadline passed (Timeout) and sends a Ping when nothing
               was sent for half the node's idle timeout.
A connection never reconnects: once closed (by either side, a protocol violation or an
unanswered ping) it fails every request in flight with ConnectionLost and stays closed. The
Client opens a new one on its next request.
"""

import heapq
import itertools
import queue
import socket
import ssl
import threading
import time
from concurrent.futures import Future

from google.protobuf.message import DecodeError

from . import _framing
from . import _tls
from . import errors
from ._proto.messages import protocol_pb2


class NotSent(Exception):
    """The connection closed before the request was queued: nothing was sent, so the caller
    may send it on another connection."""


# The Response.result that answers each Request.call, where their names differ.
_RESULT_OF = {"ping": "pong"}


class _Call:
    __slots__ = ("future", "kind", "result", "decode", "slot")

    def __init__(self, future, kind, decode, slot):
        self.future = future
        self.kind = kind  # the Request.call field
        self.result = _RESULT_OF.get(kind, kind)  # the Response.result field it expects
        self.decode = decode  # reply message -> what the future returns
        self.slot = slot  # holds one of max_in_flight


def handshake(address, connect_timeout, client_name, max_node_frame_bytes, tls=None,
              token=""):
    """Connects to ``address`` (host, port), runs the TLS handshake when ``tls`` (an
    SSLContext) is given, and exchanges Hello / HelloReply, with ``token`` in the Hello.
    Returns the socket (blocking, no timeout) and the HelloReply; raises the node's error when
    it refuses (version refusal, goodbye), Unauthenticated when either side refuses the
    other's certificate, OSError when it cannot be reached (or TLS fails otherwise), Internal
    when it answers something else than the protocol."""
    deadline = time.monotonic() + connect_timeout
    sock = socket.create_connection(address, timeout=connect_timeout)
    try:
        if sock.getsockname() == sock.getpeername():
            # A loopback port nobody listens on, inside the ephemeral range, can be "connected"
            # to itself (TCP simultaneous open); our Hello would come back as a HelloReply.
            raise ConnectionRefusedError("connected to itself: nothing listens on %s:%d" % address)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls is not None:
            # The node's certificate must name the host as given: "127.0.0.1" is checked
            # against its IP addresses, a name against its DNS names.
            sock = _tls.TLSSocket(sock, tls, server_hostname=address[0])
            try:
                sock.settimeout(max(deadline - time.monotonic(), 0.001))
                sock.do_handshake()
            except socket.timeout:
                raise errors.Timeout(
                    "no TLS handshake with %s:%d within %gs" % (address + (connect_timeout,))
                ) from None
        return sock, _hello(sock, deadline, connect_timeout, client_name, max_node_frame_bytes,
                            token, tls is not None)
    except ssl.SSLError as e:
        sock.close()
        raise _tls.failure(e, address) from e
    except BaseException:
        sock.close()
        raise


def _hello(sock, deadline, connect_timeout, client_name, max_node_frame_bytes, token, tls):
    """Sends the Hello and reads the HelloReply (the node's error when it refuses)."""
    hello = protocol_pb2.ClientFrame()
    hello.hello.version = _framing.VERSION
    hello.hello.client = client_name
    if token:
        hello.hello.token = token
    sock.sendall(_framing.encode(hello))

    def read_exactly(n):
        data = bytearray()
        while len(data) < n:
            sock.settimeout(max(deadline - time.monotonic(), 0.001))
            chunk = sock.recv(min(n - len(data), 1 << 20))
            if not chunk:
                break
            data += chunk
        return bytes(data)

    try:
        payload = _framing.read_frame(read_exactly, max_node_frame_bytes)
    except socket.timeout:
        raise errors.Timeout("no HelloReply within %gs" % connect_timeout) from None
    except _framing.FrameTooLarge as e:
        if not tls and tls_record(e.length):
            raise errors.Internal(
                "the node answered the hello with TLS: connect with ca= (or %s) set to the "
                "cluster's CA" % _tls.ENV["ca"]) from None
        raise errors.Internal("answering the hello: %s" % e) from None
    except EOFError as e:
        raise errors.Internal("answering the hello: %s" % e) from None
    if payload is None:
        raise ConnectionResetError(
            "the node closed the connection before its HelloReply"
            + ("" if tls else " (if it speaks TLS: connect with ca=, or %s)" % _tls.ENV["ca"]))
    reply = _parse_node_frame(payload)
    kind = reply.WhichOneof("frame")
    if kind == "goodbye":
        raise errors.from_wire(reply.goodbye, "the node refused the connection")
    if kind != "hello":
        raise errors.Internal("the node answered the hello with a %s frame" % kind)
    if reply.hello.HasField("error") and reply.hello.error.code:
        raise errors.from_wire(reply.hello.error, "the node refused the hello")
    if reply.hello.version != _framing.VERSION:
        raise errors.Internal(
            "the node speaks version %d; this client speaks %d"
            % (reply.hello.version, _framing.VERSION)
        )
    sock.settimeout(None)
    return reply.hello


def tls_record(length):
    """Whether a frame header is rather the start of a TLS record (a handshake or an alert,
    TLS 1.x): what a TLS listener answers a client that does not speak TLS."""
    return (length >> 24) in (0x15, 0x16) and (length >> 16) & 0xFF == 0x03


def _parse_node_frame(payload):
    message = protocol_pb2.NodeFrame()
    try:
        message.ParseFromString(payload)
    except DecodeError as e:
        raise errors.Internal("a node frame that does not parse: %s" % e) from None
    return message


class Connection:
    """A connection after its hello. Thread-safe: any thread may submit."""

    def __init__(self, sock, address, hello, grace, probe_timeout, max_node_frame_bytes):
        self.address = address
        self.node_id = hello.node_id
        self.principal = hello.principal
        self.max_frame_bytes = hello.max_frame_bytes or _framing.DEFAULT_MAX_FRAME_BYTES
        self.max_in_flight = hello.max_in_flight
        self._idle_s = hello.idle_timeout_ms / 1000.0
        self._grace = grace
        self._probe_timeout = probe_timeout
        self._max_node_frame = max_node_frame_bytes
        self._sock = sock
        self._ids = itertools.count(1)
        self._lock = threading.Lock()  # guards _pending, _closed, _deadlines, _probe
        self._wake = threading.Condition(self._lock)  # wakes the housekeeper
        self._pending = {}  # id -> _Call
        self._deadlines = []  # heap of (monotonic deadline, id); ids already done are skipped
        self._probe = None  # id of the ping sent to learn whether the node still answers
        self._closed = None  # the ConnectionLost that closed it
        self._slots = threading.BoundedSemaphore(self.max_in_flight) if self.max_in_flight else None
        self._outbox = queue.Queue()
        self._last_sent = time.monotonic()
        self._threads = [
            threading.Thread(target=self._write_loop, name="ringkv-writer", daemon=True),
            threading.Thread(target=self._read_loop, name="ringkv-reader", daemon=True),
            threading.Thread(target=self._housekeep_loop, name="ringkv-housekeeper", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    @property
    def closed(self):
        return self._closed is not None

    def submit(self, kind, call, timeout, decode):
        """Sends ``call`` (a message for Request.<kind>, or None for a ping) and returns a Future
        of ``decode(reply)``, failed with Timeout if no answer comes within ``timeout`` plus
        the grace. Raises TooLarge for a frame the node would refuse, Timeout when
        max_in_flight requests stay unanswered until the deadline, NotSent when the connection
        is closed."""
        return self._submit(kind, call, timeout, decode)[1]

    def _submit(self, kind, call, timeout, decode):
        request = protocol_pb2.Request(id=next(self._ids))
        if call is None:
            getattr(request, kind).SetInParent()
        else:
            getattr(request, kind).CopyFrom(call)
        payload = protocol_pb2.ClientFrame(request=request).SerializeToString()
        if len(payload) > self.max_frame_bytes:
            raise errors.TooLarge(
                "a request of %d bytes; node %s takes frames of at most %d"
                % (len(payload), self.node_id, self.max_frame_bytes)
            )
        deadline = time.monotonic() + timeout + self._grace
        slot = self._take_slot(kind, deadline)
        future = Future()
        future.set_running_or_notify_cancel()  # sent requests cannot be taken back
        with self._lock:
            if self._closed is not None:
                if slot:
                    self._slots.release()
                raise NotSent()
            self._pending[request.id] = _Call(future, kind, decode, slot)
            if not self._deadlines or deadline < self._deadlines[0][0]:
                self._wake.notify()
            heapq.heappush(self._deadlines, (deadline, request.id))
        self._outbox.put(_framing.frame(payload))
        return request.id, future

    def close(self, reason="closed by the client", goodbye=None):
        """Closes the connection and fails every request in flight with ConnectionLost.
        Idempotent; any thread may call it."""
        lost = errors.ConnectionLost(
            "connection to %s:%s (node %s): %s" % (self.address + (self.node_id, reason)),
            goodbye=goodbye,
        )
        with self._lock:
            if self._closed is not None:
                return
            self._closed = lost
            pending, self._pending = self._pending, {}
            self._wake.notify()
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # ignored: the node may have closed it first
        self._sock.close()
        self._outbox.put(None)
        for call in pending.values():
            self._complete(call, exc=lost)

    def _take_slot(self, kind, deadline):
        if self._slots is None or kind == "ping":
            return False
        if self._slots.acquire(timeout=max(deadline - time.monotonic(), 0)):
            return True
        raise errors.Timeout(
            "%d requests stayed in flight (the node's max_in_flight) until the deadline; "
            "this one was not sent" % self.max_in_flight
        )

    def _finish(self, request_id, result=None, exc=None):
        with self._lock:
            call = self._pending.pop(request_id, None)
        if call is not None:
            self._complete(call, result, exc)
        return call

    def _complete(self, call, result=None, exc=None):
        if call.slot:
            self._slots.release()
        if exc is not None:
            call.future.set_exception(exc)
        else:
            call.future.set_result(result)

    def _write_loop(self):
        while True:
            first = self._outbox.get()
            if first is None:
                return
            frames, size = [first], len(first)
            while size < (1 << 20):
                try:
                    more = self._outbox.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._outbox.put(None)
                    break
                frames.append(more)
                size += len(more)
            try:
                self._sock.sendall(b"".join(frames))
            except OSError as e:
                self.close("sending failed: %s" % e)
                return
            self._last_sent = time.monotonic()

    def _read_loop(self):
        reader = self._sock.makefile("rb", buffering=1 << 16)
        try:
            while self._closed is None:
                payload = _framing.read_frame(reader.read, self._max_node_frame)
                if payload is None:
                    self.close("the node closed the connection")
                    return
                self._dispatch(_parse_node_frame(payload))
        except _framing.FrameTooLarge as e:
            self.close("the node sent %s (raise max_node_frame_bytes to take it)" % e)
        except Exception as e:  # any failure to read ends the connection, never the process
            self.close("reading failed: %s" % (str(e) or type(e).__name__))
        finally:
            reader.close()

    def _dispatch(self, frame):
        kind = frame.WhichOneof("frame")
        if kind == "response":
            self._answer(frame.response)
        elif kind == "goodbye":
            goodbye = errors.from_wire(frame.goodbye)
            self.close("the node said goodbye (%s)" % goodbye, goodbye=goodbye)
        elif kind == "hello":
            self.close("the node sent a second HelloReply")
        # A frame of a kind this client does not know (a newer node's) is skipped: clients
        # ignore what they do not know.

    def _answer(self, response):
        result = response.WhichOneof("result")
        with self._lock:
            call = self._pending.get(response.id)
            if call is None:
                return  # answered after its deadline (or a ping nobody waits for)
            del self._pending[response.id]
            if response.id == self._probe:
                self._probe = None
        if result == "error":
            self._complete(call, exc=errors.from_wire(response.error))
        elif result != call.result:
            self._complete(
                call,
                exc=errors.Internal(
                    "node %s answered a %s call with %s"
                    % (self.node_id, call.kind, result or "a result this client does not know")
                ),
            )
        else:
            try:
                value = call.decode(getattr(response, result))
            except Exception as e:  # a decode that fails must not kill the reader
                self._complete(call, exc=errors.Internal("decoding the reply: %r" % e))
            else:
                self._complete(call, result=value)

    def _housekeep_loop(self):
        ping_every = self._idle_s / 2
        while True:
            expired, unanswered_probe = [], False
            with self._lock:
                if self._closed is not None:
                    return
                now = time.monotonic()
                while self._deadlines and self._deadlines[0][0] <= now:
                    _, request_id = heapq.heappop(self._deadlines)
                    if request_id in self._pending:
                        expired.append(request_id)
                        unanswered_probe |= request_id == self._probe
                wait = self._deadlines[0][0] - now if self._deadlines else 3600.0
                if ping_every > 0:
                    wait = min(wait, self._last_sent + ping_every - now)
                if not expired and wait > 0:
                    self._wake.wait(wait)
                    continue
            if unanswered_probe:
                self.close("the node did not answer a ping in time")
                return
            for request_id in expired:
                self._finish(
                    request_id,
                    exc=errors.Timeout(
                        "no answer from node %s in time: the outcome is unknown" % self.node_id
                    ),
                )
            if expired:
                self._send_probe()
            elif ping_every > 0 and time.monotonic() - self._last_sent >= ping_every:
                self._ping(self._probe_timeout)

    def _ping(self, timeout):
        """Queues a Ping; returns its request id, or None when the connection is closed."""
        self._last_sent = max(self._last_sent, time.monotonic())  # queued: sent soon
        try:
            return self._submit("ping", None, timeout, lambda _: None)[0]
        except (NotSent, errors.Error):
            return None

    def _send_probe(self):
        """A request passed its deadline: ask the node for a Pong. If even that goes
        unanswered, the node is gone or stuck, and the connection closes so that the next
        request reconnects (perhaps to another address)."""
        with self._lock:
            if self._probe is not None:
                return
        request_id = self._ping(self._probe_timeout)
        with self._lock:
            if request_id in self._pending:
                self._probe = request_id
