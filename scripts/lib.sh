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
# to LOG_FILE through scripts/capped-log.ts, which caps the file at DEV_LOG_MAX_BYTES and keeps DEV_LOG_KEEP older
# files (LOG_FILE.1, LOG_FILE.2, ...; defaults and checks in capped-log.ts: a bad value stops here, naming it). Sets
# LOGGED_PID to COMMAND's process id; the capper ends when COMMAND and its children have closed their output. The
# capper's own output goes nowhere: it must not hold the caller's terminal or pipe open (`make dev | tail` would
# wait for the services to stop).
run_logged() {
  local log="$1" capper="${BASH_SOURCE[0]%/*}/capped-log.ts"; shift
  node "$capper" --check || return 1
  nohup "$@" > >(exec node "$capper" "$log" >/dev/null 2>&1) 2>&1 &
  LOGGED_PID=$!
}
