"""Pure logic of the comparison: what a cell is called, the figures of one run (from kvbench's
JSON or db_bench's text output), the median across rounds, and the ratio tables (the bars of
issue 4 and the informational ringkv-vs-peer ratios). No processes, no files: everything here
is a function of its arguments, so test_compare.py covers it without a server in sight.

Latencies are in microseconds throughout, throughputs in operations per second. CPU cost is
microseconds of CPU time per operation: of every server process and the client over the
measured window (kvbench --cpu-pids), or of the whole db_bench invocation.
"""

import re
import statistics

# The systems as the tables name them. A "system" here is one column of figures: the Redis
# Cluster runs once per round but gives two systems (without and with WAIT 1), db_bench gives
# one per sync setting, ringkv one per node count and sync mode.
ECHO = "echo"
REDIS = "redis"
REDIS_AOF = "redis-aof"
REDIS_CLUSTER = "redis-cluster"
REDIS_CLUSTER_WAIT = "redis-cluster+WAIT1"
ETCD = "etcd"
DB_BENCH_NOSYNC = "db_bench sync=0"
DB_BENCH_SYNC = "db_bench sync=1"
RINGKV_1_DURABLE = "ringkv-1 sync=always"
RINGKV_1_UNSYNCED = "ringkv-1 sync=none"
RINGKV_3_DURABLE = "ringkv-3 sync=always"
RINGKV_3_UNSYNCED = "ringkv-3 sync=none"

SYSTEM_ORDER = [ECHO, REDIS, REDIS_AOF, REDIS_CLUSTER, REDIS_CLUSTER_WAIT, ETCD, DB_BENCH_NOSYNC,
                DB_BENCH_SYNC, RINGKV_1_DURABLE, RINGKV_1_UNSYNCED, RINGKV_3_DURABLE,
                RINGKV_3_UNSYNCED]
RINGKV_SYSTEMS = [RINGKV_1_DURABLE, RINGKV_1_UNSYNCED, RINGKV_3_DURABLE, RINGKV_3_UNSYNCED]

# The peers a ringkv cell is compared with in the informational table. db_bench is matched by
# durability: a synced ringkv cell against db_bench sync=1, an unsynced one against sync=0.
PEERS = [REDIS, REDIS_AOF, REDIS_CLUSTER, REDIS_CLUSTER_WAIT, ETCD]


def cell_id(system, workload, concurrency, distribution="uniform"):
    """The one key of a cell: system, workload (A, B or W), distribution and requests in flight."""
    return f"{system}|{workload}|{distribution}|{concurrency}"


def split_cell_id(cid):
    system, workload, distribution, concurrency = cid.split("|")
    return system, workload, distribution, int(concurrency)


def cell_label(system, workload, concurrency, distribution="uniform"):
    """How a cell reads in progress lines: 'ringkv-3 sync=none A zipfian@32'."""
    dist = "" if distribution == "uniform" else f" {distribution}"
    return f"{system} {workload}{dist}@{concurrency}"


# ---- one run's figures ------------------------------------------------------------------

def empty_figures():
    return {"throughput": None, "p50": None, "p95": None, "p99": None, "p999": None,
            "read_p50": None, "update_p50": None, "ops": 0, "errors": 0, "load_errors": 0,
            "error_codes": {}, "cpu_us_per_op": None, "cpu_unreadable": []}


def kvbench_figures(doc):
    """The figures of one kvbench --json document. The measured phase is at the top level
    (kvbench's schema); a nested "run" object is accepted too."""
    run = doc.get("run", doc)
    lat = run.get("latency_us", {})
    fig = empty_figures()
    fig.update(throughput=run.get("throughput"), ops=run.get("ops", 0),
               p50=lat.get("p50"), p95=lat.get("p95"), p99=lat.get("p99"),
               p999=lat.get("p999"), errors=run.get("error_count", 0),
               error_codes=dict(run.get("errors", {})))
    for op in ("read", "update"):
        part = run.get(op) or {}
        if part.get("ops", 0) > 0:
            fig[f"{op}_p50"] = part.get("latency_us", {}).get("p50")
    cpu = doc.get("cpu") or {}
    fig["cpu_us_per_op"] = cpu.get("us_per_op")
    fig["cpu_unreadable"] = list(cpu.get("unreadable", []))
    load = doc.get("load")
    if load:
        fig["load_errors"] = load.get("error_count", 0)
        fig["load_throughput"] = load.get("throughput")
    return fig


