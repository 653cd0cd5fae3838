"""Frames as docs/protocol.md draws them: its example bytes, and the bounds of read_frame."""

import io
import unittest

from ringkv import _framing
from ringkv._proto.messages import protocol_pb2


class FramingTest(unittest.TestCase):
    def test_the_put_of_the_spec_example_is_byte_for_byte_what_the_spec_shows(self):
        message = protocol_pb2.ClientFrame()
        message.request.id = 1
        message.request.put.key = b"k"
        message.request.put.value = b"v"
        expected = bytes.fromhex("0000000c 120a0801 12061201 6b1a0176")
        self.assertEqual(_framing.encode(message), expected)

    def test_a_frame_is_read_back_whole_from_a_stream(self):
        stream = io.BytesIO(_framing.frame(b"abc") + _framing.frame(b""))
        self.assertEqual(_framing.read_frame(stream.read, 10), b"abc")
        self.assertEqual(_framing.read_frame(stream.read, 10), b"")
        self.assertIsNone(_framing.read_frame(stream.read, 10))

    def test_a_header_announcing_more_than_the_bound_is_refused_before_reading_on(self):
        stream = io.BytesIO(_framing.HEADER.pack(11) + b"x" * 11)
        with self.assertRaises(_framing.FrameTooLarge) as caught:
            _framing.read_frame(stream.read, 10)
        self.assertEqual((caught.exception.length, caught.exception.limit), (11, 10))
        self.assertEqual(stream.tell(), 4)

    def test_a_stream_that_ends_inside_a_frame_is_an_error_not_a_short_frame(self):
        for data in (b"\x00\x00", _framing.HEADER.pack(5) + b"abc"):
            with self.assertRaises(EOFError):
                _framing.read_frame(io.BytesIO(data).read, 10)

    def test_a_client_takes_node_frames_of_at_least_64_mib_by_default(self):
        self.assertGreaterEqual(_framing.DEFAULT_MAX_NODE_FRAME_BYTES, 64 << 20)


if __name__ == "__main__":
    unittest.main()
