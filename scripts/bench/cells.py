"""A cell is one measured configuration: a system, a workload, a key distribution and a number
of requests in flight. This module runs one cell once (one round): kvbench against a server,
or db_bench in-process, and turns what it printed into a run record:

    {"round", "ok", "rc", "seconds", "figures" (results.empty_figures() shape, or None),
     "raw" (kvbench's JSON / db_bench's parsed output), "error", "argv"}
"""

import hashlib
import json
import resource
import shutil
import time
from dataclasses import dataclass, field

import results
from procs import tail


@dataclass
class Cell:
    system: str
    workload: str  # A, B, or W (100 % updates; db_bench fillrandom)
    concurrency: int  # requests in flight (db_bench: threads)
    distribution: str = "uniform"
    extra: dict = field(default_factory=dict)  # how the system runs it (namespace, WAIT, ...)
    skip: str = ""  # why this cell cannot run here, if it cannot

    @property
    def id(self):
        return results.cell_id(self.system, self.workload, self.concurrency, self.distribution)

    @property
    def label(self):
        return results.cell_label(self.system, self.workload, self.concurrency,
                                  self.distribution)

    @property
    def slug(self):
        text = f"{self.system}-{self.workload}-{self.distribution}-{self.concurrency}"
        return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)


@dataclass
class Settings:
    rounds: int = 3
    duration: float = 10.0
    warmup: float = 2.0
    records: int = 100_000
    key_size: int = 16
    value_size: int = 1024
    load_concurrency: int = 32
    quick: bool = False


def failed(round_no, argv, error, rc=None, seconds=0.0, raw=None):
    return {"round": round_no, "ok": False, "rc": rc, "seconds": round(seconds, 1),
            "figures": None, "raw": raw, "error": error, "argv": argv}


def load_budget_s(settings):
    """Seconds a load phase may take before the cell is given up (a slow durable peer at one
    request in flight manages a few hundred writes a second)."""
    return 120 + settings.records / 250


def kvbench_argv(kvbench, settings, features, cell, target_args, json_path, load=True,
                 server_pids=()):
    """kvbench's command line for one run of `cell`. server_pids: the processes of the system
    under test, whose CPU time kvbench counts (--cpu-pids) when it can."""
    s = settings
    argv = [str(kvbench), *target_args, "--workload", cell.workload,
            "--distribution", cell.distribution, "--concurrency", str(cell.concurrency),
            "--records", str(s.records), "--key-size", str(s.key_size),
            "--value-size", str(s.value_size), "--warmup", str(s.warmup),
            "--duration", str(s.duration), "--json", str(json_path)]
    if not load:
        argv.append("--no-load")
    elif features.load_concurrency:
        argv += ["--load-concurrency", str(s.load_concurrency)]
    if features.cpu_pids and server_pids:
        argv += ["--cpu-pids", ",".join(str(p) for p in server_pids)]
    if features.key_prefix:
        argv += ["--key-prefix", key_prefix_of(cell)]
    return argv


def key_prefix_of(cell):
    """The keys of `cell`: its own, so that its load writes no key an earlier cell of the same
    server wrote. On ringkv such a blind write adds a sibling, and every later cell measured
    ever larger objects: three A@32 runs on one 3-node cluster gave 10.1k, 7.8k and 6.9k ops/s
    (issue 16)."""
    return "c" + hashlib.sha1(cell.id.encode()).hexdigest()[:6]


def run_kvbench(ctx, cell, round_no, target_args, load=True, server_pids=()):
    """One kvbench run of `cell` against a running server. Every cell loads its own records
    (load=True) with --load-concurrency requests in flight, so no cell depends on data
    another one wrote."""
    s = ctx.settings
    where = ctx.dir(f"round-{round_no}", "cells")
    json_path, log_path = where / f"{cell.slug}.json", where / f"{cell.slug}.log"
    argv = kvbench_argv(ctx.bins["kvbench"], s, ctx.features, cell, target_args, json_path,
                        load, server_pids)
    timeout = s.warmup + s.duration + (load_budget_s(s) if load else 0) + 60
    started = time.monotonic()
    rc = ctx.registry.run(f"kvbench {cell.label}", argv, where / f"{cell.slug}.out", log_path,
                          timeout)
    seconds = time.monotonic() - started
    if rc is None:
        return failed(round_no, argv, f"timed out after {timeout:.0f} s; log: "
                      f"{tail(log_path, 3)}", seconds=seconds)
    if rc != 0:
        return failed(round_no, argv, f"kvbench exit {rc}: {tail(log_path, 3)}", rc, seconds)
    try:
        doc = json.loads(json_path.read_text())
    except (OSError, ValueError) as e:
        return failed(round_no, argv, f"unreadable --json output: {e}", rc, seconds)
    return {"round": round_no, "ok": True, "rc": rc, "seconds": round(seconds, 1),
            "figures": results.kvbench_figures(doc), "raw": doc, "error": None, "argv": argv}


