#!/usr/bin/env bash
# Generates the protobuf modules of the client protocol (docs/protocol.md) into
# ringkv/_proto/messages/ with the system protoc (Debian's protobuf-compiler 3.21), from
# messages/protocol.proto and every messages/*.proto it imports, directly or not.
# The output is committed; tests/test_generated.py checks that it matches a fresh run.
#   generate.sh [OUT_DIR]   (default: ringkv/_proto, beside this script)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$here/ringkv/_proto}"

# protoc names a module after its path: messages/client.proto -> messages/client_pb2.py, which
# imports its dependencies as `from messages import x_pb2`. The package keeps that layout and
# makes the imports relative, so the modules resolve inside ringkv._proto.messages.
closure=()
pending=(messages/protocol.proto)
while ((${#pending[@]})); do
  file="${pending[0]}"
  pending=("${pending[@]:1}")
  [[ " ${closure[*]} " == *" $file "* ]] && continue
  closure+=("$file")
  while read -r dep; do pending+=("$dep"); done < <(
    sed -n 's/^import "\(messages\/[A-Za-z0-9_]*\.proto\)";$/\1/p' "$root/$file")
done

mkdir -p "$out/messages"
rm -f "$out"/messages/*_pb2.py
(cd "$root" && protoc -I . --python_out="$out" "${closure[@]}")
sed -i 's/^from messages import \([A-Za-z0-9_]*_pb2\) as /from . import \1 as /' \
  "$out"/messages/*_pb2.py
touch "$out/__init__.py" "$out/messages/__init__.py"
