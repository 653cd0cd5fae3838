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
three workloads write (set, blind-write, delete/re-add) through the Python client, the nemesis
injects faults drawn from --faults with the seed: every fault is logged with a timestamp
(faults.jsonl and stdout). When --duration has passed the faults stop and everything heals
while the workloads go on, until the hint queues have drained and a few seconds more (clients
then see what partitions hid from them and resolve it, as a real client would); then it waits
for the cluster to converge, reads every key at R=N and asks every replica (kvctl explain),
and prints the workload's ops/s and the verdict: exit 0 when no invariant was violated, 1 when
one was, 2 on bad usage, 3 when the cluster could not be started, 77 (skipped) without root or
network namespaces.

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
test.sh brings one up and down): docker kill / start, docker pause / unpause, iptables in the
containers' network namespaces (nsenter), and Docker's restart policy as the process manager.

The package scripts/chaos/ holds the parts (its __init__.py lists them); the checker is
chaos/checker.py, and its tests run from scripts/ with python3 -m unittest -q chaos.test_checker.

Needs root (network namespaces, iptables), the binaries in build/bin (or $KV_BIN_DIR), and
protobuf for Python (Debian's python3-protobuf: scripts/setup.sh installs it). Every process it
starts is killed by PID and every namespace removed when it ends.
"""

import argparse
import os
import random
import signal
import subprocess
import sys
import time

from . import admin
from .nemesis import FAULTS, ROLES
from .record import Recorder

# Copies of the workloads (7 clients each, one request in flight per client): enough requests
# in flight for the nodes' group commit, as a real application's many clients would send.
GROUPS = 6


def fault(args):
    """One fault now, on a running compose project; logged like the nemesis's (stdout)."""
    from .cluster import ComposeCluster, ComposeNetwork
    rec = Recorder()
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
        code = admin.fail_actor(c.address(i), role, timeout_ms=2000)
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
    rec.fault(args.kind, [f"n{i}"], "one-off")
    return 0


def parser():
    p = argparse.ArgumentParser(prog="chaos.py", description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n".join(__doc__.split("\n")[2:]))
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="cluster + workloads + nemesis + verdict")
    r.add_argument("--nodes", type=int, default=5)
    r.add_argument("--duration", type=float, default=120, help="seconds of workload and faults")
    r.add_argument("--seed", type=int, default=int(time.time()) % 100000)
    r.add_argument("--faults", default=",".join(FAULTS), help="comma separated; '' = none")
    r.add_argument("--broken", choices=["lww", "context"],
                   help="lww: make the set namespace last-write-wins; context: write without "
                        "the context read")
    r.add_argument("--expect", choices=["lost", "resurrected"],
                   help="exit 0 only if the checker reports this violation (with --broken)")
    r.add_argument("--groups", type=int, default=GROUPS,
                   help="copies of the three workloads, each on keys of its own (default "
                        f"{GROUPS}: {GROUPS * 7} clients)")
    r.add_argument("--converge-s", type=float, default=60, help="bound for convergence checks")
    r.add_argument("--sync", choices=["always", "none"], default="always",
                   help="the nodes' --sync (none: no fsync before the ack; a process crash "
                        "still loses nothing)")
    r.add_argument("--dir", help="where data, logs, history and verdict go")
    r.add_argument("--history", help="history file (default DIR/history.jsonl)")
    r.add_argument("--compose", metavar="PROJECT",
                   help="act on the running docker-compose project PROJECT (containers "
                        "PROJECT_n1_1..) instead of starting processes; its nodes must run "
                        "with scripts/compose/chaos.toml (scripts/compose/chaos.override.yml)")
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
    return p


def main(argv=None):
    args = parser().parse_args(argv)
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
    try:
        from .run import run
    except ImportError as e:  # protobuf, most likely: the client needs it
        print(f"chaos: cannot load the Python client ({e}); scripts/setup.sh installs "
              "python3-protobuf", file=sys.stderr)
        return 3
    return run(args)
