#!/usr/bin/env python3
"""ringkv chaos: a local cluster, checker workloads, a nemesis, and a verdict.

  scripts/chaos.py run [--nodes 5] [--duration 120] [--seed S] [--faults LIST]
                       [--broken lww|context]
                       [--dir DIR] [--history FILE] [--compose PROJECT]
  scripts/chaos.py fault KIND [nI] --compose PROJECT [--role R] [--shape S]
                       one fault now on a running compose cluster: kill, start, pause, unpause,
                       actor (a named or random role, through the admin request), partition
                       (isolate, split, asymmetric) or heal

`run` starts N kvnode processes, each in a network namespace of its own on a private bridge
(10.213.T.0/24, T from the process id), so that the network between them can be cut. While
three workloads write (set, blind-write, delete/re-add), the nemesis injects faults drawn from
--faults with the seed: every fault is logged with a timestamp (faults.jsonl and stdout). When
--duration has passed the faults stop and everything heals while the workloads go on, until the
hint queues have drained and a few seconds more (clients then see what partitions hid from them
and resolve it, as a real client would); then it waits for the cluster to converge, reads every
key at R=N and asks every replica (kvctl explain), and prints the verdict: exit 0 when no invariant was
violated, 1 when one was, 2 on bad usage, 3 when the cluster could not be started, 77 (skipped)
without root or network namespaces.

Faults (--faults, comma separated; default all; each comes once per cycle, in an order the seed
shuffles, with 1-3 s between faults):
  kill        SIGKILL one node, restart it 2-5 s later
  kill-many   SIGKILL two nodes at once, restart them 3 s later
  kill-all    SIGKILL every node, restart them all 2 s later
  partition   cut the network for 5-10 s: isolate one node, split 2|3, a bridge node that sees
              both halves that do not see each other, or one-way (asymmetric); then heal
  pause       SIGSTOP a node for 4-6 s (past the failure detector), then SIGCONT
  actor       make a random actor fail on a random node (kvctl fail-actor)
  actor-storm every 300 ms for 8 s, a random actor fails on every node
  too-fast    actors fail on one node every 20 ms until its supervisor gives up (restart
              intensity) and the node exits; this script, as its process manager, restarts it

Invariants checked at the end:
  lost          acknowledged elements (set and blind-write workloads) missing from the final read
  never_written elements in the final read that no client ever tried to write
  resurrected   siblings found at the end that an acknowledged write had read (so its context
                superseded them: a delete, a resolve, an addition); each sibling's version (its
                dot) is recorded with the read, so this is exact whatever the partitions hid
  lost_readds   keys of the delete/re-add workload whose last acknowledged operation added an
                element (and nothing was tried after it) that is not found
  diverged      keys whose replicas still differ after the bound (--converge-s, default 60)
  hints         hints still held anywhere after the bound
  siblings      keys with more siblings than concurrent writers + 1 at the final read
  stalled       actor storms during which the workload got less than one acknowledgement a
                second
--broken lww makes the set namespace last-write-wins, which loses concurrent additions: the
checker must then report lost elements (the proof that it can fail). --broken context makes the
workloads write without the context they read: the checker must then report resurrected siblings.

With --compose PROJECT it acts on a running docker-compose cluster instead (scripts/compose-
chaos.sh brings one up and down): docker kill / start, docker pause / unpause, iptables in the
containers' network namespaces (nsenter), and Docker's restart policy as the process manager.

Needs root (network namespaces, iptables) and the binaries in build/bin. Every process it
starts is killed by PID and every namespace removed when it ends.
"""
import argparse
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("KV_BIN_DIR", os.path.join(ROOT, "build", "bin"))
KVNODE = os.path.join(BIN, "kvnode")
KVCTL = os.path.join(BIN, "kvctl")
ALL_FAULTS = ["kill", "kill-many", "kill-all", "partition", "pause", "actor", "actor-storm",
              "too-fast"]
ROLES = ["coordinator", "replica.0", "replica.1", "gossip", "handoff", "hint_store",
         "anti_entropy", "compaction", "node"]
PORT = 7101        # client listener; kvnode's defaults put peers on PORT + 100
PEER_PORT = 7201
ADMIN_PORT = 7301  # kvctl's default admin address for a node at PORT

start_time = time.monotonic()


def now():
    return round(time.monotonic() - start_time, 3)


def say(text):
    print(f"[{now():8.3f}] {text}", flush=True)


def sh(*args, check=True, timeout=20):
    return subprocess.run(list(args), check=check, timeout=timeout, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)


# -- the network ---------------------------------------------------------------------------------