_BENCH_LINE = re.compile(
    r"^(?P<name>\w+)\s*:\s*(?P<micros>[\d.]+) micros/op (?P<rate>\d+) ops/sec"
    r"(?: (?P<seconds>[\d.]+) seconds (?P<ops>\d+) operations)?")
_SKIPPED_LINE = re.compile(r"^(?P<name>\w+)\s*:\s*skipped(?P<why>.*)$")
_HIST_HEAD = re.compile(r"^Microseconds per (?P<op>\w+):")
_COUNT_LINE = re.compile(r"^Count: (?P<count>\d+)")
_MINMAX_LINE = re.compile(r"^Min: (?P<min>[\d.]+)\s+Median: [\d.]+\s+Max: (?P<max>[\d.]+)")
_PCT_LINE = re.compile(r"^Percentiles: (?P<body>.*)$")
_BUCKET_LINE = re.compile(r"^[\[(]\s*(?P<lo>[\d.]+),\s*(?P<hi>[\d.]+)\s*\]\s+(?P<n>\d+)\s")
_VERSION_LINE = re.compile(r"^RocksDB:\s+version\s+(?P<v>\S+)")


def parse_db_bench(text):
    """db_bench's stdout as data: {"version", "assertions", "benchmarks": {name: {...}}}.

    Per benchmark: ops_per_sec, micros_per_op, seconds, ops, and per operation type ("write",
    "read") a histogram with count, min, max, the printed percentiles (P50, P75, P99, P99.9,
    P99.99 -> p50, p75, p99, p999, p9999) and the bucket lines. A benchmark db_bench skipped
    (for example fillrandom with --use_existing_db) appears with "skipped": reason.
    """
    out = {"version": None, "assertions": False, "benchmarks": {}}
    bench = hist = None
    for raw in text.splitlines():
        line = raw.split("\r")[-1].strip()  # progress output overwrites itself with \r
        if m := _VERSION_LINE.match(line):
            out["version"] = m["v"]
        elif line.startswith("WARNING: Assertions are enabled"):
            out["assertions"] = True
        elif m := _SKIPPED_LINE.match(line):
            out["benchmarks"][m["name"]] = {"skipped": m["why"].strip(" ()")}
            bench = hist = None
        elif m := _BENCH_LINE.match(line):
            bench = {"ops_per_sec": float(m["rate"]), "micros_per_op": float(m["micros"]),
                     "seconds": float(m["seconds"]) if m["seconds"] else None,
                     "ops": int(m["ops"]) if m["ops"] else None, "histograms": {}}
            out["benchmarks"][m["name"]] = bench
            hist = None
        elif bench is not None and (m := _HIST_HEAD.match(line)):
            hist = {"count": 0, "min": None, "max": None, "buckets": []}
            bench["histograms"][m["op"]] = hist
        elif hist is not None:
            _parse_histogram_line(line, hist)
    return out


def _parse_histogram_line(line, hist):
    if m := _COUNT_LINE.match(line):
        hist["count"] = int(m["count"])
    elif m := _MINMAX_LINE.match(line):
        hist["min"], hist["max"] = float(m["min"]), float(m["max"])
    elif m := _PCT_LINE.match(line):
        names = {"P50": "p50", "P75": "p75", "P99": "p99", "P99.9": "p999", "P99.99": "p9999"}
        for key, value in re.findall(r"(P[\d.]+): ([\d.]+)", m["body"]):
            if key in names:
                hist[names[key]] = float(value)
    elif m := _BUCKET_LINE.match(line):
        hist["buckets"].append((float(m["lo"]), float(m["hi"]), int(m["n"])))


def histogram_percentile(hists, q):
    """The q-th percentile (0..100) of the union of RocksDB histograms (same bucket limits),
    interpolated within a bucket exactly as RocksDB's HistogramStat::Percentile does, so one
    histogram gives back the percentile db_bench printed."""
    counts = {}
    for h in hists:
        for lo, hi, n in h["buckets"]:
            counts[(lo, hi)] = counts.get((lo, hi), 0) + n
    total = sum(counts.values())
    if total == 0:
        return None
    lowest = min(h["min"] for h in hists if h.get("min") is not None)
    highest = max(h["max"] for h in hists if h.get("max") is not None)
    threshold = total * q / 100.0
    cumulative = 0
    for (lo, hi), n in sorted(counts.items()):
        cumulative += n
        if cumulative >= threshold:
            pos = (threshold - (cumulative - n)) / n if n else 0.0
            return min(max(lo + (hi - lo) * pos, lowest), highest)
    return highest


