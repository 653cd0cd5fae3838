"""TLS and credentials against the fake node (fakenode.py) speaking TLS with certificates from
scripts/certs.sh: a client certificate, a bearer token in the Hello, the principal the node
names, a CA that does not match, the RINGKV_* environment variables, and what is refused
before any connection. Needs the source tree (scripts/certs.sh) and openssl; skipped without
them."""

import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest
from pathlib import Path
from unittest import mock

import ringkv

from fakenode import FakeNode

CERTS_SH = Path(__file__).resolve().parents[3] / "scripts" / "certs.sh"
ENV_NAMES = ("RINGKV_CERT", "RINGKV_KEY", "RINGKV_CA", "RINGKV_TOKEN", "RINGKV_CREDENTIALS")

certs = None  # the cluster's: ca.pem, n1.pem/key (the node), app.pem/key, admin.pem/key
other = None  # another cluster's, with the same names


def setUpModule():
    global certs, other
    if not CERTS_SH.exists():
        raise unittest.SkipTest("the ringkv source tree (scripts/certs.sh) is not beside the tests")
    if shutil.which("openssl") is None:
        raise unittest.SkipTest("openssl is not installed")
    top = tempfile.mkdtemp(prefix="ringkv-tls-test-")
    unittest.addModuleCleanup(shutil.rmtree, top, ignore_errors=True)
    for name in ("cluster", "other"):
        subprocess.run(["bash", str(CERTS_SH), os.path.join(top, name), "--nodes", "n1",
                        "--clients", "app,admin"], check=True, timeout=60,
                       stdout=subprocess.DEVNULL)
    certs = Certs(os.path.join(top, "cluster"))
    other = Certs(os.path.join(top, "other"))


class Certs:
    def __init__(self, directory):
        self.dir = directory
        self.ca = os.path.join(directory, "ca.pem")

    def cert(self, name):
        return os.path.join(self.dir, name + ".pem")

    def key(self, name):
        return os.path.join(self.dir, name + ".key")

    def node_files(self, name="n1"):
        return self.cert(name), self.key(name), self.ca


class TLSTest(unittest.TestCase):
    node_options = {}

    def setUp(self):
        # The tests say which credentials they use: none come from the runner's environment.
        patcher = mock.patch.dict(os.environ)
        patcher.start()
        self.addCleanup(patcher.stop)
        for name in ENV_NAMES:
            os.environ.pop(name, None)
        options = dict(tls=certs.node_files())
        options.update(self.node_options)
        self.node = FakeNode(**options)
        self.addCleanup(self.node.stop)

    def wait_for(self, condition, seconds=3.0):
        deadline = time.monotonic() + seconds
        while not condition():
            if time.monotonic() > deadline:
                self.fail("the condition did not hold within %ss" % seconds)
            time.sleep(0.01)

    def client(self, address=None, **options):
        options.setdefault("connect_timeout", 3.0)
        options.setdefault("timeout", 3.0)
        options.setdefault("grace", 0.2)
        client = ringkv.Client(address or self.node.address, **options)
        self.addCleanup(client.close)
        return client

    def app(self, **options):
        """A client with the certificate of principal "app"."""
        return self.client(ca=certs.ca, cert=certs.cert("app"), key=certs.key("app"), **options)