class Network:
    """A bridge in the root namespace and one namespace per node, each with a veth on it."""

    def __init__(self, nodes):
        self.tag = os.getpid() % 200 + 20
        self.bridge = f"rkvb{self.tag}"
        self.nodes = nodes
        self.created = []

    def ns(self, i):
        return f"rkv{self.tag}n{i}"

    def ip(self, i):
        return f"10.213.{self.tag}.{i}"

    def up(self):
        sh("ip", "link", "add", self.bridge, "type", "bridge")
        self.created.append(("link", self.bridge))
        sh("ip", "addr", "add", f"10.213.{self.tag}.254/24", "dev", self.bridge)
        sh("ip", "link", "set", self.bridge, "up")
        # Where bridged traffic passes the host's iptables (br_netfilter, as Docker sets it up,
        # with FORWARD dropping by default), let the bridge's own traffic through.
        sh("iptables", "-I", "FORWARD", "-i", self.bridge, "-o", self.bridge, "-j", "ACCEPT")
        self.created.append(("forward", self.bridge))
        for i in range(1, self.nodes + 1):
            ns, host_if = self.ns(i), f"rkv{self.tag}v{i}"
            sh("ip", "netns", "add", ns)
            self.created.append(("netns", ns))
            sh("ip", "link", "add", host_if, "type", "veth", "peer", "name", "eth0", "netns", ns)
            self.created.append(("link", host_if))
            sh("ip", "link", "set", host_if, "master", self.bridge)
            sh("ip", "link", "set", host_if, "up")
            sh("ip", "netns", "exec", ns, "ip", "addr", "add", f"{self.ip(i)}/24", "dev", "eth0")
            sh("ip", "netns", "exec", ns, "ip", "link", "set", "eth0", "up")
            sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")

    def down(self):
        for kind, name in reversed(self.created):
            if kind == "netns":
                sh("ip", "netns", "del", name, check=False)
            elif kind == "forward":
                sh("iptables", "-D", "FORWARD", "-i", name, "-o", name, "-j", "ACCEPT",
                   check=False)
            else:
                sh("ip", "link", "del", name, check=False)
        self.created = []

    def cut(self, i, j, both=True):
        """Node i stops hearing node j (and j stops hearing i when `both`)."""
        sh("ip", "netns", "exec", self.ns(i), "iptables", "-A", "INPUT", "-s", self.ip(j), "-j",
           "DROP")
        if both:
            sh("ip", "netns", "exec", self.ns(j), "iptables", "-A", "INPUT", "-s", self.ip(i),
               "-j", "DROP")

    def heal(self):
        for i in range(1, self.nodes + 1):
            sh("ip", "netns", "exec", self.ns(i), "iptables", "-F", "INPUT", check=False)


# -- the nodes -----------------------------------------------------------------------------------

class Cluster:
    def __init__(self, net, workdir, config):
        self.net = net
        self.workdir = workdir
        self.config = config
        self.procs = {}
        self.stopped = set()  # killed on purpose: the process manager leaves them be
        self.paused = set()
        self.lock = threading.Lock()
        self.manager_restarts = 0
        self.closing = False

    def address(self, i):
        return f"{self.net.ip(i)}:{PORT}"

    def addresses(self):
        return [self.address(i) for i in range(1, self.net.nodes + 1)]

    def peer_addresses(self):
        return [f"{self.net.ip(i)}:{PEER_PORT}" for i in range(1, self.net.nodes + 1)]

    def start(self, i, wait=True):
        d = os.path.join(self.workdir, f"n{i}")
        os.makedirs(d, exist_ok=True)
        log = open(os.path.join(d, "node.log"), "ab")
        # The admin listener on the namespace's address (not its loopback), so that kvctl on
        # the host reaches it.
        args = ["ip", "netns", "exec", self.net.ns(i), KVNODE, "--id", f"n{i}", "--listen",
                self.address(i), "--admin-listen", f"{self.net.ip(i)}:{ADMIN_PORT}",
                "--data-dir", os.path.join(d, "data"), "--seeds",
                ",".join(self.peer_addresses()), "--rack", f"rack{(i - 1) % 3 + 1}", "--config",
                self.config]
        p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log)
        with self.lock:
            self.procs[i] = p
            self.stopped.discard(i)
        if wait:
            self.await_ready(i)

    def await_ready(self, i):
        """Reads the node's `ready` line, then keeps its stdout drained."""
        p = self.procs[i]
        line = p.stdout.readline().decode()
        if not line.startswith("ready"):
            raise RuntimeError(f"n{i} did not start: {line!r} (log {self.workdir}/n{i}/node.log)")
        threading.Thread(target=self._drain, args=(p,), daemon=True).start()

    @staticmethod
    def _drain(p):
        for _ in p.stdout:
            pass

    def kill(self, i):
        with self.lock:
            self.stopped.add(i)
            p = self.procs.get(i)
        if p and p.poll() is None:
            p.send_signal(signal.SIGKILL)
            p.wait()

    def pause(self, i):
        self.paused.add(i)
        self.procs[i].send_signal(signal.SIGSTOP)

    def resume(self, i):
        self.paused.discard(i)
        p = self.procs.get(i)
        if p and p.poll() is None:
            p.send_signal(signal.SIGCONT)

    def manage(self):
        """The process manager: a node that exited on its own is started again."""
        while not self.closing:
            time.sleep(0.2)
            for i in range(1, self.net.nodes + 1):
                with self.lock:
                    p = self.procs.get(i)
                    own = i in self.stopped
                if p is None or own or p.poll() is None:
                    continue
                log_fault("process-manager", [f"n{i}"], f"exited with {p.returncode}; restarted")
                self.manager_restarts += 1
                try:
                    self.start(i)
                except RuntimeError as e:
                    say(f"process manager: {e}")

    def ensure_running(self):
        for i in range(1, self.net.nodes + 1):
            if self.procs[i].poll() is not None:
                self.start(i)

    def stop_all(self):
        with self.lock:
            self.closing = True
            self.stopped.update(self.procs)
        for i, p in self.procs.items():
            if p.poll() is None:
                p.send_signal(signal.SIGCONT)
                p.send_signal(signal.SIGKILL)
                p.wait()


