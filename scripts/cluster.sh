#!/usr/bin/env bash
# A local ringkv cluster on loopback, for trying things out.
#   scripts/cluster.sh start [--nodes N] [--racks R] [--insecure]
#                                                      start n1..nN (default 3): clients on
#                                                      127.0.0.1:7101.., peers on 7201.., operators
#                                                      on 7301.., HTTP on 8101..; racks rack1..rackR
#                                                      round robin. With TLS and an ACL unless
#                                                      --insecure: certificates in <dir>/certs,
#                                                      the admin's also in ~/.ringkv for kvctl
#   scripts/cluster.sh stop                            stop every node by PID (SIGTERM, then SIGKILL)
#   scripts/cluster.sh status                          which nodes run, and the cluster as n1 sees it
#   scripts/cluster.sh kill ID | restart ID            SIGKILL one node / start it again
#   scripts/cluster.sh wipe                            stop, and delete every node's data
# Data and logs live in .cluster/<id>/ (RINGKV_CLUSTER_DIR to move them). Extra kvnode flags can
# be given in KVNODE_FLAGS (e.g. KVNODE_FLAGS="--sync none").
# Security (docs/security.md): `start` makes a CA and certificates (scripts/certs.sh) for the
# nodes and for the clients admin (every right) and app (read and write in default), and an ACL
# (<dir>/acl.toml; edit it, then `kill -HUP` the nodes). The admin's certificate goes to
# <dir>/credentials, and ~/.ringkv points there unless it holds other credentials, so kvctl and
# the Python client use it by default.
set -euo pipefail
cd "$(dirname "$0")/.."
root="${RINGKV_CLUSTER_DIR:-$PWD/.cluster}"
bin="$PWD/build/bin"
base_port=7101

usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

# The cluster's shape, written by `start` for the other commands.
load_shape() {
  nodes=3 racks=1 secure=1
  # shellcheck disable=SC1091
  [ -f "$root/cluster.conf" ] && . "$root/cluster.conf"
  return 0
}

address_of() { echo "127.0.0.1:$((base_port + $1 - 1))"; }       # client listener
peer_address_of() { echo "127.0.0.1:$((base_port + $1 + 99))"; }  # kvnode's default: + 100

# The PID of node $1 while it runs. A killed node nobody reaped (a zombie) does not count.
running_pid() {
  local dir="$root/n$1" pid
  [ -f "$dir/pid" ] || return 1
  pid=$(cat "$dir/pid")
  [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = "kvnode" ] || return 1
  [ "$(awk '/^State:/ {print $2}' /proc/"$pid"/status 2>/dev/null)" != "Z" ] || return 1
  echo "$pid"
}

launch() {
  local i=$1 dir="$root/n$1" seeds="" j
  for j in $(seq 1 "$nodes"); do seeds="$seeds${seeds:+,}$(peer_address_of "$j")"; done
  mkdir -p "$dir"
  : > "$dir/stdout"
  local tls=()
  if [ "$secure" = 1 ]; then
    tls=(--tls-cert "$root/certs/n$i.pem" --tls-key "$root/certs/n$i.key"
         --tls-ca "$root/certs/ca.pem" --acl "$root/acl.toml")
  fi
  # shellcheck disable=SC2086
  "$bin/kvnode" --id "n$i" --listen "$(address_of "$i")" --data-dir "$dir/data" \
    --seeds "$seeds" --rack "rack$(( (i - 1) % racks + 1 ))" \
    --http "127.0.0.1:$((base_port + 999 + i))" "${tls[@]}" ${KVNODE_FLAGS:-} \
    > "$dir/stdout" 2>> "$dir/node.log" &
  echo $! > "$dir/pid"
}

await_ready() {
  local i=$1 dir="$root/n$1"
  for _ in $(seq 1 150); do
    if grep -q '^ready ' "$dir/stdout" 2>/dev/null; then
      echo "cluster: $(cat "$dir/stdout") (pid $(cat "$dir/pid"), log $dir/node.log)"
      return 0
    fi
    if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
      echo "cluster: n$i failed to start:" >&2; tail -5 "$dir/node.log" >&2; return 1
    fi
    sleep 0.1
  done
  echo "cluster: n$i did not report ready within 15 s; see $dir/node.log" >&2
  return 1
}

