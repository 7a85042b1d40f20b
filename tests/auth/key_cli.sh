#!/usr/bin/env bash
# `osmig key create|list|delete|disable|enable|expire|rotate`: the secret
# printed once (or written to a new 0600 file) and never stored in clear, a
# private master key, listings, an audit trail of who changed a key, exit
# codes, and refusals that change nothing.
set -euo pipefail
state=$(mktemp -d /tmp/osmig-key-cli-XXXXXX)
trap 'rm -rf "$state"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
osmig() { "$OSMIG_BIN" "$@"; }

out=$(osmig key create --role operator --scope 'dir:/srv/web*' --state-dir "$state" 2>"$state/err") || fail "create"
grep -q "created operator key OSM.* for instances matching dir:/srv/web\*; its secret is shown only this once" \
  "$state/err" || fail "create note: $(cat "$state/err")"
[[ $out =~ ^key_id=(OSM[A-Z2-7]{20})$'\n'secret=([A-Za-z0-9_-]{43})$ ]] || fail "create printed: $out"
id=${BASH_REMATCH[1]} secret=${BASH_REMATCH[2]}
[[ $(stat -c %a "$state/master.key") == 600 && $(stat -c %s "$state/master.key") == 32 ]] || fail "master key mode/size"

# the secret is in no file of the state directory
! grep -rqaF -- "$secret" "$state" || fail "secret stored in clear"
grep -qaF -- "$id" "$state/state.db" || fail "key id not stored"