# -- the same, as containers of the docker-compose cluster ----------------------------------------

def docker(*args, check=True, timeout=60):
    return sh("docker", *args, check=check, timeout=timeout)


class ComposeNetwork:
    """Cuts links between containers with iptables in their network namespaces (nsenter)."""

    def __init__(self, project, nodes):
        self.project = project
        self.nodes = nodes

    def container(self, i):
        return f"{self.project}_n{i}_1"

    def ip(self, i):
        return docker("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
                      self.container(i)).stdout.strip()

    def pid(self, i):
        return docker("inspect", "-f", "{{.State.Pid}}", self.container(i)).stdout.strip()

    def up(self):
        pass

    def down(self):
        self.heal()

    def iptables(self, i, *args, check=True):
        pid = self.pid(i)
        if pid in ("", "0"):
            return None  # not running: nothing to cut or heal
        return sh("nsenter", "-t", pid, "-n", "iptables", *args, check=check)

    def cut(self, i, j, both=True):
        self.iptables(i, "-A", "INPUT", "-s", self.ip(j), "-j", "DROP")
        if both:
            self.iptables(j, "-A", "INPUT", "-s", self.ip(i), "-j", "DROP")

    def heal(self):
        for i in range(1, self.nodes + 1):
            self.iptables(i, "-F", "INPUT", check=False)


class ComposeCluster:
    """The nodes of a running docker-compose project. Docker is the process manager: a node
    that exits on its own is restarted by its restart policy."""

    def __init__(self, net, project):
        self.net = net
        self.project = project
        self.paused = set()
        self.ips = {i: net.ip(i) for i in range(1, net.nodes + 1)}

    def address(self, i):
        return f"{self.ips[i]}:{PORT}"

    def addresses(self):
        return [self.address(i) for i in range(1, self.net.nodes + 1)]

    @property
    def manager_restarts(self):
        return sum(int(docker("inspect", "-f", "{{.RestartCount}}", self.net.container(i),
                              check=False).stdout.strip() or 0)
                   for i in range(1, self.net.nodes + 1))

    def start(self, i, wait=True):
        docker("start", self.net.container(i))
        if wait:
            self.await_ready(i)

    def await_ready(self, i):
        self.ips[i] = self.net.ip(i)  # a restarted container may get another address
        if not wait_for(30, lambda: kvctl(self.address(i), "status")[0] == 0):
            raise RuntimeError(f"{self.net.container(i)} did not serve again")

    def kill(self, i):
        docker("kill", "-s", "KILL", self.net.container(i), check=False)

    def pause(self, i):
        self.paused.add(i)
        docker("pause", self.net.container(i))

    def resume(self, i):
        self.paused.discard(i)
        docker("unpause", self.net.container(i), check=False)

    def ensure_running(self):
        for i in range(1, self.net.nodes + 1):
            state = docker("inspect", "-f", "{{.State.Status}}", self.net.container(i)).stdout
            if state.strip() != "running":
                self.start(i)

    def manage(self):
        pass

    def stop_all(self):
        pass  # the project is the caller's: it brought it up, it takes it down


# -- kvctl ---------------------------------------------------------------------------------------

def kvctl(node, *args, timeout_ms=2000):
    """(exit code, parsed JSON or None)."""
    try:
        r = subprocess.run([KVCTL, "--node", node, "--json", "--timeout", str(timeout_ms)] +
                           list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=timeout_ms / 1000 + 10)
    except subprocess.TimeoutExpired:
        return 4, None
    try:
        doc = json.loads(r.stdout) if r.stdout.strip() else None
    except ValueError:
        doc = None
    return r.returncode, doc


# -- history and faults --------------------------------------------------------------------------

history_lock = threading.Lock()
history_file = None
faults_file = None
broken_context = False  # --broken context: writes leave out the context they read


def record(**event):
    event["t"] = now()
    with history_lock:
        history_file.write(json.dumps(event) + "\n")