def cpu_per_op(cpu_s, ops):
    """Microseconds of CPU per operation, or None without a CPU time or operations."""
    return cpu_s / ops * 1e6 if cpu_s is not None and ops else None


def db_bench_figures(parsed, benchmark, cpu_s=None):
    """The figures of one benchmark of a parsed db_bench run, in kvbench's terms: throughput,
    percentiles over every operation (reads and writes merged), and read/update p50. cpu_s:
    the CPU time of the invocation that ran it, spread over its operations."""
    fig = empty_figures()
    bench = parsed["benchmarks"].get(benchmark)
    if bench is None or "skipped" in bench:
        return None
    hists = [h for h in bench["histograms"].values() if h["buckets"]]
    fig["throughput"] = bench["ops_per_sec"]
    fig["ops"] = bench["ops"] or sum(h["count"] for h in bench["histograms"].values())
    for key, q in (("p50", 50), ("p95", 95), ("p99", 99), ("p999", 99.9)):
        fig[key] = histogram_percentile(hists, q) if hists else None
    if "read" in bench["histograms"]:
        fig["read_p50"] = bench["histograms"]["read"].get("p50")
    if "write" in bench["histograms"]:
        fig["update_p50"] = bench["histograms"]["write"].get("p50")
    fig["cpu_us_per_op"] = cpu_per_op(cpu_s, fig["ops"])
    return fig


# ---- medians across rounds --------------------------------------------------------------