def children_cpu_s():
    """User + system seconds of every child this process has waited for so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def db_bench_common(ctx, db_dir):
    s = ctx.settings
    # The block cache and bloom filter match kvnode's defaults (docs/storage.md), so the
    # engine underneath compares like for like; db_bench's own defaults are 8 MiB and none.
    return [f"--num={s.records}", f"--key_size={s.key_size}", f"--value_size={s.value_size}",
            "--compression_type=lz4", "--cache_size=134217728", "--bloom_bits=10",
            f"--db={db_dir}", "--seed=1"]


def run_db_bench(ctx, cell, round_no):
    """One db_bench cell. W: fillrandom for --duration seconds into a fresh database. A/B:
    readrandomwriterandom (--readwritepercent 50 / 95) for --duration seconds over a database
    prefilled by fillseq in a separate, single-threaded invocation first: db_bench runs every
    benchmark of one invocation with the same --threads, and a fillseq with 32 threads writes
    every key 32 times. The measured invocation then opens it with --use_existing_db=1 (which
    fillrandom refuses). Its CPU time is that of the measured invocation, read as the growth of
    RUSAGE_CHILDREN across it: nothing else is reaped meanwhile (the comparison runs one
    process at a time, and no server runs beside db_bench)."""
    s = ctx.settings
    where = ctx.dir(f"round-{round_no}", "cells")
    db_dir = ctx.dir(f"round-{round_no}", "rocksdb", cell.slug)
    common = db_bench_common(ctx, db_dir)
    sync, threads = cell.extra["sync"], cell.concurrency
    measured = [f"--threads={threads}", f"--sync={sync}", f"--duration={max(1, round(s.duration))}",
                "--histogram=1", "--ops_between_duration_checks=100"]
    started = time.monotonic()
    try:
        if cell.workload == "W":
            benchmark = "fillrandom"
            argv = [str(ctx.bins["db_bench"]), f"--benchmarks={benchmark}", *measured, *common]
        else:
            benchmark = "readrandomwriterandom"
            prefill = [str(ctx.bins["db_bench"]), "--benchmarks=fillseq", "--threads=1",
                       "--sync=0", *common]
            rc = ctx.registry.run(f"db_bench prefill {cell.label}", prefill,
                                  where / f"{cell.slug}.prefill.out",
                                  where / f"{cell.slug}.prefill.log",
                                  timeout=load_budget_s(s) + 60)
            if rc != 0:
                return failed(round_no, prefill, f"prefill exit {rc}: "
                              f"{tail(where / f'{cell.slug}.prefill.log', 3)}", rc)
            argv = [str(ctx.bins["db_bench"]), f"--benchmarks={benchmark}",
                    "--use_existing_db=1", f"--readwritepercent={cell.extra['rw']}",
                    *measured, *common]
        out_path = where / f"{cell.slug}.out"
        timeout = s.duration + 120
        cpu_before = children_cpu_s()
        rc = ctx.registry.run(f"db_bench {cell.label}", argv, out_path,
                              where / f"{cell.slug}.log", timeout)
        cpu_s = children_cpu_s() - cpu_before
        seconds = time.monotonic() - started
        if rc is None:
            return failed(round_no, argv, f"timed out after {timeout:.0f} s", seconds=seconds)
        parsed = results.parse_db_bench(out_path.read_text(errors="replace"))
        figures = results.db_bench_figures(parsed, benchmark, cpu_s)
        if rc != 0 or figures is None:
            why = parsed["benchmarks"].get(benchmark, {}).get("skipped") or tail(
                where / f"{cell.slug}.log", 3)
            return failed(round_no, argv, f"db_bench exit {rc}: {why}", rc, seconds, parsed)
        return {"round": round_no, "ok": True, "rc": rc, "seconds": round(seconds, 1),
                "figures": figures, "raw": parsed, "error": None, "argv": argv}
    finally:
        if not ctx.keep:
            shutil.rmtree(db_dir, ignore_errors=True)
