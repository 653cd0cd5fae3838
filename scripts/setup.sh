#!/usr/bin/env bash
# Installs everything ringkv needs to build, test and run, from Debian 12 (bookworm) packages
# only. Idempotent: packages already present are not touched and apt is not even updated when
# nothing is missing. Needs root (or sudo).
set -euo pipefail

packages=(
  g++ make cmake pkg-config
  libcaf-dev libssl-dev           # actors + middleman (CAF 0.17.6)
  librocksdb-dev                  # storage engine (RocksDB 7.8)
  libprotobuf-dev protobuf-compiler
  catch2                          # tests (Catch2 v2)
  libcli11-dev libtomlplusplus-dev libspdlog-dev libfmt-dev libxxhash-dev libcpp-httplib-dev
  python3 procps iproute2 iptables util-linux ca-certificates git  # chaos.py: netns, iptables, nsenter
  python3-venv                    # the Python client's tests install it into a fresh venv
  python3-protobuf                # chaos.py's workloads use the Python client from the tree
  redis-server redis-tools        # kvbench's Redis driver is smoke-tested against them
  etcd-server etcd-client         # and its etcd driver (etcd 3.4) against these
  curl                            # the HTTP API's integration tests drive it
  openssl                         # scripts/certs.sh makes the cluster's certificates
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages already installed"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "setup: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup: done"
