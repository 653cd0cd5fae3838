#!/usr/bin/env bash
# Certificates for a ringkv cluster: a CA, and a certificate and key for each node and client.
#   scripts/certs.sh DIR --nodes n1,n2,... [--clients admin,app,...] [--days N] [--hosts H,...]
#                        [--force]
# Writes DIR/ca.pem, and DIR/NAME.pem + DIR/NAME.key for each node and client. DIR/ca.key stays
# in DIR so that certificates can be added later: run again with more names and the CA is reused.
#   nodes    CN=<member id>, OU=node; server and client authentication (peers verify each other);
#            subjectAltName DNS:<id>, DNS:localhost, IP:127.0.0.1 and each of --hosts
#   clients  CN=<principal>, OU=client; client authentication only, so that a client's
#            certificate cannot pose as a node
# Names: 1 to 64 letters, digits, '-' or '_' (a member id). --days: leaf validity (default 365;
# the CA gets 10 years). An existing certificate is kept unless --force. Keys are EC P-256,
# mode 0600 (certificates 0644); DIR is 0700. Needs only openssl, no network.
set -euo pipefail

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
die() { echo "certs.sh: $*" >&2; exit 2; }

[ $# -ge 1 ] || usage
case "$1" in -h | --help) usage ;; -*) die "the first argument is the directory, not '$1'" ;; esac
dir=$1
shift
nodes="" clients="" days=365 hosts="" force=0
while [ $# -gt 0 ]; do
  case "$1" in
    --nodes) [ $# -ge 2 ] || die "--nodes needs a value"; nodes=$2; shift 2 ;;
    --clients) [ $# -ge 2 ] || die "--clients needs a value"; clients=$2; shift 2 ;;
    --days) [ $# -ge 2 ] || die "--days needs a value"; days=$2; shift 2 ;;
    --hosts) [ $# -ge 2 ] || die "--hosts needs a value"; hosts=$2; shift 2 ;;
    --force) force=1; shift ;;
    -h | --help) usage ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[ -n "$nodes$clients" ] || die "name at least one node (--nodes) or client (--clients)"
[[ "$days" =~ ^[1-9][0-9]{0,4}$ ]] || die "--days takes 1 to 99999, not '$days'"
command -v openssl > /dev/null || die "openssl is not installed (scripts/setup.sh installs it)"

IFS=',' read -r -a node_names <<< "$nodes"
IFS=',' read -r -a client_names <<< "$clients"
IFS=',' read -r -a host_names <<< "$hosts"
for name in "${node_names[@]}" "${client_names[@]}"; do
  [[ "$name" =~ ^[A-Za-z0-9_-]{1,64}$ ]] ||
    die "'$name' is not a valid name: 1 to 64 letters, digits, '-' or '_'"
  [ "$name" != ca ] || die "'ca' names the CA's own files; pick another name"
done
for host in "${host_names[@]}"; do
  [[ "$host" =~ ^[A-Za-z0-9.:_-]{1,253}$ ]] || die "'$host' is not a host name or IP address"
done
dup=$(printf '%s\n' "${node_names[@]}" "${client_names[@]}" | sort | uniq -d | head -1)
[ -z "$dup" ] || die "'$dup' is named twice"

umask 077
mkdir -p "$dir"
chmod 700 "$dir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ ! -f "$dir/ca.pem" ] || [ ! -f "$dir/ca.key" ]; then
  [ ! -f "$dir/ca.pem" ] || die "$dir/ca.pem exists without ca.key: cannot sign with it"
  openssl ecparam -name prime256v1 -genkey -noout -out "$dir/ca.key"
  openssl req -x509 -new -key "$dir/ca.key" -sha256 -days 3650 -subj "/O=ringkv/CN=ringkv CA" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$dir/ca.pem" 2> "$work/err" ||
    { cat "$work/err" >&2; exit 1; }
  chmod 644 "$dir/ca.pem"
  echo "CA: $dir/ca.pem"
fi

# issue NAME KIND: a key and a certificate signed by the CA.
issue() {
  local name=$1 kind=$2 ext="$work/$1.ext"
  if [ -f "$dir/$name.pem" ] && [ $force -eq 0 ]; then
    echo "kept: $dir/$name.pem (--force replaces it)"
    return
  fi
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    if [ "$kind" = node ]; then
      echo "extendedKeyUsage=serverAuth,clientAuth"
      local san="DNS:$name,DNS:localhost,IP:127.0.0.1" host
      for host in "${host_names[@]}"; do
        if [[ "$host" =~ ^[0-9.]+$ || "$host" == *:* ]]; then san+=",IP:$host"; else san+=",DNS:$host"; fi
      done
      echo "subjectAltName=$san"
    else
      echo "extendedKeyUsage=clientAuth"
    fi
  } > "$ext"
  openssl ecparam -name prime256v1 -genkey -noout -out "$work/$name.key"
  openssl req -new -key "$work/$name.key" -subj "/O=ringkv/OU=$kind/CN=$name" \
    -out "$work/$name.csr"
  openssl x509 -req -in "$work/$name.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
    -CAcreateserial -CAserial "$dir/ca.srl" -days "$days" -sha256 -extfile "$ext" \
    -out "$work/$name.pem" 2> "$work/err" || { cat "$work/err" >&2; exit 1; }
  mv "$work/$name.key" "$dir/$name.key"
  mv "$work/$name.pem" "$dir/$name.pem"
  chmod 600 "$dir/$name.key"
  chmod 644 "$dir/$name.pem"
  echo "$kind $name: $dir/$name.pem $dir/$name.key"
}

for name in "${node_names[@]}"; do issue "$name" node; done
for name in "${client_names[@]}"; do issue "$name" client; done
