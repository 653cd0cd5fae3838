#!/usr/bin/env bash
# scripts/certs.sh: what it writes verifies against its CA with the right purposes and modes, a
# second run reuses the CA and keeps what exists, and bad input exits 2 writing nothing.
set -euo pipefail
certs="$(cd "$(dirname "$0")/../.." && pwd)/scripts/certs.sh"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
mode() { stat -c %a "$1"; }

"$certs" "$dir/c" --nodes n1,n2 --clients admin --hosts 10.0.0.5,db.example > /dev/null
c=$dir/c
[ "$(mode "$c")" = 700 ] || fail "the directory is $(mode "$c"), not 700"
for name in n1 n2 admin; do
  [ "$(mode "$c/$name.key")" = 600 ] || fail "$name.key is $(mode "$c/$name.key"), not 600"
  openssl verify -CAfile "$c/ca.pem" -purpose sslclient "$c/$name.pem" > /dev/null ||
    fail "$name.pem is not a client certificate of the CA"
done
[ "$(mode "$c/ca.key")" = 600 ] || fail "ca.key is not 600"
openssl verify -CAfile "$c/ca.pem" -purpose sslserver "$c/n1.pem" > /dev/null ||
  fail "n1.pem is not a server certificate"
if openssl verify -CAfile "$c/ca.pem" -purpose sslserver "$c/admin.pem" > /dev/null 2>&1; then
  fail "a client certificate passes as a server's"
fi
openssl x509 -in "$c/n1.pem" -noout -subject | grep -q "OU = node, CN = n1" || fail "n1's subject"
openssl x509 -in "$c/admin.pem" -noout -subject | grep -q "OU = client, CN = admin" ||
  fail "admin's subject"
openssl x509 -in "$c/n2.pem" -noout -ext subjectAltName |
  grep -q "DNS:n2, DNS:localhost, IP Address:127.0.0.1, IP Address:10.0.0.5, DNS:db.example" ||
  fail "n2's subjectAltName"

# A second run adds n3 under the same CA and keeps n1 as it was; --force replaces it.
before=$(sha256sum < "$c/n1.pem")
ca=$(sha256sum < "$c/ca.pem")
"$certs" "$c" --nodes n1,n3 > "$dir/out"
grep -q "kept: $c/n1.pem" "$dir/out" || fail "n1 not reported as kept"
[ "$(sha256sum < "$c/n1.pem")" = "$before" ] || fail "n1.pem changed without --force"
[ "$(sha256sum < "$c/ca.pem")" = "$ca" ] || fail "the CA changed"
openssl verify -CAfile "$c/ca.pem" "$c/n3.pem" > /dev/null || fail "n3.pem is not of the CA"
"$certs" "$c" --nodes n1 --force > /dev/null
[ "$(sha256sum < "$c/n1.pem")" != "$before" ] || fail "--force did not replace n1.pem"

# Bad input: exit 2, a message naming the problem, nothing written.
expect_refusal() {
  local want=$1
  shift
  set +e
  "$certs" "$dir/bad" "$@" > /dev/null 2> "$dir/err"
  local rc=$?
  set -e
  [ $rc -eq 2 ] || fail "certs.sh $* exited $rc, not 2"
  grep -qF -- "$want" "$dir/err" || fail "certs.sh $*: '$(cat "$dir/err")' does not say '$want'"
  [ ! -e "$dir/bad" ] || fail "certs.sh $* wrote $dir/bad"
}
expect_refusal "not a valid name" --nodes "n1,bad name"
expect_refusal "named twice" --nodes n1 --clients n1
expect_refusal "names the CA" --clients ca
expect_refusal "at least one" --hosts h
expect_refusal "--days takes" --nodes n1 --days 0
expect_refusal "unknown argument" --nodes n1 --bogus
expect_refusal "needs a value" --nodes
echo "certs.sh: all checks passed"
