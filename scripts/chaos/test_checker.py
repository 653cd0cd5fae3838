"""The chaos checker (checker.py) on hand-written histories: for each invariant, a history
that holds it and one that violates it. No cluster, no processes. From scripts/:
python3 -m unittest -q chaos.test_checker"""

import unittest

from chaos import checker


def op(client, ns, name, key, outcome, element=None, seen=(), t=0.0):
    """One operation as workload.py records it: its invocation, then its outcome."""
    invoke = {"client": client, "ns": ns, "op": name, "key": key, "element": element,
              "type": "invoke", "seen": list(seen), "t": t}
    return [invoke, dict(invoke, type=outcome, seen=None, t=t + 0.001)]


def add(client, key, outcome, element, seen=()):
    return op(client, "sets", "add", key, outcome, element, seen)


class LostAcknowledgedWrite(unittest.TestCase):
    def test_every_acknowledged_element_found_at_the_end_holds(self):
        events = add("s0", "set-0", "ok", "s0-1") + add("s1", "set-0", "ok", "s1-1")
        result = checker.analyze(events, {("sets", "set-0"): {"n1.a:2": "s0-1,s1-1"}})
        self.assertEqual((result["lost"], result["acknowledged"]), (0, 2))

    def test_an_acknowledged_element_missing_at_the_end_is_lost(self):
        events = add("s0", "set-0", "ok", "s0-1") + add("s1", "set-0", "ok", "s1-1")
        result = checker.analyze(events, {("sets", "set-0"): {"n1.a:2": "s1-1"}})
        self.assertEqual(result["lost"], 1)
        self.assertIn("sets/set-0: lost ['s0-1']", result["details"])

    def test_elements_of_siblings_count_and_keys_are_apart(self):
        events = add("s0", "set-0", "ok", "s0-1") + add("s1", "set-1", "ok", "s1-1")
        final = {("sets", "set-0"): {"n1.a:1": "s0-1"}, ("sets", "set-1"): {"n2.b:1": "s0-1"}}
        self.assertEqual(checker.analyze(events, final)["lost"], 1)  # s1-1 is on set-1 only
        final[("sets", "set-1")] = {"n2.b:1": "", "n3.c:1": "s1-1"}
        self.assertEqual(checker.analyze(events, final)["lost"], 0)


class UnknownOutcomes(unittest.TestCase):
    def test_a_write_with_an_unknown_outcome_missing_at_the_end_is_not_lost(self):
        events = add("s0", "set-0", "unknown", "s0-1") + add("s0", "set-0", "ok", "s0-2")
        result = checker.analyze(events, {("sets", "set-0"): {"n1.a:1": "s0-2"}})
        self.assertEqual((result["lost"], result["acknowledged"]), (0, 1))

    def test_a_write_with_an_unknown_outcome_found_at_the_end_was_written(self):
        events = add("s0", "set-0", "unknown", "s0-1")
        result = checker.analyze(events, {("sets", "set-0"): {"n1.a:1": "s0-1"}})
        self.assertEqual((result["lost"], result["never_written"]), (0, 0))

    def test_a_failed_write_is_not_lost_either(self):
        events = add("s0", "set-0", "fail", "s0-1")
        self.assertEqual(checker.analyze(events, {("sets", "set-0"): {}})["lost"], 0)


class NeverWritten(unittest.TestCase):
    def test_elements_some_client_tried_to_write_hold(self):
        events = add("s0", "set-0", "ok", "s0-1")
        result = checker.analyze(events, {("sets", "set-0"): {"n1.a:1": "s0-1"}})
        self.assertEqual(result["never_written"], 0)

    def test_an_element_no_client_tried_to_write_is_reported(self):
        events = add("s0", "set-0", "ok", "s0-1")
        result = checker.analyze(events, {("sets", "set-0"): {"n1.a:1": "s0-1,s9-9"}})
        self.assertEqual(result["never_written"], 1)
        self.assertIn("sets/set-0: never written ['s9-9']", result["details"])

    def test_an_element_written_to_another_key_is_never_written_on_this_one(self):
        events = add("s0", "set-1", "ok", "s0-1")
        result = checker.analyze(events, {("sets", "set-0"): {"n1.a:1": "s0-1"}})
        self.assertEqual(result["never_written"], 1)


