"""ringkv.Client against the fake node (fakenode.py): the calls, siblings and contexts, every
error, many threads, pipelining with answers out of order, and what happens when a
connection drops, says goodbye, stalls or sends what it should not."""

import socket
import threading
import time
import unittest

import ringkv
from ringkv._proto.messages import common_pb2, protocol_pb2

from fakenode import FakeNode, raw_header


def closed_port():
    """A loopback port nothing listens on."""
    node = FakeNode()
    node.stop()
    return node.port


class FakeNodeTest(unittest.TestCase):
    node_options = {}
    client_options = {}

    def setUp(self):
        self.node = FakeNode(**self.node_options)
        self.addCleanup(self.node.stop)
        options = dict(timeout=2.0, connect_timeout=2.0, grace=0.2)
        options.update(self.client_options)
        self.client = ringkv.Client(self.node.address, **options)
        self.addCleanup(self.client.close)

    def wait_for(self, condition, seconds=3.0):
        deadline = time.monotonic() + seconds
        while not condition():
            if time.monotonic() > deadline:
                self.fail("the condition did not hold within %ss" % seconds)
            time.sleep(0.01)


class RoundTripTest(FakeNodeTest):
    def test_the_hello_names_the_client_and_version_1(self):
        self.assertEqual(self.client.connect(), "fake1")
        self.assertEqual(self.node.hellos[0].version, 1)
        self.assertEqual(self.node.hellos[0].client, "ringkv-python/0.1")

    def test_a_client_name_goes_before_the_library_s_own(self):
        with ringkv.Client(self.node.address, client_name="myapp/2.3") as client:
            client.ping()
        self.assertEqual(self.node.hellos[-1].client, "myapp/2.3 ringkv-python/0.1")

    def test_a_put_is_read_back_and_str_is_utf8(self):
        self.client.put("clé", "välue")
        result = self.client.get(b"cl\xc3\xa9")
        self.assertTrue(result.found)
        self.assertEqual(result.siblings, ["välue".encode()])
        self.assertEqual(result.value, "välue".encode())

    def test_a_missing_key_is_not_found_rather_than_an_error(self):
        result = self.client.get("nothing")
        self.assertFalse(result.found)
        self.assertEqual(result.siblings, [])
        self.assertIsNone(result.value)

    def test_an_empty_value_is_found(self):
        self.client.put("k", b"")
        self.assertTrue(self.client.get("k").found)
        self.assertEqual(self.client.get("k").value, b"")

    def test_two_blind_puts_are_siblings_and_a_put_with_the_context_resolves_them(self):
        self.client.put("k", "a")
        self.client.put("k", "b")
        result = self.client.get("k")
        self.assertEqual(sorted(result.siblings), [b"a", b"b"])
        with self.assertRaises(ringkv.ConflictError) as caught:
            result.value
        self.assertEqual(caught.exception.context, result.context)
        self.client.put("k", "ab", context=result.context)
        self.assertEqual(self.client.get("k").siblings, [b"ab"])

    def test_the_context_a_put_returns_supersedes_that_put_without_a_read(self):
        context = self.client.put("k", "1")
        self.client.put("k", "2", context=context)
        self.assertEqual(self.client.get("k").siblings, [b"2"])

    def test_a_delete_with_the_context_leaves_only_a_tombstone(self):
        self.client.put("k", "v")
        self.client.delete("k", context=self.client.get("k").context)
        result = self.client.get("k")
        self.assertFalse(result.found)
        self.assertEqual([s.deleted for s in result.raw.siblings], [True])

    def test_versions_name_every_sibling_by_its_dot_tombstones_included(self):
        self.client.put("k", "a")
        self.client.put("k", "b")
        read = self.client.get("k")
        self.assertEqual([(v.dot, v.value, v.deleted) for v in read.versions],
                         [("fake:1", b"a", False), ("fake:2", b"b", False)])
        self.assertEqual(self.client.get("k").versions, read.versions)  # same dots, same versions
        self.client.delete("k", context=read.context)
        (tombstone,) = self.client.get("k").versions
        self.assertEqual((tombstone.dot, tombstone.value, tombstone.deleted), ("fake:3", b"", True))
        self.assertGreater(tombstone.timestamp_ms, 0)
        self.assertEqual(ringkv.dot_text(common_pb2.Dot(actor=b"n1.kq3x9a", counter=42)),
                         "n1.kq3x9a:42")

    def test_a_blind_delete_supersedes_nothing(self):
        self.client.put("k", "v")
        self.client.delete("k")
        self.assertEqual(self.client.get("k").siblings, [b"v"])

    def test_namespaces_keep_keys_apart_and_the_client_default_applies(self):
        self.client.put("k", "in-a", ns="a")
        self.assertFalse(self.client.get("k").found)
        with ringkv.Client(self.node.address, ns="a") as in_a:
            self.assertEqual(in_a.get("k").value, b"in-a")

    def test_options_reach_the_node(self):
        with self.assertRaises(ringkv.InvalidArgument):
            self.client.get("k", r=2)  # the fake node has n = 1
        with self.assertRaises(ringkv.InvalidArgument):
            self.client.put("k", "v", w=1, level="one")
        self.client.put("k", "v", level="quorum", w=None)
        with self.assertRaises(ValueError):
            self.client.get("k", level="most")

    def test_status_ring_and_ping(self):
        status = self.client.status()
        self.assertEqual(status.node_id, "fake1")
        self.assertEqual(status.members[0].state, common_pb2.MEMBER_UP)
        self.assertEqual(self.client.ring().partitions, 256)
        self.assertGreaterEqual(self.client.ping(), 0.0)

    def test_keys_and_values_of_other_types_are_refused_locally(self):
        with self.assertRaises(TypeError):
            self.client.put(1, "v")
        with self.assertRaises(TypeError):
            self.client.put("k", "v", context="not bytes")

    def test_a_closed_client_refuses_requests_and_a_with_block_closes(self):
        with ringkv.Client(self.node.address) as client:
            client.ping()
        with self.assertRaises(ValueError):
            client.ping()

    def test_tokens_are_the_context_in_unpadded_base64url(self):
        self.assertEqual(ringkv.encode_token(b"\xfb\xff"), "-_8")
        self.assertEqual(ringkv.decode_token("-_8"), b"\xfb\xff")


