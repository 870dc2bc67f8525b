#!/usr/bin/env bash
# A local CA and a server certificate for the gateway: `make certs` (or CERTS_DIR=... bash infra/certs/make-certs.sh).
# SANs: localhost, 127.0.0.1, ::1 and the gateway's compose service name. Clients trust ca.crt; nothing is insecure.
# Keeps existing files; delete the folder to start over.
set -euo pipefail
dir="${CERTS_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/certs}"
extra_san="${GATEWAY_HOSTNAME:-gateway}"
mkdir -p "$dir"
cd "$dir"
if [ -f ca.crt ] && [ -f server.crt ] && [ -f server.key ]; then echo "certs: $dir already has ca.crt and server.crt"; exit 0; fi
umask 077
openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj "/CN=authstack local CA" \
  -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.crt
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
echo "certs: wrote $dir/ca.crt (trust this) and $dir/server.crt, server.key (SANs localhost, 127.0.0.1, ::1, ${extra_san})"