class Resurrection(unittest.TestCase):
    def test_a_value_an_acknowledged_delete_had_read_must_stay_deleted(self):
        events = op("d0", "dels", "add", "del-0-0", "ok", "d0-1") + \
            op("d0", "dels", "delete", "del-0-0", "ok", seen=["n1.a:1"])
        result = checker.analyze(events, {("dels", "del-0-0"): {"n1.a:1": "d0-1"}})
        self.assertEqual(result["resurrected"], 1)
        self.assertIn("is back after an acknowledged delete", result["details"][0])
        self.assertEqual(checker.analyze(events, {("dels", "del-0-0"): {}})["resurrected"], 0)

    def test_an_addition_the_delete_never_saw_may_survive_it(self):
        # A partition hid d0-2 (taken by fallbacks) from the read before the delete: the delete
        # covers d0-1 only, and d0-2 stays, as the causal contract says.
        events = op("d0", "dels", "add", "del-0-0", "ok", "d0-1") + \
            op("d0", "dels", "add", "del-0-0", "ok", "d0-2") + \
            op("d0", "dels", "delete", "del-0-0", "ok", seen=["n1.a:1"])
        result = checker.analyze(events, {("dels", "del-0-0"): {"n2.b:1": "d0-2"}})
        self.assertEqual(result["resurrected"], 0)

    def test_a_delete_with_an_unknown_outcome_supersedes_nothing(self):
        events = op("d0", "dels", "add", "del-0-0", "ok", "d0-1") + \
            op("d0", "dels", "delete", "del-0-0", "unknown", seen=["n1.a:1"])
        result = checker.analyze(events, {("dels", "del-0-0"): {"n1.a:1": "d0-1"}})
        self.assertEqual(result["resurrected"], 0)

    def test_a_resolved_blind_sibling_must_not_come_back(self):
        events = op("b0", "blind", "blind", "blind-0", "ok", "b0-1") + \
            op("b1", "blind", "blind", "blind-0", "ok", "b1-1") + \
            op("b0", "blind", "resolve", "blind-0", "ok", seen=["n1.a:1", "n2.b:1"])
        merged = {"n3.c:1": "b0-1,b1-1"}
        self.assertEqual(checker.analyze(events, {("blind", "blind-0"): merged})["resurrected"],
                         0)
        result = checker.analyze(events, {("blind", "blind-0"): dict(merged, **{"n2.b:1": "b1-1"})})
        self.assertEqual((result["resurrected"], result["lost"]), (1, 0))

    def test_a_version_an_acknowledged_addition_had_read_must_not_come_back(self):
        events = add("s0", "set-0", "ok", "s0-1") + add("s1", "set-0", "ok", "s1-1", ["n1.a:1"])
        self.assertEqual(checker.analyze(events, {("sets", "set-0"): {"n2.b:1": "s0-1,s1-1"}})
                         ["resurrected"], 0)
        stale = {"n2.b:1": "s0-1,s1-1", "n1.a:1": "s0-1"}
        self.assertEqual(checker.analyze(events, {("sets", "set-0"): stale})["resurrected"], 1)

    def test_the_outcome_answers_its_own_client_s_invocation(self):
        # s1's acknowledgement comes while s0's write, which had read n1.a:1, is still in
        # flight and then fails: nothing superseded n1.a:1.
        events = add("s0", "set-0", "ok", "s0-1")
        s0, s1 = add("s0", "set-0", "fail", "s0-2", ["n1.a:1"]), add("s1", "set-0", "ok", "s1-1")
        events += [s0[0], s1[0], s1[1], s0[1]]
        final = {("sets", "set-0"): {"n1.a:1": "s0-1", "n2.b:1": "s1-1"}}
        self.assertEqual(checker.analyze(events, final)["resurrected"], 0)


class LostReadds(unittest.TestCase):
    def test_the_last_acknowledged_readd_must_be_found(self):
        events = op("d0", "dels", "delete", "del-0-0", "ok") + \
            op("d0", "dels", "add", "del-0-0", "ok", "d0-2")
        self.assertEqual(checker.analyze(events, {("dels", "del-0-0"): {}})["lost_readds"], 1)
        found = {("dels", "del-0-0"): {"n1.a:2": "d0-2"}}
        self.assertEqual(checker.analyze(events, found)["lost_readds"], 0)

    def test_an_operation_that_may_have_been_applied_after_it_excuses_it(self):
        events = op("d0", "dels", "add", "del-0-0", "ok", "d0-1") + \
            op("d0", "dels", "delete", "del-0-0", "unknown")
        self.assertEqual(checker.analyze(events, {("dels", "del-0-0"): {}})["lost_readds"], 0)
        events[-1]["type"] = "fail"
        self.assertEqual(checker.analyze(events, {("dels", "del-0-0"): {}})["lost_readds"], 1)


