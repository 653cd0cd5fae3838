#!/usr/bin/env bash
# From a fresh Debian 12 machine to a running ringkv node and a short demo:
# installs what is missing, builds, starts a local node, and talks to it through kvctl.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
run() { printf '$ %s\n' "$*"; "$@" || true; }
kvctl=build/bin/kvctl

step "1/4 installing packages (scripts/setup.sh)"
scripts/setup.sh
step "2/4 building (scripts/build.sh; a few minutes on two cores the first time)"
scripts/build.sh
step "3/4 starting a local node (scripts/cluster.sh start)"
scripts/cluster.sh start
step "4/4 demo"
run $kvctl put user:1 alice
run $kvctl get user:1
echo "# two writes without a context are concurrent: both are kept, as siblings"
run $kvctl put cart:7 apples
run $kvctl put cart:7 pears
run $kvctl get cart:7
ctx=$($kvctl get cart:7 | sed -n 's/^context: //p')
echo "# writing back with the context resolves them"
run $kvctl put cart:7 "apples,pears" --context "$ctx"
run $kvctl get cart:7
run $kvctl --json get user:1
run $kvctl del user:1 --context "$($kvctl get user:1 | sed -n 's/^context: //p')"
run $kvctl get user:1
run $kvctl status
step "done"
echo "The node keeps running: try build/bin/kvctl --help. Stop it with scripts/cluster.sh stop."
