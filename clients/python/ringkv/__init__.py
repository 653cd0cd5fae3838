"""ringkv: the Python client of ringkv, a Dynamo-style key-value store.

It speaks the client protocol of docs/protocol.md (length-prefixed protobuf frames over TCP,
pipelined): ``Client("127.0.0.1:7101").put("k", "v")``. See clients/python/README.md.
"""

from .client import (
    CLIENT_NAME,
    Client,
    ConflictError,
    GetResult,
    Version,
    __version__,
    decode_token,
    dot_text,
    encode_token,
)
from .errors import (
    ConnectFailed,
    ConnectionLost,
    Error,
    Internal,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    TooLarge,
    Timeout,
    Unauthenticated,
    Unavailable,
)

__all__ = [
    "CLIENT_NAME",
    "Client",
    "ConflictError",
    "ConnectFailed",
    "ConnectionLost",
    "Error",
    "GetResult",
    "Internal",
    "InvalidArgument",
    "NotFound",
    "PermissionDenied",
    "TooLarge",
    "Timeout",
    "Unauthenticated",
    "Unavailable",
    "Version",
    "__version__",
    "decode_token",
    "dot_text",
    "encode_token",
]
