#!/usr/bin/env bash
# stage-apply.sh: osmig's stage + apply + verify of N small real RPMs (an
# upgrade of every package of a root) against the floor, `rpm -Uvh --root`
# of the same package files, in one run, on the same kind of root.
#
#   bench/stage-apply.sh [BUILD_DIR] [N]      (defaults: ./build, 300)
# Needs: rpmbuild, rpmsign, gpg, createrepo_c, lighttpd (scripts/install-deps.sh).
# Prints the figures; asserts nothing about time.
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
N=${2:-300}
TOOL="$BUILD/tests/linux/stage/osm_stage_tool"
[ -x "$TOOL" ] || { echo "build first: $TOOL missing" >&2; exit 1; }
W=$(mktemp -d "${TMPDIR:-/tmp}/osm-bench-stage.XXXXXX")
HTTPD_PID=
trap '[ -n "$HTTPD_PID" ] && kill "$HTTPD_PID" 2>/dev/null; gpgconf --homedir "$W/gnupg" --kill gpg-agent 2>/dev/null; rm -rf "$W"' EXIT

spec() { # spec VERSION: one spec, N subpackages osmb-1..N, each with a few small files
  local v=$1
  printf 'Name: osmb\nVersion: %s\nRelease: 1\nSummary: bench\nLicense: MIT\nBuildArch: noarch\nAutoReqProv: no\n%%description\nbench\n' "$v"
  for i in $(seq "$N"); do
    printf '%%package -n osmb-%d\nSummary: bench %d\n%%description -n osmb-%d\nbench\n%%files -n osmb-%d\n/usr/share/osmb/%d\n' "$i" "$i" "$i" "$i" "$i"
  done
  printf '%%install\nfor i in $(seq %d); do d=%%{buildroot}/usr/share/osmb/$i; mkdir -p $d; for f in a b c d; do head -c 2048 /dev/urandom | base64 > $d/$f; done; done\n' "$N"
}
build() { # build VERSION OUTDIR
  mkdir -p "$W/top-$1/SPECS" "$2"
  spec "$1" >"$W/top-$1/SPECS/osmb.spec"
  rpmbuild --quiet --define "_topdir $W/top-$1" --define "_build_id_links none" -bb "$W/top-$1/SPECS/osmb.spec" >/dev/null 2>&1
  mv "$W/top-$1"/RPMS/noarch/*.rpm "$2/"
}
echo "building $N source and $N target packages..."
build 1.0 "$W/src"
build 2.0 "$W/repo/Packages"
mkdir -m 700 "$W/gnupg"
GNUPGHOME="$W/gnupg" gpg --batch --quiet --passphrase '' --quick-gen-key "osmig bench <bench@osmig.test>" rsa2048 sign never 2>/dev/null
GNUPGHOME="$W/gnupg" gpg --batch --armor --export >"$W/key.asc"
rpmsign --addsign --define "__gpg $(command -v gpg)" --define "_gpg_name osmig bench" --define "_gpg_path $W/gnupg" \
  "$W"/repo/Packages/*.rpm >/dev/null 2>&1
createrepo_c --quiet "$W/repo" >/dev/null

mkroot() {
  mkdir -p "$1/etc" "$1/var/lib/rpm"
  rpm --root "$1" --dbpath /var/lib/rpm -i --nodeps "$W"/src/*.rpm 2>/dev/null
  printf 'ID=osmb\nVERSION_ID="2"\n' >"$1/etc/os-release"
  printf 'UUID=1 / xfs defaults 0 0\n' >"$1/etc/fstab"
}
mkroot "$W/root-osmig"
mkroot "$W/root-rpm"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'server.document-root = "%s"\nserver.bind = "127.0.0.1"\nserver.port = %s\nserver.errorlog = "%s/httpd.err"\nmimetype.assign = ("" => "application/octet-stream")\n' \
  "$W/repo" "$port" "$W" >"$W/lighttpd.conf"
lighttpd -D -f "$W/lighttpd.conf" & HTTPD_PID=$!
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done

python3 - "$W/plan.json" "http://127.0.0.1:$port/" "file://$W/key.asc" "$W/repo/Packages" <<'PY'
import hashlib, json, os, sys
out, base, key, pk = sys.argv[1:]
acts = []
for f in sorted(os.listdir(pk)):
    name = f.rsplit("-", 2)[0]
    data = open(os.path.join(pk, f), "rb").read()
    acts.append({"action": "upgrade", "name": name, "from": f"{name}-1.0-1.noarch", "to": f"{name}-0:2.0-1.noarch",
                 "repo": "bench", "location": "Packages/" + f, "download_size": len(data),
                 "checksum": {"type": "sha256", "value": hashlib.sha256(data).hexdigest()}})
json.dump({"osmig_plan": 1, "source": {"id": "osmb", "version": "1"}, "target": {"id": "osmb", "version": "2"},
           "repos": [{"id": "bench", "baseurl": base, "gpgkeys": [key]}], "actions": acts}, open(out, "w"))
PY

now() { date +%s.%N; }
sync
t0=$(now)
"$TOOL" stage "$W/plan.json" "$W/root-osmig" --reserve 1 >/dev/null
t1=$(now)
"$TOOL" apply "$W/plan.json" "$W/root-osmig" >/dev/null
t2=$(now)
"$TOOL" verify "$W/plan.json" "$W/root-osmig" --core osmb-1,osmb-2,osmb-3 >/dev/null
t3=$(now)
sync
r0=$(now)
rpm --root "$W/root-rpm" --dbpath /var/lib/rpm -Uvh "$W"/repo/Packages/*.rpm >/dev/null 2>&1
r1=$(now)

[ "$(rpm --root "$W/root-osmig" --dbpath /var/lib/rpm -qa | grep -c -- '-2.0-1')" = "$N" ] || { echo "osmig did not upgrade all $N" >&2; exit 1; }
[ "$(rpm --root "$W/root-rpm" --dbpath /var/lib/rpm -qa | grep -c -- '-2.0-1')" = "$N" ] || { echo "rpm did not upgrade all $N" >&2; exit 1; }
python3 - "$N" "$t0" "$t1" "$t2" "$t3" "$r0" "$r1" <<'PY'
import sys
n = int(sys.argv[1]); t0, t1, t2, t3, r0, r1 = map(float, sys.argv[2:])
osm, rpm = t3 - t0, r1 - r0
print(f"packages                          {n}")
print(f"osmig stage (HTTP, sha256, sigs)  {t1 - t0:8.2f} s")
print(f"osmig apply (librpm transaction)  {t2 - t1:8.2f} s")
print(f"osmig verify                      {t3 - t2:8.2f} s")
print(f"osmig total, stage -> verify      {osm:8.2f} s")
print(f"rpm -Uvh --root, same files       {rpm:8.2f} s")
print(f"overhead over rpm                 {100 * (osm - rpm) / rpm:+8.1f} %  (apply alone: {100 * ((t2 - t1) - rpm) / rpm:+.1f} %)")
PY
