# fixture.sh: sourced by the stage tests. Builds (once, cached) real RPMs with
# rpmbuild, signs some with a throw-away GnuPG key, makes a repository with
# createrepo_c; starts and stops a real lighttpd on 127.0.0.1; writes plans.
#
#   stage_fixture            -> $FIX (cached under $OSMIG_FIXTURE_CACHE)
#   new_root DIR             a source root installed with rpm --root
#   make_plan OUT BASEURL KEYURL ACTION...   (ACTION: kind:name[:from])
# and what tests/linux/testlib.sh gives (fail, assert_grep, httpd_start,
# httpd_log, httpd_stop, ...).
. "${OSMIG_SOURCE_DIR:?run under ctest}/tests/linux/testlib.sh"
TOOL=${OSM_STAGE_TOOL:?OSM_STAGE_TOOL not set (run under ctest)}
need_progs rpmbuild rpmsign createrepo_c gpg lighttpd python3 rpm
make_work stage-test

expect_fail() { # expect_fail OUTFILE CMD... : the command must fail; stderr goes to OUTFILE
  local out=$1; shift
  if "$@" >"$out.stdout" 2>"$out"; then cat "$out.stdout" "$out" >&2; fail "expected failure: $*"; fi
}

spec_for() { # spec_for NAME VERSION RELEASE EXTRA_PREAMBLE INSTALL_SCRIPT FILES [PRE_LUA]
  cat <<SPEC
Name: $1
Version: $2
Release: $3
Summary: osmig staging test package $1
License: MIT
BuildArch: noarch
AutoReqProv: no
$4
%description
Test package for osmig's staging tests.
%install
mkdir -p %{buildroot}
$5
%files
$6
SPEC
  if [ -n "${7:-}" ]; then printf '%%pre -p <lua>\n%s\n' "$7"; fi
}

build_rpm() { # build_rpm OUTDIR NAME VERSION RELEASE PREAMBLE INSTALL FILES [PRE_LUA]
  local out=$1; shift
  local top="$FIXBUILD/top-$1-$2"
  mkdir -p "$top/SPECS"
  spec_for "$@" >"$top/SPECS/$1.spec"
  rpmbuild --quiet --define "_topdir $top" --define "_binary_payload w2.gzdio" \
    --define "_build_id_links none" -bb "$top/SPECS/$1.spec" >/dev/null
  cp "$top"/RPMS/noarch/"$1-$2-$3".noarch.rpm "$out/"
}

osrelease_install() { # ID VERSION_ID NAME
  echo "mkdir -p %{buildroot}/etc %{buildroot}/usr/share/$1-release
printf 'NAME=\"$3\"\\nID=$1\\nVERSION_ID=\"$2\"\\nPRETTY_NAME=\"$3 $2\"\\n' > %{buildroot}/etc/os-release
echo '$3 release $2' > %{buildroot}/usr/share/$1-release/notes"
}

payload_install() { # DIR CONTENT
  echo "mkdir -p %{buildroot}$1 && printf '%s\\n' '$2' > %{buildroot}$1/data && ln -s data %{buildroot}$1/link"
}

