#!/usr/bin/env bash
# The compose cluster's secrets (docker-compose.yml mounts them read-only at /run/secrets/ringkv):
# a CA and certificates for n1..n5 (naming each node's fixed address on the compose network,
# 172.30.117.11..15, besides n1..n5, localhost and 127.0.0.1), the clients admin and app, and
# an ACL (admin may do everything; app reads and writes namespace default). Made once and kept;
# --force makes new ones. The files go to the image's user (uid 10001), through the image
# itself, so no host root is needed.
#   scripts/compose-secrets.sh [--force]      writes .compose/secrets/ (the admin's credentials
#                                             also to .compose/admin/, for kvctl on the host)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=.compose/secrets
if [ "${1:-}" = "--force" ]; then rm -rf "$dir" .compose/admin; fi
if [ ! -f "$dir/acl.toml" ]; then
  mkdir -p .compose
  scripts/certs.sh "$dir" --nodes n1,n2,n3,n4,n5 --clients admin,app \
    --hosts 172.30.117.11,172.30.117.12,172.30.117.13,172.30.117.14,172.30.117.15 > /dev/null
  cat > "$dir/acl.toml" <<'ACL'
# Who may do what on the compose cluster (docs/security.md); docker-compose kill -s HUP reloads.
[principal.admin]
admin = true

[principal.app]
read = ["default"]
write = ["default"]
ACL
  echo "compose-secrets: certificates and ACL in $dir"
fi
# The admin's credentials for kvctl on the host (RINGKV_CREDENTIALS=.compose/admin), its user's.
mkdir -p .compose/admin && chmod 700 .compose/admin
if [ ! -f .compose/admin/client.key ]; then
  cp "$dir/ca.pem" .compose/admin/ca.pem
  cp "$dir/admin.pem" .compose/admin/client.pem
  (umask 077; cp "$dir/admin.key" .compose/admin/client.key)
fi
# Readable by the nodes' user in the containers.
docker run --rm --user 0 -v "$PWD/$dir:/s" --entrypoint chown ringkv:latest -R 10001:10001 /s