class UpdateTest(FakeNodeTest):
    def test_update_resolves_siblings_and_writes_back_with_the_context(self):
        self.client.put("set", "a")
        self.client.put("set", "b")
        seen = []

        def union(siblings):
            seen.append(sorted(siblings))
            return b",".join(sorted(set(b",".join(siblings).split(b","))))

        self.client.update("set", union)
        self.assertEqual(seen, [[b"a", b"b"]])
        self.assertEqual(self.client.get("set").siblings, [b"a,b"])

    def test_update_of_a_missing_key_gets_no_siblings_and_none_deletes(self):
        self.client.update("n", lambda siblings: str(len(siblings)))
        self.assertEqual(self.client.get("n").value, b"0")
        self.client.update("n", lambda siblings: None)
        self.assertFalse(self.client.get("n").found)

    def test_update_retries_a_write_that_timed_out_with_the_same_context(self):
        self.client.put("k", "old")
        calls = []
        real_put = self.client.put

        def flaky_put(*args, **kwargs):
            calls.append(kwargs.get("context", args[2] if len(args) > 2 else None))
            if len(calls) == 1:
                raise ringkv.Timeout("injected")
            return real_put(*args, **kwargs)

        self.client.put = flaky_put
        self.client.update("k", lambda siblings: b"new", retries=1)
        self.assertEqual(len(calls), 2)
        self.assertEqual(calls[0], calls[1])
        self.assertEqual(self.client.get("k").siblings, [b"new"])

    def test_update_gives_up_after_its_retries(self):
        with self.assertRaises(ringkv.Unavailable):
            self.client.update(b"!err:3", lambda s: b"x", retries=2)
        self.assertEqual(self.node.requests, 3)


