#!/usr/bin/env bash
# emwin-healthcheck: container health probes for the emwin-bus image (no curl/wget needed).
#   emwin-healthcheck tap [ENDPOINT]   a stats.* message arrives on a producer's tap
#                                      (default: this container's EMWIN_PUB, '*' -> 127.0.0.1)
#   emwin-healthcheck http [HOST:PORT] [PATH]   HTTP 200 from /healthz (default: EMWIN_HTTP)
#   emwin-healthcheck stats-of SERVICE [STATS_PUB]  this container's stats reach the stats
#                                      service and it is not stale (for sinks that bind nothing)
# Exit 0 = healthy. Timeout: EMWIN_HEALTH_TIMEOUT_S (default 10).
set -euo pipefail
timeout_s="${EMWIN_HEALTH_TIMEOUT_S:-10}"

local_endpoint() {  # tcp://*:5601 -> tcp://127.0.0.1:5601
  local ep="$1"
  ep="${ep/\/\/\*:/\/\/127.0.0.1:}"
  ep="${ep/\/\/0.0.0.0:/\/\/127.0.0.1:}"
  printf '%s' "$ep"
}

case "${1:-}" in
  tap)
    ep="$(local_endpoint "${2:-${EMWIN_PUB:?EMWIN_PUB unset}}")"
    # emwin-tail exits 0 on its timeout too: healthy only when a line was printed.
    emwin-tail --connect "$ep" --topic stats. --count 1 --timeout-s "$timeout_s" | grep -q .
    ;;
  http)
    hp="${2:-${EMWIN_HTTP:-127.0.0.1:9464}}"
    path="${3:-/healthz}"
    host="${hp%:*}"; port="${hp##*:}"
    if [ -z "$host" ] || [ "$host" = "0.0.0.0" ]; then host=127.0.0.1; fi
    exec 3<>"/dev/tcp/${host}/${port}"
    printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$path" "$host" >&3
    IFS= read -r -t "$timeout_s" status <&3
    exec 3<&-
    [[ "$status" =~ ^HTTP/1\.[01]\ 200 ]]
    ;;
  stats-of)
    # The stats service's stats.summary lists every service instance it hears from (and the
    # stale ones). This container is healthy when an instance named after it (its replica
    # name, or its hostname, or "<hostname>-<pid>") is listed for SERVICE and is not stale.
    service="${2:?service name}"
    ep="${3:-${EMWIN_STATS_PUB:-tcp://stats:5604}}"
    me="${EMWIN_REPLICA:-${EMWIN_INSTANCE:-$(hostname)}}"
    summary="$(emwin-tail --connect "$ep" --topic stats.summary --json --count 1 \
                 --timeout-s "$timeout_s")"
    # The hostname (container id) is unique to this container, so its instance name is too.
    grep -qE "\"instance\" *: *\"${me}(-[0-9]+)?\"" <<<"$summary" || exit 1
    if grep -qE "\"${service}\.${me}(-[0-9]+)?\"" <<<"$(grep -o '"stale" *: *\[[^]]*\]' <<<"$summary")"; then
      exit 1
    fi
    ;;
  *)
    sed -n '2,8p' "$0" >&2
    exit 2
    ;;
esac
