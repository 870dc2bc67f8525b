#!/usr/bin/env bash
# Writes .env from .env.example with random secrets, when .env does not exist yet. Never overwrites.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f .env ]; then echo "env: .env exists, left as it is"; exit 0; fi
umask 077
kek="$(openssl rand -base64 32)"
admin_password="$(openssl rand -base64 24 | tr -d '/+=' | cut -c1-24)"
postgres_password="$(openssl rand -base64 24 | tr -d '/+=' | cut -c1-24)"
sed -e "s#^KEY_ENCRYPTION_KEY=.*#KEY_ENCRYPTION_KEY=${kek}#" \
    -e "s#^BOOTSTRAP_ADMIN_PASSWORD=.*#BOOTSTRAP_ADMIN_PASSWORD=${admin_password}#" \
    -e "s#^POSTGRES_PASSWORD=.*#POSTGRES_PASSWORD=${postgres_password}#" .env.example > .env
echo "env: wrote .env with a random KEY_ENCRYPTION_KEY, BOOTSTRAP_ADMIN_PASSWORD and POSTGRES_PASSWORD (mode 600)"
