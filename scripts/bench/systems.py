"""The systems compared. Each is started fresh once per round, runs its cells, and is stopped
(every process by PID, through the Registry), whatever happened in between:

    system.start(ctx, round)   -> servers up and ready (StartError otherwise)
    system.run_cell(ctx, cell, round) -> one run record (cells.py)
    system.stop(ctx)           -> every process of it stopped, its data deleted

Ports are all in 17000-17999 (other tools on this machine use 7101-7199 and more), and
checked free before a start. `key` is the name --only selects; `systems` the names its cells
carry in the tables.
"""

import json
import shutil
import urllib.request

import results as R
from cells import Cell, run_db_bench, run_kvbench
from procs import StartError, capture, file_has_line, require_ports_free, wait_until

HOST = "127.0.0.1"
STANDARD = [("A", 1), ("A", 32), ("B", 1), ("B", 32)]  # every kvbench-driven system runs these

ETCD_CLIENT = "etcd v3 JSON gateway over HTTP/1.1 (kvbench's own client)"


def addr(port):
    return f"{HOST}:{port}"


class System:
    key = ""
    systems = []
    client = ""  # how it is driven, as the tables say it
    start_cost_s = 2.0  # for the time estimate
    processes = 1

    def cells(self, ctx):
        return []

    def start(self, ctx, round_no):
        self.procs = []

    def stop(self, ctx):
        for p in reversed(getattr(self, "procs", [])):
            ctx.registry.stop(p)
        self.procs = []
        data = getattr(self, "data_dir", None)
        if data is not None and not ctx.keep:
            shutil.rmtree(data, ignore_errors=True)

    def run_cell(self, ctx, cell, round_no):
        return run_kvbench(ctx, cell, round_no, self.target_args(cell),
                           server_pids=self.server_pids())

    def server_pids(self):
        """Every server process of this system as started: kvbench counts their CPU time."""
        return [p.pid for p in getattr(self, "procs", [])]

    def target_args(self, cell):
        raise NotImplementedError

    def spawn(self, ctx, name, argv, where):
        proc = ctx.registry.spawn(name, argv, where / f"{name}.out", where / f"{name}.log")
        self.procs.append(proc)
        return proc


# ---- the loopback floor -----------------------------------------------------------------

class Echo(System):
    """kvbench --serve-echo: the client path of every kvbench target, with a server that
    answers at once. Its round trip is the floor under every other figure."""
    key = "echo"
    systems = [R.ECHO]
    client = "kvbench's CAF client to an echo actor (no storage)"
    port = 17000

    def cells(self, ctx):
        return [Cell(R.ECHO, "A", c) for c in (1, 32)]

    def start(self, ctx, round_no):
        super().start(ctx, round_no)
        require_ports_free([self.port], "echo")
        where = ctx.dir(f"round-{round_no}", "echo")
        p = self.spawn(ctx, "echo", [str(ctx.bins["kvbench"]), "--serve-echo", addr(self.port)],
                       where)
        wait_until(lambda: file_has_line(p.stdout_path, "ready "), 30, "echo server", [p])

    def run_cell(self, ctx, cell, round_no):
        return run_kvbench(ctx, cell, round_no, ["--target", "echo", "--nodes", addr(self.port)],
                           load=False, server_pids=self.server_pids())


# ---- Redis ------------------------------------------------------------------------------

def redis_cli(ctx, port, *args, timeout=10):
    return capture([str(ctx.bins["redis-cli"]), "-h", HOST, "-p", str(port), *args], timeout)


class Redis(System):
    """One redis-server: without persistence, or with every write fsynced to the AOF."""
    client = "kvbench's own RESP client"

    def __init__(self, aof):
        self.aof = aof
        self.key = "redis-aof" if aof else "redis"
        self.systems = [R.REDIS_AOF if aof else R.REDIS]
        self.port = 17011 if aof else 17010

    def cells(self, ctx):
        return [Cell(self.systems[0], w, c) for w, c in STANDARD]

    def start(self, ctx, round_no):
        super().start(ctx, round_no)
        require_ports_free([self.port], self.key)
        self.data_dir = ctx.dir(f"round-{round_no}", self.key, "data")
        persistence = (["--appendonly", "yes", "--appendfsync", "always"] if self.aof
                       else ["--appendonly", "no"])
        argv = [str(ctx.bins["redis-server"]), "--port", str(self.port), "--bind", HOST,
                "--save", "", *persistence, "--dir", str(self.data_dir), "--daemonize", "no",
                "--protected-mode", "no", "--loglevel", "warning"]
        p = self.spawn(ctx, self.key, argv, ctx.dir(f"round-{round_no}", self.key))
        wait_until(lambda: redis_cli(ctx, self.port, "ping") == "PONG", 30, self.key, [p])

    def target_args(self, cell):
        return ["--target", "redis", "--nodes", addr(self.port)]


