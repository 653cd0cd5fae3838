"""The nemesis: a thread that injects faults into a cluster (cluster.py) until stopped. Faults
come in cycles, each of those asked for once per cycle, in an order its seeded random source
shuffles, with 1-3 s between faults; every one is logged through the Recorder (faults.jsonl
and stdout) with its time, so a schedule can be replayed with the same seed."""

import threading
import time

from . import admin

FAULTS = ["kill", "kill-many", "kill-all", "partition", "pause", "actor", "actor-storm",
          "too-fast"]
ROLES = ["coordinator", "replica.0", "replica.1", "gossip", "handoff", "hint_store",
         "anti_entropy", "compaction", "node"]


class Nemesis(threading.Thread):
    def __init__(self, cluster, rng, faults, stop, recorder):
        super().__init__(daemon=True)
        self.c = cluster
        self.rng = rng
        self.faults = faults
        self.stop = stop
        self.rec = recorder
        self.count = 0
        self.cycle = []

    def next_fault(self):
        if not self.cycle:
            self.cycle = list(self.faults)
            self.rng.shuffle(self.cycle)
        return self.cycle.pop()

    def nodes(self):
        return list(range(1, self.c.net.nodes + 1))

    def sleep(self, seconds):
        self.stop.wait(seconds)

    def run(self):
        while not self.stop.is_set():
            self.sleep(self.rng.uniform(1, 3))
            if self.stop.is_set():
                break
            fault = self.next_fault()
            self.count += 1
            try:
                getattr(self, fault.replace("-", "_"))()
            except Exception as e:  # a fault that could not be injected is logged, not fatal
                self.rec.fault("error", [], f"{fault}: {e}")

    def kill(self):
        i = self.rng.choice(self.nodes())
        self.rec.fault("kill", [f"n{i}"], "SIGKILL")
        self.c.kill(i)
        self.sleep(self.rng.uniform(2, 5))
        self.c.start(i)
        self.rec.fault("restart", [f"n{i}"])

    def kill_many(self):
        ids = self.rng.sample(self.nodes(), 2)
        self.rec.fault("kill-many", [f"n{i}" for i in ids], "SIGKILL")
        for i in ids:
            self.c.kill(i)
        self.sleep(3)
        for i in ids:
            self.c.start(i)
        self.rec.fault("restart", [f"n{i}" for i in ids])

    def kill_all(self):
        self.rec.fault("kill-all", [f"n{i}" for i in self.nodes()], "SIGKILL")
        for i in self.nodes():
            self.c.kill(i)
        self.sleep(2)
        for i in self.nodes():
            self.c.start(i, wait=False)
        for i in self.nodes():
            self.c.await_ready(i)
        self.rec.fault("restart", [f"n{i}" for i in self.nodes()])

    def partition(self):
        nodes = self.nodes()
        self.rng.shuffle(nodes)
        shape = self.rng.choice(["isolate", "split", "bridge", "asymmetric"])
        net = self.c.net
        if shape == "isolate":
            for j in nodes[1:]:
                net.cut(nodes[0], j)
            detail = f"n{nodes[0]} | rest"
        elif shape == "split":
            a, b = nodes[:2], nodes[2:]
            for i in a:
                for j in b:
                    net.cut(i, j)
            detail = " ".join(f"n{i}" for i in a) + " | " + " ".join(f"n{i}" for i in b)
        elif shape == "bridge":
            bridge, a, b = nodes[0], nodes[1:3], nodes[3:]
            for i in a:
                for j in b:
                    net.cut(i, j)
            detail = f"n{bridge} sees both of " + " ".join(f"n{i}" for i in a) + " | " + \
                " ".join(f"n{i}" for i in b)
        else:
            net.cut(nodes[0], nodes[1], both=False)
            detail = f"n{nodes[0]} no longer hears n{nodes[1]} (one way)"
        self.rec.fault("partition", [], f"{shape}: {detail}")
        self.sleep(self.rng.uniform(5, 10))
        net.heal()
        self.rec.fault("heal", [])

    def pause(self):
        i = self.rng.choice(self.nodes())
        self.rec.fault("pause", [f"n{i}"], "SIGSTOP")
        self.c.pause(i)
        self.sleep(self.rng.uniform(4, 6))
        self.c.resume(i)
        self.rec.fault("resume", [f"n{i}"], "SIGCONT")

    def fail_actor(self, i, role):
        return admin.fail_actor(self.c.address(i), role)

    def actor(self):
        i = self.rng.choice(self.nodes())
        role = self.rng.choice(ROLES)
        self.rec.fault("actor", [f"n{i}"], f"{role} exit {self.fail_actor(i, role)}")

    def actor_storm(self):
        self.rec.fault("actor-storm", [f"n{i}" for i in self.nodes()], "every 300 ms for 8 s")
        until = time.monotonic() + 8
        kills = 0
        while time.monotonic() < until and not self.stop.is_set():
            for i in self.nodes():
                self.fail_actor(i, self.rng.choice(ROLES))
                kills += 1
            self.sleep(0.3)
        self.rec.fault("actor-storm-end", [], f"{kills} actor kills")

    def too_fast(self):
        i = self.rng.choice(self.nodes())
        before = self.c.manager_restarts
        self.rec.fault("too-fast", [f"n{i}"], "actor kills every 20 ms until the node gives up")
        until = time.monotonic() + 15
        kills = 0
        while time.monotonic() < until and (kills % 25 or self.c.manager_restarts == before):
            self.fail_actor(i, self.rng.choice(ROLES[:-1]))
            kills += 1
            time.sleep(0.02)
        detail = "the process manager restarted it" if self.c.manager_restarts > before else \
            "it never gave up within 15 s"
        self.rec.fault("too-fast-end", [f"n{i}"], detail)
