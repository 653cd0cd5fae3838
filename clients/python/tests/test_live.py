"""ringkv.Client against a real single node: ``$KVNODE`` (the kvnode binary) started on free
loopback ports with a temporary data directory. Skipped when KVNODE is not set.

The node is bounded in time (killed after NODE_LIFETIME_S whatever happens) and killed by its
PID when the tests end; its stderr is printed when a test fails.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import ringkv

KVNODE = os.environ.get("KVNODE")
READY_WITHIN_S = 30
NODE_LIFETIME_S = 240


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Node:
    """One kvnode process: started, awaited until it prints 'ready <id> ...', killed by PID."""

    def __init__(self, binary, node_id="n1"):
        self.node_id = node_id
        self.dir = tempfile.mkdtemp(prefix="ringkv-live-")
        self.port = free_port()
        self.address = "127.0.0.1:%d" % self.port
        args = [binary, "--id", node_id, "--listen", self.address,
                "--data-dir", os.path.join(self.dir, "data")]
        # Give the other doors free ports too, where this build has them: their defaults are
        # derived from --listen's port and could be taken.
        flags = subprocess.run([binary, "--help"], capture_output=True, text=True,
                               timeout=10).stdout
        for flag in ("--peer-listen", "--admin-listen"):
            if flag in flags:
                args += [flag, "127.0.0.1:%d" % free_port()]
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        self._stderr = open(self.stderr_path, "wb")
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self._stderr,
                                         stdin=subprocess.DEVNULL)
        self._watchdog = threading.Timer(NODE_LIFETIME_S, self.kill)
        self._watchdog.daemon = True
        self._watchdog.start()
        self.ready = False
        self._stdout_seen = threading.Event()  # the ready line, or the end of stdout
        threading.Thread(target=self._read_stdout, daemon=True).start()
        self._stdout_seen.wait(READY_WITHIN_S)
        if not self.ready:
            status, tail = self.process.poll(), self.stderr_tail()
            self.kill()
            raise RuntimeError("kvnode did not print 'ready %s' within %ds (exit status %s); "
                               "stderr:\n%s" % (node_id, READY_WITHIN_S, status, tail))

    def _read_stdout(self):
        for line in self.process.stdout:  # drained to the end, so the pipe never fills
            if line.split()[:2] == [b"ready", self.node_id.encode()]:
                self.ready = True
                self._stdout_seen.set()
        self._stdout_seen.set()  # the node exited (or closed stdout) without being ready

    def stderr_tail(self, lines=40):
        if not os.path.exists(self.stderr_path):
            return "(removed)"
        with open(self.stderr_path, "rb") as f:
            return b"".join(f.readlines()[-lines:]).decode(errors="replace")

    def kill(self):
        """SIGTERM, then SIGKILL after 10 s, by PID; removes the data directory."""
        self._watchdog.cancel()
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self._stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@unittest.skipUnless(KVNODE, "KVNODE is not set: name a kvnode binary to test against a real node")
class LiveNodeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = Node(KVNODE)

    @classmethod
    def tearDownClass(cls):
        cls.node.kill()

    def setUp(self):
        self.client = ringkv.Client(self.node.address, timeout=5.0, connect_timeout=5.0)
        self.addCleanup(self.client.close)
        self.key = "%s-%d" % (self._testMethodName, time.monotonic_ns())

    def run(self, result=None):
        failures = len(result.failures) + len(result.errors) if result else 0
        outcome = super().run(result)
        if result and len(result.failures) + len(result.errors) > failures:
            print("\n--- kvnode stderr (last lines) ---\n" + self.node.stderr_tail())
        return outcome

    def test_the_node_answers_the_hello_and_a_ping(self):
        self.assertEqual(self.client.connect(), "n1")
        self.assertGreaterEqual(self.client.ping(), 0.0)
        self.assertEqual(self.client.status().node_id, "n1")

    def test_put_get_and_delete(self):
        self.assertFalse(self.client.get(self.key).found)
        context = self.client.put(self.key, "value")
        self.assertEqual(self.client.get(self.key).value, b"value")
        self.client.put(self.key, b"\x00\xffbinary", context=context)
        self.assertEqual(self.client.get(self.key).siblings, [b"\x00\xffbinary"])
        self.client.delete(self.key, context=self.client.get(self.key).context)
        self.assertFalse(self.client.get(self.key).found)

    def test_two_blind_puts_are_siblings_resolved_with_the_context(self):
        self.client.put(self.key, "a")
        self.client.put(self.key, "b")
        result = self.client.get(self.key)
        self.assertEqual(sorted(result.siblings), [b"a", b"b"])
        self.client.put(self.key, "a+b", context=result.context)
        self.assertEqual(self.client.get(self.key).siblings, [b"a+b"])

    def test_update_resolves_siblings(self):
        self.client.put(self.key, "1")
        self.client.put(self.key, "2")
        self.client.update(self.key, lambda siblings: b"+".join(sorted(siblings)))
        self.assertEqual(self.client.get(self.key).value, b"1+2")

    def test_an_empty_key_is_invalid_argument(self):
        with self.assertRaises(ringkv.InvalidArgument):
            self.client.put(b"", "v")
        with self.assertRaises(ringkv.InvalidArgument):
            self.client.get(b"")

    def test_a_2_mib_value_is_too_large(self):
        with self.assertRaises(ringkv.TooLarge):
            self.client.put(self.key, b"x" * (2 << 20))
        self.client.ping()  # the connection still serves

    def test_a_context_the_node_never_issued_is_invalid_argument(self):
        with self.assertRaises(ringkv.InvalidArgument):
            self.client.put(self.key, "v", context=b"\xff" * 40)

    def test_many_threads_and_pipelined_requests(self):
        failures = []

        def worker(n):
            try:
                for i in range(25):
                    key = "%s-%d-%d" % (self.key, n, i)
                    self.client.put(key, key)
                    if self.client.get(key).value != key.encode():
                        failures.append(key)
            except Exception as e:  # reported below
                failures.append(repr(e))

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        self.assertEqual(failures, [])
        futures = [self.client.submit_put("%s-p%d" % (self.key, i), str(i)) for i in range(200)]
        for future in futures:
            future.result(30)
        gets = [self.client.submit_get("%s-p%d" % (self.key, i)) for i in range(200)]
        self.assertEqual([g.result(30).value for g in gets], [str(i).encode() for i in range(200)])


if __name__ == "__main__":
    unittest.main()