class RedisCluster(System):
    """3 masters + 6 replicas (--cluster-replicas 2), no persistence, bus ports set explicitly
    so they stay in range. Gives two systems: without and with WAIT 1 after each write."""
    key = "redis-cluster"
    systems = [R.REDIS_CLUSTER, R.REDIS_CLUSTER_WAIT]
    client = "kvbench's own RESP client, slot routing"
    ports = list(range(17100, 17109))
    bus_ports = list(range(17200, 17209))
    start_cost_s = 10.0
    processes = 9

    def cells(self, ctx):
        return ([Cell(R.REDIS_CLUSTER, w, c) for w, c in STANDARD] +
                [Cell(R.REDIS_CLUSTER_WAIT, w, c, extra={"wait": 1}) for w, c in STANDARD])

    def start(self, ctx, round_no):
        super().start(ctx, round_no)
        require_ports_free(self.ports + self.bus_ports, self.key)
        where = ctx.dir(f"round-{round_no}", self.key)
        self.data_dir = ctx.dir(f"round-{round_no}", self.key, "data")
        for port, bus in zip(self.ports, self.bus_ports):
            node_dir = ctx.dir(f"round-{round_no}", self.key, "data", str(port))
            conf = where / f"redis-{port}.conf"
            conf.write_text(
                f"port {port}\nbind {HOST}\nprotected-mode no\ndaemonize no\n"
                f"cluster-enabled yes\ncluster-port {bus}\n"
                f"cluster-config-file {node_dir}/nodes.conf\ncluster-node-timeout 5000\n"
                f"save \"\"\nappendonly no\ndir {node_dir}\nloglevel warning\n")
            self.spawn(ctx, f"redis-{port}", [str(ctx.bins["redis-server"]), str(conf)], where)
        for port, p in zip(self.ports, self.procs):
            wait_until(lambda port=port: redis_cli(ctx, port, "ping") == "PONG", 30,
                       f"redis-cluster node {port}", [p])
        create = [str(ctx.bins["redis-cli"]), "--cluster", "create",
                  *[addr(p) for p in self.ports], "--cluster-replicas", "2", "--cluster-yes"]
        rc = ctx.registry.run("redis-cli --cluster create", create, where / "create.out",
                              where / "create.log", timeout=60)
        if rc != 0:
            raise StartError(f"redis-cli --cluster create failed ({rc}): "
                             f"{(where / 'create.out').read_text()[-800:]}")
        wait_until(lambda: self._healthy(ctx), 60,
                   "redis-cluster (state ok, 3 masters with 2 replicas each)", self.procs,
                   interval=0.5)

    def _healthy(self, ctx):
        masters = 0
        for port in self.ports:
            if "cluster_state:ok" not in redis_cli(ctx, port, "cluster", "info"):
                return False
            info = redis_cli(ctx, port, "info", "replication")
            if "role:master" in info:
                online = sum(1 for line in info.splitlines()
                             if line.startswith("slave") and "state=online" in line)
                if online != 2:
                    return False
                masters += 1
        return masters == 3

    def run_cell(self, ctx, cell, round_no):
        args = ["--target", "redis-cluster", "--nodes", ",".join(addr(p) for p in self.ports)]
        if cell.extra.get("wait"):
            args += ["--redis-wait", str(cell.extra["wait"])]
        return run_kvbench(ctx, cell, round_no, args, server_pids=self.server_pids())


# ---- etcd -------------------------------------------------------------------------------

class Etcd(System):
    """Three etcd members on loopback, fresh data dirs, fsync as shipped (etcd has no
    unsynced mode)."""
    key = "etcd"
    systems = [R.ETCD]
    client = ETCD_CLIENT
    client_ports = [17300, 17301, 17302]
    peer_ports = [17310, 17311, 17312]
    start_cost_s = 6.0
    processes = 3

    def cells(self, ctx):
        skip = "" if "etcd" in ctx.features.targets else "this kvbench has no --target etcd"
        return [Cell(R.ETCD, w, c, skip=skip) for w, c in STANDARD]

    def start(self, ctx, round_no):
        super().start(ctx, round_no)
        require_ports_free(self.client_ports + self.peer_ports, self.key)
        where = ctx.dir(f"round-{round_no}", self.key)
        self.data_dir = ctx.dir(f"round-{round_no}", self.key, "data")
        names = [f"e{i + 1}" for i in range(3)]
        cluster = ",".join(f"{n}=http://{addr(p)}" for n, p in zip(names, self.peer_ports))
        for name, cport, pport in zip(names, self.client_ports, self.peer_ports):
            argv = [str(ctx.bins["etcd"]), "--name", name,
                    "--data-dir", str(self.data_dir / name),
                    "--listen-client-urls", f"http://{addr(cport)}",
                    "--advertise-client-urls", f"http://{addr(cport)}",
                    "--listen-peer-urls", f"http://{addr(pport)}",
                    "--initial-advertise-peer-urls", f"http://{addr(pport)}",
                    "--initial-cluster", cluster, "--initial-cluster-state", "new",
                    "--initial-cluster-token", f"ringkv-bench-{round_no}",
                    "--quota-backend-bytes", "8589934592",
                    "--auto-compaction-mode", "revision", "--auto-compaction-retention", "1000",
                    "--logger", "zap", "--log-level", "error"]
            self.spawn(ctx, name, argv, where)
        for port in self.client_ports:
            wait_until(lambda port=port: _etcd_healthy(port), 30, f"etcd member on {port}",
                       self.procs, interval=0.2)

    def target_args(self, cell):
        return ["--target", "etcd", "--nodes", ",".join(addr(p) for p in self.client_ports)]


