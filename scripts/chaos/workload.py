"""The checker's workloads: logical clients, each a thread with one request in flight at a
time, that read and write a few keys through the Python client (clients/python, imported from
the source tree) and record every write in the history (record.py; checker.py says what the
events mean). Reads are not recorded: what a write's read saw is, in the write's `seen`.

  set          read at R=2, add a unique element to the union of the siblings, write it back
               with the read's context at W=2
  blind-write  write a unique element with no context, then read and merge the siblings by
               union, written back with the context
  delete/re-add  alone on its keys: delete a key found with a value, else write a new one

A write's outcome: `ok` when acknowledged; `fail` when it was certainly not applied (refused as
invalid, or no connection could be opened, so nothing was sent); `unknown` otherwise (a
Timeout or a ConnectionLost, too few replicas, an internal error): it may have been applied.

One ringkv.Client per node (Nodes), shared by the threads that pick that node, so requests
spread over every coordinator and a partition hits different ones; a node that timed out or
could not be reached is left alone for a while (suspects.py)."""

import os
import random
import sys
import threading

from . import ROOT
from .checker import elements_in
from .suspects import Suspects

# Debian's python3-protobuf (scripts/setup.sh) is installed for Debian's python3; another
# Python 3.11 (pyenv's, which CMake finds on the CI machine) does not search its directory.
DEBIAN_DIST_PACKAGES = "/usr/lib/python3/dist-packages"
sys.path.insert(0, os.path.join(ROOT, "clients", "python"))
try:
    import google.protobuf  # noqa: F401 (only: is it there?)
except ImportError:
    sys.path.append(DEBIAN_DIST_PACKAGES)
import ringkv  # noqa: E402 (after the path is set)

TIMEOUT_S = 2.0          # each request's deadline, as the node's default_timeout_ms
CONNECT_TIMEOUT_S = 1.0  # a paused node holds a connect this long
GRACE_S = 0.5
# A client pauses this long after a request that failed, so that clients facing a node that
# is down (refused at once) do not spin and starve the nodes of the CPU they share.
BACKOFF_S = 0.1


