#!/usr/bin/env bash
# emwin-postgres: initialises the data directory once (database and owner "emwin", password from
# EMWIN_POSTGRES_PASSWORD, required), then runs the server in the foreground on 0.0.0.0:5432.
# emwin-archive's migrations create the PostGIS extension (the owner is the superuser here).
set -euo pipefail
bin=/usr/lib/postgresql/15/bin
data=/var/lib/emwin-postgres/data
if [ ! -s "$data/PG_VERSION" ]; then
  : "${EMWIN_POSTGRES_PASSWORD:?emwin-postgres: set EMWIN_POSTGRES_PASSWORD}"
  pwfile="$(mktemp)"; printf '%s\n' "$EMWIN_POSTGRES_PASSWORD" >"$pwfile"
  "$bin/initdb" -D "$data" -U emwin --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 -E UTF8 >/dev/null
  rm -f "$pwfile"
  echo "host all all 0.0.0.0/0 scram-sha-256" >>"$data/pg_hba.conf"
  echo "host all all ::/0 scram-sha-256" >>"$data/pg_hba.conf"
  "$bin/pg_ctl" -D "$data" -o "-c listen_addresses=''" -w start >/dev/null
  "$bin/createdb" -U emwin -h /tmp emwin
  "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null
  echo "emwin-postgres: initialised $data (database emwin, owner emwin)"
fi
exec "$bin/postgres" -D "$data" -c listen_addresses='*' -c unix_socket_directories=/tmp
