"""TLS for a connection to a node: the client's SSLContext, its credentials (arguments or
RINGKV_CERT, RINGKV_KEY, RINGKV_CA, RINGKV_TOKEN), and a socket that speaks TLS over a plain
one.

A connection has a reader thread and a writer thread working at once, and one OpenSSL SSL
object must never be used by two threads at the same time (ssl.SSLSocket does not guard it:
concurrent recv and send on one can crash or hang). So TLSSocket runs OpenSSL on memory BIOs
(ssl.SSLObject) under a lock of its own and does the socket I/O itself, outside that lock: a
reader blocked in recv never holds back a writer, nor the other way round.
"""

import io
import os
import re
import socket
import ssl
import threading

from . import errors

# Hello.token: at most this many bytes (messages/protocol.proto).
MAX_TOKEN_BYTES = 1024

ENV = {"cert": "RINGKV_CERT", "key": "RINGKV_KEY", "ca": "RINGKV_CA", "token": "RINGKV_TOKEN"}


def _setting(name, value):
    """An argument, or its environment variable when the argument is None. An empty value
    (argument or variable) means none."""
    if value is None:
        value = os.environ.get(ENV[name])
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    return value or None


def default_files():
    """(cert, key, ca) from $RINGKV_CREDENTIALS or ~/.ringkv, as kvctl finds them (where
    scripts/quickstart.sh leaves the admin's): ca.pem, and client.pem with client.key when both
    are there. Nones without a ca.pem."""
    folder = os.environ.get("RINGKV_CREDENTIALS") or os.path.join(os.path.expanduser("~"),
                                                                  ".ringkv")
    ca = os.path.join(folder, "ca.pem")
    if not os.access(ca, os.R_OK):
        return None, None, None
    cert, key = os.path.join(folder, "client.pem"), os.path.join(folder, "client.key")
    if os.access(cert, os.R_OK) and os.access(key, os.R_OK):
        return cert, key, ca
    return None, None, ca


def credentials(cert, key, ca, token):
    """(SSLContext or None, token str) from the arguments and the environment. ValueError for
    what cannot work: a certificate without its key or without a CA, a key without a
    certificate, a token past 1024 bytes, files that do not load."""
    given = (cert, key, ca, token)
    cert, key, ca, token = (_setting(n, v) for n, v in
                            (("cert", cert), ("key", key), ("ca", ca), ("token", token)))
    if all(v is None for v in given) and not (cert or key or ca or token):
        cert, key, ca = default_files()
    if isinstance(token, (bytes, bytearray)):
        try:
            token = bytes(token).decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("a token must be UTF-8 text") from None
    if token is not None:
        if not isinstance(token, str):
            raise TypeError("token must be str, not %s" % type(token).__name__)
        size = len(token.encode("utf-8"))
        if size > MAX_TOKEN_BYTES:
            raise ValueError("a token of %d bytes: a node takes at most %d (token= or %s)"
                             % (size, MAX_TOKEN_BYTES, ENV["token"]))
    if cert and not key:
        raise ValueError("a client certificate (cert= or %s) needs its key (key= or %s)"
                         % (ENV["cert"], ENV["key"]))
    if key and not cert:
        raise ValueError("a key (key= or %s) without its certificate (cert= or %s)"
                         % (ENV["key"], ENV["cert"]))
    if cert and not ca:
        raise ValueError("a client certificate (cert= or %s) needs the cluster CA (ca= or %s) "
                         "to verify the node with" % (ENV["cert"], ENV["ca"]))
    return (context(ca, cert, key) if ca else None), (token or "")


def context(ca, cert=None, key=None):
    """A client SSLContext: TLS 1.2 at least, ``ca`` the only trust anchor, the node's name
    (or IP address) checked against its certificate, and ``cert``/``key`` presented when
    given."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies the node and its name
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    _load(ctx.load_verify_locations, "the CA (ca=)", ca, cafile=ca)
    if cert:
        _load(ctx.load_cert_chain, "the client certificate and key (cert=, key=)",
              "%s, %s" % (cert, key), certfile=cert, keyfile=key)
    return ctx


def _load(load, what, files, **kwargs):
    try:
        load(**kwargs)
    except ssl.SSLError as e:  # before OSError: SSLError is one
        raise ValueError("cannot load %s from %s: %s" % (what, files, reason(e))) from None
    except OSError as e:
        # load_verify_locations says "No such file or directory" without the file's name.
        raise type(e)(e.errno, "cannot load %s: %s" % (what, e.strerror), files) from None


def reason(e):
    """OpenSSL's reason of an SSLError, without the _ssl.c:NNN location."""
    return re.sub(r"\s*\(_ssl\.c:\d+\)$", "", str(e))


# An alert the node sends when it refuses the client's certificate, or its lack of one (TLS
# 1.2 says that with a handshake_failure alert, TLS 1.3 with certificate_required).
_REFUSED = re.compile(r"ALERT_.*(CERTIFICATE|UNKNOWN_CA|ACCESS_DENIED|DECRYPT_ERROR"
                      r"|HANDSHAKE_FAILURE)")
# What OpenSSL says when the other side does not speak TLS.
_NOT_TLS = re.compile(r"WRONG_VERSION_NUMBER|RECORD_LAYER|PACKET_LENGTH|UNKNOWN_PROTOCOL")