class ErrorTest(FakeNodeTest):
    def test_each_error_code_is_its_own_class_with_code_and_message(self):
        classes = {
            1: ringkv.InvalidArgument,
            2: ringkv.TooLarge,
            3: ringkv.Unavailable,
            4: ringkv.Timeout,
            5: ringkv.NotFound,
            6: ringkv.Unauthenticated,
            7: ringkv.Internal,
            8: ringkv.PermissionDenied,
        }
        for code, cls in classes.items():
            with self.subTest(code=code):
                with self.assertRaises(cls) as caught:
                    self.client.get(b"!err:%d" % code)
                self.assertIsInstance(caught.exception, ringkv.Error)
                self.assertEqual(caught.exception.code, code)
                self.assertEqual(caught.exception.message, "injected error %d" % code)
                self.assertIn(common_pb2.ErrorCode.Name(code), str(caught.exception))

    def test_a_code_this_client_does_not_know_is_a_plain_error(self):
        with self.assertRaises(ringkv.Error) as caught:
            self.client.get(b"!err:9")
        self.assertEqual(type(caught.exception), ringkv.Error)
        self.assertEqual(caught.exception.code, 9)

    def test_an_error_leaves_the_connection_serving(self):
        with self.assertRaises(ringkv.InvalidArgument):
            self.client.put(b"", "v")
        self.client.put("k", "v")
        self.assertEqual(self.node.accepted, 1)

    def test_a_node_s_limits_answer_too_large(self):
        with self.assertRaises(ringkv.TooLarge):
            self.client.put("k" * 1025, "v")
        with self.assertRaises(ringkv.TooLarge):
            self.client.put("k", b"x" * ((1 << 20) + 1))

    def test_a_context_the_node_did_not_issue_is_invalid(self):
        with self.assertRaises(ringkv.InvalidArgument):
            self.client.put("k", "v", context=b"made up")

    def test_a_reply_of_the_wrong_call_or_an_unknown_result_is_internal(self):
        with self.assertRaises(ringkv.Internal):
            self.client.get(b"!wrong")
        with self.assertRaises(ringkv.Internal):
            self.client.get(b"!unknown")
        self.client.ping()

    def test_the_timeout_and_the_connection_errors_relate_as_documented(self):
        self.assertTrue(issubclass(ringkv.ConnectionLost, ringkv.Timeout))
        self.assertTrue(issubclass(ringkv.ConnectionLost, ConnectionError))
        self.assertTrue(issubclass(ringkv.ConnectFailed, ringkv.Unavailable))
        self.assertTrue(issubclass(ringkv.ConnectFailed, ConnectionError))


class DeadlineTest(FakeNodeTest):
    client_options = dict(timeout=0.3, grace=0.2)

    def test_no_answer_within_timeout_and_grace_is_a_timeout(self):
        start = time.monotonic()
        with self.assertRaises(ringkv.Timeout) as caught:
            self.client.get(b"!silent")
        elapsed = time.monotonic() - start
        self.assertNotIsInstance(caught.exception, ringkv.ConnectionLost)
        self.assertGreaterEqual(elapsed, 0.45)
        self.assertLess(elapsed, 2.0)
        self.client.ping()  # pings are answered: the connection stays
        self.assertEqual(self.node.accepted, 1)

    def test_the_node_is_told_the_deadline(self):
        seen = []
        answer = self.node.answer
        self.node.answer = lambda conn, req: seen.append(req.get.options.timeout_ms) or answer(
            conn, req
        )
        self.client.get("k", timeout=0.25)
        self.assertEqual(seen, [250])

    def test_a_node_that_stops_answering_even_pings_is_left_for_a_new_connection(self):
        self.client.ping()
        self.node.answer = lambda conn, request: None  # a stuck node
        with self.assertRaises(ringkv.Timeout):
            self.client.get("k")
        # The probe ping goes unanswered too: the connection closes, the next request
        # reconnects (to a node that answers again).
        self.wait_for(lambda: self.client.node_id is None, seconds=3.0)
        del self.node.answer
        self.client.get("k")
        self.assertEqual(self.node.accepted, 2)

    def test_a_late_answer_after_the_deadline_is_dropped(self):
        self.node.delays[b"late"] = 0.8
        with self.assertRaises(ringkv.Timeout):
            self.client.get("late")
        time.sleep(0.5)
        self.assertFalse(self.client.get("k").found)


class ConcurrencyTest(FakeNodeTest):
    def test_many_threads_share_one_connection(self):
        failures = []

        def worker(n):
            try:
                for i in range(50):
                    key = "t%d-%d" % (n, i)
                    self.client.put(key, key)
                    if self.client.get(key).value != key.encode():
                        failures.append(key)
            except Exception as e:  # reported below
                failures.append(repr(e))

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        self.assertEqual(failures, [])
        self.assertEqual(self.node.accepted, 1)
        self.assertEqual(self.node.requests, 16 * 50 * 2)

    def test_one_thread_pipelines_and_answers_out_of_order_reach_their_callers(self):
        for i in range(40):
            self.client.put("p%d" % i, "v%d" % i)
        self.node.reorder(40)  # the node holds 40 answers, then sends them last first
        futures = [self.client.submit_get("p%d" % i) for i in range(40)]
        results = [f.result(5) for f in futures]
        self.assertEqual([r.value for r in results], [b"v%d" % i for i in range(40)])
        self.assertEqual(self.node.max_unanswered, 40)

    def test_submit_put_and_delete_return_futures_of_the_context(self):
        context = self.client.submit_put("k", "v").result(5)
        self.client.submit_delete("k", context=context).result(5)
        self.assertFalse(self.client.get("k").found)

    def test_a_slow_answer_does_not_hold_back_a_fast_one(self):
        self.node.delays[b"slow"] = 0.5
        slow = self.client.submit_get("slow")
        start = time.monotonic()
        self.client.get("fast")
        self.assertLess(time.monotonic() - start, 0.4)
        self.assertFalse(slow.done())
        slow.result(5)