def median_of_runs(runs):
    """The reported figures of a cell from its runs (one per round; a failed run has
    figures None). Throughput is the median of the successful runs' throughputs; the
    latencies are those of the median run (for an even count, the lower middle one). Errors
    of every round are kept visible: errors_any counts them all, failed counts runs that
    gave no figures. CPU per operation is the median run's too, so it describes the same
    run as the latencies. None when no run succeeded."""
    good = [r for r in runs if r.get("figures") and r["figures"].get("throughput") is not None]
    if not good:
        return None
    good.sort(key=lambda r: r["figures"]["throughput"])
    pick = good[(len(good) - 1) // 2]
    med = dict(pick["figures"])
    med["throughput"] = statistics.median(r["figures"]["throughput"] for r in good)
    med["median_round"] = pick.get("round")
    med["rounds"] = [r["figures"]["throughput"] if r.get("figures") else None for r in runs]
    med["failed"] = len(runs) - len(good)
    med["errors_any"] = sum((r["figures"] or {}).get("errors", 0) +
                            (r["figures"] or {}).get("load_errors", 0) for r in good)
    med["flagged"] = med["errors_any"] > 0 or med["failed"] > 0
    return med


# ---- ratio tables -----------------------------------------------------------------------

def _bar(number, title, num, den, op, target, num_metric="throughput", den_metric=None):
    return {"bar": number, "title": title, "num": num, "den": den, "op": op,
            "target": target, "num_metric": num_metric, "den_metric": den_metric or num_metric}


def bar_definitions(ringkv_cells_at_32):
    """Issue 4's bars as (numerator cell, denominator cell, metric, comparison, target).
    ringkv_cells_at_32: the ringkv cell ids at 32 in flight, each of which gets bar 6."""
    r3n, r3a, r1a, rcw = RINGKV_3_UNSYNCED, RINGKV_3_DURABLE, RINGKV_1_DURABLE, REDIS_CLUSTER_WAIT
    bars = [
        _bar("1", "ringkv-3 unsynced A@32 / Redis Cluster + WAIT 1 A@32 (ops/s)",
             cell_id(r3n, "A", 32), cell_id(rcw, "A", 32), ">=", 0.5),
        _bar("2", "ringkv-3 unsynced B@32 / Redis Cluster + WAIT 1 B@32 (ops/s)",
             cell_id(r3n, "B", 32), cell_id(rcw, "B", 32), ">=", 0.35),
        _bar("3", "ringkv-1 durable 100% puts @32 / db_bench fillrandom sync=1 threads=32 (ops/s)",
             cell_id(r1a, "W", 32), cell_id(DB_BENCH_SYNC, "W", 32), ">=", 0.7),
        _bar("4", "ringkv-3 durable A@32 / etcd A@32 (ops/s)",
             cell_id(r3a, "A", 32), cell_id(ETCD, "A", 32), ">=", 4),
        _bar("5", "ringkv-3 unsynced put p50 (A@1) / echo put p50 @1",
             cell_id(r3n, "A", 1), cell_id(ECHO, "A", 1), "<=", 3, "update_p50"),
        _bar("5", "ringkv-3 durable put p50 (A@1) / echo put p50 @1",
             cell_id(r3a, "A", 1), cell_id(ECHO, "A", 1), "<=", 3, "update_p50"),
    ]
    for cid in ringkv_cells_at_32:
        system, workload, dist, conc = split_cell_id(cid)
        bars.append(_bar("6", f"{cell_label(system, workload, conc, dist)}: p99.9 / p50",
                         cid, cid, "<=", 10, "p999", "p50"))
    bars += [
        _bar("7", "ringkv-3 unsynced A zipfian@32 / A uniform@32 (ops/s)",
             cell_id(r3n, "A", 32, "zipfian"), cell_id(r3n, "A", 32), ">=", 0.9),
        _bar("8", "ringkv-3 unsynced A@64 / A@32 (ops/s)",
             cell_id(r3n, "A", 64), cell_id(r3n, "A", 32), ">=", 0.9),
    ]
    return bars


def evaluate_bars(medians):
    """Each bar with its two figures, the ratio and PASS / MISS (n/a when a figure is missing).
    medians: cell id -> median figures (or None). A bar that used a flagged cell (errors, or a
    failed round) says so in "flagged"."""
    at_32 = sorted(cid for cid in medians
                   if split_cell_id(cid)[0] in RINGKV_SYSTEMS and split_cell_id(cid)[3] == 32)
    rows = []
    for bar in bar_definitions(at_32):
        num_cell, den_cell = medians.get(bar["num"]), medians.get(bar["den"])
        num = num_cell.get(bar["num_metric"]) if num_cell else None
        den = den_cell.get(bar["den_metric"]) if den_cell else None
        ratio = num / den if num is not None and den else None
        if ratio is None:
            verdict = "n/a"
        elif bar["op"] == ">=":
            verdict = "PASS" if ratio >= bar["target"] else "MISS"
        else:
            verdict = "PASS" if ratio <= bar["target"] else "MISS"
        flagged = any(c and c.get("flagged") for c in (num_cell, den_cell))
        rows.append(dict(bar, num_value=num, den_value=den, ratio=ratio, verdict=verdict,
                         flagged=flagged))
    return rows


def peer_ratios(medians):
    """Informational: each ringkv cell's throughput over the same cell (workload,
    distribution, in flight) of every peer that has it. Rows of
    {"cell": id, "ratios": {peer: ratio or None}}; peers include the db_bench run of the same
    durability."""
    rows = []
    for cid in sorted(medians, key=_ringkv_sort_key):
        system, workload, dist, conc = split_cell_id(cid)
        mine = medians[cid]
        if system not in RINGKV_SYSTEMS or not mine:
            continue
        db_bench = DB_BENCH_SYNC if system.endswith("always") else DB_BENCH_NOSYNC
        ratios = {}
        for peer in PEERS + [db_bench]:
            other = medians.get(cell_id(peer, workload, conc, dist))
            if other and other.get("throughput"):
                ratios["db_bench" if peer == db_bench else peer] = (
                    mine["throughput"] / other["throughput"])
        rows.append({"cell": cid, "ratios": ratios})
    return rows


def _ringkv_sort_key(cid):
    system, workload, dist, conc = split_cell_id(cid)
    rank = SYSTEM_ORDER.index(system) if system in SYSTEM_ORDER else len(SYSTEM_ORDER)
    return (rank, workload, dist != "uniform", conc)


def sort_cells(cids):
    """Cell ids in table order: by system, then workload, distribution, in flight."""
    return sorted(cids, key=_ringkv_sort_key)


# ---- formatting -------------------------------------------------------------------------

def fmt_rate(value):
    return "-" if value is None else f"{value:,.0f}"


def fmt_latency(us):
    """Microseconds for humans: '27.1 µs', '312 µs', '3.06 ms', '1.20 s'."""
    if us is None:
        return "-"
    if us < 100:
        return f"{us:.1f} µs"
    if us < 1000:
        return f"{us:.0f} µs"
    if us < 1_000_000:
        return f"{us / 1000:.2f} ms"
    return f"{us / 1e6:.2f} s"


def fmt_cpu(us):
    """CPU microseconds per operation, three significant digits: '6.45', '46.2', '1,210'."""
    if us is None:
        return "-"
    if us < 10:
        return f"{us:.2f}"
    if us < 100:
        return f"{us:.1f}"
    return f"{us:,.0f}"


def fmt_ratio(value):
    if value is None:
        return "-"
    return f"{value:.2f}x" if value < 100 else f"{value:.0f}x"
