#!/usr/bin/env python3
"""The one comparison command of issue 4 (scripts/compare.sh runs it): ringkv against a
loopback echo floor, Redis (plain, fsync-always AOF, a 3+6 cluster with and without WAIT 1),
a 3-member etcd and RocksDB's db_bench, all on this machine, every server on 127.0.0.1.

Rounds are interleaved: each round starts every system fresh (in a fixed order, rotated by
one each round), runs its cells, stops it. A cell's figure is the median over the rounds.
Outputs: docs/bench/latest.{md,json,png} and the README's performance block (--quick:
docs/bench/quick.*, README untouched).

Layout: systems.py (what is started and how each is driven), cells.py (one cell run),
results.py (parsing, medians, ratios: pure), report.py and chart.py (outputs), procs.py
(every process, stopped by PID), machine.py (what it ran on).
"""

import argparse
import datetime
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import chart
import machine
import procs
import report
import results as R
import systems as S
from cells import Settings, failed

REPO = Path(__file__).resolve().parents[2]

# Tool -> (Debian package, needed by which systems; None = always).
TOOLS = {
    "redis-server": ("redis-server", {"redis", "redis-aof", "redis-cluster"}),
    "redis-cli": ("redis-tools", {"redis", "redis-aof", "redis-cluster"}),
    "etcd": ("etcd-server", {"etcd"}),
    "db_bench": ("rocksdb-tools", {"rocksdb"}),
}
BUILT = {"kvbench": None, "kvnode": {"ringkv-1-always", "ringkv-1-none", "ringkv-3-always",
                                     "ringkv-3-none"},
         "kvctl": {"ringkv-1-always", "ringkv-1-none", "ringkv-3-always", "ringkv-3-none"}}


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="scripts/compare.sh",
        description="ringkv against an echo floor, Redis, Redis Cluster, etcd and db_bench on "
                    "this machine; interleaved rounds, median reported. Writes "
                    "docs/bench/latest.{md,json,png} and the README's table.")
    p.add_argument("--rounds", type=int, help="rounds (default 3; --quick: 1)")
    p.add_argument("--duration", type=float, help="measured seconds per cell (default 10; "
                   "--quick: 2)")
    p.add_argument("--warmup", type=float, help="warm-up seconds per cell (default 2; "
                   "--quick: 1)")
    p.add_argument("--records", type=int, help="records per cell (default 100000; --quick: "
                   "10000)")
    p.add_argument("--only", help="comma-separated systems: echo, redis, redis-aof, "
                   "redis-cluster, etcd, rocksdb (db_bench), ringkv-1-always, ringkv-1-none, "
                   "ringkv-3-always, ringkv-3-none, or ringkv / ringkv-1 / ringkv-3")
    p.add_argument("--quick", action="store_true", help="1 round of 2 s on 10k records, to "
                   "try it out; writes docs/bench/quick.*, marked not representative, and "
                   "leaves the README alone")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (data, "
                   "logs, every kvbench JSON)")
    p.add_argument("--out", type=Path, help="output directory (default docs/bench)")
    args = p.parse_args(argv)
    for name in ("rounds", "records"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            p.error(f"--{name} must be at least 1")
    for name in ("duration", "warmup"):
        if getattr(args, name) is not None and getattr(args, name) < 0:
            p.error(f"--{name} cannot be negative")
    return args


def settings_of(args):
    quick = args.quick
    pick = lambda given, full, short: given if given is not None else (short if quick else full)
    return Settings(rounds=pick(args.rounds, 3, 1), duration=pick(args.duration, 10.0, 2.0),
                    warmup=pick(args.warmup, 2.0, 1.0),
                    records=pick(args.records, 100_000, 10_000), quick=quick)


@dataclass
class Features:
    """What this kvbench supports: flags another change adds are detected, not assumed."""
    targets: tuple
    workloads: tuple
    load_concurrency: bool
    cpu_pids: bool = False  # --cpu-pids: kvbench counts the servers' CPU time
    key_prefix: bool = False  # --key-prefix: each cell loads records of its own


def features_of(text):
    """The Features that the text of kvbench --help announces."""
    choices = lambda flag: tuple(
        re.search(rf"{flag} TEXT:\{{([^}}]*)\}}", text).group(1).split(",")
        if re.search(rf"{flag} TEXT:\{{([^}}]*)\}}", text) else ())
    return Features(targets=choices("--target"),
                    workloads=tuple(w.upper() for w in choices("--workload")),
                    load_concurrency="--load-concurrency" in text,
                    cpu_pids="--cpu-pids" in text,
                    key_prefix="--key-prefix" in text)


def kvbench_features(kvbench):
    return features_of(procs.capture([str(kvbench), "--help"], timeout=20))


class Context:
    """What a system or a cell needs to run: the registry, binaries, settings, the temp dir."""

    def __init__(self, registry, bins, settings, features, tmp, keep):
        self.registry, self.bins, self.settings = registry, bins, settings
        self.features, self.tmp, self.keep = features, tmp, keep
        self.facts = {}

    def dir(self, *parts):
        path = self.tmp.joinpath(*parts)
        path.mkdir(parents=True, exist_ok=True)
        return path


def find_tools(selected):
    """Binaries by name; exits with a message naming what is missing and how to get it."""
    keys = {s.key for s in selected}
    bins, missing = {}, []
    for name, needed_by in BUILT.items():
        path = REPO / "build" / "bin" / name
        if needed_by is None or keys & needed_by:
            if os.access(path, os.X_OK):
                bins[name] = path
            else:
                missing.append(f"{path} is not built: run scripts/build.sh")
    for name, (package, needed_by) in TOOLS.items():
        if keys & needed_by:
            found = shutil.which(name)
            if found:
                bins[name] = Path(found)
            else:
                missing.append(f"{name} is missing: Debian package {package} "
                               "(scripts/setup.sh installs it)")
    try:
        import matplotlib  # noqa: F401  (the chart needs it)
    except ImportError:
        missing.append(f"matplotlib is missing for {sys.executable}: Debian package "
                       "python3-matplotlib (scripts/setup.sh installs it)")
    if missing:
        sys.exit("compare: cannot run:\n  " + "\n  ".join(missing))
    return bins


def estimate_s(selected, cells_by_system, settings):
    per_round = 0.0
    for system in selected:
        per_round += system.start_cost_s + 2
        for cell in cells_by_system[system.key]:
            if cell.skip:
                continue
            per_round += settings.warmup + settings.duration + 2
            if system.key != "echo":  # a load phase or a db_bench prefill
                per_round += settings.records / (40_000 if system.key == "rocksdb" else 8_000)
    return per_round * settings.rounds


def progress(text, end="\n"):
    print(text, end=end, file=sys.stderr, flush=True)


def cell_summary(run):
    if not run["ok"]:
        return "FAILED: " + re.sub(r"\s+", " ", run["error"] or "")[:160]
    f = run["figures"]
    errs = f["errors"] + f["load_errors"]
    flag = f", {errs:,} ERRORS" if errs else ""
    cpu = ""
    if f.get("cpu_us_per_op") is not None:
        cpu = f", CPU {R.fmt_cpu(f['cpu_us_per_op'])} µs/op"
        if f.get("cpu_unreadable"):
            cpu += f" (pids {', '.join(map(str, f['cpu_unreadable']))} unreadable, not counted)"
    return f"{f['throughput']:,.0f} ops/s, p50 {R.fmt_latency(f['p50'])}{cpu}{flag}"


def run_round(ctx, order, cells_by_system, round_no, rounds, runs):
    """Starts, measures and stops every system of one round; records each cell's run in
    runs[cell id]. A system that fails to start fails its cells for this round only."""
    tag = f"[round {round_no}/{rounds}]"
    for system in order:
        cells = [c for c in cells_by_system[system.key] if not c.skip]
        if not cells:
            continue
        if system.processes:
            progress(f"{tag} starting {system.key} ({system.processes} process(es)) ...", end=" ")
        started = time.monotonic()
        try:
            try:
                system.start(ctx, round_no)
            except procs.StartError as e:
                progress(f"FAILED\n{e}")
                for cell in cells:
                    runs[cell.id].append(failed(round_no, [], f"{system.key} did not start: {e}"))
                continue
            if system.processes:
                progress(f"ready in {time.monotonic() - started:.1f} s")
            for cell in cells:
                progress(f"{tag} {cell.label} ...", end=" ")
                run = system.run_cell(ctx, cell, round_no)
                runs[cell.id].append(run)
                progress(cell_summary(run))
        finally:
            system.stop(ctx)


def assemble(meta, cells, runs, chart_name):
    medians = {c.id: R.median_of_runs(runs[c.id]) for c in cells if not c.skip}
    return {
        "meta": meta,
        "medians": medians,
        "bars": R.evaluate_bars(medians),
        "peer_ratios": R.peer_ratios(medians),
        "cells": [{"id": c.id, "label": c.label, "system": c.system, "workload": c.workload,
                   "distribution": c.distribution, "concurrency": c.concurrency,
                   "skip": c.skip, "median": medians.get(c.id), "runs": runs[c.id]}
                  for c in cells],
        "chart_name": chart_name,
    }


def build_meta(args, settings, selected, bins, features, info, facts):
    git = machine.git_info(REPO)
    versions = machine.versions(bins, git)
    if facts.get("ringkv_version"):
        versions["ringkv"] = f"{facts['ringkv_version']} (git {git['describe']})"
    clients, setups = {}, {}
    for system in selected:
        for name in system.systems:
            clients[name], setups[name] = system.client, S.SETUPS.get(name, "")
    notes = [
        "db_bench runs in-process: no network and no client/server hop, so its figures bound "
        "what the storage engine alone does on this machine. Its A/B cells use "
        "readrandomwriterandom over a database prefilled by fillseq (a separate one-thread "
        "invocation), opened with --use_existing_db; its W cells are fillrandom into a fresh "
        "database. It has no warm-up.",
        "etcd is driven by kvbench through " + S.ETCD_CLIENT + "; etcd's own gRPC client "
        "would be faster per request.",
        "echo: kvbench against kvbench --serve-echo, the same CAF client path as ringkv "
        "with a server that answers at once; bar 5 compares put p50 with the echo's put p50.",
        "CPU µs/op: the CPU time (user + system) of every server process of the system under "
        "test and of kvbench over the measured window (kvbench --cpu-pids, /proc/PID/stat), "
        "divided by the run's successful operations; from the median run. db_bench: the CPU "
        "time of the whole measured invocation (opening the database, the run, closing it) "
        "divided by its operations.",
    ]
    if not features.cpu_pids:
        notes.append("this kvbench has no --cpu-pids: the kvbench cells have no CPU figures.")
    if not features.load_concurrency:
        notes.append("this kvbench has no --load-concurrency: each load phase ran at the "
                     "cell's own concurrency.")
    if any(r.get("assertions") for r in facts.get("db_bench_outputs", [])):
        notes.append("Debian's db_bench is built with assertions enabled (it prints "
                     "'WARNING: Assertions are enabled; benchmarks unnecessarily slow').")
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "quick": settings.quick,
        "only": [s.key for s in selected] if args.only else None,
        "machine": info,
        "machine_line": machine.machine_line(info),
        "git": git,
        "versions": versions,
        "settings": dict(asdict(settings), order=[s.key for s in selected]),
        "kvbench_features": asdict(features),
        "clients": clients,
        "setups": setups,
        "notes": notes,
    }


