"""One chaos run, from an empty directory to a verdict:

  start the cluster -> workloads + nemesis for --duration -> nemesis stops, everything heals,
  the workloads go on until the hints are in (+ SETTLE_S) -> workloads stop -> wait, within
  --converge-s, for members up, hints drained and identical replicas -> final reads at R=N
  -> checker.py's verdict

This module does the I/O (processes, files, requests); the counting is checker.py's."""

import json
import os
import random
import subprocess
import sys
import threading
import time

from . import ROOT, admin, checker
from .cluster import Cluster, ComposeCluster, ComposeNetwork, Network, wait_for
from .nemesis import FAULTS, Nemesis
from .record import Recorder
from .workload import Nodes, Workloads, live_versions, ringkv

# Seconds the workload goes on after the hints were delivered, so that every client has read
# what the faults hid from it.
SETTLE_S = 3

# The nodes' configuration: short timers so that a few minutes see many faults heal, and the
# workloads' namespaces. The compose cluster mounts the same file (scripts/compose/).
CONFIG = os.path.join(ROOT, "scripts", "compose", "chaos.toml")


def node_config(workdir, broken, sync="always"):
    """Writes the nodes' configuration into `workdir`; --broken lww makes sets last-write-wins,
    --sync none makes the nodes acknowledge before the fsync (their replicas then run on the
    scheduler, and their hints are synced by a syncer thread: actors/replica.hpp)."""
    with open(CONFIG) as f:
        text = f.read()
    if sync != "always":
        text = f'sync = "{sync}"\n' + text
    if broken == "lww":
        text = text.replace("[namespaces.sets]\n", "[namespaces.sets]\nlww = true\n")
    path = os.path.join(workdir, "node.toml")
    with open(path, "w") as f:
        f.write(text)
    return path


def run(args):
    faults = [x for x in args.faults.split(",") if x]
    unknown = [x for x in faults if x not in FAULTS]
    if unknown:
        print(f"chaos: unknown fault '{unknown[0]}' (known: {', '.join(FAULTS)})",
              file=sys.stderr)
        return 2
    if args.compose and args.sync != "always":
        print("chaos: --sync applies to the nodes chaos.py starts, not to a compose project",
              file=sys.stderr)
        return 2
    workdir = args.dir or os.path.join("/tmp", f"ringkv-chaos-{os.getpid()}")
    os.makedirs(workdir, exist_ok=True)
    history_path = args.history or os.path.join(workdir, "history.jsonl")
    # Buffered: 42 clients writing a line per event would queue on the Recorder's lock behind a
    # write(2) each. The run flushes it before reading it back.
    rec = Recorder(open(history_path, "w", buffering=1 << 16),
                   open(os.path.join(workdir, "faults.jsonl"), "w"))
    config = node_config(workdir, args.broken, args.sync)
    rec.say(f"seed {args.seed}, {args.nodes} nodes, {args.duration} s, faults "
            f"{','.join(faults)}, dir {workdir}")
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
        c = Cluster(net, workdir, config, rec)
    nodes = Nodes(c)
    try:
        code = start(args, net, c, rec)
        if code:
            return code
        return run_started(args, c, nodes, faults, rec, workdir, history_path)
    finally:
        nodes.close()
        c.stop_all()
        net.down()
        rec.close()


def start(args, net, c, rec):
    """Brings the network and the cluster up; 0, or the exit code of the failure."""
    try:
        net.up()
    except (subprocess.CalledProcessError, OSError) as e:
        detail = e.stderr.strip() if isinstance(e, subprocess.CalledProcessError) else e
        print(f"chaos: SKIPPED: no network namespaces or bridges here ({detail})",
              file=sys.stderr)
        return 77
    if not args.compose:
        c.clear()
        try:
            for i in range(1, args.nodes + 1):  # ready once it reached every seed
                c.start(i, wait=False)
            for i in range(1, args.nodes + 1):
                c.await_ready(i)
        except (RuntimeError, OSError) as e:
            print(f"chaos: could not start the cluster: {e}", file=sys.stderr)
            return 3
        threading.Thread(target=c.manage, daemon=True).start()
    if not wait_for(30, lambda: all(admin.members_up(n, args.nodes) for n in c.addresses())):
        print("chaos: the members did not all see each other up", file=sys.stderr)
        return 3
    rec.say("cluster up: " + " ".join(c.addresses()))
    return 0