class ClientCertificateTest(TLSTest):
    node_options = dict(client_cert="required")

    def test_a_client_certificate_connects_and_names_the_principal(self):
        client = self.app()
        self.assertTrue(client.tls)
        self.assertIsNone(client.principal)
        self.assertEqual(client.connect(), "fake1")
        self.assertEqual(client.principal, "app")
        self.assertEqual(self.node.peer_names, ["app"])
        self.assertIn(self.node.tls_versions[0], ("TLSv1.2", "TLSv1.3"))
        hello = self.node.hellos[0]
        self.assertEqual((hello.version, hello.client, hello.token),
                         (1, "ringkv-python/0.1", ""))
        client.close()
        self.assertIsNone(client.principal)

    def test_a_client_certificate_and_a_token_both_travel(self):
        self.node.tokens["t0k3n"] = "robot"
        client = self.app(token="t0k3n")
        client.connect()
        self.assertEqual(self.node.hellos[0].token, "t0k3n")
        self.assertEqual(client.principal, "app")  # the fake prefers the certificate

    def test_calls_round_trip_over_tls(self):
        client = self.app()
        big = os.urandom(1 << 20)  # many TLS records each way
        client.put("big", big)
        self.assertEqual(client.get("big").value, big)
        self.assertEqual(client.status().node_id, "fake1")
        self.assertGreaterEqual(client.ping(), 0)

    def test_many_threads_and_pipelined_answers_share_one_tls_connection(self):
        client = self.app()
        failures = []

        def worker(n):
            try:
                for i in range(40):
                    key = "t%d-%d" % (n, i)
                    client.put(key, key * 100)
                    if client.get(key).value != (key * 100).encode():
                        failures.append(key)
            except Exception as e:  # reported below
                failures.append(repr(e))

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        self.assertEqual(failures, [])
        self.node.reorder(50)
        futures = [client.submit_get("t0-%d" % (i % 40)) for i in range(50)]
        self.assertEqual([f.result(10).value for f in futures],
                         [("t0-%d" % (i % 40) * 100).encode() for i in range(50)])
        self.assertEqual(self.node.accepted, 1)

    def test_the_node_refuses_a_client_without_a_certificate_as_unauthenticated(self):
        client = self.client(ca=certs.ca)
        with self.assertRaises(ringkv.Unauthenticated) as caught:
            client.connect()
        message = str(caught.exception)
        self.assertIn("refused this client", message)
        self.assertIn("alert", message.lower())  # OpenSSL's reason: the node's alert
        self.assertEqual(self.node.hellos, [])

    def test_the_node_refuses_a_certificate_of_another_ca_as_unauthenticated(self):
        client = self.client(ca=certs.ca, cert=other.cert("app"), key=other.key("app"))
        with self.assertRaises(ringkv.Unauthenticated) as caught:
            client.connect()
        self.assertIn("alert", str(caught.exception).lower())
        self.assertEqual(self.node.hellos, [])
        # The node's thread notes its failure after sending the alert the client read.
        self.wait_for(lambda: self.node.tls_failures)
        self.assertIn("CERTIFICATE_VERIFY_FAILED", self.node.tls_failures[0])

    def test_closing_ends_the_tls_connection_and_its_threads(self):
        client = self.app()
        client.ping()
        threads = client._conn._threads
        client.close()
        self.wait_for(lambda: not any(t.is_alive() for t in threads))

    def test_a_dropped_tls_connection_fails_what_is_in_flight_and_the_next_call_reconnects(self):
        client = self.app()
        client.ping()
        future = client.submit_get("!silent")
        self.wait_for(lambda: self.node.requests == 2)
        self.node.drop_all()
        with self.assertRaises(ringkv.ConnectionLost):
            future.result(5)
        client.put("after", "drop")
        self.assertEqual(self.node.accepted, 2)
        self.assertEqual(self.node.peer_names, ["app", "app"])


class ClientCertificateOverTLS12Test(ClientCertificateTest):
    """The same with TLS 1.2, where the node refuses a certificate inside the handshake rather
    than after it (TLS 1.3 tells it when the client reads its HelloReply)."""

    node_options = dict(client_cert="required", tls_maximum=ssl.TLSVersion.TLSv1_2)

    def test_the_version_is_1_2(self):
        self.app().connect()
        self.assertEqual(self.node.tls_versions, ["TLSv1.2"])


