"""Frames of the client protocol (docs/protocol.md, "Frames"): a 4-byte unsigned big-endian
length, then that many bytes of one ClientFrame (client -> node) or NodeFrame (node -> client).
Pure: no sockets, so the client and the tests' fake node share it."""

import struct

VERSION = 1
HEADER = struct.Struct(">I")
HEADER_BYTES = HEADER.size

# What a node takes when its HelloReply does not say (max_frame_bytes = 0).
DEFAULT_MAX_FRAME_BYTES = 4 << 20
# The largest node frame a client takes: the spec asks for at least 64 MiB.
DEFAULT_MAX_NODE_FRAME_BYTES = 64 << 20


def frame(payload):
    """``payload`` (bytes of one serialized message) with its length header."""
    return HEADER.pack(len(payload)) + payload


def encode(message):
    """One message as a whole frame."""
    return frame(message.SerializeToString())


class FrameTooLarge(Exception):
    """A header announced more than the reader takes; the stream cannot be resynchronised."""

    def __init__(self, length, limit):
        super().__init__("a frame of %d bytes; at most %d are taken" % (length, limit))
        self.length = length
        self.limit = limit


def read_frame(read_exactly, max_frame_bytes):
    """Reads one payload with ``read_exactly(n)`` (which returns fewer bytes only at the end of
    the stream). None at a clean end of stream; EOFError inside a frame; FrameTooLarge for a
    header announcing more than ``max_frame_bytes``."""
    header = read_exactly(HEADER_BYTES)
    if not header:
        return None
    if len(header) < HEADER_BYTES:
        raise EOFError("the stream ended inside a frame header")
    (length,) = HEADER.unpack(header)
    if length > max_frame_bytes:
        raise FrameTooLarge(length, max_frame_bytes)
    payload = read_exactly(length) if length else b""
    if len(payload) < length:
        raise EOFError("the stream ended %d bytes into a frame of %d" % (len(payload), length))
    return payload