def log_fault(fault, nodes, detail=""):
    event = {"t": now(), "fault": fault, "nodes": nodes, "detail": detail}
    with history_lock:
        faults_file.write(json.dumps(event) + "\n")
        faults_file.flush()
    say(f"FAULT {fault} {' '.join(nodes)} {detail}")


# -- workloads -----------------------------------------------------------------------------------

def elements_of(doc):
    """The union of the elements in every live sibling of a get's JSON."""
    return elements_in(live_versions(doc))


def live_versions(doc):
    """The live siblings of a get's JSON, {version: value}."""
    return {s.get("version", ""): s.get("value", "") for s in (doc or {}).get("siblings", [])
            if not s.get("deleted")}


def elements_in(siblings):
    result = set()
    for value in siblings.values():
        if value:
            result.update(value.split(","))
    return result


def live_siblings(doc):
    return sum(1 for s in (doc or {}).get("siblings", []) if not s.get("deleted"))


class Workload(threading.Thread):
    """A client: until stopped, one step (a few requests) on a random one of its keys."""

    def __init__(self, name, cluster, rng, stop, keys):
        super().__init__(daemon=True)
        self.name_ = name
        self.cluster = cluster
        self.rng = rng
        self.stop = stop
        self.keys = keys
        self.n = 0
        self.max_siblings = 0

    def run(self):
        while not self.stop.is_set():
            self.step(self.rng.choice(self.keys))

    def node(self):
        return self.rng.choice(self.cluster.addresses())

    def write(self, op, key, ns, value=None, read=None, element=None):
        """Puts (or deletes, value None) with the context of `read` (a get's JSON, or None for a
        blind write); returns ok|fail|unknown. The invocation records the versions the read saw:
        an acknowledged write with that context supersedes them."""
        args = ["put", key, value] if value is not None else ["del", key]
        args += ["--ns", ns, "--w", "2"]
        context = (read or {}).get("context")
        if context and not broken_context:
            args += ["--context", context]
        seen = [s["version"] for s in (read or {}).get("siblings", []) if s.get("version")]
        record(client=self.name_, op=op, key=key, element=element, type="invoke", seen=seen)
        code, _ = kvctl(self.node(), *args)
        # 0 ok; 2 refused as invalid (never applied); anything else may have reached a replica.
        outcome = "ok" if code == 0 else "fail" if code == 2 else "unknown"
        record(client=self.name_, op=op, key=key, element=element, type=outcome, code=code)
        return outcome

    def read(self, key, ns):
        code, doc = kvctl(self.node(), "get", key, "--ns", ns, "--r", "2")
        if code not in (0, 1):
            return None
        self.max_siblings = max(self.max_siblings, live_siblings(doc))
        return doc


class SetClient(Workload):
    """Adds unique elements to a few keys by read-modify-write through the causal context."""

    def step(self, key):
        doc = self.read(key, "sets")
        if doc is None:
            return
        self.n += 1
        element = f"{self.name_}-{self.n}"
        value = ",".join(sorted(elements_of(doc) | {element}))
        self.write("add", key, "sets", value, doc, element)


class BlindClient(Workload):
    """Writes unique values with no context, then resolves the siblings by union."""

    def step(self, key):
        self.n += 1
        element = f"{self.name_}-{self.n}"
        self.write("blind", key, "blind", element, None, element)
        doc = self.read(key, "blind")
        if doc is not None and live_siblings(doc) > 1:
            self.write("resolve", key, "blind", ",".join(sorted(elements_of(doc))), doc)


class DeleteClient(Workload):
    """Alone on its keys: re-adds a key it finds deleted, deletes it when found."""

    def step(self, key):
        doc = self.read(key, "dels")
        if doc is None:
            return
        self.n += 1
        if elements_of(doc):
            self.write("delete", key, "dels", None, doc)
        else:
            element = f"{self.name_}-{self.n}"
            self.write("add", key, "dels", element, doc, element)


# -- the nemesis ---------------------------------------------------------------------------------