class InFlightLimitTest(FakeNodeTest):
    node_options = dict(max_in_flight=4)

    def test_the_client_keeps_at_most_max_in_flight_requests_unanswered(self):
        self.node.delays.update({b"k%d" % i: 0.05 for i in range(20)})
        futures = [self.client.submit_get("k%d" % i) for i in range(20)]
        for future in futures:
            future.result(5)
        self.assertLessEqual(self.node.max_unanswered, 4)


class FrameLimitTest(FakeNodeTest):
    node_options = dict(max_frame_bytes=1000)

    def test_a_request_larger_than_the_node_takes_is_refused_locally(self):
        with self.assertRaises(ringkv.TooLarge) as caught:
            self.client.put("k", b"x" * 1000)
        self.assertIn("1000", caught.exception.message)
        self.assertEqual(self.node.requests, 0)
        self.client.put("k", b"x" * 900)
        self.assertEqual(self.node.goodbyes_sent, [])


class LargeReplyTest(FakeNodeTest):
    def test_node_frames_past_the_client_frame_limit_are_taken(self):
        value = b"x" * (1 << 20)
        for _ in range(6):
            self.client.put("big", value)
        result = self.client.get("big")  # a frame of over 6 MiB
        self.assertEqual(len(result.siblings), 6)


class IdleTest(FakeNodeTest):
    node_options = dict(idle_timeout_ms=300)

    def test_an_idle_client_pings_so_the_node_keeps_its_connection(self):
        self.client.put("k", "v")
        time.sleep(1.0)
        self.assertGreaterEqual(self.node.pings, 2)
        self.assertEqual(self.node.goodbyes_sent, [])
        self.client.get("k")
        self.assertEqual(self.node.accepted, 1)


class DropTest(FakeNodeTest):
    def test_a_drop_fails_the_requests_in_flight_and_the_next_one_reconnects(self):
        self.client.put("k", "v")
        self.node.delays[b"held"] = 10
        in_flight = [self.client.submit_get("held") for _ in range(3)]
        self.wait_for(lambda: self.node.requests == 4)
        self.node.drop_all()
        for future in in_flight:
            with self.assertRaises(ringkv.ConnectionLost) as caught:
                future.result(5)
            self.assertIsInstance(caught.exception, ringkv.Timeout)
            self.assertIsNone(caught.exception.goodbye)
        self.assertEqual(self.client.get("k").value, b"v")
        self.assertEqual(self.node.accepted, 2)

    def test_a_goodbye_is_the_reason_of_the_connection_lost(self):
        self.node.delays[b"held"] = 10
        future = self.client.submit_get("held")
        self.wait_for(lambda: self.node.requests == 1)
        self.node.goodbye_all(common_pb2.ERR_UNAVAILABLE, "shutting down")
        with self.assertRaises(ringkv.ConnectionLost) as caught:
            future.result(5)
        self.assertIsInstance(caught.exception.goodbye, ringkv.Unavailable)
        self.assertIn("shutting down", str(caught.exception))
        self.client.ping()

    def test_an_oversized_node_frame_closes_the_connection(self):
        with ringkv.Client(self.node.address, max_node_frame_bytes=1 << 20) as client:
            client.ping()
            self.node.delays[b"held"] = 10
            future = client.submit_get("held")
            self.wait_for(lambda: self.node.requests == 2)
            self.node.send_raw_all(raw_header((1 << 20) + 1))
            with self.assertRaises(ringkv.ConnectionLost) as caught:
                future.result(5)
            self.assertIn("max_node_frame_bytes", str(caught.exception))
            self.assertEqual(client.get("k").siblings, [])

    def test_a_node_frame_of_64_mib_is_taken_by_default_and_one_byte_more_is_not(self):
        limit = 64 << 20
        answer = self.node.answer
        sizes = []

        def huge(conn, request):
            response = answer(conn, request)
            if request.get.key == b"huge":
                sibling = response.get.siblings.add()
                sibling.value = b"x" * (limit - 64)
                frame = protocol_pb2.NodeFrame(response=response)
                sibling.value = b"x" * (limit - 64 + limit - frame.ByteSize())
                sizes.append(protocol_pb2.NodeFrame(response=response).ByteSize())
            return response

        self.node.answer = huge
        result = self.client.get("huge", timeout=30)
        self.assertEqual(sizes, [limit])
        self.assertEqual(len(result.value), len(result.raw.siblings[0].value))
        self.assertGreater(len(result.value), limit - 64)
        self.node.delays[b"held"] = 10
        future = self.client.submit_get("held")
        self.wait_for(lambda: self.node.requests == 2)
        self.node.send_raw_all(raw_header(limit + 1))
        with self.assertRaises(ringkv.ConnectionLost):
            future.result(5)

    def test_a_frame_that_does_not_parse_closes_the_connection(self):
        self.client.ping()
        self.node.delays[b"held"] = 10
        future = self.client.submit_get("held")
        self.wait_for(lambda: self.node.requests == 2)
        self.node.send_raw_all(raw_header(3) + b"\xff\xff\xff")
        with self.assertRaises(ringkv.ConnectionLost):
            future.result(5)

    def test_closing_ends_the_connection_s_threads(self):
        with ringkv.Client(self.node.address) as client:
            client.ping()
            threads = client._conn._threads
            self.assertEqual([t.is_alive() for t in threads], [True] * 3)
        self.wait_for(lambda: not any(t.is_alive() for t in threads))

    def test_closing_the_client_fails_what_is_in_flight(self):
        self.node.delays[b"held"] = 10
        future = self.client.submit_get("held")
        self.client.close()
        with self.assertRaises(ringkv.ConnectionLost):
            future.result(5)