build_fixture() {
  local fix=$1
  FIXBUILD="$fix/build"
  mkdir -p "$fix"/{src,repo/Packages,gnupg,other-gnupg} "$FIXBUILD"
  chmod 700 "$fix/gnupg" "$fix/other-gnupg"
  GNUPGHOME="$fix/gnupg" gpg --batch --quiet --passphrase '' --quick-gen-key "osmig stage test <stage@osmig.test>" rsa2048 sign never 2>/dev/null
  GNUPGHOME="$fix/gnupg" gpg --batch --armor --export >"$fix/key.asc"
  GNUPGHOME="$fix/other-gnupg" gpg --batch --quiet --passphrase '' --quick-gen-key "someone else <other@osmig.test>" rsa2048 sign never 2>/dev/null
  GNUPGHOME="$fix/other-gnupg" gpg --batch --armor --export >"$fix/other-key.asc"

  # The source system (installed into roots, never downloaded).
  build_rpm "$fix/src" osm-release 7 1 "Provides: system-release" "$(osrelease_install osmsource 7 'OSM Source')" \
    "/etc/os-release
/usr/share/osmsource-release"
  build_rpm "$fix/src" osm-core 1.0 1 "" "$(payload_install /usr/share/osm-core 'core one')" "/usr/share/osm-core"
  build_rpm "$fix/src" osm-old 1.0 1 "" "$(payload_install /usr/share/osm-old 'old')" "/usr/share/osm-old"
  build_rpm "$fix/src" osm-gone 1.0 1 "" "$(payload_install /usr/share/osm-gone 'gone')" "/usr/share/osm-gone"
  build_rpm "$fix/src" acme-agent 1.0 1 "Vendor: Acme" "$(payload_install /opt/acme 'agent')" "/opt/acme"

  # The target repository.
  local r="$fix/repo/Packages"
  build_rpm "$r" osmt-release 3 1 "Provides: system-release
Obsoletes: osm-release" "$(osrelease_install osmt 3 'OSM Target')" "/etc/os-release
/usr/share/osmt-release"
  build_rpm "$r" osm-core 2.0 1.osmt3 "" "$(payload_install /usr/share/osm-core 'core two')" "/usr/share/osm-core"
  build_rpm "$r" osm-new 1.0 1.osmt3 "Obsoletes: osm-old" "$(payload_install /usr/share/osm-new 'new')" "/usr/share/osm-new"
  build_rpm "$r" osm-extra 1.0 1.osmt3 "" "$(payload_install /usr/share/osm-extra 'extra')" "/usr/share/osm-extra"
  build_rpm "$r" osm-prefail 1.0 1.osmt3 "" "$(payload_install /usr/share/osm-prefail 'never')" "/usr/share/osm-prefail" \
    'error("osm-prefail refuses to be installed")'
  # 3 MiB of incompressible data: long enough to interrupt mid-download.
  head -c 3145728 /dev/urandom >"$FIXBUILD/big.bin"
  build_rpm "$r" osm-big 1.0 1.osmt3 "" "mkdir -p %{buildroot}/usr/share/osm-big && cp $FIXBUILD/big.bin %{buildroot}/usr/share/osm-big/" "/usr/share/osm-big"
  for f in "$r"/*.rpm; do
    rpmsign --addsign --define "__gpg $(command -v gpg)" --define "_gpg_name osmig stage test" --define "_gpg_path $fix/gnupg" "$f" >/dev/null 2>&1
  done
  # Built after signing: one left unsigned, one signed with a foreign key.
  build_rpm "$r" osm-unsigned 1.0 1.osmt3 "" "$(payload_install /usr/share/osm-unsigned 'unsigned')" "/usr/share/osm-unsigned"
  build_rpm "$r" osm-othersig 1.0 1.osmt3 "" "$(payload_install /usr/share/osm-othersig 'other')" "/usr/share/osm-othersig"
  rpmsign --addsign --define "__gpg $(command -v gpg)" --define "_gpg_name someone else" --define "_gpg_path $fix/other-gnupg" "$r/osm-othersig-1.0-1.osmt3.noarch.rpm" >/dev/null 2>&1
  createrepo_c --quiet "$fix/repo" >/dev/null
  gpgconf --homedir "$fix/gnupg" --kill gpg-agent 2>/dev/null || true
  gpgconf --homedir "$fix/other-gnupg" --kill gpg-agent 2>/dev/null || true
  rm -rf "$FIXBUILD"
}

stage_fixture() {
  local key
  key=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)
  local cache=${OSMIG_FIXTURE_CACHE:-$WORK/cache}
  FIX="$cache/stage-$key"
  if [ ! -f "$FIX/ok" ]; then
    rm -rf "$FIX.tmp"
    build_fixture "$FIX.tmp"
    touch "$FIX.tmp/ok"
    rm -rf "$FIX"
    mv "$FIX.tmp" "$FIX"
  fi
}

new_root() { # new_root DIR: the source system, rpmdb at /var/lib/rpm
  local root=$1
  mkdir -p "$root/etc" "$root/var/lib/rpm"
  rpm --root "$root" --dbpath /var/lib/rpm -i --nodeps "$FIX"/src/*.rpm
  printf '# test fstab\nUUID=1234-abcd / xfs defaults 0 0\n/dev/vdb1 /data ext4 defaults,noatime 1 2\n' >"$root/etc/fstab"
}

make_plan() { # make_plan OUT BASEURL KEYURL ACTION...  (kind:name[:from]; name = rpm name in the repo)
  local out=$1 base=$2 key=$3; shift 3
  python3 - "$out" "$base" "$key" "$FIX/repo" "$@" <<'PY'
import hashlib, json, os, subprocess, sys
out, base, key, repo, *acts = sys.argv[1:]
pk = os.path.join(repo, "Packages")
files = {}
for f in os.listdir(pk):
    q = subprocess.run(["rpm", "-qp", "--nosignature", "--qf", "%{NAME} %{VERSION} %{RELEASE} %{ARCH}", os.path.join(pk, f)],
                       capture_output=True, text=True, check=True).stdout.split()
    files[q[0]] = (f, q)
actions = []
for a in acts:
    kind, name, *rest = a.split(":")
    act = {"action": kind, "name": name, "reason": "test"}
    if rest:
        act["from"] = rest[0]
    if kind in ("install", "upgrade", "downgrade", "replace"):
        f, (n, v, r, arch) = files[name]
        data = open(os.path.join(pk, f), "rb").read()
        act.update({"to": f"{n}-0:{v}-{r}.{arch}", "to_epoch": 0, "to_version": v, "to_release": r, "to_arch": arch,
                    "repo": "osmt-os", "location": "Packages/" + f,
                    "checksum": {"type": "sha256", "value": hashlib.sha256(data).hexdigest()},
                    "download_size": len(data), "installed_size": len(data)})
    actions.append(act)
plan = {"osmig_plan": 1, "instance": "dir:/test",
        "source": {"id": "osmsource", "version": "7", "name": "OSM Source 7", "arch": "x86_64"},
        "target": {"id": "osmt3", "name": "OSM Target 3", "release_package": "osmt-release"},
        "repos": [{"id": "osmt-os", "baseurl": base, "gpgcheck": True, "gpgkeys": [key] if key else []}],
        "actions": actions, "summary": {}, "inhibitors": [], "warnings": [], "extra_field_ignored": {"x": 1}}
json.dump(plan, open(out, "w"), indent=2)
PY
}

# The migration every test starts from.
MAIN_ACTIONS=(replace:osmt-release:osm-release-7-1.noarch upgrade:osm-core:osm-core-1.0-1.noarch
  replace:osm-new:osm-old-1.0-1.noarch install:osm-extra erase:osm-gone:osm-gone-1.0-1.noarch
  keep:acme-agent:acme-agent-1.0-1.noarch)
CORE=osm-core,osm-new