# Certificates for n1..nN, admin and app (kept when they exist), the ACL (kept once written),
# and the admin's credentials where kvctl looks by default.
secure_setup() {
  local names="" i
  for i in $(seq 1 "$nodes"); do names="$names${names:+,}n$i"; done
  local missing=0
  for i in $(seq 1 "$nodes"); do [ -f "$root/certs/n$i.pem" ] || missing=1; done
  [ -f "$root/certs/admin.pem" ] || missing=1
  if [ "$missing" = 1 ]; then
    scripts/certs.sh "$root/certs" --nodes "$names" --clients admin,app > /dev/null
    echo "cluster: certificates in $root/certs (CA, nodes $names, clients admin and app)"
  fi
  if [ ! -f "$root/acl.toml" ]; then
    (umask 077; cat > "$root/acl.toml" <<'ACL'
# Who may do what on this cluster (docs/security.md); `kill -HUP` the nodes after editing.
[principal.admin]
admin = true

[principal.app]
read = ["default"]
write = ["default"]
ACL
    )
  fi
  local cred="$root/credentials"
  mkdir -p "$cred" && chmod 700 "$cred"
  cp "$root/certs/ca.pem" "$cred/ca.pem"
  cp "$root/certs/admin.pem" "$cred/client.pem"
  (umask 077; cp "$root/certs/admin.key" "$cred/client.key")
  local home_cred="${HOME:-/root}/.ringkv"
  if [ -L "$home_cred" ] || [ ! -e "$home_cred" ]; then
    ln -sfn "$cred" "$home_cred"
    echo "cluster: the admin's credentials are in $cred; ~/.ringkv points there (kvctl's default)"
  else
    echo "cluster: ~/.ringkv holds other credentials; use these with RINGKV_CREDENTIALS=$cred"
  fi
}

start() {
  [ -x "$bin/kvnode" ] || { echo "cluster: build first (scripts/build.sh)" >&2; exit 1; }
  nodes=3 racks=1 secure=1
  while [ $# -gt 0 ]; do
    case "$1" in
      --nodes) nodes="$2"; shift 2 ;;
      --racks) racks="$2"; shift 2 ;;
      --insecure) secure=0; shift ;;
      *) usage ;;
    esac
  done
  mkdir -p "$root"
  printf 'nodes=%s\nracks=%s\nsecure=%s\n' "$nodes" "$racks" "$secure" > "$root/cluster.conf"
  [ "$secure" = 1 ] && secure_setup
  local i started=()
  for i in $(seq 1 "$nodes"); do
    if pid=$(running_pid "$i"); then echo "cluster: n$i already runs (pid $pid)"; continue; fi
    launch "$i"
    started+=("$i")
  done
  for i in "${started[@]}"; do await_ready "$i"; done
}

stop_node() {
  local i=$1 pid
  pid=$(running_pid "$i") || return 0
  kill -TERM "$pid"
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || { echo "cluster: n$i stopped"; rm -f "$root/n$i/pid"; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$root/n$i/pid"
  echo "cluster: n$i did not stop within 10 s; killed"
}

stop() {
  load_shape
  local i
  for i in $(seq 1 "$nodes"); do stop_node "$i"; done
}

status() {
  load_shape
  local i first=""
  for i in $(seq 1 "$nodes"); do
    if pid=$(running_pid "$i"); then
      echo "cluster: n$i runs (pid $pid) at $(address_of "$i")"; first=${first:-$i}
    else
      echo "cluster: n$i is not running"
    fi
  done
  if [ -n "$first" ]; then
    if [ "$secure" = 1 ]; then
      RINGKV_CREDENTIALS="$root/credentials" "$bin/kvctl" --node "$(address_of "$first")" status
    else
      "$bin/kvctl" --node "$(address_of "$first")" status
    fi
  fi
  return 0
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) stop ;;
  status) status ;;
  kill)
    load_shape
    [ -n "${2:-}" ] || usage
    if pid=$(running_pid "${2#n}"); then kill -KILL "$pid"; echo "cluster: n${2#n} killed (pid $pid)"; fi ;;
  restart)
    load_shape
    [ -n "${2:-}" ] || usage
    running_pid "${2#n}" >/dev/null || { launch "${2#n}"; await_ready "${2#n}"; } ;;
  wipe) stop; rm -rf "$root"; echo "cluster: data deleted" ;;
  *) usage ;;
esac