def failure(e, address):
    """The exception for an SSLError of the handshake (or of the hello that follows it, where
    TLS 1.3 tells a refused client certificate): Unauthenticated when one side refused the
    other's certificate, an OSError (so ConnectFailed, like an unreachable node) otherwise."""
    where = "TLS with %s:%d" % address
    text = reason(e)
    if isinstance(e, ssl.SSLCertVerificationError):
        return errors.Unauthenticated(
            "%s: the node's certificate was refused: %s (is ca= the CA that signed the "
            "node's certificate, and is the address one of its names?)" % (where, text))
    if _REFUSED.search(getattr(e, "reason", None) or ""):
        return errors.Unauthenticated(
            "%s: the node refused this client: %s (a client certificate signed by the "
            "cluster CA, cert= and key=, or a token, token=)" % (where, text))
    # ConnectFailed names the address of these itself.
    if isinstance(e, ssl.SSLEOFError):
        return ConnectionResetError("the node closed the connection in the TLS handshake: %s"
                                    % text)
    hint = " (does the node speak TLS?)" if _NOT_TLS.search(e.reason or "") else ""
    return ConnectionError("the TLS handshake failed: %s%s" % (text, hint))


class TLSSocket:
    """A TLS client connection over the connected socket ``sock``; the part of the socket API
    a Connection uses. Safe with one thread reading and others writing at once."""

    def __init__(self, sock, ctx, server_hostname):
        self._sock = sock
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._ssl = ctx.wrap_bio(self._incoming, self._outgoing, server_hostname=server_hostname)
        self._lock = threading.Lock()  # the SSLObject and both BIOs
        # Held while sending what was taken from the outgoing BIO, so that records leave in
        # the order OpenSSL made them. Whoever releases it sends what came meanwhile.
        self._send_lock = threading.Lock()

    # -- what Connection and the handshake use -------------------------------------------

    def do_handshake(self):
        """Runs the handshake; the socket's timeout bounds each wait for the node."""
        try:
            while True:
                try:
                    with self._lock:
                        self._ssl.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    self._flush()
                    self._fill()
        finally:
            try:
                self._flush()  # the last flight, or the alert that tells the node why
            except OSError:
                pass  # ignored: the handshake's own error says more
        return self

    def version(self):
        return self._ssl.version()

    def sendall(self, data):
        with self._send_lock:
            with self._lock:
                self._ssl.write(data)
                out = self._outgoing.read()
            self._sock.sendall(out)
        self._flush_pending()

    def recv(self, n):
        """Up to ``n`` bytes; b"" once the node closed the connection."""
        while True:
            with self._lock:
                try:
                    data = self._ssl.read(n)
                except ssl.SSLWantReadError:
                    data = None
                except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                    # Closed, with or without a close_notify: the framing tells a frame cut
                    # short from a clean end, as for a plain socket.
                    data = b""
                pending = self._outgoing.pending
            if pending:  # reading made records to send (a TLS 1.3 key update, say)
                self._flush_pending()
            if data is not None:
                return data
            self._fill()

    def makefile(self, mode="rb", buffering=io.DEFAULT_BUFFER_SIZE):
        if mode != "rb":
            raise ValueError("a TLSSocket reads only: mode 'rb'")
        return io.BufferedReader(_Reader(self), buffering)

    def shutdown(self, how):
        # A close_notify when nobody is sending, without waiting: then the socket's own.
        if self._send_lock.acquire(blocking=False):
            try:
                with self._lock:
                    try:
                        self._ssl.unwrap()
                    except ssl.SSLError:
                        pass  # ignored: closing anyway
                    out = self._outgoing.read()
                if out:
                    self._sock.send(out, getattr(socket, "MSG_DONTWAIT", 0))
            except OSError:
                pass  # ignored: closing anyway
            finally:
                self._send_lock.release()
        self._sock.shutdown(how)

    def close(self):
        self._sock.close()

    def settimeout(self, timeout):
        self._sock.settimeout(timeout)

    def getsockname(self):
        return self._sock.getsockname()

    def getpeername(self):
        return self._sock.getpeername()

    def setsockopt(self, *args):
        self._sock.setsockopt(*args)

    def fileno(self):
        return self._sock.fileno()

    # -- plumbing --------------------------------------------------------------------------

    def _fill(self):
        """Reads from the socket into the incoming BIO (blocking, with the socket's timeout)."""
        data = self._sock.recv(1 << 16)
        with self._lock:
            if data:
                self._incoming.write(data)
            else:
                self._incoming.write_eof()

    def _flush(self):
        with self._send_lock:
            with self._lock:
                out = self._outgoing.read()
            if out:
                self._sock.sendall(out)

    def _flush_pending(self):
        """Sends what the outgoing BIO holds unless another thread is sending: that one sends
        it once done (it comes back here after releasing the send lock)."""
        while True:
            if not self._send_lock.acquire(blocking=False):
                return
            try:
                with self._lock:
                    out = self._outgoing.read()
                if out:
                    self._sock.sendall(out)
            finally:
                self._send_lock.release()
            with self._lock:
                if not self._outgoing.pending:
                    return


class _Reader(io.RawIOBase):
    def __init__(self, tls):
        super().__init__()
        self._tls = tls

    def readable(self):
        return True

    def readinto(self, buffer):
        data = self._tls.recv(len(buffer))
        buffer[: len(data)] = data
        return len(data)
