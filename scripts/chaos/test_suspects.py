"""The workload's node suspicion (suspects.py), on a fake clock. From scripts/:
python3 -m unittest -q chaos.test_suspects"""

import random
import unittest

from chaos.suspects import Suspects


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class SuspectedNodes(unittest.TestCase):
    def setUp(self):
        self.clock = FakeClock()
        self.suspects = Suspects(self.clock, hold_s=1.0)
        self.rng = random.Random(7)

    def picks(self, count=3, n=200):
        return {self.suspects.pick(self.rng, count) for _ in range(n)}

    def test_every_node_is_picked_when_none_is_suspected(self):
        self.assertEqual(self.picks(), {1, 2, 3})

    def test_a_suspected_node_is_left_alone_until_its_hold_ends(self):
        self.suspects.suspect(2)
        self.assertEqual(self.picks(), {1, 3})
        self.clock.now += 0.99
        self.assertEqual(self.picks(), {1, 3})
        self.clock.now += 0.02
        self.assertEqual(self.picks(), {1, 2, 3})

    def test_when_every_node_is_suspected_any_is_picked(self):
        for i in (1, 2, 3):
            self.suspects.suspect(i)
        self.assertEqual(self.picks(), {1, 2, 3})


if __name__ == "__main__":
    unittest.main()
