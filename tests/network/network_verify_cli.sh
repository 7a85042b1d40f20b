#!/usr/bin/env bash
# `osmig network verify`: exit 0 for a plan without errors, 3 with the
# findings all listed (text and --json, the seed's words included), 1 for a
# malformed plan naming the member with nothing on stdout, 2 for usage; a
# 10,000-instance plan verifies with its vSwitches planned.
set -euo pipefail
bin=${OSMIG_BIN:?}
d=$(mktemp -d "${TMPDIR:-/tmp}/osmig-netverify-XXXXXX")
trap 'rm -rf "$d"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cat > "$d/inv.json" <<'J'
{"instances": [
  {"id": "i-web", "zone": "cn-hangzhou-b", "private_ip": "10.1.2.3", "local_disks": 0, "public_bandwidth_mbps": 5,
   "system_disk_free_mib": 4096, "security_groups": ["sg-1"]},
  {"id": "i-db", "zone": "cn-hangzhou-c", "private_ip": "10.1.2.4", "local_disks": 1, "public_bandwidth_mbps": 0,
   "system_disk_free_mib": 100, "security_groups": ["sg-auth"]}],
 "security_groups": [{"id": "sg-1"}, {"id": "sg-auth", "group_authorization": true}]}
J
echo '{"name": "good", "zone": "cn-hangzhou-h", "inventory": "inv.json", "time": "2099-01-01T00:00:00Z", "instances": ["i-web"]}' > "$d/good.json"
echo '{"name": "bad", "zone": "cn-hangzhou-h", "inventory": "inv.json", "time": "2099-01-01T00:00:00Z", "instances": ["i-web", "i-db"]}' > "$d/bad.json"
echo '{"name": "broken", "zone": "cn-hangzhou-h", "instances": ["i-web"], "vpc": {"cidr": "10.0.0.0/33"}}' > "$d/broken.json"

rc=0; "$bin" network verify "$d/good.json" > "$d/out" || rc=$?
[ "$rc" = 0 ] || fail "good plan: exit $rc"
grep -q "0 error(s)" "$d/out" || fail "good plan: $(cat "$d/out")"
grep -q "10.1.0.0/16 .*(planned)" "$d/out" || fail "good plan: no planned vSwitch: $(cat "$d/out")"

rc=0; "$bin" network verify "$d/bad.json" > "$d/out" || rc=$?
[ "$rc" = 3 ] || fail "bad plan: exit $rc, 3 expected"
for id in instance.local-disks instance.public-bandwidth instance.zone-excluded instance.system-disk-free \
          security-group.group-authorization; do
  grep -q "^ERROR   $id i-db\|^ERROR   $id sg-auth" "$d/out" || fail "bad plan: $id missing: $(cat "$d/out")"
done
grep -q '"The ECS instance is not located in Hangzhou Zone C."' "$d/out" || fail "bad plan: seed words missing"

rc=0; "$bin" network verify --json "$d/bad.json" > "$d/out.json" || rc=$?
[ "$rc" = 3 ] || fail "bad plan --json: exit $rc"
python3 - "$d/out.json" <<'PY' || fail "bad plan --json: wrong report"
import json, sys
o = json.load(open(sys.argv[1]))
ids = {(f["id"], f["subject"]) for f in o["findings"]}
assert o["ok"] is False and o["errors"] == 5, o
assert ("instance.local-disks", "i-db") in ids and ("security-group.group-authorization", "sg-auth") in ids, ids
assert all(f["words"] for f in o["findings"]), o["findings"]
assert o["vpc"] == {"create": True, "cidr": "10.0.0.0/8"}, o["vpc"]
PY

rc=0; "$bin" network verify "$d/broken.json" > "$d/out" 2> "$d/err" || rc=$?
[ "$rc" = 1 ] || fail "broken plan: exit $rc, 1 expected"
[ ! -s "$d/out" ] || fail "broken plan: wrote to stdout"
grep -q "broken.json: vpc.cidr: '10.0.0.0/33'" "$d/err" || fail "broken plan: $(cat "$d/err")"

rc=0; "$bin" network verify > /dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "no plan: exit $rc, 2 expected"
rc=0; "$bin" network verify "$d/good.json" --at yesterday > /dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "--at yesterday: exit $rc, 2 expected"
rc=0; "$bin" network verify "$d/good.json" --at 2099-06-01T00:00:00Z > "$d/out" || rc=$?
[ "$rc" = 3 ] && grep -q "^ERROR   time.past i-web" "$d/out" || fail "--at after the time: exit $rc: $(cat "$d/out")"

# 10,000 instances in 40 /24s of two /16s: verified, two vSwitches planned
python3 - "$d" <<'PY'
import json, sys
d = sys.argv[1]
ids = [f"i-{k:05d}" for k in range(10000)]
inv = {"instances": [{"id": i, "zone": "b", "private_ip": f"10.{1 + k // 5000}.{(k % 5000) // 250}.{k % 250 + 1}",
                      "local_disks": 0, "public_bandwidth_mbps": 5, "system_disk_free_mib": 4096}
                     for k, i in enumerate(ids)]}
json.dump(inv, open(f"{d}/inv10k.json", "w"))
json.dump({"name": "big", "zone": "z", "inventory": "inv10k.json", "time": "2099-01-01T00:00:00Z",
           "security_groups": ["sg-x"], "vpc": {"id": "vpc-1", "cidr": "10.0.0.0/8"}, "instances": ids},
          open(f"{d}/big.json", "w"))
PY
rc=0; "$bin" network verify --json "$d/big.json" > "$d/big.out" || rc=$?
[ "$rc" = 0 ] || fail "10,000 instances: exit $rc: $(head -c 2000 "$d/big.out")"
python3 - "$d/big.out" <<'PY' || fail "10,000 instances: wrong vSwitches"
import json, sys
o = json.load(open(sys.argv[1]))
v = sorted((x["cidr"], x["instances"]) for x in o["vswitches"])
assert v == [("10.1.0.0/16", 5000), ("10.2.0.0/16", 5000)], v
assert len(o["instances"]) == 10000 and all("vswitch" in i for i in o["instances"])
PY
echo "PASS"
