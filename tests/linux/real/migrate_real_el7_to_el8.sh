#!/usr/bin/env bash
# Proves: a real CentOS 7.9 root (rpmdb written by CentOS 7's rpm) migrates
# to the real, Red Hat-signed RHEL 8.5 packages, and the result is right by
# RHEL 8's own tools: chrooted into it, RHEL 8's rpm reads and writes its
# Berkeley DB rpmdb without a warning, lists every package, `rpm -Va` shows
# nothing a fresh install of the same packages by RHEL 8's rpm does not,
# `rpm --import`, `rpm -e` and `rpm -U` work, the Red Hat key is imported and
# CentOS's is gone, bash runs, the user's account and data are intact, and
# nothing of osmig's staging is left in the system.
. "$(dirname "$0")/lib.sh"
real_setup
R=$WORK/root
fresh_root "$R"
migrate_real "$R" >"$WORK/migrate.out" 2>&1 || { cat "$WORK/migrate.out"; fail "the migration failed"; }
[ "$(task_state)" = succeeded ] || { cat "$WORK/migrate.out"; fail "task not succeeded"; }
grep -q "the target's rpm ready" "$WORK/migrate.out" || fail "the transaction was not run by the target's rpm"
grep -q "by the target's rpm:" "$WORK/migrate.out" || fail "no upgrade by the target's rpm reported"
# CentOS 7's /usr/share/doc/redhat-release -> centos-release link became
# the directory RHEL 8's redhat-release ships, holding its files.
grep -q "symlinked directories made real" "$WORK/migrate.out" || fail "the symlinked directory was not reported as replaced"
[ -d "$R/usr/share/doc/redhat-release" ] && [ ! -L "$R/usr/share/doc/redhat-release" ] || fail "/usr/share/doc/redhat-release is not a real directory"
chroot "$R" rpm -ql redhat-release | grep '^/usr/share/doc/redhat-release/' | while read -r f; do
  [ -e "$R$f" ] || fail "redhat-release's $f is missing"
done
[ ! -e "$R/var/lib/osmig" ] || { ls -R "$R/var/lib/osmig" | head; fail "osmig's staging left in the migrated system"; }
[ -f "$R/var/lib/rpm/Packages" ] && [ ! -e "$R/var/lib/rpm/rpmdb.sqlite" ] || fail "the rpmdb is not RHEL 8's native Berkeley DB"

# The reference: RHEL 8's rpm installing the same packages into an empty root.
chroot "$R" rpm -qa --qf '%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}\n' | grep -v '^gpg-pubkey' | sort >"$WORK/list.txt"
ref=$("$PY" "$OSMIG_SOURCE_DIR/tests/fixtures/build-real.py" el8-fresh "$WORK/list.txt") || fail "no fresh reference install"
# An EL8 package of the new system is one Red Hat signed (or a named stand-in).
if chroot "$R" rpm -qa --qf '%{NAME} %{VENDOR}\n' | grep -v '^gpg-pubkey' | grep -v 'Red Hat' | grep -v 'osmig test stand-in' >"$WORK/foreign.txt" && [ -s "$WORK/foreign.txt" ]; then
  echo "packages not of the target (kept third-party or unplanned):"; cat "$WORK/foreign.txt"
fi
# %ghost files are runtime state the packages do not install: the ones the
# source system had already made (log files) keep their owner and mode, so
# their metadata lines are the source system's, not the migration's.
chroot "$R" rpm -qa --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' | awk '$1 ~ /g/ { print $2 }' | sort -u >"$WORK/ghosts"
while read -r f; do [ -e "$EL7$f" ] && echo "$f"; done <"$WORK/ghosts" >"$WORK/accept.txt"
"$OSMIG_SOURCE_DIR/tests/fixtures/judge-el.sh" "$R" --reference "$ref/root" --accept-va "$WORK/accept.txt" \
  --expect-release 'Red Hat Enterprise Linux release 8.5' --data-manifest "$FIXDIR/el7-root.data.sha256" \
  --user alice --expect-key fd431d51 --reinstall-pkg "$(ls "$EL8_REPO"/Packages/less-*.el8.x86_64.rpm | head -1)" \
  >"$WORK/judge.out" 2>&1 || { cat "$WORK/judge.out"; fail "RHEL 8's own tools reject the migrated system"; }
cat "$WORK/judge.out"
chroot "$R" rpm -q gpg-pubkey-fd431d51 >/dev/null || fail "the Red Hat key is not imported"
if chroot "$R" rpm -q gpg-pubkey-f4a80eb5 >/dev/null 2>&1; then fail "the CentOS 7 key stayed in the rpmdb"; fi
echo "migrated: $(wc -l <"$WORK/list.txt") packages, judged by RHEL 8's rpm"
echo PASS
