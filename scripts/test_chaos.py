"""Unit tests of the chaos checker's analysis (scripts/chaos.py analyze): what counts as lost,
resurrected or a lost re-add, on hand-written histories. No cluster. Run:
python3 -m unittest -q test_chaos (in scripts/)."""

import unittest

import chaos


def op(client, op_name, key, outcome, element=None, seen=(), t=0.0):
    """An invocation and its outcome, as Workload.write records them."""
    return [{"client": client, "op": op_name, "key": key, "element": element, "type": "invoke",
             "seen": list(seen), "t": t},
            {"client": client, "op": op_name, "key": key, "element": element, "type": outcome,
             "t": t}]


class Resurrection(unittest.TestCase):
    def test_a_value_an_acknowledged_delete_had_read_must_stay_deleted(self):
        events = op("d0", "add", "del-0-0", "ok", "d0-1") + \
            op("d0", "delete", "del-0-0", "ok", seen=["n1.a:1"])
        result = chaos.analyze(events, {("dels", "del-0-0"): {"n1.a:1": "d0-1"}})
        self.assertEqual(result["resurrected"], 1)
        self.assertIn("is back after an acknowledged delete", result["details"][0])

    def test_an_addition_the_delete_never_saw_may_survive_it(self):
        # A partition hid d0-2 (taken by fallbacks) from the read before the delete: the delete
        # covers d0-1 only, and d0-2 stays, as the causal contract says.
        events = op("d0", "add", "del-0-0", "ok", "d0-1") + \
            op("d0", "add", "del-0-0", "ok", "d0-2") + \
            op("d0", "delete", "del-0-0", "ok", seen=["n1.a:1"])
        result = chaos.analyze(events, {("dels", "del-0-0"): {"n2.b:1": "d0-2"}})
        self.assertEqual(result["resurrected"], 0)

    def test_a_delete_that_failed_supersedes_nothing(self):
        events = op("d0", "add", "del-0-0", "ok", "d0-1") + \
            op("d0", "delete", "del-0-0", "unknown", seen=["n1.a:1"])
        result = chaos.analyze(events, {("dels", "del-0-0"): {"n1.a:1": "d0-1"}})
        self.assertEqual(result["resurrected"], 0)

    def test_a_resolved_blind_sibling_must_not_come_back(self):
        events = op("b0", "blind", "blind-0", "ok", "b0-1") + \
            op("b1", "blind", "blind-0", "ok", "b1-1") + \
            op("b0", "resolve", "blind-0", "ok", seen=["n1.a:1", "n2.b:1"])
        final = {("blind", "blind-0"): {"n3.c:1": "b0-1,b1-1", "n2.b:1": "b1-1"}}
        result = chaos.analyze(events, final)
        self.assertEqual(result["resurrected"], 1)
        self.assertEqual(result["lost"], 0)


class LostAndReadds(unittest.TestCase):
    def test_an_acknowledged_element_missing_at_the_end_is_lost(self):
        events = op("s0", "add", "set-0", "ok", "s0-1") + op("s1", "add", "set-0", "ok", "s1-1")
        result = chaos.analyze(events, {("sets", "set-0"): {"n1.a:2": "s1-1"}})
        self.assertEqual(result["lost"], 1)

    def test_the_last_acknowledged_readd_must_be_found(self):
        events = op("d0", "delete", "del-0-0", "ok") + op("d0", "add", "del-0-0", "ok", "d0-2")
        self.assertEqual(chaos.analyze(events, {("dels", "del-0-0"): {}})["lost_readds"], 1)
        found = {("dels", "del-0-0"): {"n1.a:2": "d0-2"}}
        self.assertEqual(chaos.analyze(events, found)["lost_readds"], 0)


if __name__ == "__main__":
    unittest.main()
