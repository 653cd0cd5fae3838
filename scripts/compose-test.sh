#!/usr/bin/env bash
# The compose cluster under test, where a Docker engine answers (else exit 77: skipped):
# builds ringkv:latest from build/bin (scripts/docker-image.sh --prebuilt), brings
# docker-compose.yml up with the chaos configuration, requires the one-shot smoke service to
# succeed, checks that the nodes run unprivileged, then runs scripts/chaos.py against the
# containers (kill -9 and restart, partitions through the containers' network namespaces, docker
# pause, actor kills, a node whose restart intensity is exceeded and that Docker's restart policy
# brings back) and requires its verdict to be clean. Everything is taken down (with its
# volumes) at the end.
#   scripts/compose-test.sh [--duration S] [--seed N]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=60 seed=11
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    *) echo "compose-test: unknown option $1" >&2; exit 2 ;;
  esac
done
if ! timeout 20 docker info >/dev/null 2>&1; then
  echo "compose-test: SKIPPED: no Docker engine answers (docker info)"
  exit 77
fi
scripts/docker-image.sh --prebuilt
scripts/compose-secrets.sh
project="ringkvtest$$"
compose=(docker-compose -p "$project" -f docker-compose.yml -f scripts/compose/chaos.override.yml)
trap '"${compose[@]}" down -v -t 2 >/dev/null 2>&1 || true' EXIT
"${compose[@]}" up -d
smoke="$(timeout 180 docker wait "${project}_smoke_1")"
"${compose[@]}" logs --no-color smoke | tail -12
if [ "$smoke" != "0" ]; then
  echo "compose-test: the smoke service exited $smoke" >&2
  "${compose[@]}" logs --no-color --tail 30 n1 n2 n3 >&2
  exit 1
fi
# The nodes run as the image's unprivileged user, and their data is theirs alone.
who="$(docker exec "${project}_n1_1" sh -c 'echo "$(id -u) $(stat -c %a /data)"')"
if [ "$who" != "10001 700" ]; then
  echo "compose-test: n1 runs as uid and /data mode '$who', not '10001 700'" >&2
  exit 1
fi
echo "compose-test: smoke OK, nodes run as uid 10001; chaos for ${duration}s (seed $seed)"
python3 scripts/chaos.py run --compose "$project" --duration "$duration" --seed "$seed" \
  --faults "${faults:-kill,kill-many,partition,pause,actor,too-fast}" --dir "build/chaos-compose"
# A named actor, through the admin request, as an operator would.
python3 scripts/chaos.py fault actor n1 --role coordinator --compose "$project"
