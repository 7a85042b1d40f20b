#!/usr/bin/env bash
# bench/vswitch-plan.sh [BUILD_DIR]: the fewest-vSwitches planner
# (engine/netplan/vswitch_plan.c) on 10,000 kept internal IPs in three
# layouts (consecutive; 50 racks of a /22 in two zones; anywhere in
# 10.0.0.0/8 in three zones) against one /24 per distinct /24 (greedy),
# side by side: vSwitch counts, what each leaves broken (IPs no vSwitch can
# keep; for the baseline, kept IPs on a reserved address and /24s holding two
# zones), median time of RUNS runs taking turns. N / RUNS in the environment
# change the sizes; then `osmig network verify` on a 10,000-instance plan.
set -euo pipefail
build=${1:-build}
n=${N:-10000}
runs=${RUNS:-9}
bench="$build/tests/network/vswitch_bench"
[ -x "$bench" ] || { echo "bench/vswitch-plan.sh: build first ($bench missing)" >&2; exit 1; }
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
"$bench" "$n" "$runs"
d=$(mktemp -d "${TMPDIR:-/tmp}/osmig-vswitch-bench-XXXXXX")
trap 'rm -rf "$d"' EXIT
python3 - "$d" "$n" <<'PY'
import json, sys
d, n = sys.argv[1], int(sys.argv[2])
inv = {"instances": [{"id": f"i-{k:05d}", "zone": "cn-hangzhou-b",
                      "private_ip": f"10.{(k // 4000) % 250 + 1}.{(k // 250) % 16 * 16 + 1}.{k % 250 + 2}",
                      "local_disks": 0, "public_bandwidth_mbps": 5, "system_disk_free_mib": 4096,
                      "security_groups": ["sg-1"]} for k in range(n)],
       "security_groups": [{"id": "sg-1"}]}
json.dump(inv, open(f"{d}/inv.json", "w"))
json.dump({"name": "bench", "zone": "cn-hangzhou-h", "inventory": "inv.json", "time": "2099-01-01T00:00:00Z",
           "instances": [f"i-{k:05d}" for k in range(n)]}, open(f"{d}/plan.json", "w"))
PY
best=
for r in $(seq "$runs"); do
  s=$(date +%s%N)
  "$build/osmig" network verify "$d/plan.json" --json > "$d/out.json"
  e=$(( ($(date +%s%N) - s) / 1000000 ))
  echo "$e"
done | sort -n > "$d/times"
med=$(sed -n "$(( (runs + 1) / 2 ))p" "$d/times")
python3 - "$d/out.json" "$med" "$n" <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))
print(f"osmig network verify, {sys.argv[3]} instances: {len(o['vswitches'])} vSwitches, {o['errors']} errors, "
      f"median {sys.argv[2]} ms (whole process: read, verify, JSON out)")
PY
