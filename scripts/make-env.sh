#!/usr/bin/env bash
# Writes .env from .env.example with random secrets, when .env does not exist yet. Never overwrites a value:
# an existing .env only gets the secrets it lacks (added by later versions, e.g. PASSWORD_PEPPER).
set -euo pipefail
cd "$(dirname "$0")/.."
umask 077
random_key() { openssl rand -base64 32; }
random_password() { openssl rand -base64 24 | tr -d '/+=' | cut -c1-24; }

if [ -f .env ]; then
  # PASSWORD_PEPPER (issue 9): an .env written before it existed gets one; a set value is kept.
  if ! grep -Eq '^PASSWORD_PEPPER=.+' .env; then
    pepper="$(random_key)"
    if grep -q '^PASSWORD_PEPPER=' .env; then
      sed -i.bak -e "s#^PASSWORD_PEPPER=.*#PASSWORD_PEPPER=${pepper}#" .env && rm -f .env.bak
    else
      printf '\n# Added by make env: HMAC key applied to passwords before bcrypt (docs/security-model.md).\nPASSWORD_PEPPER=%s\n' "${pepper}" >> .env
    fi
    echo "env: .env exists; added a random PASSWORD_PEPPER, left everything else as it is"
  else
    echo "env: .env exists, left as it is"
  fi
  exit 0
fi
kek="$(random_key)"
pepper="$(random_key)"
admin_password="$(random_password)"
postgres_password="$(random_password)"
sed -e "s#^KEY_ENCRYPTION_KEY=.*#KEY_ENCRYPTION_KEY=${kek}#" \
    -e "s#^PASSWORD_PEPPER=.*#PASSWORD_PEPPER=${pepper}#" \
    -e "s#^BOOTSTRAP_ADMIN_PASSWORD=.*#BOOTSTRAP_ADMIN_PASSWORD=${admin_password}#" \
    -e "s#^POSTGRES_PASSWORD=.*#POSTGRES_PASSWORD=${postgres_password}#" .env.example > .env
echo "env: wrote .env with a random KEY_ENCRYPTION_KEY, PASSWORD_PEPPER, BOOTSTRAP_ADMIN_PASSWORD and POSTGRES_PASSWORD (mode 600)"
