#!/usr/bin/env bash
# The one comparison command: ringkv against a loopback echo floor, Redis (plain and with
# appendfsync always), Redis Cluster 3+6 (with and without WAIT 1), etcd (3 members) and
# RocksDB's db_bench, all on this machine with every server on 127.0.0.1 (ports 17000-17999),
# each started fresh per round and stopped by PID; interleaved, median of 3 rounds.
# Writes docs/bench/latest.{md,json,png} and the README's performance table. About an hour;
# `scripts/compare.sh --quick` is a short try (docs/bench/quick.*), --help lists the options.
set -euo pipefail
cd "$(dirname "$0")/.."
# Debian's python3-matplotlib belongs to /usr/bin/python3, which another python3 first on
# PATH may not see.
py=python3
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
  py=/usr/bin/python3
fi
exec "$py" scripts/bench/compare.py "$@"