class Nemesis(threading.Thread):
    def __init__(self, cluster, rng, faults, stop):
        super().__init__(daemon=True)
        self.c = cluster
        self.rng = rng
        self.faults = faults
        self.stop = stop
        self.count = 0
        self.cycle = []

    def next_fault(self):
        """Faults come in cycles: each of --faults once per cycle, in a seeded random order."""
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
                log_fault("error", [], f"{fault}: {e}")

    def kill(self):
        i = self.rng.choice(self.nodes())
        log_fault("kill", [f"n{i}"], "SIGKILL")
        self.c.kill(i)
        self.sleep(self.rng.uniform(2, 5))
        self.c.start(i)
        log_fault("restart", [f"n{i}"])

    def kill_many(self):
        ids = self.rng.sample(self.nodes(), 2)
        log_fault("kill-many", [f"n{i}" for i in ids], "SIGKILL")
        for i in ids:
            self.c.kill(i)
        self.sleep(3)
        for i in ids:
            self.c.start(i)
        log_fault("restart", [f"n{i}" for i in ids])

    def kill_all(self):
        log_fault("kill-all", [f"n{i}" for i in self.nodes()], "SIGKILL")
        for i in self.nodes():
            self.c.kill(i)
        self.sleep(2)
        for i in self.nodes():
            self.c.start(i, wait=False)
        for i in self.nodes():
            self.c.await_ready(i)
        log_fault("restart", [f"n{i}" for i in self.nodes()])

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
        log_fault("partition", [], f"{shape}: {detail}")
        self.sleep(self.rng.uniform(5, 10))
        net.heal()
        log_fault("heal", [])

    def pause(self):
        i = self.rng.choice(self.nodes())
        log_fault("pause", [f"n{i}"], "SIGSTOP")
        self.c.pause(i)
        self.sleep(self.rng.uniform(4, 6))
        self.c.resume(i)
        log_fault("resume", [f"n{i}"], "SIGCONT")

    def fail_actor(self, i, role):
        code, _ = kvctl(self.c.address(i), "fail-actor", role, "--reason", "chaos", timeout_ms=1000)
        return code

    def actor(self):
        i = self.rng.choice(self.nodes())
        role = self.rng.choice(ROLES)
        log_fault("actor", [f"n{i}"], f"{role} exit {self.fail_actor(i, role)}")

    def actor_storm(self):
        log_fault("actor-storm", [f"n{i}" for i in self.nodes()], "every 300 ms for 8 s")
        until = time.monotonic() + 8
        kills = 0
        while time.monotonic() < until and not self.stop.is_set():
            for i in self.nodes():
                self.fail_actor(i, self.rng.choice(ROLES))
                kills += 1
            self.sleep(0.3)
        log_fault("actor-storm-end", [], f"{kills} actor kills")

    def too_fast(self):
        i = self.rng.choice(self.nodes())
        before = self.c.manager_restarts
        log_fault("too-fast", [f"n{i}"], "actor kills every 20 ms until the node gives up")
        until = time.monotonic() + 15
        kills = 0
        while time.monotonic() < until and (kills % 25 or self.c.manager_restarts == before):
            self.fail_actor(i, self.rng.choice(ROLES[:-1]))
            kills += 1
            time.sleep(0.02)
        detail = "the process manager restarted it" if self.c.manager_restarts > before else \
            "it never gave up within 15 s"
        log_fault("too-fast-end", [f"n{i}"], detail)


# -- the verdict ---------------------------------------------------------------------------------

