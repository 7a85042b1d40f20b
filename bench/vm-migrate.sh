#!/usr/bin/env bash
# bench/vm-migrate.sh [BUILD_DIR]: the downtime of `osmig migrate qemu:` of
# the test guest (CentOS 7 -> the real RHEL 8.5 packages, real reboots)
# against the floor of the same machine, in one run, side by side:
#   osmig  from the first reboot asked to the verified new system, split
#          into reboot-1, the upgrade step, reboot-2 (which first makes the
#          target kernel's initramfs and boot entry) and verify (wall times
#          of the step lines osmig prints);
#   floor  the same guest's two reboots measured bare before the migration
#          (vmctl reboot: guest-shutdown to the agent answering in the new
#          boot) plus the bare transaction: the target's rpm runs alone
#          (erase, then install), as target_txn.c logs them
#          (target_txn.rpm_done ms=).
# Goal: the downtime within 1.2x the floor. One run costs about 6 min under
# software emulation (OSMIG_VM_ACCEL, default tcg).
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
here=$(cd "$(dirname "$0")/.." && pwd)
export OSMIG_BIN=$build/osmig
export OSMIG_SOURCE_DIR=$here
export OSMIG_FIXTURE_CACHE=${OSMIG_FIXTURE_CACHE:-$here/build/fixture-cache}
vmctl=$build/tests/vm/vmctl
for f in "$OSMIG_BIN" "$vmctl"; do
    [ -x "$f" ] || { echo "bench/vm-migrate.sh: $f is not built" >&2; exit 1; }
done
python3 "$here/tests/vm/build-guest.py" --cache "$OSMIG_FIXTURE_CACHE" >/dev/null
exec /usr/bin/python3 "$here/tests/vm/vmmigrate.py" --vmctl "$vmctl" --work "$build/bench" bench
