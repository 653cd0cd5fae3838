#!/usr/bin/env bash
# From a fresh Debian 12 machine to a running 3-node ringkv cluster and a short demo:
# installs what is missing, builds, starts three nodes on loopback with TLS and authentication
# on (certificates in .cluster/certs; the admin's in ~/.ringkv, where kvctl finds them), and
# talks to them.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
say() { printf '# %s\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@" || true; }
kvctl=build/bin/kvctl
n1=127.0.0.1:7101 n2=127.0.0.1:7102 n3=127.0.0.1:7103
# Debian's python3 has python3-protobuf (scripts/setup.sh); another python3 first on PATH may not.
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
context_of() { $kvctl --node "$1" get "$2" | sed -n 's/^context: //p'; }

step "1/4 installing packages (scripts/setup.sh)"
scripts/setup.sh
step "2/4 building (scripts/build.sh; a few minutes on two cores the first time)"
scripts/build.sh
step "3/4 starting a 3-node cluster on loopback, TLS and ACL on (scripts/cluster.sh start)"
scripts/cluster.sh start --nodes 3
certs=.cluster/certs
[ -n "${RINGKV_CLUSTER_DIR:-}" ] && certs="$RINGKV_CLUSTER_DIR/certs"
step "4/4 demo"
say "kvctl talks TLS with the admin's certificate from ~/.ringkv; without credentials a node refuses"
run $kvctl --node $n1 --ca $certs/ca.pem get user:1
say "the principal 'app' may read and write namespace default, and no more"
run $kvctl --node $n1 --ca $certs/ca.pem --cert $certs/app.pem --key $certs/app.key status
say "every key lives on 3 replicas (n=3); a write waits for 2 of them (w=2), a read for 2 (r=2)"
run $kvctl --node $n1 put user:1 alice
say "written through n1, read through n2"
run $kvctl --node $n2 get user:1
say "each replica, asked directly"
run $kvctl --node $n3 explain user:1
say "two writes through different nodes, neither seeing the other, are concurrent: both stay"
run $kvctl --node $n1 put cart:7 apples
run $kvctl --node $n3 put cart:7 pears
run $kvctl --node $n2 get cart:7
say "writing back with the context of that read resolves them"
run $kvctl --node $n2 put cart:7 "apples,pears" --context "$(context_of $n2 cart:7)"
run $kvctl --node $n1 get cart:7
say "kill n3: writes still reach w=2 replicas"
run scripts/cluster.sh kill n3
run $kvctl --node $n1 put user:2 bob
run $kvctl --node $n1 explain user:2
say "bring n3 back; a read repairs what it missed"
run scripts/cluster.sh restart n3
sleep 1
run $kvctl --node $n2 get user:2 --r 3
run $kvctl --node $n1 explain user:2
run $kvctl --node $n1 ring
run $kvctl --node $n1 status
say "the same keys over HTTPS (n1 serves it on 127.0.0.1:8101), as the principal app ..."
run curl -s --cacert $certs/ca.pem --cert $certs/app.pem --key $certs/app.key \
  https://127.0.0.1:8101/v1/kv/default/cart:7
echo
say "... and from Python (clients/python, written from docs/protocol.md)"
run env PYTHONPATH=clients/python "$py" -c 'import ringkv
with ringkv.Client("127.0.0.1:7102") as db:
    db.put("user:3", b"carol")
    print("user:3 ->", db.get("user:3").siblings)'
step "done"
echo "The cluster keeps running: try build/bin/kvctl --help. Stop it with scripts/cluster.sh stop."
echo "Certificates are in $certs, the ACL in ${certs%/certs}/acl.toml (docs/security.md)."
