"""The errors a ringkv node answers with, one class per code (docs/protocol.md, "Errors").

Every class derives from ``ringkv.Error`` and carries ``.code`` (the wire's ``ErrorCode``
number) and ``.message`` (for people). Two more describe the connection rather than an
answer: ``ConnectionLost`` (requests in flight when a connection dropped: outcome unknown,
so it is a ``Timeout``) and ``ConnectFailed`` (no node could be reached: nothing was sent,
so it is ``Unavailable``). Both are also built-in ``ConnectionError``s.
"""

from ._proto.messages import common_pb2


class Error(Exception):
    """Any error of a ringkv request. ``code`` is the wire's ``ErrorCode``."""

    code = common_pb2.ERR_INTERNAL

    def __init__(self, message=""):
        super().__init__(message)
        self.message = message

    def __str__(self):
        try:
            name = common_pb2.ErrorCode.Name(self.code)
        except ValueError:  # a code this client does not know (a newer node's)
            name = "error %d" % self.code
        return "%s: %s" % (name, self.message) if self.message else name


class InvalidArgument(Error):
    """The request can never succeed as written (an empty key, r > n, a made-up context...).
    Fix it; do not retry."""

    code = common_pb2.ERR_INVALID_ARGUMENT


class TooLarge(Error):
    """A key, value, object or frame past its bound. Do not retry as is."""

    code = common_pb2.ERR_TOO_LARGE


class Unavailable(Error):
    """Too few replicas could take part. Retry later, or through another node."""

    code = common_pb2.ERR_UNAVAILABLE


class Timeout(Error):
    """The deadline passed: the outcome is unknown, a write may or may not have been applied.
    Read before retrying, or retry with the same context."""

    code = common_pb2.ERR_TIMEOUT


class NotFound(Error):
    """Not used by get (a get of a missing key answers no siblings)."""

    code = common_pb2.ERR_NOT_FOUND


class Unauthenticated(Error):
    """Credentials missing or invalid."""

    code = common_pb2.ERR_UNAUTHENTICATED


class Internal(Error):
    """A bug or a broken disk (the message says which), or a node that broke the protocol."""

    code = common_pb2.ERR_INTERNAL


class PermissionDenied(Error):
    """The principal lacks the right the call needs (read or write in the namespace, monitor
    or admin)."""

    code = common_pb2.ERR_PERMISSION_DENIED


class ConnectionLost(Timeout, ConnectionError):
    """The connection closed while the request was in flight, so, like a timeout, its outcome
    is unknown: a write may or may not have been applied. ``goodbye`` is the node's reason
    (an ``Error``) when it said one before closing, else None. The next request reconnects."""

    def __init__(self, message="", goodbye=None):
        super().__init__(message)
        self.goodbye = goodbye


class ConnectFailed(Unavailable, ConnectionError):
    """No address could be connected to (or none finished the hello). Nothing was sent, so
    nothing was applied; ``errors`` holds what each address answered, in order."""

    def __init__(self, message="", errors=()):
        super().__init__(message)
        self.errors = list(errors)


_BY_CODE = {
    cls.code: cls
    for cls in (
        InvalidArgument, TooLarge, Unavailable, Timeout, NotFound, Unauthenticated, Internal,
        PermissionDenied,
    )
}


def from_wire(error, context=""):
    """The exception for a wire ``Error`` message; codes this client does not know (a newer
    node's) become ``Error`` with that code."""
    message = error.message
    if context:
        message = "%s: %s" % (context, message) if message else context
    cls = _BY_CODE.get(error.code)
    if cls is None:
        exc = Error(message)
        exc.code = error.code
        return exc
    return cls(message)