def _etcd_healthy(port):
    try:
        with urllib.request.urlopen(f"http://{addr(port)}/health", timeout=2) as reply:
            return json.loads(reply.read()).get("health") == "true"
    except (OSError, ValueError):
        return False


# ---- RocksDB's db_bench -----------------------------------------------------------------

class DbBench(System):
    """RocksDB's own benchmark, in-process: no network, no server. Each cell gets a fresh
    database (cells.run_db_bench); there is nothing to start."""
    key = "rocksdb"
    systems = [R.DB_BENCH_NOSYNC, R.DB_BENCH_SYNC]
    client = "db_bench, in-process (no network)"
    start_cost_s = 0.0
    processes = 0

    def cells(self, ctx):
        out = []
        for sync in (0, 1):
            name = R.DB_BENCH_SYNC if sync else R.DB_BENCH_NOSYNC
            out += [Cell(name, "W", t, extra={"sync": sync}) for t in (1, 32)]
            out += [Cell(name, w, t, extra={"sync": sync, "rw": rw})
                    for w, rw in (("A", 50), ("B", 95)) for t in (1, 32)]
        return out

    def run_cell(self, ctx, cell, round_no):
        return run_db_bench(ctx, cell, round_no)


# ---- ringkv -----------------------------------------------------------------------------

class Ringkv(System):
    """kvnode processes from build/bin: one node, or three on loopback (seeds = all three,
    N=3 R=2 W=2). Every cell has its own namespace, declared at start, so each cell's load
    phase writes fresh keys: a blind put to a key another cell wrote would make a sibling."""
    client = "kvbench's ringkv client (client protocol v1), one client actor per node"

    def __init__(self, nodes, sync, base_port):
        self.nodes, self.sync = nodes, sync
        self.key = f"ringkv-{nodes}-{sync}"
        self.name = {(1, "always"): R.RINGKV_1_DURABLE, (1, "none"): R.RINGKV_1_UNSYNCED,
                     (3, "always"): R.RINGKV_3_DURABLE, (3, "none"): R.RINGKV_3_UNSYNCED}[
                         (nodes, sync)]
        self.systems = [self.name]
        self.ports = [base_port + i for i in range(nodes)]
        self.processes = nodes
        self.start_cost_s = 2.0 * nodes

    def cells(self, ctx):
        cells = [Cell(self.name, w, c) for w, c in STANDARD]
        if self.nodes == 3 and self.sync == "none":
            cells += [Cell(self.name, "A", 32, "zipfian"), Cell(self.name, "A", 64)]
        if self.nodes == 1 and self.sync == "always":
            skip = "" if "W" in ctx.features.workloads else "this kvbench has no --workload W"
            cells.append(Cell(self.name, "W", 32, skip=skip))
        for c in cells:
            c.extra["ns"] = f"bench_{c.workload}_{c.distribution}_{c.concurrency}"
        return cells

    def start(self, ctx, round_no):
        super().start(ctx, round_no)
        # kvnode's default peer and admin listeners: the client port + 100 and + 200.
        require_ports_free(self.ports + [p + 100 for p in self.ports] +
                           [p + 200 for p in self.ports], self.key)
        where = ctx.dir(f"round-{round_no}", self.key)
        self.data_dir = ctx.dir(f"round-{round_no}", self.key, "data")
        quorum = "n=3,r=2,w=2" if self.nodes == 3 else "n=1,r=1,w=1"
        namespaces = []
        for c in self.cells(ctx):
            namespaces += ["--namespace", f"{c.extra['ns']}:{quorum}"]
        seeds = ["--seeds", ",".join(addr(p + 100) for p in self.ports)] if self.nodes > 1 else []
        for i, port in enumerate(self.ports, 1):
            argv = [str(ctx.bins["kvnode"]), "--id", f"n{i}", "--listen", addr(port),
                    "--data-dir", str(self.data_dir / f"n{i}"), "--sync", self.sync,
                    "--log-level", "warn", *self.sizing(), *seeds, *namespaces]
            self.spawn(ctx, f"n{i}", argv, where)
        for i, p in enumerate(self.procs, 1):
            wait_until(lambda p=p: file_has_line(p.stdout_path, "ready "), 30,
                       f"{self.key} node n{i}", [p])
        wait_until(lambda: self._members_up(ctx), 30, f"{self.key}: every member up",
                   self.procs, interval=0.2)

    def sizing(self):
        """Three nodes share this machine's cores, as a 3+6 Redis Cluster's nine
        single-threaded servers do: each node gets one scheduler thread."""
        return ["--threads", "1"] if self.nodes > 1 else []

    def _members_up(self, ctx):
        text = capture([str(ctx.bins["kvctl"]), "--node", addr(self.ports[0]), "--json",
                        "status"], timeout=10)
        try:
            status = json.loads(text)
        except ValueError:
            return False
        members = status.get("members", [])
        ctx.facts["ringkv_version"] = status.get("version")
        return len(members) == self.nodes and all(m.get("state") == "up" for m in members)

    def target_args(self, cell):
        return ["--target", "ringkv", "--nodes", ",".join(addr(p) for p in self.ports),
                "--ns", cell.extra["ns"]]