def run_started(args, c, nodes, faults, rec, workdir, history_path):
    rng = random.Random(args.seed)
    # The nemesis draws first, so that a seed gives the same faults whatever --groups.
    quiet = threading.Event()  # the nemesis stops first; the workload goes on
    nemesis = Nemesis(c, random.Random(rng.random()), faults, quiet, rec) if faults else None
    stop = threading.Event()
    workloads = Workloads(nodes, rng, stop, rec, args.groups,
                          broken_context=args.broken == "context")
    workloads.start()
    if nemesis:
        nemesis.start()
    time.sleep(args.duration)
    quiet.set()
    rec.say("stopping the nemesis; the workload goes on while the cluster heals")
    if nemesis:
        nemesis.join(60)
    heal(c, rec)
    # Writes taken by fallbacks during a partition are invisible to reads until their hints
    # are delivered (reads never count fallbacks), so a client could not resolve or delete
    # them yet. It goes on until the hints are in, and a few steps more.
    hints_in = wait_for(args.converge_s, lambda: admin.hints_held(c.addresses()) == 0)
    time.sleep(SETTLE_S)
    stop.set()
    rec.say("stopping the workload" + ("" if hints_in else
                                       f" (hints still held after {args.converge_s} s)"))
    workloads.join(30)
    seen = observe(c, nodes, workloads.keys(), args.converge_s, rec)
    rec.history.flush()
    with open(history_path) as f:
        events = [json.loads(line) for line in f]
    with open(os.path.join(workdir, "faults.jsonl")) as f:
        fault_events = [json.loads(line) for line in f]
    summary, details = judge(events, fault_events, seen, workloads, args,
                             nemesis.count if nemesis else 0, c.manager_restarts)
    rec.say(f"workload: {summary['operations']} operations in {summary['workload_s']} s, "
            f"{summary['ops_per_s']} ops/s ({summary['requests_per_s']} requests/s with the "
            "reads)")
    rec.say("verdict: " + json.dumps(summary))
    for d in details:
        rec.say("  " + d)
    with open(os.path.join(workdir, "verdict.json"), "w") as f:
        json.dump(summary, f, indent=1)
    bad = checker.violations(summary)
    print("chaos: " + (f"VIOLATED ({', '.join(bad)})" if bad else "OK") +
          f" (history {history_path})", flush=True)
    if args.expect:  # a broken mode: the checker must catch what it breaks
        caught = summary[args.expect] > 0
        print("chaos: the checker " + ("caught" if caught else "MISSED") +
              f" the {args.expect} elements of the broken mode", flush=True)
        return 0 if caught else 1
    return 1 if bad else 0


def heal(c, rec):
    c.net.heal()
    for i in list(c.paused):
        c.resume(i)
    c.ensure_running()
    rec.fault("healed", [], "network healed, every node running")


def observe(c, nodes, keys, converge_s, rec):
    """Waits, within `converge_s` each, for every member up everywhere, no hints left and the
    replicas of every key identical; then reads every key at R=3 through n1."""
    addresses = c.addresses()
    rec.say("checking: every member up on every node")
    all_up = wait_for(converge_s, lambda: all(admin.members_up(n) for n in addresses))
    rec.say("checking: hint queues drained")
    wait_for(converge_s, lambda: admin.hints_held(addresses) == 0)
    hints_left = admin.hints_held(addresses, unanswered=0)
    rec.say("checking: the replicas of every key are identical")
    started = time.monotonic()
    pending = set(keys)

    def converged():
        for ns, key in list(pending):
            if checker.replicas_identical(admin.explain(addresses[0], ns, key)):
                pending.discard((ns, key))
        return not pending

    wait_for(converge_s, converged, every=1)
    took = time.monotonic() - started
    rec.say("checking: final reads at R=N")
    final = {(ns, key): live_versions(final_read(nodes.client(1), ns, key)) for ns, key in keys}
    return {"members_up": all_up, "hints_left": hints_left, "diverged": sorted(pending),
            "converged_s": took, "final": final}


def final_read(client, ns, key):
    for _ in range(10):
        try:
            return client.get(key, ns=ns, r=3, timeout=5.0)
        except ringkv.Error as e:
            error = e
            time.sleep(1)
    raise RuntimeError(f"final read of {ns}/{key} failed: {error}")


def judge(events, fault_events, seen, workloads, args, faults_injected, restarts):
    """The summary (verdict.json) and the detail lines, from what the run observed."""
    result = checker.analyze(events, seen["final"])
    over = checker.siblings_over_bound(seen["final"], workloads.writers())
    storm = checker.storms(events, fault_events)
    rate = checker.throughput(events)
    requests = workloads.requests()
    summary = {
        "seed": args.seed, "duration_s": args.duration, "faults_injected": faults_injected,
        **rate,
        "requests": requests,
        "requests_per_s": round(requests / rate["workload_s"], 1) if rate["workload_s"] else 0,
        "acknowledged_elements": result["acknowledged"],
        "lost": result["lost"], "never_written": result["never_written"],
        "resurrected": result["resurrected"], "lost_readds": result["lost_readds"],
        "diverged": len(seen["diverged"]), "converged_s": round(seen["converged_s"], 1),
        "hints_left": seen["hints_left"], "members_up": seen["members_up"],
        "siblings_over_bound": len(over),
        "max_siblings_seen": workloads.max_siblings(),
        "process_manager_restarts": restarts,
        "actor_storms": [{"seconds": round(a, 1), "answered": b, "acknowledged": k}
                         for a, b, k in storm],
        "storms_stalled": len(checker.stalled(storm)),
    }
    details = result["details"][:20] + over + [f"diverged {k}" for k in seen["diverged"]]
    return summary, details
