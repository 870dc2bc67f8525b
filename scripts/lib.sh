# Shared shell helpers. Source it.
# load_env FILE: export KEY=VALUE lines from FILE, but never override a variable already set.
# A value may come as NAME or as NAME_FILE (a file holding it); the services refuse both at once. When the
# environment gives one form, FILE's other form is ignored too (and a line on stderr says so, naming no value):
# the environment wins for the pair, as it does for a single variable.
load_env() {
  local file="$1" line key value other loaded=' '
  [ -f "$file" ] || return 0
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in ''|'#'*) continue ;; esac
    key="${line%%=*}"; value="${line#*=}"
    [[ "$key" =~ ^[A-Z_][A-Z0-9_]*$ ]] || continue
    [ -z "${!key+x}" ] || continue
    # The pair's other form, given by the environment (not by an earlier line of FILE) and not empty.
    if [[ "$key" == *_FILE ]]; then other="${key%_FILE}"; else other="${key}_FILE"; fi
    if [ -n "$value" ] && [ -n "$other" ] && [ -n "${!other:-}" ] && [[ "$loaded" != *" $other "* ]]; then
      echo "env: $other is set in the environment; ignoring $key from $file" >&2
      continue
    fi
    export "$key=$value"
    loaded+="$key "
  done < "$file"
}

# run_logged LOG_FILE COMMAND...: start COMMAND in the background (immune to hangups), its output and errors going
# to LOG_FILE through scripts/capped-log.ts, which caps the file at DEV_LOG_MAX_BYTES (default 10 MiB) and keeps
# DEV_LOG_KEEP older files (default 2: LOG_FILE.1, LOG_FILE.2). Sets LOGGED_PID to COMMAND's process id; the
# capper ends when COMMAND and its children have closed their output. The capper's own output goes nowhere: it
# must not hold the caller's terminal or pipe open (`make dev | tail` would wait for the services to stop).
run_logged() {
  local log="$1"; shift
  if ! [[ "${DEV_LOG_MAX_BYTES:-10485760}" =~ ^[0-9]+$ ]] || [ "${DEV_LOG_MAX_BYTES:-10485760}" -lt 1024 ]; then
    echo "dev: DEV_LOG_MAX_BYTES must be a whole number of bytes, at least 1024" >&2; return 1
  fi
  if ! [[ "${DEV_LOG_KEEP:-2}" =~ ^[0-9]+$ ]]; then
    echo "dev: DEV_LOG_KEEP must be a whole number of older files (0 or more)" >&2; return 1
  fi
  nohup "$@" > >(exec node "${BASH_SOURCE[0]%/*}/capped-log.ts" "$log" "${DEV_LOG_MAX_BYTES:-10485760}" \
    "${DEV_LOG_KEEP:-2}" >/dev/null 2>&1) 2>&1 &
  LOGGED_PID=$!
}