def all_systems():
    """Every system, in the fixed order of round 1 (later rounds rotate it)."""
    return [Echo(), Redis(aof=False), Redis(aof=True), RedisCluster(), Etcd(), DbBench(),
            Ringkv(1, "always", 17400), Ringkv(1, "none", 17401),
            Ringkv(3, "always", 17410), Ringkv(3, "none", 17420)]


ALIASES = {
    "ringkv": ["ringkv-1-always", "ringkv-1-none", "ringkv-3-always", "ringkv-3-none"],
    "ringkv-1": ["ringkv-1-always", "ringkv-1-none"],
    "ringkv-3": ["ringkv-3-always", "ringkv-3-none"],
    "db_bench": ["rocksdb"],
    "redis-cluster+WAIT1": ["redis-cluster"],
}


def select(systems, only):
    """The systems --only names (keys or the aliases above), in their fixed order. Raises
    ValueError naming the valid choices for an unknown name."""
    if not only:
        return systems
    wanted = set()
    keys = [s.key for s in systems]
    for name in (n.strip() for n in only.split(",") if n.strip()):
        if name in keys:
            wanted.add(name)
        elif name in ALIASES:
            wanted.update(ALIASES[name])
        else:
            raise ValueError(f"--only: unknown system '{name}'; choose from "
                             f"{', '.join(keys + sorted(ALIASES))}")
    return [s for s in systems if s.key in wanted]


def rotated(systems, round_no):
    """Round 1 runs the systems in their fixed order, round r starts r-1 places further on."""
    k = (round_no - 1) % len(systems) if systems else 0
    return systems[k:] + systems[:k]


SETUPS = {
    R.ECHO: "kvbench --serve-echo: answers every request at once, stores nothing",
    R.REDIS: "redis-server, no persistence (--save \"\" --appendonly no)",
    R.REDIS_AOF: "redis-server, --appendonly yes --appendfsync always (fsync per write)",
    R.REDIS_CLUSTER: "9 redis-server (--cluster-enabled yes), 3 masters + 6 replicas "
                     "(--cluster-replicas 2), no persistence",
    R.REDIS_CLUSTER_WAIT: "the same cluster; WAIT 1 0 after each write (one replica acked)",
    R.ETCD: "3 members, fsync as shipped, --quota-backend-bytes 8 GiB, revision "
            "auto-compaction (retention 1000)",
    R.DB_BENCH_NOSYNC: "RocksDB's db_bench, WAL not synced; fresh DB per cell, lz4, 128 MiB "
                       "block cache, 10-bit bloom; no warm-up",
    R.DB_BENCH_SYNC: "the same with --sync=1 (WAL fsynced per write, group commit across "
                     "threads)",
    R.RINGKV_1_DURABLE: "1 kvnode, --sync always (fsync before ack, group commit), n=1",
    R.RINGKV_1_UNSYNCED: "1 kvnode, --sync none, n=1",
    R.RINGKV_3_DURABLE: "3 kvnodes on loopback sharing the cores (--threads 1 each), "
                        "--sync always, N=3 R=2 W=2",
    R.RINGKV_3_UNSYNCED: "3 kvnodes on loopback sharing the cores (--threads 1 each), "
                         "--sync none, N=3 R=2 W=2",
}
