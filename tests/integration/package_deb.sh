# package_deb: `cpack -G DEB` builds a .deb whose dependencies are Debian packages (computed by
# dpkg-shlibdeps), which apt would install, and whose binary and man pages work once unpacked.
. "$(dirname "$0")/lib.sh"
[ "${FLAVOUR:-release}" = release ] || skip "packages are built from the release build only"
command -v cpack >/dev/null && command -v dpkg-deb >/dev/null || skip "cpack or dpkg-deb missing"
( cd "$BUILD_DIR" && timeout 300 cpack -G DEB -B "$SCRATCH/pkg" ) >"$SCRATCH/cpack.log" 2>&1 ||
  fail "cpack: $(tail -n 5 "$SCRATCH/cpack.log")"
deb=$(ls "$SCRATCH"/pkg/ssestitch_*.deb)
deps=$(dpkg-deb -f "$deb" Depends)
info "Depends: $deps"
for lib in libcurl4 liblmdb0 libevent-core libsimdjson; do
  grep -q "$lib" <<<"$deps" || fail "Depends lacks $lib"
done
if command -v apt-get >/dev/null; then
  apt-get install --simulate -qq "$deb" >"$SCRATCH/apt.log" 2>&1 || fail "apt would not install it: $(tail -n 5 "$SCRATCH/apt.log")"
fi
dpkg-deb -x "$deb" "$SCRATCH/root"
v=$("$SCRATCH/root/usr/bin/ssestitch" --version)
[[ $v =~ ^ssestitch\ [0-9] ]] || fail "--version: $v"
for page in ssestitch ssestitch-proxy ssestitch-inspect ssestitch-replay ssestitch-bench; do
  [ -f "$SCRATCH/root/usr/share/man/man1/$page.1" ] || fail "$page.1 not packaged"
done
echo "package_deb: ok ($(basename "$deb"), $v)"
