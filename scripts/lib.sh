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
