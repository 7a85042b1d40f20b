#!/usr/bin/env bash
# Proves: `cpack -G DEB` makes a package that names its dependencies and
# conffiles, and that installs with dpkg into a clean, minimal Debian 12
# root made by mmdebstrap from Debian's mirror (minbase, the package's
# dependencies and systemd; nothing of this host or its build) where `osmig
# --version` answers, `osmig matrix` finds the installed matrices, the man
# page, completions, systemd unit, tmpfiles and logrotate rules and the
# configuration file are in place, systemd-analyze of the root accepts the
# unit, `osmig serve` from it answers /healthz and /metrics on loopback, and
# `dpkg --purge` removes it all. The root is cached in the fixture cache,
# keyed on its package list. Needs root (chroot, mounts) and mmdebstrap;
# SKIP without them, or when the mirror cannot be reached to build the root.
set -euo pipefail
: "${OSMIG_BIN:?run under ctest}" "${OSMIG_SOURCE_DIR:?run under ctest}"
fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "not root: the clean root needs mounts and chroot"
for p in cpack dpkg-deb chroot curl mmdebstrap; do command -v "$p" >/dev/null || skip "$p not installed (scripts/install-deps.sh)"; done
MIRROR=${OSMIG_DEBIAN_MIRROR:-http://deb.debian.org/debian}
BUILD=$(dirname "$OSMIG_BIN")
W=$(mktemp -d "${TMPDIR:-/tmp}/osm-deb.XXXXXX")
M=$W/root
MOUNTS=()
SERVER=
cleanup() {
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
  for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do umount "${MOUNTS[i]}" 2>/dev/null || umount -l "${MOUNTS[i]}" 2>/dev/null || true; done
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$W"
}
trap cleanup EXIT

# the package
(cd "$BUILD" && cpack -G DEB -B "$W/pkg" >"$W/cpack.out" 2>&1) || { cat "$W/cpack.out"; fail "cpack failed"; }
deb=$(ls "$W"/pkg/osmig_*.deb 2>/dev/null | head -1)
[ -f "$deb" ] || { cat "$W/cpack.out"; fail "no .deb made"; }
dpkg-deb -f "$deb" Depends >"$W/depends"
for d in libmicrohttpd12 libpq5 libcurl4 libjansson4 libsolv; do grep -q "$d" "$W/depends" || { cat "$W/depends"; fail "Depends lacks $d"; }; done
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles >"$W/conffiles"
grep -qx /etc/osmig/osmig.conf "$W/conffiles" || fail "osmig.conf is not a conffile"
dpkg-deb -c "$deb" | awk '{print $6}' >"$W/contents"
prefix=$(grep -m1 '/bin/osmig$' "$W/contents" | sed 's#^\./##; s#/bin/osmig$##')
[ -n "$prefix" ] || fail "no bin/osmig in the package"
for f in "bin/osmig" "share/man/man8/osmig.8" "share/bash-completion/completions/osmig" \
  "share/zsh/vendor-completions/_osmig" "lib/systemd/system/osmig.service" "lib/tmpfiles.d/osmig.conf" \
  "share/osmig/matrices/"; do
  grep -q "^\./$prefix/$f" "$W/contents" || fail "$prefix/$f not in the package"
done
grep -q '^\./etc/logrotate.d/osmig$' "$W/contents" || fail "no logrotate rule"

# the clean root: Debian 12 minbase with the package's dependencies (the
# first of each alternative, versions dropped) and systemd, cached by that list
deps=$(tr ',' '\n' <"$W/depends" | sed 's/|.*//; s/(.*)//; s/[[:space:]]//g' | grep -v '^$' | sort -u)
pkgs=$(printf '%s\n' $deps systemd | sort -u | paste -sd, -)
key=$(printf 'bookworm minbase %s %s\n' "$MIRROR" "$pkgs" | sha256sum | cut -c1-16)
CACHE=${OSMIG_FIXTURE_CACHE:-$W/cache}/debian12-root
tarball=$CACHE/root-$key.tar
mkdir -p "$CACHE"
(
  flock 9
  if [ ! -s "$tarball" ]; then
    curl -fsS --max-time 20 -o /dev/null "$MIRROR/dists/bookworm/Release" 2>"$W/mirror.err" ||
      { echo "SKIP: Debian's mirror $MIRROR cannot be reached to build the clean root: $(cat "$W/mirror.err")"; exit 77; }
    mmdebstrap --variant=minbase --format=tar --include="$pkgs" bookworm "$tarball.tmp" "$MIRROR" >"$W/mmdebstrap.out" 2>&1 ||
      { tail -30 "$W/mmdebstrap.out"; rm -f "$tarball.tmp"; echo "FAIL: mmdebstrap could not make the root"; exit 1; }
    mv "$tarball.tmp" "$tarball"
  fi
) 9>"$CACHE/.lock" || exit $?
mkdir -p "$M"
tar -C "$M" -xf "$tarball"
[ ! -e "$M/$prefix/bin/osmig" ] && [ ! -e "$M/etc/osmig" ] || fail "the clean root already has osmig"
mount -t proc proc "$M/proc"; MOUNTS+=("$M/proc")
mount --bind /dev "$M/dev"; MOUNTS+=("$M/dev")
cp "$deb" "$M/tmp/osmig.deb"
chroot "$M" dpkg -i /tmp/osmig.deb >"$W/dpkg.out" 2>&1 || { cat "$W/dpkg.out"; fail "dpkg -i failed in the clean root"; }
in_root() { chroot "$M" env -i PATH="/$prefix/bin:/usr/bin:/bin" HOME=/root OSMIG_NO_AUTO_RESUME=1 "$@"; }
v=$(in_root osmig --version) || fail "osmig --version failed in the clean root"
[ "$v" = "$("$OSMIG_BIN" --version)" ] || fail "the installed osmig says '$v'"
in_root osmig matrix >"$W/matrix" 2>&1 || { cat "$W/matrix"; fail "osmig matrix failed in the clean root"; }
grep -q "Alibaba Cloud Linux 3" "$W/matrix" || fail "the installed matrices are not found"
in_root bash -c ". /$prefix/share/bash-completion/completions/osmig && complete -p osmig" | grep -q _osmig ||
  fail "the installed bash completion does not register"
in_root osmig __complete as | grep -qx assess || fail "the installed osmig does not complete"
grep -q "ExecStart=/$prefix/bin/osmig serve" "$M/$prefix/lib/systemd/system/osmig.service" ||
  fail "the unit does not start the installed binary"
[ -f "$M/etc/osmig/osmig.conf" ] && [ -d "$M/etc/osmig/matrices.d" ] || fail "/etc/osmig not installed"
# the configuration as installed is valid: only comments
in_root osmig --config /etc/osmig/osmig.conf matrix >/dev/null || fail "the installed osmig.conf is refused"
# systemd's own reading of the unit, in the root (its systemd): no unknown
# or invalid setting, and its binary there (the Documentation= check needs
# man's database, which a minbase root lacks)
[ -x "$M/usr/bin/systemd-analyze" ] || fail "the clean root has no systemd-analyze"
in_root systemd-analyze verify "/$prefix/lib/systemd/system/osmig.service" >"$W/verify" 2>&1 || true
if grep -Ei "unknown|invalid|failed to parse|not executable|no such file" "$W/verify" |
  grep -v "^osmig.service: Command 'man"; then
  fail "systemd rejects the unit"
fi

# osmig serve from the installed package answers on loopback
in_root osmig serve --listen 127.0.0.1:0 --state-dir /var/lib/osmig-deb-test --public-metrics >"$W/serve.out" 2>"$W/serve.err" &
SERVER=$!
for _ in $(seq 100); do grep -q '127.0.0.1:[0-9]' "$W/serve.out" 2>/dev/null && break; sleep 0.1; done
port=$(grep -o '127.0.0.1:[0-9]*' "$W/serve.out" | head -1 | cut -d: -f2)
[ -n "$port" ] || { cat "$W/serve.out" "$W/serve.err"; fail "the installed osmig serve did not say where it listens"; }
health=$(curl -fsS "http://127.0.0.1:$port/healthz") || { cat "$W/serve.err"; fail "GET /healthz failed"; }
grep -q '"status": *"ok"' <<<"$health" || fail "the installed server is not healthy: $health"
curl -fsS "http://127.0.0.1:$port/metrics" >"$W/metrics" || { cat "$W/serve.err"; fail "GET /metrics failed"; }
[ -s "$W/metrics" ] || fail "empty metrics"
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=

chroot "$M" dpkg --purge osmig >"$W/purge.out" 2>&1 || { cat "$W/purge.out"; fail "dpkg --purge failed"; }
[ ! -e "$M/$prefix/bin/osmig" ] && [ ! -e "$M/etc/osmig/osmig.conf" ] || fail "purge left osmig behind"
echo "installed and ran $(basename "$deb") (prefix /$prefix) in a clean Debian 12 root (root-$key.tar: $pkgs)"
echo PASS
