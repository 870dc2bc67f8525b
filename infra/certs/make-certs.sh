#!/usr/bin/env bash
# A local CA and a server certificate for the gateway: `make certs` (or CERTS_DIR=... bash infra/certs/make-certs.sh).
# SANs: localhost, 127.0.0.1, ::1 and the gateway's compose service name. Clients trust ca.crt; nothing is insecure.
# The CA carries X.509 name constraints (critical): it can only vouch for those same names (DNS localhost and
# *.localhost, the gateway's name, IP 127.0.0.1 and ::1), so a leaked ca.key cannot impersonate any other site.
# Keeps existing files; delete the folder to start over.
# Without openssl on PATH it runs itself in the tools container (scripts/tools-container.sh: the pinned Node image with
# Debian's openssl), so `make up` needs only Docker; the certificates and the CA's name constraints are the same.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
dir="${CERTS_DIR:-$root/certs}"
extra_san="${GATEWAY_HOSTNAME:-gateway}"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
if ! command -v openssl >/dev/null 2>&1; then
  echo "certs: openssl is not on PATH; making the certificates in the tools container" >&2
  CERTS_DIR="$dir" TOOLS_DIR="$dir" exec bash "$root/scripts/tools-container.sh" bash "$root/infra/certs/make-certs.sh"
fi
cd "$dir"
if [ -f ca.crt ] && [ -f server.crt ] && [ -f server.key ]; then
  echo "certs: $dir already has ca.crt and server.crt"
  if ! openssl x509 -in ca.crt -noout -ext nameConstraints 2>/dev/null | grep -q Permitted; then
    echo "certs: warning: $dir/ca.crt has no name constraints (made by an older version) and can sign for any name;" >&2
    echo "certs: delete $dir and run this again, and remove the old CA from any trust store you added it to" >&2
  fi
  exit 0
fi
umask 077
openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj "/CN=authstack local CA" \
  -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -addext "nameConstraints=critical,permitted;DNS:localhost,permitted;DNS:${extra_san},permitted;IP:127.0.0.1/255.255.255.255,permitted;IP:::1/ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" \
  -out ca.crt
openssl ecparam -name prime256v1 -genkey -noout -out server.key 2>/dev/null
openssl req -new -key server.key -subj "/CN=localhost" -out server.csr
cat > server.ext <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1,DNS:${extra_san}
EXT
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 -sha256 -extfile server.ext -out server.crt 2>/dev/null
rm -f server.csr server.ext ca.srl
chmod 644 ca.crt server.crt
chmod 600 ca.key
# The gateway container's nginx master reads the key as root with every capability that bypasses file modes
# dropped, so the key file is world-readable and the folder is what keeps it private (mode 700).
chmod 644 server.key
chmod 700 "$dir"
echo "certs: wrote $dir/ca.crt (trust this; it can only sign for localhost, ${extra_san}, 127.0.0.1 and ::1) and $dir/server.crt, server.key (SANs localhost, 127.0.0.1, ::1, ${extra_san})"
