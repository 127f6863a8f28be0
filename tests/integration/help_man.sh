# help_man: every option that `--help` lists is documented in the man page's OPTIONS section, and
# every option the man page documents exists in `--help`; each page renders without groff warnings.
. "$(dirname "$0")/lib.sh"
command -v groff >/dev/null || skip "groff missing"

# help_options ARGS...: the long options `ssestitch ARGS --help` lists (one per line, sorted).
help_options() {
  "$SSESTITCH" "$@" --help | grep -oE '^ +(-[a-zA-Z], ?)?--[a-z0-9-]+' | grep -oE -- '--[a-z0-9-]+' |
    grep -vx -- '--help' | sort -u
}
# man_options PAGE SECTION: the options a .TP entry of SECTION introduces (".B \-\-x", ".BI \-\-x ...").
man_options() {
  awk -v sect="$2" '
    /^\.SH / { insect = ($0 ~ sect) ; next }
    insect && /^\.TP/ { tp = 1; next }
    insect && tp { tp = 0; if ($0 ~ /^\.B[IR]? +\\-\\-/) { sub(/^\.B[IR]? +/, ""); split($0, w, /[ "]/); print w[1] } }
  ' "$1" | sed 's/\\-/-/g' | sort -u
}
check() { # PAGE SECTION ARGS...
  local page=$1 sect=$2; shift 2
  [ -f "$page" ] || fail "missing man page $page"
  diff <(help_options "$@") <(man_options "$page" "$sect") >"$SCRATCH/diff" ||
    fail "$(basename "$page"): --help (<) and man page (>) disagree:
$(cat "$SCRATCH/diff")"
  local warnings
  warnings=$(groff -ww -man -Tutf8 "$page" 2>&1 >/dev/null)
  [ -z "$warnings" ] || fail "$(basename "$page"): groff warnings: $warnings"
  info "$(basename "$page"): $(help_options "$@" | wc -l) options agree"
}
check "$ROOT/man/ssestitch.1" "GLOBAL OPTIONS"
check "$ROOT/man/ssestitch-proxy.1" "OPTIONS" proxy
check "$ROOT/man/ssestitch-inspect.1" "OPTIONS" inspect
check "$ROOT/man/ssestitch-replay.1" "OPTIONS" replay
check "$ROOT/man/ssestitch-bench.1" "OPTIONS" bench
echo "help_man: ok"
