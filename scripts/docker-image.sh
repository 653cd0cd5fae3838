#!/usr/bin/env bash
# Builds the ringkv:latest image.
#   scripts/docker-image.sh              the Dockerfile as a user runs it: compile, then runtime
#   scripts/docker-image.sh --prebuilt   the runtime stage with this checkout's build/bin (for
#                                        tests: no second compilation; same libraries, since
#                                        both are Debian 12)
# Either way the base image comes first (scripts/docker-base.sh: pulled, or built offline).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/docker-base.sh
if [ "${1:-}" != "--prebuilt" ]; then
  docker build -t ringkv:latest .
  exit 0
fi
for b in kvnode kvctl kvbench; do
  [ -x "build/bin/$b" ] || { echo "docker-image: build/bin/$b is missing (scripts/build.sh)" >&2; exit 1; }
done
docker build -q --target runtime-base -t ringkv-runtime-base:latest . >/dev/null
context="$(mktemp -d /tmp/ringkv-image.XXXXXX)"
trap 'rm -rf "$context"' EXIT
cp build/bin/kvnode build/bin/kvctl build/bin/kvbench "$context/"
strip "$context"/kv* 2>/dev/null || true
printf 'FROM ringkv-runtime-base:latest\nCOPY kvnode kvctl kvbench /usr/local/bin/\n' >"$context/Dockerfile"
docker build -q -t ringkv:latest "$context" >/dev/null
echo "docker-image: ringkv:latest from build/bin ($(docker image inspect -f '{{.Size}}' ringkv:latest | awk '{printf "%.0f MB", $1/1e6}'))"
