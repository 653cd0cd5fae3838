"""The committed protobuf modules are what generate.sh makes from messages/*.proto today, so
they cannot drift from the protocol. Needs the source tree and protoc; skipped without them."""

import filecmp
import os
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
GENERATE = PACKAGE_ROOT / "generate.sh"
COMMITTED = PACKAGE_ROOT / "ringkv" / "_proto" / "messages"
PROTOS = PACKAGE_ROOT.parents[1] / "messages" / "protocol.proto"


class GeneratedModulesTest(unittest.TestCase):
    def setUp(self):
        if not PROTOS.exists():
            self.skipTest("the ringkv source tree (messages/*.proto) is not beside the tests")
        if shutil.which("protoc") is None:
            self.skipTest("protoc is not installed (apt-get install protobuf-compiler)")

    def test_the_committed_modules_match_a_fresh_generate_sh(self):
        with tempfile.TemporaryDirectory() as out:
            subprocess.run(["bash", str(GENERATE), out], check=True, timeout=60)
            fresh = sorted(p.name for p in (Path(out) / "messages").glob("*_pb2.py"))
            committed = sorted(p.name for p in COMMITTED.glob("*_pb2.py"))
            self.assertEqual(fresh, committed, "run clients/python/generate.sh and commit")
            match, mismatch, errors = filecmp.cmpfiles(
                os.path.join(out, "messages"), COMMITTED, fresh, shallow=False
            )
            self.assertEqual(
                (mismatch, errors), ([], []), "stale modules: run clients/python/generate.sh"
            )

    def test_the_modules_import_each_other_inside_the_package(self):
        for module in COMMITTED.glob("*_pb2.py"):
            text = module.read_text()
            self.assertNotIn("from messages import", text, module.name)


if __name__ == "__main__":
    unittest.main()