class Nodes:
    """One ringkv.Client per node of `cluster`, opened on first use. A node whose address
    changed (a restarted container) gets a new Client."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.lock = threading.Lock()
        self.clients = {}  # node -> (address, Client)
        self.suspects = Suspects()

    def count(self):
        return self.cluster.net.nodes

    def client(self, i):
        address = self.cluster.address(i)
        with self.lock:
            known, client = self.clients.get(i, (None, None))
            if known == address:
                return client
            self.clients[i] = address, ringkv.Client(
                address, timeout=TIMEOUT_S, connect_timeout=CONNECT_TIMEOUT_S, grace=GRACE_S,
                client_name="chaos")
        if client is not None:
            client.close()
        return self.clients[i][1]

    def close(self):
        with self.lock:
            clients, self.clients = self.clients, {}
        for _, client in clients.values():
            client.close()


def live_versions(result):
    """The live siblings of a get, {version: value}, as the checker takes final reads."""
    return {v.dot: v.value.decode("utf-8", "replace") for v in result.versions if not v.deleted}


def write_outcome(call):
    """Runs a write; (outcome, the error or None)."""
    try:
        call()
        return "ok", None
    except (ringkv.InvalidArgument, ringkv.TooLarge, ringkv.ConnectFailed) as e:
        return "fail", e
    except ringkv.Error as e:  # a Timeout or ConnectionLost above all: the outcome is unknown
        return "unknown", e


def node_failed(error):
    """The node itself did not answer (as opposed to answering with an error)."""
    return isinstance(error, (ringkv.Timeout, ringkv.ConnectFailed))


class Workload(threading.Thread):
    """A logical client: until stopped, one step (a few requests) on a random one of its
    keys, each request through a random node."""

    ns = None

    def __init__(self, name, nodes, rng, stop, keys, recorder, broken_context=False):
        super().__init__(daemon=True)
        self.name_ = name
        self.nodes = nodes
        self.rng = rng
        self.stop = stop
        self.keys = keys
        self.rec = recorder
        self.broken_context = broken_context  # --broken context: writes leave it out
        self.n = 0
        self.requests = 0
        self.max_siblings = 0

    def run(self):
        while not self.stop.is_set():
            self.step(self.rng.choice(self.keys))

    def node(self):
        """A random node not suspected, and its client."""
        i = self.nodes.suspects.pick(self.rng, self.nodes.count())
        return i, self.nodes.client(i)

    def failed(self, i, error):
        if node_failed(error):
            self.nodes.suspects.suspect(i)
        self.stop.wait(BACKOFF_S)

    def write(self, op, key, value=None, read=None, element=None):
        """Puts (or deletes, value None) with the context of `read` (a GetResult, or None for
        a blind write); returns the outcome. The invocation records the versions the read
        saw: an acknowledged write with that context supersedes them."""
        context = read.context if read is not None and not self.broken_context else None
        seen = [v.dot for v in read.versions] if read is not None else []
        event = {"client": self.name_, "ns": self.ns, "key": key, "op": op, "element": element}
        self.rec.op(**event, type="invoke", seen=seen)
        i, client = self.node()
        self.requests += 1
        if value is None:
            outcome, error = write_outcome(
                lambda: client.delete(key, context, ns=self.ns, w=2))
        else:
            outcome, error = write_outcome(
                lambda: client.put(key, value, context, ns=self.ns, w=2))
        self.rec.op(**event, type=outcome, error=type(error).__name__ if error else None)
        if outcome != "ok":
            self.failed(i, error)
        return outcome

    def read(self, key):
        """A GetResult at R=2, or None when the read failed."""
        self.requests += 1
        i, client = self.node()
        try:
            result = client.get(key, ns=self.ns, r=2)
        except ringkv.Error as e:
            self.failed(i, e)
            return None
        self.max_siblings = max(self.max_siblings, len(result.siblings))
        return result

    def element(self):
        self.n += 1
        return f"{self.name_}-{self.n}"


class SetClient(Workload):
    """Adds unique elements to a few keys by read-modify-write through the causal context."""

    ns = "sets"

    def step(self, key):
        read = self.read(key)
        if read is None:
            return
        element = self.element()
        value = ",".join(sorted(elements_in(live_versions(read)) | {element}))
        self.write("add", key, value, read, element)


class BlindClient(Workload):
    """Writes unique values with no context, then resolves the siblings by union."""

    ns = "blind"

    def step(self, key):
        element = self.element()
        self.write("blind", key, element, None, element)
        read = self.read(key)
        if read is not None and len(read.siblings) > 1:
            self.write("resolve", key, ",".join(sorted(elements_in(live_versions(read)))), read)


class DeleteClient(Workload):
    """Alone on its keys: re-adds a key it finds deleted, deletes it when found."""

    ns = "dels"

    def step(self, key):
        read = self.read(key)
        if read is None:
            return
        if read.found:
            self.n += 1
            self.write("delete", key, None, read)
        else:
            element = self.element()
            self.write("add", key, element, read, element)


class Workloads:
    """`groups` copies of the three workloads, each copy on keys of its own: 3 set clients
    sharing 3 keys, 2 blind-write clients sharing 2, and 2 delete/re-add clients with 2 keys
    each. A key sees the same writers whatever the number of groups (so the sibling bound
    stays), and the groups multiply the requests in flight."""

    def __init__(self, nodes, rng, stop, recorder, groups=1, broken_context=False):
        def make(kind, name, keys):
            return kind(name, nodes, random.Random(rng.random()), stop, keys, recorder,
                        broken_context)

        self.clients = []
        for g in range(groups):
            set_keys = [f"set-{g}-{i}" for i in range(3)]
            blind_keys = [f"blind-{g}-{i}" for i in range(2)]
            self.clients += [make(SetClient, f"g{g}s{i}", set_keys) for i in range(3)]
            self.clients += [make(BlindClient, f"g{g}b{i}", blind_keys) for i in range(2)]
            self.clients += [make(DeleteClient, f"g{g}d{i}", [f"del-{g}-{i}-{j}" for j in
                                                             range(2)]) for i in range(2)]

    def start(self):
        for c in self.clients:
            c.start()

    def join(self, timeout):
        for c in self.clients:
            c.join(timeout)

    def keys(self):
        """Every (ns, key) some client writes."""
        return sorted({(c.ns, k) for c in self.clients for k in c.keys})

    def writers(self):
        """{ns: clients writing each of its keys}, the sibling bound's writers."""
        result = {}
        for c in self.clients:
            result[c.ns] = max(result.get(c.ns, 0),
                               sum(1 for o in self.clients if o.ns == c.ns and c.keys[0] in o.keys))
        return result

    def requests(self):
        return sum(c.requests for c in self.clients)

    def max_siblings(self):
        return max(c.max_siblings for c in self.clients)