class NodeVerificationTest(TLSTest):
    def test_a_ca_that_did_not_sign_the_node_fails_with_openssl_s_reason(self):
        client = self.client(ca=other.ca, cert=other.cert("app"), key=other.key("app"))
        with self.assertRaises(ringkv.Unauthenticated) as caught:
            client.connect()
        message = str(caught.exception)
        self.assertIn("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed", message)
        self.assertIn("127.0.0.1:%d" % self.node.port, message)
        self.assertIsInstance(caught.exception.__cause__, ssl.SSLCertVerificationError)
        self.assertEqual(self.node.hellos, [])
        self.assertIsNone(client.principal)

    def test_the_node_is_checked_by_name_too(self):
        client = self.client("localhost:%d" % self.node.port, ca=certs.ca)
        self.assertEqual(client.connect(), "fake1")

    def test_a_name_the_node_s_certificate_does_not_hold_is_refused(self):
        # The node's certificate names n1, localhost and 127.0.0.1, not ::1.
        try:
            node = FakeNode(tls=certs.node_files(), host="::1")
        except OSError:
            self.skipTest("no IPv6 loopback")
        self.addCleanup(node.stop)
        client = self.client("[::1]:%d" % node.port, ca=certs.ca)
        with self.assertRaises(ringkv.Unauthenticated) as caught:
            client.connect()
        self.assertIn("mismatch", str(caught.exception))

    def test_the_system_s_trust_store_is_not_used(self):
        tls = ringkv._tls.context(certs.ca)
        self.assertEqual(len(tls.get_ca_certs()), 1)
        self.assertEqual(tls.minimum_version, ssl.TLSVersion.TLSv1_2)
        self.assertTrue(tls.check_hostname)
        self.assertEqual(tls.verify_mode, ssl.CERT_REQUIRED)

    def test_a_tls_client_to_a_node_without_tls_is_connect_failed_naming_tls(self):
        plain = FakeNode()
        self.addCleanup(plain.stop)
        client = self.client(plain.address, ca=certs.ca)
        with self.assertRaises(ringkv.ConnectFailed) as caught:
            client.connect()
        self.assertIn("TLS", str(caught.exception))

    def test_a_client_without_tls_to_a_tls_node_is_told_to_give_a_ca(self):
        client = self.client()
        with self.assertRaises(ringkv.ConnectFailed) as caught:
            client.connect()
        self.assertIn("ca=", str(caught.exception))
        self.wait_for(lambda: self.node.tls_failures)


    def test_a_client_without_tls_told_so_by_a_tls_alert_is_told_to_give_a_ca(self):
        # A TLS listener may answer a plaintext Hello with an alert record, which reads as a
        # frame header announcing some 350 MB.
        listener = socket.create_server(("127.0.0.1", 0))
        self.addCleanup(listener.close)

        def answer_with_an_alert():
            conn, _ = listener.accept()
            with conn:
                conn.recv(1 << 16)
                conn.sendall(b"\x15\x03\x03\x00\x02\x02\x46")  # protocol_version alert
                conn.recv(1 << 16)

        threading.Thread(target=answer_with_an_alert, daemon=True).start()
        client = self.client("127.0.0.1:%d" % listener.getsockname()[1])
        with self.assertRaises(ringkv.Internal) as caught:
            client.connect()
        self.assertIn("with TLS: connect with ca=", str(caught.exception))


class TokenTest(TLSTest):
    node_options = dict(tokens={"s3cret": "robot"})

    def test_a_token_goes_in_the_hello_and_its_owner_is_the_principal(self):
        client = self.client(ca=certs.ca, token="s3cret")
        self.assertEqual(client.connect(), "fake1")
        self.assertEqual(self.node.hellos[0].token, "s3cret")
        self.assertEqual(self.node.peer_names, [None])  # no certificate: the token says who
        self.assertEqual(client.principal, "robot")

    def test_a_token_also_travels_without_tls(self):
        plain = FakeNode(tokens={"s3cret": "robot"})
        self.addCleanup(plain.stop)
        client = self.client(plain.address, token="s3cret")
        client.ping()
        self.assertEqual(plain.hellos[0].token, "s3cret")
        self.assertEqual(client.principal, "robot")
        self.assertFalse(client.tls)

    def test_a_token_the_node_does_not_know_is_unauthenticated(self):
        client = self.client(ca=certs.ca, token="wrong")
        with self.assertRaises(ringkv.Unauthenticated) as caught:
            client.ping()
        self.assertIn("token", str(caught.exception))

    def test_a_token_of_1024_bytes_is_sent_and_one_byte_more_is_refused_before_connecting(self):
        self.node.tokens["x" * 1024] = "long"
        self.assertEqual(self.client(ca=certs.ca, token="x" * 1024).connect(), "fake1")
        self.assertEqual(self.node.hellos[0].token, "x" * 1024)
        accepted = self.node.accepted
        for token in ("x" * 1025, "é" * 513):  # 1026 bytes in UTF-8
            with self.assertRaises(ValueError) as caught:
                ringkv.Client(self.node.address, ca=certs.ca, token=token)
            self.assertIn("1024", str(caught.exception))
        self.assertEqual(self.node.accepted, accepted)


