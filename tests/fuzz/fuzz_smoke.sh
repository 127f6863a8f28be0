# fuzz_smoke: each libFuzzer target for a short run (FUZZ_SECONDS, default 15) on its seed corpus;
# scripts/fuzz --seconds 600 is the long run.
# run alone: it keeps both cores busy (scripts/test runs other tests three at a time).
set -euo pipefail
"$ROOT/scripts/fuzz" --seconds "${FUZZ_SECONDS:-15}"