class ConnectTest(unittest.TestCase):
    def test_addresses_are_tried_in_order(self):
        node = FakeNode()
        self.addCleanup(node.stop)
        dead = "127.0.0.1:%d" % closed_port()
        with ringkv.Client([dead, node.address], connect_timeout=1.0) as client:
            self.assertEqual(client.connect(), "fake1")

    def test_no_reachable_address_is_connect_failed(self):
        with ringkv.Client("127.0.0.1:%d" % closed_port(), connect_timeout=1.0) as client:
            with self.assertRaises(ringkv.ConnectFailed) as caught:
                client.get("k")
        self.assertIsInstance(caught.exception, ringkv.Unavailable)
        self.assertEqual(len(caught.exception.errors), 1)

    def test_a_connection_to_itself_is_not_taken_for_a_node(self):
        # Connecting to a loopback port nobody listens on can land on the same port as the
        # source (TCP simultaneous open); the Hello would then read back as a HelloReply.
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        real = socket.create_connection

        def from_the_same_port(address, timeout=None, source_address=None):
            return real(address, timeout, source_address=("127.0.0.1", port))

        ringkv._connection.socket.create_connection = from_the_same_port
        self.addCleanup(setattr, ringkv._connection.socket, "create_connection", real)
        with ringkv.Client("127.0.0.1:%d" % port, connect_timeout=1.0) as client:
            with self.assertRaises(ringkv.ConnectFailed) as caught:
                client.ping()
        self.assertIn("itself", str(caught.exception))

    def test_a_node_that_refuses_the_version_raises_its_error(self):
        node = FakeNode(version=2)
        self.addCleanup(node.stop)
        with ringkv.Client(node.address) as client:
            with self.assertRaises(ringkv.InvalidArgument) as caught:
                client.ping()
        self.assertIn("version", str(caught.exception))

    def test_a_node_that_says_goodbye_to_the_hello_raises_its_error(self):
        node = FakeNode()
        self.addCleanup(node.stop)
        node.refuse = (common_pb2.ERR_UNAUTHENTICATED, "no credentials")
        with ringkv.Client(node.address) as client:
            with self.assertRaises(ringkv.Unauthenticated) as caught:
                client.ping()
        self.assertIn("no credentials", str(caught.exception))

    def test_a_silent_node_is_a_connect_timeout_then_the_next_address(self):
        silent = socket.create_server(("127.0.0.1", 0))  # accepts, never answers
        self.addCleanup(silent.close)
        node = FakeNode()
        self.addCleanup(node.stop)
        addresses = ["127.0.0.1:%d" % silent.getsockname()[1], node.address]
        start = time.monotonic()
        with ringkv.Client(addresses, connect_timeout=0.3) as client:
            self.assertEqual(client.connect(), "fake1")
        self.assertLess(time.monotonic() - start, 2.0)


if __name__ == "__main__":
    unittest.main()