class EnvironmentTest(TLSTest):
    node_options = dict(client_cert="required", tokens={"env-token": "robot"})

    def test_the_environment_gives_what_the_arguments_do_not(self):
        os.environ.update(RINGKV_CA=certs.ca, RINGKV_CERT=certs.cert("admin"),
                          RINGKV_KEY=certs.key("admin"), RINGKV_TOKEN="env-token")
        client = self.client()
        self.assertTrue(client.tls)
        self.assertEqual(client.connect(), "fake1")
        self.assertEqual(client.principal, "admin")
        self.assertEqual(self.node.hellos[0].token, "env-token")

    def test_arguments_win_over_the_environment(self):
        os.environ.update(RINGKV_CA=other.ca, RINGKV_CERT=certs.cert("admin"),
                          RINGKV_KEY=certs.key("admin"), RINGKV_TOKEN="not-this-one")
        self.node.tokens["this-one"] = "robot"
        client = self.client(ca=certs.ca, cert=certs.cert("app"), key=certs.key("app"),
                             token="this-one")
        client.connect()
        self.assertEqual(client.principal, "app")
        self.assertEqual(self.node.hellos[0].token, "this-one")

    def test_an_empty_argument_turns_its_variable_off(self):
        os.environ.update(RINGKV_CA=certs.ca, RINGKV_TOKEN="env-token")
        plain = FakeNode()
        self.addCleanup(plain.stop)
        client = self.client(plain.address, ca="", token="")
        self.assertFalse(client.tls)
        client.ping()
        self.assertEqual(plain.hellos[0].token, "")

    def test_a_token_too_long_in_the_environment_is_refused(self):
        os.environ["RINGKV_TOKEN"] = "y" * 1025
        with self.assertRaises(ValueError) as caught:
            ringkv.Client(self.node.address)
        self.assertIn("RINGKV_TOKEN", str(caught.exception))
        self.assertEqual(self.node.accepted, 0)

    def test_without_arguments_or_variables_the_credentials_directory_is_used(self):
        folder = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, folder)
        shutil.copy(certs.ca, os.path.join(folder, "ca.pem"))
        shutil.copy(certs.cert("admin"), os.path.join(folder, "client.pem"))
        shutil.copy(certs.key("admin"), os.path.join(folder, "client.key"))
        os.environ["RINGKV_CREDENTIALS"] = folder
        client = self.client()
        self.assertTrue(client.tls)
        client.connect()
        self.assertEqual(client.principal, "admin")
        # An argument or a variable means the directory is not looked at.
        os.environ["RINGKV_TOKEN"] = "env-token"
        self.assertFalse(self.client().tls)

    def test_a_certificate_from_the_environment_without_its_key_is_refused(self):
        os.environ.update(RINGKV_CA=certs.ca, RINGKV_CERT=certs.cert("app"))
        with self.assertRaises(ValueError) as caught:
            ringkv.Client(self.node.address)
        self.assertIn("RINGKV_KEY", str(caught.exception))


class ArgumentTest(unittest.TestCase):
    """What is refused when the Client is made: no node is involved."""

    def setUp(self):
        patcher = mock.patch.dict(os.environ)
        patcher.start()
        self.addCleanup(patcher.stop)
        for name in ENV_NAMES:
            os.environ.pop(name, None)

    def refused(self, exception=ValueError, **options):
        with self.assertRaises(exception) as caught:
            ringkv.Client("127.0.0.1:1", **options)
        return str(caught.exception)

    def test_a_certificate_needs_its_key_and_a_ca(self):
        self.assertIn("needs its key", self.refused(cert=certs.cert("app"), ca=certs.ca))
        self.assertIn("CA", self.refused(cert=certs.cert("app"), key=certs.key("app")))
        self.assertIn("without its certificate", self.refused(key=certs.key("app"), ca=certs.ca))

    def test_files_that_do_not_load_are_named(self):
        missing = os.path.join(certs.dir, "missing.pem")
        self.assertIn(missing, self.refused(FileNotFoundError, ca=missing))
        message = self.refused(ca=certs.ca, cert=certs.cert("app"), key=certs.key("admin"))
        self.assertIn("app.pem", message)
        self.assertIn("KEY_VALUES_MISMATCH", message)
        message = self.refused(ca=certs.key("app"))  # a key, not a certificate
        self.assertIn("app.key", message)
        self.assertIn("NO_CERTIFICATE_OR_CRL_FOUND", message)

    def test_a_token_is_text(self):
        self.refused(TypeError, token=12)
        self.refused(ValueError, token=b"\xff")


if __name__ == "__main__":
    unittest.main()
