#!/usr/bin/env python3
"""A/B of two builds of ringkv on this machine: kvbench workload A against 1 and 3 nodes, at 1
and 32 requests in flight, the builds interleaved round by round, median of the rounds.

    scripts/bench/ab.py --old /work/old/build/bin --new build/bin [--rounds 3] [--duration 5]
    scripts/bench/ab.py --variant tls --new build/bin          one build, TLS and ACL off and on
    scripts/bench/ab.py --variant encryption --new build/bin   one build, data plain and encrypted

With --variant, "old" is the build of --new as it runs by default, and "new" the same build
with mutual TLS and an ACL on every listener (certificates from scripts/certs.sh, kvbench
presenting a client certificate), or with its data encrypted at rest (--encryption-key).

Each build runs its own kvnode and kvbench. A build whose kvnode has no --peer-listen (before the
client protocol, when one BASP port served clients and peers) gets --seeds on its client ports.
Nodes listen on 127.0.0.1 ports 17700-17999, run --sync none (the client path is what is
compared, not the disk), and are stopped by PID after each cell. Every cell starts empty nodes
and loads the records in its own kvbench process, so that every update carries a context: a run
on records another process loaded makes each record's first update blind, and the siblings that
leaves are work that depends on the builds' sibling handling, not on the client path. Prints a
markdown table with, besides throughput and median latency, the CPU time the nodes and kvbench
spent per operation (load and warm-up included, each loaded record one operation): on a machine
that the benchmark saturates it is what throughput follows, and it varies less from run to run.
"""
import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HOST = "127.0.0.1"


def has_peer_listen(kvnode):
    out = subprocess.run([kvnode, "--help"], capture_output=True, text=True, timeout=10).stdout
    return "--peer-listen" in out


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def make_certs(workdir):
    """Certificates for n1..n3 and the client bench, an ACL for it, and a key file."""
    certs = os.path.join(workdir, "certs")
    subprocess.run([os.path.join(ROOT, "scripts", "certs.sh"), certs, "--nodes", "n1,n2,n3",
                    "--clients", "bench"], check=True, capture_output=True, timeout=120)
    with open(os.path.join(certs, "acl.toml"), "w") as f:
        f.write('[principal.bench]\nread = ["bench"]\nwrite = ["bench"]\nmonitor = true\n')
    key = os.path.join(certs, "data.key")
    with open(key, "w") as f:
        f.write(os.urandom(32).hex() + "\n")
    os.chmod(key, 0o600)
    return certs


def variant_flags(variant, certs, i):
    """kvnode flags of node i in `variant` (None: the default)."""
    if variant == "tls":
        return ["--tls-cert", f"{certs}/n{i}.pem", "--tls-key", f"{certs}/n{i}.key",
                "--tls-ca", f"{certs}/ca.pem", "--acl", f"{certs}/acl.toml"]
    if variant == "encryption":
        return ["--encryption-key", f"{certs}/data.key"]
    return []


def start_cluster(bins, nodes, base, workdir, variant=None, certs=None):
    kvnode = os.path.join(bins, "kvnode")
    split = has_peer_listen(kvnode)
    ports = [base + i for i in range(nodes)]
    seed_ports = [p + 100 for p in ports] if split else ports
    seeds = ["--seeds", ",".join(f"{HOST}:{p}" for p in seed_ports)] if nodes > 1 else []
    ns = "bench:n=3,r=2,w=2" if nodes == 3 else "bench:n=1,r=1,w=1"
    procs = []
    for i, port in enumerate(ports, 1):
        argv = [kvnode, "--id", f"n{i}", "--listen", f"{HOST}:{port}", "--data-dir",
                os.path.join(workdir, f"n{i}"), "--sync", "none", "--log-level", "warn",
                "--namespace", ns, *seeds, *variant_flags(variant, certs, i)]
        if nodes > 1:
            argv += ["--threads", "1"]
        procs.append(subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                      text=True))
    deadline = time.time() + 30
    for p in procs:
        line = ""
        while time.time() < deadline and not line.startswith("ready "):
            line = p.stdout.readline()
            if not line and p.poll() is not None:
                raise RuntimeError("kvnode exited before it was ready")
    return procs, [f"{HOST}:{p}" for p in ports]


def stop(procs):
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