def load_history(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def analyze(events, final_reads):
    """Checks the final reads against the history. `final_reads` maps (workload, key) to the
    live siblings found, {version: value}. Returns the violation counts and details."""
    invoked, acked = {}, {}  # (workload, key) -> set of elements
    superseded = {}  # (workload, key) -> {version: op} read by an acknowledged write
    del_ops = {}  # key -> list of [op, outcome, element] in invocation order (one client per key)
    pending = {}  # client -> its invocation (a client has one request in flight at a time)
    for e in events:
        ns = "dels" if e["client"].startswith("d") else "blind" if e["client"].startswith("b") \
            else "sets"
        k = (ns, e["key"])
        if e["type"] == "invoke":
            pending[e["client"]] = e
        elif e["type"] == "ok":
            for version in pending.get(e["client"], {}).get("seen", []):
                superseded.setdefault(k, {})[version] = e["op"]
        if ns == "dels":
            if e["type"] == "invoke":
                del_ops.setdefault(e["key"], []).append([e["op"], None, e.get("element")])
            else:
                del_ops[e["key"]][-1][1] = e["type"]
            continue
        if e.get("element") is None:
            continue
        if e["type"] == "invoke":
            invoked.setdefault(k, set()).add(e["element"])
        elif e["type"] == "ok":
            acked.setdefault(k, set()).add(e["element"])
    result = {"lost": 0, "never_written": 0, "resurrected": 0, "lost_readds": 0,
              "acknowledged": sum(len(v) for v in acked.values()), "details": []}
    for (ns, key), siblings in final_reads.items():
        back = {v: superseded[(ns, key)][v] for v in siblings if v in superseded.get((ns, key), {})}
        result["resurrected"] += len(back)
        for v, op in sorted(back.items())[:5]:
            result["details"].append(f"{ns}/{key}: {siblings[v]!r} (version {v}) is back after "
                                     f"an acknowledged {op} that had read it")
        if ns == "dels":
            continue
        elements = elements_in(siblings)
        lost = acked.get((ns, key), set()) - elements
        never = elements - invoked.get((ns, key), set())
        result["lost"] += len(lost)
        result["never_written"] += len(never)
        if lost:
            result["details"].append(f"{ns}/{key}: lost {sorted(lost)[:10]}")
        if never:
            result["details"].append(f"{ns}/{key}: never written {sorted(never)[:10]}")
    for key, ops in del_ops.items():
        found = elements_in(final_reads.get(("dels", key), {}))
        # The last acknowledged operation decides, unless something was tried after it.
        last_ok = max((i for i, o in enumerate(ops) if o[1] == "ok"), default=None)
        if last_ok is None or any(o[1] != "fail" for o in ops[last_ok + 1:]):
            continue
        op, _, element = ops[last_ok]
        if op == "add" and element not in found:
            result["lost_readds"] += 1
            result["details"].append(f"dels/{key}: re-added {element} last, found {sorted(found)}")
    return result


def storms(events, faults_path):
    """For each actor storm: (seconds, operations answered, acknowledged) within it."""
    with open(faults_path) as f:
        faults = [json.loads(line) for line in f]
    result, began = [], None
    for x in faults:
        if x["fault"] == "actor-storm":
            began = x["t"]
        elif x["fault"] == "actor-storm-end" and began is not None:
            answered = [e for e in events if e["type"] != "invoke" and began <= e["t"] <= x["t"]]
            result.append((x["t"] - began, len(answered),
                           sum(1 for e in answered if e["type"] == "ok")))
            began = None
    return result


def replicas_identical(doc):
    views = []
    for r in (doc or {}).get("replicas", []):
        if not r.get("reachable") or r.get("error"):
            return False
        sib = sorted((s.get("value", ""), bool(s.get("deleted"))) for s in r.get("siblings", []))
        views.append((sib, sorted(r.get("version_vector", {}).items())))
    return len(views) >= 3 and all(v == views[0] for v in views)


def wait_for(bound, predicate, every=0.5):
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return predicate()


def hints_held(nodes):
    """Hints held on all `nodes`; a node that does not answer counts as holding one."""
    return sum(int((kvctl(n, "hints")[1] or {"hints": 1}).get("hints", 0)) for n in nodes)


def verdict(c, keys, writers, converge_s):
    nodes = c.addresses()
    say("checking: every member up on every node")
    all_up = wait_for(converge_s, lambda: all(
        (lambda doc: doc is not None and all(m.get("state") == "up" for m in doc["members"]))(
            kvctl(n, "status")[1]) for n in nodes))
    say("checking: hint queues drained")
    drained = wait_for(converge_s, lambda: hints_held(nodes) == 0)
    hints_left = sum(int((kvctl(n, "hints")[1] or {}).get("hints", 0)) for n in nodes)
    say("checking: the replicas of every key are identical")
    started = time.monotonic()
    pending = set(keys)

    def converged():
        for ns, key in list(pending):
            if replicas_identical(kvctl(nodes[0], "explain", key, "--ns", ns)[1]):
                pending.discard((ns, key))
        return not pending

    wait_for(converge_s, converged, every=1)
    converge_took = time.monotonic() - started
    say("checking: final reads at R=N")
    final, siblings_over = {}, []
    for ns, key in keys:
        for _ in range(10):
            code, doc = kvctl(nodes[0], "get", key, "--ns", ns, "--r", "3", timeout_ms=5000)
            if code in (0, 1):
                break
            time.sleep(1)
        else:
            raise RuntimeError(f"final read of {ns}/{key} failed with exit {code}")
        final[(ns, key)] = live_versions(doc)
        if live_siblings(doc) > writers[ns] + 1:
            siblings_over.append(f"{ns}/{key}: {live_siblings(doc)} siblings")
    return all_up, drained, hints_left, sorted(pending), converge_took, final, siblings_over


def run(args):
    rng = random.Random(args.seed)
    workdir = args.dir or os.path.join("/tmp", f"ringkv-chaos-{os.getpid()}")
    os.makedirs(workdir, exist_ok=True)
    global history_file, faults_file
    history_path = args.history or os.path.join(workdir, "history.jsonl")
    history_file = open(history_path, "w", buffering=1)
    faults_file = open(os.path.join(workdir, "faults.jsonl"), "w")
    config = os.path.join(workdir, "node.toml")
    with open(CONFIG) as f:
        text = f.read()
    global broken_context
    broken_context = args.broken == "context"
    if args.broken == "lww":
        text = text.replace("[namespaces.sets]\n", "[namespaces.sets]\nlww = true\n")
    with open(config, "w") as f:
        f.write(text)
    faults = [x for x in args.faults.split(",") if x]
    for x in faults:
        if x not in ALL_FAULTS:
            print(f"chaos: unknown fault '{x}' (known: {', '.join(ALL_FAULTS)})", file=sys.stderr)
            return 2
    say(f"seed {args.seed}, {args.nodes} nodes, {args.duration} s, faults {','.join(faults)}, "
        f"dir {workdir}")
    if args.compose:
        net = ComposeNetwork(args.compose, args.nodes)
        try:
            c = ComposeCluster(net, args.compose)
        except subprocess.CalledProcessError as e:
            print(f"chaos: no compose project '{args.compose}': {e.stderr.strip()}",
                  file=sys.stderr)
            return 3
    else:
        net = Network(args.nodes)
        c = Cluster(net, workdir, config)
    try:
        try:
            net.up()
        except (subprocess.CalledProcessError, OSError) as e:
            detail = e.stderr.strip() if isinstance(e, subprocess.CalledProcessError) else e
            print(f"chaos: SKIPPED: no network namespaces or bridges here ({detail})",
                  file=sys.stderr)
            return 77
        if not args.compose:
            try:
                for i in range(1, args.nodes + 1):  # ready once it reached every seed
                    c.start(i, wait=False)
                for i in range(1, args.nodes + 1):
                    c.await_ready(i)
            except (RuntimeError, OSError) as e:
                print(f"chaos: could not start the cluster: {e}", file=sys.stderr)
                return 3
            threading.Thread(target=c.manage, daemon=True).start()
        if not wait_for(30, lambda: all(
                (lambda d: d is not None and len(d["members"]) == args.nodes and
                 all(m.get("state") == "up" for m in d["members"]))(kvctl(n, "status")[1])
                for n in c.addresses())):
            print("chaos: the members did not all see each other up", file=sys.stderr)
            return 3
        say("cluster up: " + " ".join(c.addresses()))
        stop = threading.Event()
        set_keys = [f"set-{i}" for i in range(3)]
        blind_keys = [f"blind-{i}" for i in range(2)]
        clients = [SetClient(f"s{i}", c, random.Random(rng.random()), stop, set_keys)
                   for i in range(3)]
        clients += [BlindClient(f"b{i}", c, random.Random(rng.random()), stop, blind_keys)
                    for i in range(2)]
        clients += [DeleteClient(f"d{i}", c, random.Random(rng.random()), stop,
                                 [f"del-{i}-{j}" for j in range(2)]) for i in range(2)]
        for w in clients:
            w.start()
        quiet = threading.Event()  # the nemesis stops first; the workload goes on
        nemesis = Nemesis(c, random.Random(rng.random()), faults, quiet) if faults else None
        if nemesis:
            nemesis.start()
        time.sleep(args.duration)
        quiet.set()
        say("stopping the nemesis; the workload goes on while the cluster heals")
        if nemesis:
            nemesis.join(60)
        net.heal()
        for i in list(c.paused):
            c.resume(i)
        c.ensure_running()
        log_fault("healed", [], "network healed, every node running")
        # Writes taken by fallbacks during a partition are invisible to reads until their hints
        # are delivered (reads never count fallbacks), so a client could not resolve or delete
        # them yet. It goes on until the hints are in, and a few steps more.
        hints_in = wait_for(args.converge_s, lambda: hints_held(c.addresses()) == 0)
        time.sleep(SETTLE_S)
        stop.set()
        say("stopping the workload" + ("" if hints_in else
                                       f" (hints still held after {args.converge_s} s)"))
        for w in clients:
            w.join(30)
        keys = [("sets", k) for k in set_keys] + [("blind", k) for k in blind_keys] + \
            [("dels", f"del-{i}-{j}") for i in range(2) for j in range(2)]
        writers = {"sets": 3, "blind": 2, "dels": 1}
        all_up, drained, hints_left, diverged, took, final, siblings_over = verdict(
            c, keys, writers, args.converge_s)
        history_file.flush()
        events = load_history(history_path)
        result = analyze(events, final)
        storm = storms(events, os.path.join(workdir, "faults.jsonl"))
        # The workload keeps succeeding while actors die: at least one acknowledgement per
        # second of every storm (requests in flight on a killed actor may fail).
        stalled = [s for s in storm if s[2] < s[0]]
        ops = sum(1 for e in events if e["type"] != "invoke")
        oks = sum(1 for e in events if e["type"] == "ok")
        summary = {
            "seed": args.seed, "duration_s": args.duration, "faults_injected":
                nemesis.count if nemesis else 0,
            "operations": ops, "acknowledged_ops": oks,
            "acknowledged_elements": result["acknowledged"],
            "lost": result["lost"], "never_written": result["never_written"],
            "resurrected": result["resurrected"], "lost_readds": result["lost_readds"],
            "diverged": len(diverged), "converged_s": round(took, 1),
            "hints_left": hints_left, "members_up": all_up,
            "siblings_over_bound": len(siblings_over),
            "max_siblings_seen": max(w.max_siblings for w in clients),
            "process_manager_restarts": c.manager_restarts,
            "actor_storms": [{"seconds": round(a, 1), "answered": b, "acknowledged": k}
                             for a, b, k in storm],
            "storms_stalled": len(stalled),
        }
        say("verdict: " + json.dumps(summary))
        for d in result["details"][:20] + siblings_over + [f"diverged {k}" for k in diverged]:
            say("  " + d)
        with open(os.path.join(workdir, "verdict.json"), "w") as f:
            json.dump(summary, f, indent=1)
        bad = result["lost"] or result["never_written"] or result["resurrected"] or \
            result["lost_readds"] or diverged or hints_left or siblings_over or not all_up or \
            stalled
        print("chaos: " + ("VIOLATED" if bad else "OK") + f" (history {history_path})",
              flush=True)
        if args.expect:  # a broken mode: the checker must catch what it breaks
            caught = result[args.expect] > 0
            print("chaos: the checker " + ("caught" if caught else "MISSED") +
                  f" the {args.expect} elements of the broken mode", flush=True)
            return 0 if caught else 1
        return 1 if bad else 0
    finally:
        c.stop_all()
        net.down()


# Seconds the workload goes on after the hints were delivered, so that every client has read
# what the faults hid from it.
SETTLE_S = 3

# The nodes' configuration: short timers so that a few minutes see many faults heal, and the
# workloads' namespaces. The compose cluster mounts the same file (scripts/compose/).
CONFIG = os.path.join(ROOT, "scripts", "compose", "chaos.toml")



def fault(args):
    """One fault now, on a running compose project; logged like the nemesis's."""
    global faults_file
    faults_file = open(os.devnull, "w")  # the log line on stdout is the record
    net = ComposeNetwork(args.compose, args.nodes)
    c = ComposeCluster(net, args.compose)
    i = int(args.node[1:]) if args.node else random.Random(args.seed).randint(1, args.nodes)
    rng = random.Random(args.seed)
    if args.kind == "kill":
        c.kill(i)
    elif args.kind == "start":
        c.start(i)
    elif args.kind == "pause":
        c.pause(i)
    elif args.kind == "unpause":
        c.resume(i)
    elif args.kind == "actor":
        role = args.role or rng.choice(ROLES)
        code, _ = kvctl(c.address(i), "fail-actor", role, "--reason", "chaos")
        if code != 0:
            return code
        args.kind += " " + role
    elif args.kind == "heal":
        net.heal()
    elif args.kind == "partition":
        nodes = [x for x in range(1, args.nodes + 1) if x != i]
        rng.shuffle(nodes)
        if args.shape == "isolate":
            for j in nodes:
                net.cut(i, j)
        elif args.shape == "split":
            for a in (i, nodes[0]):
                for b in nodes[1:]:
                    net.cut(a, b)
        else:  # asymmetric
            net.cut(i, nodes[0], both=False)
        args.kind += " " + args.shape
    log_fault(args.kind, [f"n{i}"], "one-off")
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n".join(__doc__.split("\n")[2:]))
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="cluster + workloads + nemesis + verdict")
    r.add_argument("--nodes", type=int, default=5)
    r.add_argument("--duration", type=float, default=120, help="seconds of workload and faults")
    r.add_argument("--seed", type=int, default=int(time.time()) % 100000)
    r.add_argument("--faults", default=",".join(ALL_FAULTS), help="comma separated; '' = none")
    r.add_argument("--broken", choices=["lww", "context"],
                   help="lww: make the set namespace last-write-wins; context: write without "
                        "the context read")
    r.add_argument("--expect", choices=["lost", "resurrected"],
                   help="exit 0 only if the checker reports this violation (with --broken)")
    r.add_argument("--converge-s", type=float, default=60, help="bound for convergence checks")
    r.add_argument("--dir", help="where data, logs, history and verdict go")
    r.add_argument("--history", help="history file (default DIR/history.jsonl)")
    r.add_argument("--compose", metavar="PROJECT",
                   help="act on the running docker-compose project PROJECT (containers "
                        "PROJECT_n1_1..) instead of starting processes; its nodes must run "
                        "with the configuration of scripts/chaos-compose.yml")
    f = sub.add_parser("fault", help="one fault now, on a running docker-compose project")
    f.add_argument("kind", choices=["kill", "start", "pause", "unpause", "actor", "partition",
                                    "heal"])
    f.add_argument("node", nargs="?", help="n1..nN (default: a random one, by --seed)")
    f.add_argument("--compose", metavar="PROJECT", required=True)
    f.add_argument("--nodes", type=int, default=5)
    f.add_argument("--role", help="actor: the role to fail (default: a random one)")
    f.add_argument("--shape", choices=["isolate", "split", "asymmetric"], default="isolate",
                   help="partition: the node alone, the node and another against the rest, or "
                        "the node no longer hearing another")
    f.add_argument("--seed", type=int, default=int(time.time()) % 100000)
    args = p.parse_args()
    if args.cmd == "fault":
        return fault(args)
    # A TERM (a timeout, CTest) unwinds like an exception, so every node and namespace goes.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(3))
    if os.geteuid() != 0:
        print("chaos: SKIPPED: needs root (network namespaces and iptables)", file=sys.stderr)
        return 77
    if args.compose and subprocess.run(["docker", "info"], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL).returncode != 0:
        print("chaos: SKIPPED: no Docker engine answers (docker info)", file=sys.stderr)
        return 77
    if args.nodes < 5 and "partition" in args.faults:
        print("chaos: partitions need at least 5 nodes", file=sys.stderr)
        return 2
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