class SiblingExplosion(unittest.TestCase):
    def test_writers_plus_one_siblings_are_within_the_bound(self):
        final = {("blind", "blind-0"): {"n1.a:1": "b0-1", "n2.b:1": "b1-1", "n3.c:1": "b0-1"}}
        self.assertEqual(checker.siblings_over_bound(final, {"blind": 2}), [])

    def test_more_siblings_than_writers_plus_one_are_over_it(self):
        final = {("blind", "blind-0"): {f"n{i}.a:1": f"b0-{i}" for i in range(4)}}
        self.assertEqual(checker.siblings_over_bound(final, {"blind": 2}),
                         ["blind/blind-0: 4 siblings"])


class Storms(unittest.TestCase):
    faults = [{"fault": "actor-storm", "t": 10.0}, {"fault": "actor", "t": 12.0},
              {"fault": "actor-storm-end", "t": 13.0}]

    def test_a_storm_with_an_acknowledgement_a_second_did_not_stall(self):
        events = sum((add("s0", "set-0", "ok", f"s0-{i}") for i in range(3)), [])
        for i, e in enumerate(events):
            e["t"] = 10.0 + i * 0.5
        counts = checker.storms(events, self.faults)
        self.assertEqual(counts, [(3.0, 3, 3)])
        self.assertEqual(checker.stalled(counts), [])

    def test_a_storm_with_fewer_acknowledgements_than_seconds_stalled(self):
        events = add("s0", "set-0", "ok", "s0-1") + add("s0", "set-0", "unknown", "s0-2")
        for e in events:
            e["t"] = 11.0
        counts = checker.storms(events, self.faults)
        self.assertEqual(counts, [(3.0, 2, 1)])
        self.assertEqual(checker.stalled(counts), counts)


class Throughput(unittest.TestCase):
    def test_answered_operations_over_the_seconds_from_first_to_last_event(self):
        events = add("s0", "set-0", "ok", "s0-1") + add("s0", "set-0", "unknown", "s0-2")
        events[-1]["t"] = 0.5
        self.assertEqual(checker.throughput(events), {"operations": 2, "acknowledged_ops": 1,
                                                      "workload_s": 0.5, "ops_per_s": 4.0})
        self.assertEqual(checker.throughput([])["ops_per_s"], 0.0)


class Convergence(unittest.TestCase):
    @staticmethod
    def replica(value, vv=None, **extra):
        return dict({"reachable": True, "siblings": [{"value": value, "deleted": False}],
                     "version_vector": vv or {"n1.a": 1}}, **extra)

    def test_three_replicas_holding_the_same_are_identical(self):
        doc = {"replicas": [self.replica("x") for _ in range(3)]}
        self.assertTrue(checker.replicas_identical(doc))

    def test_a_replica_that_differs_or_could_not_be_read_is_not(self):
        self.assertFalse(checker.replicas_identical(
            {"replicas": [self.replica("x"), self.replica("x"), self.replica("y")]}))
        self.assertFalse(checker.replicas_identical(
            {"replicas": [self.replica("x"), self.replica("x"), self.replica("x", {"n2.b": 1})]}))
        self.assertFalse(checker.replicas_identical(
            {"replicas": [self.replica("x"), self.replica("x"),
                          self.replica("x", reachable=False)]}))
        self.assertFalse(checker.replicas_identical(None))


class Violations(unittest.TestCase):
    clean = {"lost": 0, "never_written": 0, "resurrected": 0, "lost_readds": 0, "diverged": 0,
             "hints_left": 0, "siblings_over_bound": 0, "storms_stalled": 0, "members_up": True,
             "ops_per_s": 900.0}

    def test_a_clean_summary_violates_nothing(self):
        self.assertEqual(checker.violations(self.clean), [])

    def test_each_non_zero_count_and_a_member_not_up_is_a_violation(self):
        for name in checker.VIOLATIONS:
            self.assertEqual(checker.violations(dict(self.clean, **{name: 1})), [name])
        self.assertEqual(checker.violations(dict(self.clean, members_up=False)), ["members_up"])


if __name__ == "__main__":
    unittest.main()
