#!/usr/bin/env bash
# Configures and builds ringkv into build/ (binaries in build/bin). Two jobs by default: C++
# builds of CAF code are memory- and CPU-hungry; raise JOBS on bigger machines.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" >/dev/null
cmake --build build -j"${JOBS:-2}"
