"""The chaos run's node configuration and its refusals, without starting anything. From
scripts/: python3 -m unittest -q chaos.test_run"""

import argparse
import contextlib
import io
import os
import tempfile
import unittest

from chaos import run


class NodeConfig(unittest.TestCase):
    def test_sync_none_is_the_nodes_setting_and_always_the_default(self):
        with tempfile.TemporaryDirectory() as d:
            with open(run.node_config(d, None)) as f:
                self.assertNotIn("sync =", f.read())
            with open(run.node_config(d, "lww", "none")) as f:
                text = f.read()
            self.assertTrue(text.startswith('sync = "none"\n'))
            self.assertIn("[namespaces.sets]\nlww = true\n", text)


class Refusals(unittest.TestCase):
    def test_sync_is_refused_for_a_compose_project_before_anything_is_written(self):
        with tempfile.TemporaryDirectory() as d:
            workdir = os.path.join(d, "run")
            args = argparse.Namespace(faults="", compose="ringkv", sync="none", dir=workdir)
            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                self.assertEqual(run.run(args), 2)
            self.assertIn("--sync applies to the nodes chaos.py starts", err.getvalue())
            self.assertFalse(os.path.exists(workdir))


if __name__ == "__main__":
    unittest.main()
