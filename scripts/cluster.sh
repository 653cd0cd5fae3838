#!/usr/bin/env bash
# A local ringkv node on loopback, for trying things out.
#   scripts/cluster.sh start     start node n1 on 127.0.0.1:7101 (data in .cluster/n1)
#   scripts/cluster.sh stop      stop it by PID (SIGTERM, then SIGKILL after 10 s)
#   scripts/cluster.sh status    show whether it runs, and its kvctl status
#   scripts/cluster.sh wipe      stop it and delete its data
# Extra kvnode flags can be given in KVNODE_FLAGS (e.g. KVNODE_FLAGS="--sync none").
set -euo pipefail
cd "$(dirname "$0")/.."
root="${RINGKV_CLUSTER_DIR:-$PWD/.cluster}"
bin="$PWD/build/bin"
id=n1
port=7101
dir="$root/$id"

running_pid() {
  [ -f "$dir/pid" ] || return 1
  local pid
  pid=$(cat "$dir/pid")
  kill -0 "$pid" 2>/dev/null && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = "kvnode" ] && echo "$pid"
}

start() {
  [ -x "$bin/kvnode" ] || { echo "cluster: build first (scripts/build.sh)" >&2; exit 1; }
  if pid=$(running_pid); then echo "cluster: $id already runs (pid $pid)"; return; fi
  mkdir -p "$dir"
  # shellcheck disable=SC2086
  "$bin/kvnode" --id "$id" --listen "127.0.0.1:$port" --data-dir "$dir/data" \
    --http "127.0.0.1:$((port + 1000))" ${KVNODE_FLAGS:-} > "$dir/stdout" 2> "$dir/node.log" &
  echo $! > "$dir/pid"
  for _ in $(seq 1 100); do
    if grep -q '^ready ' "$dir/stdout" 2>/dev/null; then
      echo "cluster: $(cat "$dir/stdout") (pid $(cat "$dir/pid"), log $dir/node.log)"
      return
    fi
    if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
      echo "cluster: $id failed to start:" >&2; tail -5 "$dir/node.log" >&2; exit 1
    fi
    sleep 0.1
  done
  echo "cluster: $id did not report ready within 10 s; see $dir/node.log" >&2
  exit 1
}

stop() {
  local pid
  if ! pid=$(running_pid); then echo "cluster: $id is not running"; return; fi
  kill -TERM "$pid"
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || { echo "cluster: $id stopped"; rm -f "$dir/pid"; return; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$dir/pid"
  echo "cluster: $id did not stop within 10 s; killed"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status)
    if pid=$(running_pid); then echo "cluster: $id runs (pid $pid)"; "$bin/kvctl" --node "127.0.0.1:$port" status
    else echo "cluster: $id is not running"; fi ;;
  wipe) stop; rm -rf "$dir"; echo "cluster: $id data deleted" ;;
  *) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
