"""The chaos checker: pure functions from what a run observed to a verdict. No I/O, no
processes, no clock: run.py gathers the observations (the history, the final reads, what the
replicas hold, the faults) and hands them here; test_checker.py feeds hand-written ones.

The history is a list of events, as workload.py records them:
  {"client": "s0", "ns": "sets", "key": "set-1", "op": "add", "element": "s0-7",
   "type": "invoke", "seen": ["n1.kq3x9a:4", ...], "t": 12.345}
  {"client": "s0", "ns": "sets", "key": "set-1", "op": "add", "element": "s0-7",
   "type": "ok" | "fail" | "unknown", "t": 12.351}
A client has one operation in flight at a time, so an outcome answers its client's last
invocation. `seen` lists the versions (dots) that the read before the write returned,
tombstones included: an acknowledged write with that read's context supersedes them all.
`fail` is certainly not applied. `unknown` (a timeout, a dropped connection, too few replicas)
may or may not have been applied: what it wrote is never counted as lost, and never as
"never written" either.

A final read maps (ns, key) to the live siblings found, {version: value}; a value holds its
elements comma separated.
"""

# The counts of a summary that are violations when non-zero (or false, for members_up).
VIOLATIONS = ("lost", "never_written", "resurrected", "lost_readds", "diverged", "hints_left",
              "siblings_over_bound", "storms_stalled")


def elements_in(siblings):
    """The union of the elements of every sibling in {version: value}."""
    result = set()
    for value in siblings.values():
        if value:
            result.update(value.split(","))
    return result


def analyze(events, final_reads):
    """Checks the final reads against the history: lost acknowledged elements, elements never
    written, superseded versions that came back, and lost re-adds. Returns the counts,
    "acknowledged" (elements) and "details" (lines for people)."""
    invoked, acked = {}, {}  # (ns, key) -> elements
    superseded = {}  # (ns, key) -> {version: the op of an acknowledged write that read it}
    del_ops = {}  # key -> [[op, outcome, element], ...] in invocation order (one client per key)
    pending = {}  # client -> its invocation in flight
    for e in events:
        k = (e["ns"], e["key"])
        if e["type"] == "invoke":
            pending[e["client"]] = e
        elif e["type"] == "ok":
            for version in pending.get(e["client"], {}).get("seen", []):
                superseded.setdefault(k, {})[version] = e["op"]
        if e["ns"] == "dels":
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
    for (ns, key), siblings in sorted(final_reads.items()):
        _check_resurrected(result, ns, key, siblings, superseded.get((ns, key), {}))
        if ns != "dels":
            _check_elements(result, ns, key, elements_in(siblings),
                            acked.get((ns, key), set()), invoked.get((ns, key), set()))
    for key, ops in sorted(del_ops.items()):
        _check_readd(result, key, ops, elements_in(final_reads.get(("dels", key), {})))
    return result


def _check_resurrected(result, ns, key, siblings, superseded):
    back = {v: superseded[v] for v in siblings if v in superseded}
    result["resurrected"] += len(back)
    for v, op in sorted(back.items())[:5]:
        result["details"].append(f"{ns}/{key}: {siblings[v]!r} (version {v}) is back after "
                                 f"an acknowledged {op} that had read it")


def _check_elements(result, ns, key, found, acked, invoked):
    lost, never = acked - found, found - invoked
    result["lost"] += len(lost)
    result["never_written"] += len(never)
    if lost:
        result["details"].append(f"{ns}/{key}: lost {sorted(lost)[:10]}")
    if never:
        result["details"].append(f"{ns}/{key}: never written {sorted(never)[:10]}")


def _check_readd(result, key, ops, found):
    """The last acknowledged operation on a key decides what it holds, unless something that
    may have been applied (anything but a failure) was tried after it."""
    last_ok = max((i for i, o in enumerate(ops) if o[1] == "ok"), default=None)
    if last_ok is None or any(o[1] != "fail" for o in ops[last_ok + 1:]):
        return
    op, _, element = ops[last_ok]
    if op == "add" and element not in found:
        result["lost_readds"] += 1
        result["details"].append(f"dels/{key}: re-added {element} last, found {sorted(found)}")


def siblings_over_bound(final_reads, writers):
    """Keys holding more live siblings than their namespace's concurrent writers + 1 (each
    writer's unresolved write, and one value they all resolved to). `writers`: {ns: count}."""
    return [f"{ns}/{key}: {len(siblings)} siblings"
            for (ns, key), siblings in sorted(final_reads.items())
            if len(siblings) > writers[ns] + 1]


def storms(events, faults):
    """For each actor storm in `faults` (faults.jsonl's events): (seconds, operations answered,
    acknowledged) within it."""
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


def stalled(storm_counts):
    """Storms during which the workload got less than one acknowledgement a second (requests
    in flight on a killed actor may fail, but the workload must keep succeeding)."""
    return [s for s in storm_counts if s[2] < s[0]]


def throughput(events):
    """Operations answered (ok, fail or unknown) and acknowledged, over the seconds from the
    first event to the last: the rate the workload pushed."""
    answered = [e for e in events if e["type"] != "invoke"]
    seconds = events[-1]["t"] - events[0]["t"] if events else 0.0
    return {"operations": len(answered),
            "acknowledged_ops": sum(1 for e in answered if e["type"] == "ok"),
            "workload_s": round(seconds, 1),
            "ops_per_s": round(len(answered) / seconds, 1) if seconds > 0 else 0.0}


def replicas_identical(explain):
    """Whether every replica of a key holds the same siblings and version vector, from
    `kvctl explain --json`; a replica that could not be read differs."""
    views = []
    for r in (explain or {}).get("replicas", []):
        if not r.get("reachable") or r.get("error"):
            return False
        sib = sorted((s.get("value", ""), bool(s.get("deleted"))) for s in r.get("siblings", []))
        views.append((sib, sorted(r.get("version_vector", {}).items())))
    return len(views) >= 3 and all(v == views[0] for v in views)


def violations(summary):
    """The names of the invariants a run's summary violates; empty when it held."""
    bad = [name for name in VIOLATIONS if summary.get(name)]
    if not summary.get("members_up", True):
        bad.append("members_up")
    return bad
