#!/usr/bin/env bash
# The image's entry point (deploy/entrypoint.sh) as docker-compose starts it: several containers
# at once on one shared keys volume. Exactly one makes the keys, every command runs after they
# exist, a restart changes nothing, EMWIN_KEYS= makes none, EMWIN_KEYS_INIT=0 makes none and
# says so in one line, a wrong EMWIN_KEYS_INIT stops with exit 2.   Usage: entrypoint_test.sh SOURCE_DIR KEYGEN_DIR
set -euo pipefail
src="$1"; export PATH="$2:$PATH"
entry="$src/deploy/entrypoint.sh"
work="$(mktemp -d "${TMPDIR:-/tmp}/emwin-entrypoint-XXXXXX")"
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# 1. Eight containers start together on one volume.
pids=()
for i in 1 2 3 4 5 6 7 8; do
  EMWIN_KEYS="$work/keys" EMWIN_KEYS_INIT=1 "$entry" \
    bash -c '[ -f "$EMWIN_KEYS/bus.pub" ] && [ -f "$EMWIN_KEYS/access/tap/tail.pub" ] && echo ok > "$0"' \
    "$work/ran.$i" 2>>"$work/stderr" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a container's command failed"; done
for i in 1 2 3 4 5 6 7 8; do [ "$(cat "$work/ran.$i" 2>/dev/null)" = ok ] || fail "container $i ran before the keys existed"; done
made="$(grep -c 'making the bus keys' "$work/stderr" || true)"
[ "$made" = 1 ] || fail "keys made $made times, want once"
for rule in group.assembler group.disk-writer group.alert-classifier group.archive tap intake; do
  [ -d "$work/keys/access/$rule" ] || fail "no access rule $rule"
done
[ "$(stat -c %a "$work/keys/bus.key")" = 600 ] || fail "bus.key is not 0600"

# 2. A restart finds them and changes nothing.
before="$(sha256sum "$work/keys/bus.pub" "$work/keys/tail.key")"
EMWIN_KEYS="$work/keys" EMWIN_KEYS_INIT=1 "$entry" true 2>"$work/stderr2"
[ "$before" = "$(sha256sum "$work/keys/bus.pub" "$work/keys/tail.key")" ] || fail "a restart changed the keys"
[ ! -s "$work/stderr2" ] || fail "a restart said something: $(cat "$work/stderr2")"

# 3. EMWIN_KEYS= (keys off): nothing made, the command runs.
out="$(EMWIN_KEYS= EMWIN_KEYS_INIT=1 "$entry" echo ran)"
[ "$out" = ran ] || fail "without keys the command did not run"

# 4. EMWIN_KEYS_INIT=0 on an empty volume (several hosts): nothing made, one line, the command runs.
out="$(EMWIN_KEYS="$work/empty" EMWIN_KEYS_INIT=0 "$entry" echo ran 2>"$work/stderr4")"
[ "$out" = ran ] || fail "with EMWIN_KEYS_INIT=0 the command did not run"
[ ! -e "$work/empty/bus.pub" ] || fail "EMWIN_KEYS_INIT=0 made keys"
[ "$(wc -l < "$work/stderr4")" = 1 ] && grep -q 'has no bus.pub' "$work/stderr4" || fail "want one line naming the missing bus.pub"
# 5. A wrong EMWIN_KEYS_INIT: one line naming it, exit 2, the command does not run.
rc=0
EMWIN_KEYS="$work/wrong" EMWIN_KEYS_INIT=yes "$entry" touch "$work/ran.wrong" 2>"$work/stderr5" || rc=$?
[ "$rc" = 2 ] || fail "EMWIN_KEYS_INIT=yes exited $rc, want 2"
[ ! -e "$work/ran.wrong" ] || fail "the command ran with a wrong EMWIN_KEYS_INIT"
[ "$(wc -l < "$work/stderr5")" = 1 ] && grep -q 'EMWIN_KEYS_INIT' "$work/stderr5" || fail "want one line naming EMWIN_KEYS_INIT"
echo "entrypoint: 5 checks passed"
