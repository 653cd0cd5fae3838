#!/usr/bin/env bash
# Makes sure the image the Dockerfile starts from, debian:bookworm-slim, is there. It is pulled
# when a registry answers; where none does (an offline machine), it is built here from Debian's
# packages: debootstrap (minbase) into a temporary directory, then `docker import` under that
# name. Either way `docker build` and `docker-compose up` then work without a registry.
#   scripts/docker-base.sh [--force-local]
set -euo pipefail
image="debian:bookworm-slim"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if [ "${1:-}" != "--force-local" ] && docker image inspect "$image" >/dev/null 2>&1; then
  echo "docker-base: $image is here"
  exit 0
fi
if [ "${1:-}" != "--force-local" ] && timeout 60 docker pull "$image" >/dev/null 2>&1; then
  echo "docker-base: pulled $image"
  exit 0
fi
echo "docker-base: no registry answered; building $image from $mirror with debootstrap"
if ! command -v debootstrap >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap
fi
root="$(mktemp -d /tmp/ringkv-rootfs.XXXXXX)"
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.log" 2>&1 ||
  { tail -20 "$root.log" >&2; echo "docker-base: debootstrap failed (log $root.log)" >&2; exit 1; }
# What the official slim image leaves out: package lists and caches, docs and man pages.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/usr/share/doc/* \
  "$root"/usr/share/man/*
echo "deb $mirror bookworm main" >"$root/etc/apt/sources.list"
echo "deb $mirror bookworm-updates main" >>"$root/etc/apt/sources.list"
tar -C "$root" -c . | docker import - "$image" >/dev/null
rm -f "$root.log"
echo "docker-base: $image built locally ($(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}'))"