def write_outputs(doc, out_dir, stem, settings, args):
    out_dir.mkdir(parents=True, exist_ok=True)
    md, js, png = (out_dir / f"{stem}.{ext}" for ext in ("md", "json", "png"))
    command = "scripts/compare.sh" + ("" if not sys.argv[1:] else " " + " ".join(sys.argv[1:]))
    report.write_json(js, doc)
    chart.draw(png, doc)
    md.write_text(report.render_markdown(doc, command))
    progress(f"compare: wrote {md}, {js}, {png}")
    default_out = out_dir.resolve() == (REPO / "docs" / "bench").resolve()
    if settings.quick or args.only or not default_out:
        progress("compare: README not updated (only a full run into docs/bench updates it)")
        return
    rel = os.path.relpath(out_dir, REPO)
    block = report.render_readme_block(doc, f"{rel}/{md.name}", f"{rel}/{png.name}")
    report.update_readme(REPO / "README.md", block)
    progress("compare: README.md performance section updated")


def announce(cells, selected, cells_by_system, settings, tmp):
    for c in cells:
        if c.skip:
            progress(f"compare: skipping {c.label}: {c.skip}")
    total = estimate_s(selected, cells_by_system, settings)
    progress(f"compare: {sum(not c.skip for c in cells)} cells x {settings.rounds} round(s), "
             f"estimated {total / 60:.0f} min ({total:.0f} s); temp dir {tmp}")


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    settings = settings_of(args)
    try:
        selected = S.select(S.all_systems(), args.only)
    except ValueError as e:
        sys.exit(f"compare: {e}")
    bins = find_tools(selected)
    features = kvbench_features(bins["kvbench"])
    if "etcd" in {s.key for s in selected} and args.only and "etcd" not in features.targets:
        sys.exit("compare: this kvbench has no --target etcd yet; rebuild it once it has")
    procs.install_signal_handlers()
    tmp = Path(tempfile.mkdtemp(prefix="ringkv-compare-"))
    ctx = Context(procs.Registry(), bins, settings, features, tmp, args.keep)
    try:
        info = machine.machine_info(tmp)
        cells_by_system = {s.key: s.cells(ctx) for s in selected}
        cells = [c for s in selected for c in cells_by_system[s.key]]
        announce(cells, selected, cells_by_system, settings, tmp)
        runs = {c.id: [] for c in cells}
        began = time.monotonic()
        for round_no in range(1, settings.rounds + 1):
            run_round(ctx, S.rotated(selected, round_no), cells_by_system, round_no,
                      settings.rounds, runs)
    except procs.Interrupted as e:
        progress(f"\ncompare: interrupted ({e}); stopping everything, writing nothing")
        return 130
    finally:
        procs.ignore_signals()
        ctx.registry.stop_all()
        if args.keep:
            progress(f"compare: kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    progress(f"compare: measured in {(time.monotonic() - began) / 60:.1f} min")
    ctx.facts["db_bench_outputs"] = [r["raw"] for c in cells if c.system.startswith("db_bench")
                                     for r in runs[c.id] if r.get("raw")]
    stem = "quick" if settings.quick else "latest"
    meta = build_meta(args, settings, selected, bins, features, info, ctx.facts)
    doc = assemble(meta, cells, runs, f"{stem}.png")
    write_outputs(doc, args.out or REPO / "docs" / "bench", stem, settings, args)
    verdicts = [b["verdict"] for b in doc["bars"]]
    progress(f"compare: bars: {verdicts.count('PASS')} pass, {verdicts.count('MISS')} miss, "
             f"{verdicts.count('n/a')} n/a")
    return 0


if __name__ == "__main__":
    sys.exit(main())
