"""ringkv chaos: a cluster, checker workloads, a nemesis, and a verdict (docs/chaos.md).

  cluster.py   the nodes: processes in network namespaces, or a running docker-compose project
  nemesis.py   the faults: kills, partitions, pauses, actor failures
  workload.py  the clients: set, blind-write and delete/re-add workloads through the Python
               client (clients/python), each operation recorded in the history
  checker.py   the verdict: pure functions from a history and the final reads to counts
  admin.py     the operator verbs, through kvctl: status, hints, explain, fail-actor
  record.py    the run's clock, history.jsonl, faults.jsonl and log lines
  run.py       one run from start to verdict; cli.py its command line (scripts/chaos.py)

Only checker.py is imported by the checker's tests (test_checker.py): it needs nothing but
the standard library.
"""

import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("KV_BIN_DIR", os.path.join(ROOT, "build", "bin"))
