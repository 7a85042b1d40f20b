# runlib.sh: sourced by the `osmig network run` scripts (after `fail`).
#
#   net_run_fixture DIR   in DIR: inv.json (i-web fit; i-db with a local
#                         disk), a qemu: descriptor vm.json whose VM never
#                         runs here (its tasks wait for 2099), and
#   plan NAME INSTANCES [VSWITCH_MEMBERS]   DIR/NAME.json: a plan at
#                         2099-01-01T00:00:00Z moving INSTANCES (JSON) to
#                         vsw-1 10.77.1.0/24 (plus VSWITCH_MEMBERS, e.g.
#                         ', "bridge": "brv"'), internal IPs not kept
#   Skips (77) without qemu-img.
net_run_fixture() {
  NET_DIR=$1
  command -v qemu-img >/dev/null || { echo "SKIP: qemu-img is not installed (scripts/install-deps.sh installs it)"; exit 77; }
  cat > "$NET_DIR/inv.json" <<'J'
{"instances": [
  {"id": "i-web", "zone": "a", "private_ip": "198.18.0.10", "local_disks": 0, "public_bandwidth_mbps": 5,
   "system_disk_free_mib": 4096, "private_mac": "52:54:00:aa:00:01"},
  {"id": "i-db", "zone": "a", "private_ip": "198.18.0.11", "local_disks": 1, "public_bandwidth_mbps": 5,
   "system_disk_free_mib": 4096, "private_mac": "52:54:00:aa:00:02"}]}
J
  qemu-img create -q -f qcow2 "$NET_DIR/system.qcow2" 16M
  cat > "$NET_DIR/vm.json" <<J
{"disks": [{"id": "system", "path": "$NET_DIR/system.qcow2"}], "qmp": "$NET_DIR/q.sock", "agent": "$NET_DIR/a.sock", "start": {},
 "nics": [{"id": "net0", "bridge": "brc", "mac": "52:54:00:bb:00:01"}]}
J
}
plan() {
  cat > "$NET_DIR/$1.json" <<J
{"name": "$1", "zone": "a", "inventory": "inv.json", "time": "2099-01-01T00:00:00Z", "keep_private_ip": false,
 "security_groups": ["sg-1"], "vswitch": "vsw-1",
 "vpc": {"id": "vpc-1", "cidr": "10.77.0.0/16", "vswitches": [{"id": "vsw-1", "zone": "a", "cidr": "10.77.1.0/24"${3:-}}]},
 "instances": $2}
J
}
