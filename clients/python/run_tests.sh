#!/usr/bin/env bash
# Installs the Python client into a fresh venv with pip, as a user would, and runs its tests
# there (unittest: nothing to install but the package and protobuf). The live tests run too
# when KVNODE names a kvnode binary; without it they are skipped.
#   run_tests.sh [VENV_DIR]   (default: a temporary directory, removed afterwards)
# Environment: PYTHON (default python3), PROTOBUF (a protobuf version to pin, e.g. 4.21.12).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="${PYTHON:-python3}"

if [ $# -ge 1 ]; then
  venv="$1"
else
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  venv="$tmp/venv"
fi

"$python" -m venv "$venv"
# pip builds the wheel in the source tree; clients/python/.gitignore covers what it leaves.
"$venv/bin/pip" install --quiet --disable-pip-version-check \
  ${PROTOBUF:+"protobuf==$PROTOBUF"} "$here"
# From tests/: the package is the installed one, not the source beside the tests.
cd "$here/tests"
"$venv/bin/python" - <<'PY'
import google.protobuf, ringkv
print("ringkv from %s, protobuf %s" % (ringkv.__file__, google.protobuf.__version__))
assert "site-packages" in ringkv.__file__, "the tests must import the installed package"
PY
# The tests say which credentials each client uses: none from this shell or ~/.ringkv.
unset RINGKV_CERT RINGKV_KEY RINGKV_CA RINGKV_TOKEN
export RINGKV_CREDENTIALS=/nonexistent
exec "$venv/bin/python" -m unittest discover -v -s . -p 'test_*.py'
