#!/bin/bash
# emwin-entrypoint: the image's entry point; runs the container's command.
#
# With EMWIN_KEYS (a keys directory on a volume every container of the stack mounts) and
# EMWIN_KEYS_INIT=1, the first container to start makes the deployment's keys and default
# access rules (emwin-keygen --init) under a lock on that volume, so exactly one container
# makes them and every other waits for them; later starts find them and change nothing.
# With EMWIN_KEYS_INIT=0 (several hosts: keys made once and copied, docs/security.md) it
# only checks that the bus's public key is there, and says so in one line if not.
set -euo pipefail
case "${EMWIN_KEYS_INIT:-0}" in
  0|1) ;;
  *) echo "emwin-entrypoint: EMWIN_KEYS_INIT must be 0 or 1, not '${EMWIN_KEYS_INIT}'" >&2; exit 2;;
esac
if [ -n "${EMWIN_KEYS:-}" ]; then
  if [ "${EMWIN_KEYS_INIT:-0}" = 1 ]; then
    mkdir -p "$EMWIN_KEYS"
    exec 9>"$EMWIN_KEYS/.init.lock"
    flock 9
    if [ ! -f "$EMWIN_KEYS/bus.pub" ]; then
      echo "emwin-entrypoint: making the bus keys in $EMWIN_KEYS (emwin-keygen --init)" >&2
      env -u EMWIN_KEYS emwin-keygen --dir "$EMWIN_KEYS" --init >&2
    fi
    exec 9>&-
  elif [ ! -f "$EMWIN_KEYS/bus.pub" ]; then
    echo "emwin-entrypoint: EMWIN_KEYS=$EMWIN_KEYS has no bus.pub (make keys with emwin-keygen --dir DIR --init)" >&2
  fi
fi
exec "$@"