WARMUP_S = 1.0
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_s(procs):
    """User + system CPU seconds the running `procs` have used so far."""
    total = 0
    for p in procs:
        with open(f"/proc/{p.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / TICKS


def children_cpu_s():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


RECORDS = 20000


def kvbench(bins, nodes, procs, concurrency, duration, workdir, client_flags=()):
    """Loads, then runs; (ops/s, p50 µs, CPU µs per operation of the nodes and kvbench)."""
    out = os.path.join(workdir, f"kvbench-{concurrency}.json")
    argv = [os.path.join(bins, "kvbench"), "--target", "ringkv", "--nodes", ",".join(nodes),
            "--ns", "bench", "--workload", "A", "--records", str(RECORDS), "--value-size", "1024",
            "--load-concurrency", "32", "--concurrency", str(concurrency), "--warmup",
            str(WARMUP_S), "--duration", str(duration), "--json", out, *client_flags]
    nodes_before, bench_before = cpu_s(procs), children_cpu_s()
    subprocess.run(argv, check=True, capture_output=True, timeout=300)
    cpu = cpu_s(procs) - nodes_before + children_cpu_s() - bench_before
    with open(out) as f:
        doc = json.load(f)
    ops = RECORDS + doc["throughput"] * (WARMUP_S + duration)
    return doc["throughput"], doc["latency_us"]["p50"], cpu * 1e6 / ops


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", help="bin directory of the old build")
    ap.add_argument("--new", required=True, help="bin directory of the new build")
    ap.add_argument("--variant", choices=["tls", "encryption"],
                    help="compare --new with itself: as by default, and with this on")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=float, default=5)
    args = ap.parse_args()
    if not args.old and not args.variant:
        ap.error("give --old, or --variant to compare --new with itself")
    if args.variant:
        args.old = args.new
    # Each cell says which credentials kvbench uses: none from this shell or ~/.ringkv.
    for name in ("RINGKV_CA", "RINGKV_CERT", "RINGKV_KEY", "RINGKV_TOKEN"):
        os.environ.pop(name, None)
    os.environ["RINGKV_CREDENTIALS"] = "/nonexistent"
    keep = tempfile.TemporaryDirectory(prefix="ringkv-ab-certs-")
    certs = make_certs(keep.name) if args.variant else None
    results = {}  # (build, nodes, concurrency) -> [(ops/s, p50)]
    for r in range(args.rounds):
        order = ["old", "new"] if r % 2 == 0 else ["new", "old"]
        for build in order:
            bins = getattr(args, build)
            for nodes in (1, 3):
                for c in (1, 32):
                    with tempfile.TemporaryDirectory(prefix="ringkv-ab-") as workdir:
                        variant = args.variant if build == "new" else None
                        procs, addrs = start_cluster(bins, nodes, 17700 + 10 * nodes, workdir,
                                                     variant, certs)
                        client = []
                        if variant == "tls":
                            client = ["--ca", f"{certs}/ca.pem", "--cert", f"{certs}/bench.pem",
                                      "--key", f"{certs}/bench.key"]
                        try:
                            time.sleep(1)
                            got = kvbench(bins, addrs, procs, c, args.duration, workdir, client)
                        finally:
                            stop(procs)
                    results.setdefault((build, nodes, c), []).append(got)
                    print(f"round {r + 1} {build} {nodes} node(s) A@{c}: {got[0]:.0f} ops/s, "
                          f"p50 {got[1]} us, CPU {got[2]:.1f} us/op", file=sys.stderr)
    old, new = ("off", args.variant) if args.variant else ("old", "new")
    print(f"| cell | {old} ops/s | {new} ops/s | ratio | {old} p50 µs | {new} p50 µs "
          f"| {old} CPU µs/op | {new} CPU µs/op |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for nodes in (1, 3):
        for c in (1, 32):
            old = results[("old", nodes, c)]
            new = results[("new", nodes, c)]
            o = statistics.median(x[0] for x in old)
            n = statistics.median(x[0] for x in new)
            op50 = statistics.median(x[1] for x in old if x[1] is not None)
            np50 = statistics.median(x[1] for x in new if x[1] is not None)
            ocpu = statistics.median(x[2] for x in old)
            ncpu = statistics.median(x[2] for x in new)
            print(f"| {nodes} node{'s' if nodes > 1 else ''}, A@{c} | {o:,.0f} | {n:,.0f} | "
                  f"{n / o:.2f}x | {op50:.0f} | {np50:.0f} | {ocpu:.0f} | {ncpu:.0f} |")


if __name__ == "__main__":
    main()