# --json create, the global --state-dir, and the listings
js=$(osmig --state-dir "$state" key create --role viewer --json 2>/dev/null)
vid=$(python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["role"]=="viewer" and d["scope"] is None and len(d["secret"])==43; print(d["key_id"])' <<<"$js")
list=$(osmig key list --state-dir "$state")
[[ $(grep -c . <<<"$list") == 3 ]] || fail "list: $list"
grep -q "^$id  *operator .* enabled  *never  *dir:/srv/web\*$" <<<"$list" || fail "list row: $list"
grep -q "^$vid  *viewer .* \*$" <<<"$list" || fail "list row: $list"
! grep -qF -- "$secret" <<<"$list" || fail "list shows a secret"
osmig key list --json --state-dir "$state" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert sorted(k["role"] for k in d["keys"]) == ["operator", "viewer"], d
assert all("secret" not in k and k["disabled"] is False for k in d["keys"]), d'

# refusals: exit 2 for usage, 1 for errors, nothing changed
before=$(osmig key list --json --state-dir "$state")
check() { # expected-rc message-fragment args...
  local want=$1 says=$2; shift 2
  set +e; osmig "$@" >/dev/null 2>"$state/err"; local rc=$?; set -e
  [[ $rc == "$want" ]] || fail "'$*' exit $rc, wanted $want: $(cat "$state/err")"
  grep -qF -- "$says" "$state/err" || fail "'$*' said: $(cat "$state/err")"
}
check 2 "key role 'root' is unknown" key create --role root --state-dir "$state"
check 2 "--scope is for viewer and operator keys" key create --role admin --scope 'dir:*' --state-dir "$state"
check 2 "key create needs --role" key create --state-dir "$state"
check 2 "unknown subcommand 'renew'" key renew --state-dir "$state"
check 2 "key rotate needs a key id" key rotate --state-dir "$state"
check 2 "key expire needs a key id and a time" key expire "$id" --state-dir "$state"
check 2 "is not a time like" key expire "$id" tomorrow --state-dir "$state"
check 2 "--output is for key create and key rotate" key list --output "$state/x" --state-dir "$state"
# scopes that can never match an instance's canonical name
check 2 "can never match" key create --role operator --scope '/srv/web*' --state-dir "$state"
check 2 "can never match" key create --role operator --scope 'dir:srv/*' --state-dir "$state"
check 2 "SCHEME one of dir, qemu" key create --role operator --scope 'ecs:/i-*' --state-dir "$state"
check 2 "without '/../'" key create --role operator --scope 'dir:/srv/a/../b*' --state-dir "$state"
check 2 "without '//'" key create --role operator --scope 'dir://srv/*' --state-dir "$state"
check 2 "trailing" key create --role operator --scope 'dir:/srv/web/' --state-dir "$state"
check 2 "unknown option '--force'" key list --force --state-dir "$state"
check 2 "key delete needs a key id" key delete --state-dir "$state"
check 1 "no key 'OSMNOSUCH'" key delete OSMNOSUCH --state-dir "$state"
chmod 644 "$state/master.key"
check 1 "must be a regular file of mode 0600" key create --role viewer --state-dir "$state"
chmod 600 "$state/master.key"
[[ $(osmig key list --json --state-dir "$state") == "$before" ]] || fail "a refusal changed the keys"
# every provider's instances can be scoped: a qemu: descriptor and its disks
osmig key create --role operator --scope 'qemu:/srv/vms/web*' --state-dir "$state" >/dev/null 2>&1 ||
  fail "a qemu: scope is refused"
osmig key list --state-dir "$state" | grep -q "qemu:/srv/vms/web\*" || fail "the qemu: scope is not listed"

# --store DIR keeps its master key there; --master-key FILE elsewhere
other=$state/other
osmig key create --role admin --store "$other" >/dev/null 2>&1 || fail "create --store"
[[ -f $other/master.key && -f $other/state.db ]] || fail "--store DIR: $(ls "$other")"
osmig key create --role viewer --store "$other" --master-key "$state/mk2" >/dev/null 2>&1 || fail "--master-key"
[[ $(stat -c %a "$state/mk2") == 600 ]] || fail "--master-key mode"
[[ $(osmig key list --json --store "$other" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["keys"]))') == 2 ]] ||
  fail "--store list"

# listing or deleting where there is no store creates none
empty=$state/empty
[[ $(osmig key list --state-dir "$empty") == "no keys: no store in $empty" ]] || fail "list without a store"
[[ $(osmig key list --json --state-dir "$empty" | python3 -c 'import json,sys; print(json.load(sys.stdin)["keys"])') == "[]" ]] ||
  fail "list --json without a store"
check 1 "no key 'OSMX': no store in $empty" key delete OSMX --state-dir "$empty"
[[ ! -e $empty ]] || fail "a store was created by list or delete"

# --output: a new file of mode 0600 whatever the umask, never an existing one
out_file=$state/creds
(umask 022; osmig key create --role viewer --output "$out_file" --state-dir "$state" 2>"$state/err") || fail "create --output"
[[ $(stat -c %a "$out_file") == 600 ]] || fail "--output mode $(stat -c %a "$out_file")"
grep -Eq '^key_id=OSM[A-Z2-7]{20}$' "$out_file" && grep -Eq '^secret=[A-Za-z0-9_-]{43}$' "$out_file" ||
  fail "--output content: $(cat "$out_file")"
grep -q "in the new file (mode 0600)" "$state/err" || fail "create --output note: $(cat "$state/err")"
n_keys=$(osmig key list --json --state-dir "$state" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["keys"]))')
check 2 "exists; it is not overwritten" key create --role viewer --output "$out_file" --state-dir "$state"
[[ $(osmig key list --json --state-dir "$state" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["keys"]))') == "$n_keys" ]] ||
  fail "a refused --output made a key"

# disable, enable, expire, rotate; each in the key's audit trail
[[ $(osmig key disable "$id" --state-dir "$state") == "disabled key $id" ]] || fail "disable"
osmig key list --state-dir "$state" | grep -q "^$id  *operator .* disabled " || fail "not listed disabled"
[[ $(osmig key enable "$id" --state-dir "$state") == "enabled key $id" ]] || fail "enable"
[[ $(osmig key expire "$id" 2030-01-02T03:04:05Z --state-dir "$state") == "key $id expires 2030-01-02T03:04:05Z" ]] ||
  fail "expire"
osmig key list --json --state-dir "$state" | python3 -c '
import json, sys
k = [k for k in json.load(sys.stdin)["keys"] if k["key_id"] == sys.argv[1]][0]
assert k["expires"] == "2030-01-02T03:04:05Z" and k["disabled"] is False, k' "$id"
osmig key expire "$id" now --state-dir "$state" >/dev/null || fail "expire now"
osmig key list --state-dir "$state" | grep -q "^$id  *operator .* expired " || fail "not listed expired"
osmig key expire "$id" never --state-dir "$state" >/dev/null || fail "expire never"
rot=$(osmig key rotate "$id" --state-dir "$state" 2>/dev/null) || fail "rotate"
[[ $rot =~ ^key_id=$id$'\n'secret=([A-Za-z0-9_-]{43})$ ]] || fail "rotate printed: $rot"
[[ ${BASH_REMATCH[1]} != "$secret" ]] || fail "rotate kept the secret"
! grep -rqaF -- "${BASH_REMATCH[1]}" "$state" || fail "rotated secret stored in clear"
check 1 "no key 'OSMNOSUCH'" key disable OSMNOSUCH --state-dir "$state"
python3 - "$state/state.db" "$id" <<'PY' || fail "audit trail of the key"
import sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute("SELECT action, actor FROM audit WHERE object=? ORDER BY seq", (sys.argv[2],)).fetchall()
actions = [a for a, _ in rows]
assert actions == ["created", "disabled", "enabled", "expires", "expires", "expires", "rotated"], rows
assert all(actor.startswith("local:") for _, actor in rows), rows
PY

# delete
[[ $(osmig key delete "$id" --state-dir "$state") == "deleted key $id" ]] || fail "delete"
! osmig key list --state-dir "$state" | grep -q "$id" || fail "deleted key still listed"
echo "ok"
