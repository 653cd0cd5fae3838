#!/usr/bin/env bash
# Configures and builds ringkv into $BUILD_DIR (default build/; binaries in build/bin). Two jobs
# by default: C++ builds of CAF code are memory- and CPU-hungry; raise JOBS on bigger machines.
# KV_SANITIZE=address,undefined builds with those sanitizers (use another BUILD_DIR for it).
# Arguments go to `cmake --build` (e.g. --target ringkv_fuzz).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${BUILD_DIR:-build}"
sanitize=()
if [[ -n "${KV_SANITIZE+set}" ]]; then sanitize=(-DKV_SANITIZE="$KV_SANITIZE"); fi
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" "${sanitize[@]}" >/dev/null
cmake --build "$build_dir" -j"${JOBS:-2}" "$@"
