"""Which nodes the workload's clients leave alone for now. As an application's client library
routes around a node it finds dead, a node that timed out or could not be reached is not picked
for SUSPECT_S, then tried again: clients do not queue up behind a paused node's deadline while
the rest of the cluster serves. Pure (the clock is a parameter) and thread-safe."""

import threading
import time

SUSPECT_S = 1.0


class Suspects:
    def __init__(self, clock=time.monotonic, hold_s=SUSPECT_S):
        self.clock = clock
        self.hold_s = hold_s
        self.lock = threading.Lock()
        self.until = {}  # node -> clock() until which it is not picked

    def pick(self, rng, count):
        """A random node of 1..count, among those not suspected when there are any."""
        now = self.clock()
        everyone = range(1, count + 1)
        with self.lock:
            healthy = [i for i in everyone if self.until.get(i, 0) <= now]
        return rng.choice(healthy or everyone)

    def suspect(self, node):
        with self.lock:
            self.until[node] = self.clock() + self.hold_s
