"""The operator's side of a run, through kvctl: status, hints, explain and fail-actor. They
are rare next to the workload's requests, and kvctl reaches the admin listener by itself (the
client port + 200, where cluster.py starts it)."""

import json
import os
import subprocess

from . import BIN

KVCTL = os.path.join(BIN, "kvctl")


def kvctl(node, *args, timeout_ms=2000):
    """(exit code, parsed JSON or None). `node` is the client address; an exit 4 (timed out)
    also stands for a kvctl that did not end in time."""
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


def members_up(node, count=None):
    """Whether `node` answers and sees every member it knows up (and knows `count` of them)."""
    doc = kvctl(node, "status")[1]
    return doc is not None and (count is None or len(doc["members"]) == count) and \
        all(m.get("state") == "up" for m in doc["members"])


def hints_held(nodes, unanswered=1):
    """Hints held on all `nodes`; a node that does not answer counts as `unanswered`."""
    return sum(int((kvctl(n, "hints")[1] or {"hints": unanswered}).get("hints", 0))
               for n in nodes)


def explain(node, ns, key):
    """What every replica of the key holds (kvctl explain --json), or None."""
    return kvctl(node, "explain", key, "--ns", ns)[1]


def fail_actor(node, role, timeout_ms=1000):
    """Makes the actor registered as `role` fail on `node`; kvctl's exit code."""
    return kvctl(node, "fail-actor", role, "--reason", "chaos", timeout_ms=timeout_ms)[0]
