#!/usr/bin/env bash
# End-to-end test of the Docker deployment, runnable on a bare Debian 12 machine as root:
#  1. installs Docker's engine + docker-compose from Debian if absent and starts dockerd if
#     none runs (and stops it again at the end);
#  2. creates the base image without a registry (deploy/base-image.sh: debootstrap + import,
#     cached);
#  3. builds emwin-bus (and emwin-prometheus), `docker-compose up -d` (sim-fed), waits for every
#     container to be healthy, checks that products land in the output volume and that alerts
#     are published (tap and JSON log), that the relay serves segments to a ByteBlaster client
#     (an emwin-ingest logged on to it), that the gateway streams them over SSE through its
#     published port (and serves /healthz, /alerts/active and the page), that Prometheus
#     scrapes emwin-stats, then scales
#     disk-writer to 3 and checks that the replicas share the new files, each written exactly
#     once; finally tears down everything it made (containers, network, volumes) on any exit.
# Knobs: EMWIN_TEST_PROJECT (compose project, default emwinci), EMWIN_TEST_TIMEOUT_S (per wait,
# default 240), EMWIN_TEST_PROMETHEUS=0 (skip Prometheus), EMWIN_TEST_KEEP_IMAGES=0 (remove the
# built images too), EMWIN_DOCKERD_FLAGS (extra dockerd flags), EMWIN_CORPUS_DIR,
# EMWIN_TEST_TARGETS (binaries to build, default all), EMWIN_TEST_UP_ARGS (extra `compose up` args),
# EMWIN_TEST_NO_BUILD=1 (test the images already built instead of rebuilding).
# Prints one 'N passed, N failed' line; exit 0 only when every check passed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
project="${EMWIN_TEST_PROJECT:-emwinci}"
timeout_s="${EMWIN_TEST_TIMEOUT_S:-240}"
with_prom="${EMWIN_TEST_PROMETHEUS:-1}"
corpus="${EMWIN_CORPUS_DIR:-$root/../shared/corpus}"
workdir="$(mktemp -d /tmp/emwin-test-compose.XXXXXX)"
t0=$(date +%s)
passed=0
failed=0
started_dockerd=0
dockerd_pid=""
compose_up=0

log() { printf '[test-compose %4ds] %s\n' "$(( $(date +%s) - t0 ))" "$*" >&2; }
pass() { passed=$((passed + 1)); log "PASS $*"; }
fail() { failed=$((failed + 1)); log "FAIL $*"; }
die() { fail "$*"; exit 1; }

# Compose with the test's settings: ephemeral host ports (no clash with anything on the
# host), fast simulator, restart policy kept (a crash shows up as a restart count).
export EMWIN_IMAGE="emwin-bus:latest" EMWIN_BASE_IMAGE="emwin-base:bookworm"
export EMWIN_PRODUCTS_DIR="$corpus/products"
export EMWIN_SIM_RATE="${EMWIN_SIM_RATE:-100000Bps}"
export EMWIN_HEALTH_INTERVAL="${EMWIN_HEALTH_INTERVAL:-3s}"
export EMWIN_DISK_WRITER_LOG_LEVEL=debug   # each write is logged: "wrote <path>"
# The simulator loops over the same products (new /FD per round, ~16 s a round at this rate);
# a dedupe window shorter than a round lets every round through as new files, and longer than
# the simulator's 6 s warning retransmissions keeps those suppressed.
export EMWIN_ASSEMBLER_ARGS="${EMWIN_ASSEMBLER_ARGS:---dedupe-window-s 10}"
export EMWIN_PUBLISH_IP=127.0.0.1
for p in INGEST_TAP INGEST_PIPE INGEST_B_TAP INGEST_B_PIPE ASSEMBLER_TAP ASSEMBLER_PIPE ALERT_TAP ALERT_PIPE \
         STATS_PUB STATS_INTAKE METRICS GATEWAY PROMETHEUS RELAY; do
  export "EMWIN_PORT_$p="
done
profiles=()
[ "$with_prom" = 1 ] && profiles=(--profile monitoring)
compose() { docker-compose -p "$project" -f "$root/deploy/docker-compose.yml" "${profiles[@]}" "$@"; }

cleanup() {
  local rc=$?
  set +e
  if [ "$compose_up" = 1 ]; then
    if [ "$rc" != 0 ] || [ "$failed" != 0 ]; then
      log "diagnostics (compose ps, last log lines):"
      compose ps >&2
      compose logs --no-color --tail=30 >&2 2>&1
    fi
    log "tearing down (containers, network, volumes)"
    compose down -v --remove-orphans -t 20 >"$workdir/down.log" 2>&1 || cat "$workdir/down.log" >&2
    if [ "${EMWIN_TEST_KEEP_IMAGES:-1}" = 0 ]; then
      docker image rm -f emwin-bus:latest emwin-prometheus:latest >/dev/null 2>&1
    fi
  fi
  if [ "$started_dockerd" = 1 ] && [ -n "$dockerd_pid" ]; then
    log "stopping the dockerd this script started (pid $dockerd_pid)"
    kill -TERM "$dockerd_pid" 2>/dev/null
    for _ in $(seq 1 60); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$dockerd_pid" 2>/dev/null; then
      log "dockerd did not stop; killing it"
      kill -KILL "$dockerd_pid" 2>/dev/null
    fi
  fi
  rm -rf "$workdir"
  [ "$rc" != 0 ] && [ "$failed" = 0 ] && failed=1
  log "total $(( $(date +%s) - t0 )) s"
  echo "test-compose: $passed passed, $failed failed"
  [ "$failed" = 0 ] && [ "$rc" = 0 ] && exit 0
  exit 1
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_for DESCRIPTION COMMAND...: retries COMMAND until it succeeds or the deadline passes.
wait_for() {
  local what="$1"; shift
  local deadline=$(( $(date +%s) + timeout_s ))
  until "$@" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$deadline" ]; then return 1; fi
    sleep 1
  done
  log "ok: $what"
}

[ "$(id -u)" = 0 ] || die "needs root (installs packages, runs dockerd)"
[ -d "$corpus/products" ] || die "corpus not found at $corpus/products (set EMWIN_CORPUS_DIR)"

# ------------------------------------------------------------------ 1. engine
need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v docker-compose >/dev/null || need+=(docker-compose)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v iptables >/dev/null || need+=(iptables)
if [ "${#need[@]}" -gt 0 ]; then
  log "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >"$workdir/apt.log" 2>&1 \
    || { tail -n 20 "$workdir/apt.log" >&2; die "apt-get install ${need[*]}"; }
fi

start_dockerd() {  # start_dockerd FLAGS...: returns 0 once the API answers
  log "starting dockerd $*"
  dockerd --host unix:///var/run/docker.sock "$@" >"$workdir/dockerd.log" 2>&1 &
  dockerd_pid=$!
  started_dockerd=1
  for _ in $(seq 1 120); do
    docker info >/dev/null 2>&1 && return 0
    kill -0 "$dockerd_pid" 2>/dev/null || break
    sleep 0.5
  done
  tail -n 15 "$workdir/dockerd.log" >&2
  kill -TERM "$dockerd_pid" 2>/dev/null; wait "$dockerd_pid" 2>/dev/null
  started_dockerd=0; dockerd_pid=""
  return 1
}
if docker info >/dev/null 2>&1; then
  log "using the Docker engine already running"
else
  # shellcheck disable=SC2086
  start_dockerd ${EMWIN_DOCKERD_FLAGS:-} \
    || start_dockerd --storage-driver=vfs ${EMWIN_DOCKERD_FLAGS:-} \
    || die "dockerd does not start (see the log above)"
fi
log "engine: $(docker version --format '{{.Server.Version}}' 2>/dev/null), storage $(docker info --format '{{.Driver}}')"
t_engine=$(date +%s)

# ---------------------------------------------------------------- 2. base image
bash "$root/deploy/base-image.sh" || die "base image"
t_base=$(date +%s)

# ---------------------------------------------------------------- 3. images
# The build context is just what the Dockerfile uses (no build dirs, no .git).
if [ "${EMWIN_TEST_NO_BUILD:-0}" = 1 ] && docker image inspect "$EMWIN_IMAGE" >/dev/null 2>&1 \
   && { [ "$with_prom" != 1 ] || docker image inspect emwin-prometheus:latest >/dev/null 2>&1; }; then
  log "EMWIN_TEST_NO_BUILD=1: testing the existing $EMWIN_IMAGE"
else
log "building emwin-bus:latest"
target_args=()
[ -n "${EMWIN_TEST_TARGETS:-}" ] && target_args=(--build-arg "EMWIN_TARGETS=$EMWIN_TEST_TARGETS")
if tar -C "$root" -c --exclude-vcs --exclude=__pycache__ \
     CMakeLists.txt cmake proto libs services tools examples scripts/install-deps deploy \
   | docker build --network host -q -f deploy/Dockerfile \
       --build-arg BASE_IMAGE="$EMWIN_BASE_IMAGE" "${target_args[@]}" \
       -t "$EMWIN_IMAGE" - >"$workdir/build.log" 2>&1; then
  pass "image emwin-bus builds ($(docker image inspect -f '{{.Size}}' "$EMWIN_IMAGE" | awk '{printf "%.0f MB", $1/1e6}'))"
else
  tail -n 40 "$workdir/build.log" >&2
  die "docker build emwin-bus"
fi
if [ "$with_prom" = 1 ]; then
  docker build --network host -q --build-arg BASE_IMAGE="$EMWIN_BASE_IMAGE" \
    -t emwin-prometheus:latest "$root/deploy/prometheus" >"$workdir/build-prom.log" 2>&1 \
    || { tail -n 20 "$workdir/build-prom.log" >&2; die "docker build emwin-prometheus"; }
fi
fi
t_build=$(date +%s)

user="$(docker run --rm "$EMWIN_IMAGE" id -u)"
if [ "$user" != 0 ]; then pass "image runs as non-root (uid $user)"; else fail "image runs as root"; fi

# ---------------------------------------------------------------- 4. stack up
# Leftovers of an interrupted earlier run of the same project go first.
compose down -v --remove-orphans -t 5 >/dev/null 2>&1 || true
compose_up=1
# shellcheck disable=SC2086
compose up -d --no-build ${EMWIN_TEST_UP_ARGS:-} >"$workdir/up.log" 2>&1 || { cat "$workdir/up.log" >&2; die "compose up"; }

containers() { compose ps -q "$@"; }
all_healthy() {  # every container of the project has health "healthy"
  local ids; ids="$(containers)"; [ -n "$ids" ] || return 1
  local st
  for id in $ids; do
    st="$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$id")"
    case "$st" in healthy|running) ;; *) return 1 ;; esac
    # "running" is only good for containers without a healthcheck (the simulator).
    if [ "$st" = running ] && docker inspect -f '{{.Config.Healthcheck}}' "$id" | grep -q CMD; then return 1; fi
  done
}
if wait_for "all containers healthy" all_healthy; then pass "all services healthy"
else
  for id in $(containers); do
    docker inspect -f '{{.Name}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}} {{range .State.Health.Log}}{{.Output}}{{end}}{{end}}' "$id" >&2
  done
  die "services not healthy within ${timeout_s}s"
fi
t_healthy=$(date +%s)

# ---------------------------------------------------------------- 5. data flows
list_products() {  # sorted relative paths of the product files in the output volume
  compose exec -T --index=1 disk-writer \
    find /data/products -type f ! -name '.*' ! -name '*.tmp' ! -name '*.json' -printf '%P\n' \
    | sort
}
count_products() { list_products | wc -l; }
enough_products() { [ "$(count_products)" -ge "$1" ]; }
if wait_for "products on disk" enough_products 20; then
  pass "products land in the output volume ($(count_products) files)"
else
  die "fewer than 20 products in the output volume after ${timeout_s}s"
fi

compose exec -T alert-classifier emwin-tail --connect tcp://127.0.0.1:5603 --topic alert. \
  --count 3 --timeout-s 90 >"$workdir/alerts.txt" 2>"$workdir/alerts.err" || true
if [ "$(grep -c '^[0-9].* alert\.' "$workdir/alerts.txt")" -ge 3 ]; then
  pass "alerts published on the alert-classifier tap: $(head -n1 "$workdir/alerts.txt")"
else
  cat "$workdir/alerts.txt" "$workdir/alerts.err" >&2
  fail "fewer than 3 alert.* messages on the alert-classifier tap"
fi
# The stack runs authenticated by default (keys made by the first container, docs/security.md):
# the tap above answered a keyed emwin-tail; the same tap gives nothing to one without keys, and
# the refusal is counted by the classifier's ZAP handler.
if [ -n "${EMWIN_KEYS-x}" ]; then
  compose exec -T alert-classifier env EMWIN_KEYS= emwin-tail --connect tcp://127.0.0.1:5603 --topic stats. \
    --count 1 --timeout-s 8 >"$workdir/nokeys.txt" 2>"$workdir/nokeys.err" || true
  if [ -s "$workdir/nokeys.txt" ]; then
    fail "a subscriber without keys read the alert-classifier tap: $(head -n1 "$workdir/nokeys.txt")"
  else
    pass "a subscriber without keys hears nothing on the alert-classifier tap (CURVE on by default)"
  fi
  if compose logs alert-classifier 2>&1 | grep -qi 'refused\|denied'; then
    pass "the classifier logged the refused client"
  else
    fail "no refusal in the classifier's log"
  fi
fi
alert_lines() { compose exec -T alert-classifier sh -c 'wc -l < /var/lib/emwin/alerts/alerts.jsonl'; }
has_alert_lines() { [ "$(alert_lines 2>/dev/null || echo 0)" -gt 0 ]; }
if wait_for "alert log" has_alert_lines; then
  pass "alert log has $(alert_lines) JSON lines"
else
  fail "alert log empty"
fi

# The relay serves the feed: an emwin-ingest inside the relay's container logs on to it and
# publishes what it decodes on a tap of its own, where emwin-tail must see segments.
relay_serves() {
  compose exec -T relay bash -c '
    emwin-ingest --server 127.0.0.1:2211 --email ci@example.com --state-dir /tmp/relay-check \
      --pub tcp://127.0.0.1:5701 --pipe tcp://127.0.0.1:5711 --log-level warn &
    ingest=$!
    emwin-tail --connect tcp://127.0.0.1:5701 --topic seg. --count 5 --timeout-s 90
    kill -TERM "$ingest"; wait "$ingest"' >"$workdir/relay.txt" 2>"$workdir/relay.err" || true
  [ "$(grep -c '^[0-9].* seg\.' "$workdir/relay.txt")" -ge 5 ]
}
if relay_serves; then
  pass "relay serves the feed to a ByteBlaster client: $(grep -m1 '^[0-9].* seg\.' "$workdir/relay.txt")"
else
  cat "$workdir/relay.txt" "$workdir/relay.err" >&2
  fail "no segments through the relay"
fi

# The gateway, from the host through its published port (ephemeral here): an alert event
# arrives on an SSE stream (the simulator loops, so alerts keep coming), and the JSON API and
# the page answer. curl is on the host (scripts/install-deps); `|| true` keeps curl's SIGPIPE
# (grep stops at the first match) from failing the pipeline under pipefail.
gw_port="$(compose port gateway 8080 2>/dev/null | sed -n 's/.*:\([0-9][0-9]*\)$/\1/p' | head -n1)"
if [ -z "$gw_port" ]; then
  fail "gateway: no published port for 8080"
else
  gw="http://127.0.0.1:$gw_port"
  if { curl -sN --max-time "$timeout_s" "$gw/events?topic=alert." 2>/dev/null || true; } \
       | grep -m1 -q '^event: alert$'; then
    pass "gateway streams alerts over SSE on the published port $gw_port"
  else
    fail "no alert event on $gw/events within ${timeout_s}s"
  fi
  if curl -sf --max-time 10 "$gw/alerts/active" | grep -q '"alerts"'; then
    pass "gateway /alerts/active answers JSON"
  else
    fail "gateway /alerts/active"
  fi
  if curl -sf --max-time 10 "$gw/" | grep -q 'EMWIN'; then pass "gateway serves the live page"
  else fail "gateway page"; fi
  if curl -sf --max-time 10 "$gw/metrics" | grep -q '^emwin_gateway_events_total{kind="alert"} [1-9]'; then
    pass "gateway /metrics counts alert events"
  else
    fail "gateway /metrics"
  fi
fi

if [ "$with_prom" = 1 ]; then
  prom_up() {
    compose exec -T prometheus bash -c '
      exec 3<>/dev/tcp/127.0.0.1/9090
      printf "GET /api/v1/query?query=up%%7Bjob%%3D%%22emwin-stats%%22%%7D HTTP/1.0\r\n\r\n" >&3
      cat <&3' | grep -q '"value":\[[0-9.]*,"1"\]'
  }
  if wait_for "prometheus scrapes stats" prom_up; then pass "Prometheus scrapes emwin-stats (up == 1)"
  else fail "Prometheus does not scrape emwin-stats"; fi
fi

# ---------------------------------------------------------------- 6. scale sinks
# shellcheck disable=SC2086
compose up -d --no-build --no-recreate ${EMWIN_TEST_UP_ARGS:-} --scale disk-writer=3 >"$workdir/scale.log" 2>&1 \
  || { cat "$workdir/scale.log" >&2; die "scale disk-writer=3"; }
three_healthy() { [ "$(containers disk-writer | wc -l)" -eq 3 ] && all_healthy; }
if wait_for "3 disk-writers healthy" three_healthy; then pass "disk-writer scaled to 3, all healthy"
else die "3 disk-writers not healthy"; fi
list_products >"$workdir/before.txt"
since="$(date -u +%s)"
n_before=$(wc -l <"$workdir/before.txt")
more_products() { [ "$(count_products)" -ge $(( n_before + ${EMWIN_TEST_NEW_FILES:-60} )) ]; }
wait_for "new products after scaling" more_products || die "no new products after scaling"
list_products >"$workdir/after.txt"
comm -13 "$workdir/before.txt" "$workdir/after.txt" >"$workdir/new.txt"
n_new=$(wc -l <"$workdir/new.txt")
log "$n_new new files since scaling"

# Who wrote what: every replica logs each file it writes ("wrote <path>"), just after the
# rename, so the log line can trail the file by a moment: collect until every new file is
# accounted for (or the deadline passes).
tally() {
  : >"$workdir/writes.txt"
  local i=0 id
  for id in $(containers disk-writer); do
    i=$((i + 1))
    docker logs --since "$since" "$id" 2>&1 | grep -o 'wrote [^ ]*' | sed 's/^wrote //' \
      | sed "s|^|replica$i |" >>"$workdir/writes.txt" || true
  done
  # A file counts when its relative path (or its full path under /data/products) was logged.
  awk '{sub("^/data/products/", "", $2); print $1, $2}' "$workdir/writes.txt" >"$workdir/writes-rel.txt"
  awk '{print $2}' "$workdir/writes-rel.txt" | sort | uniq -c | awk '{print $2, $1}' | sort >"$workdir/counts.txt"
  dups=$(join "$workdir/new.txt" "$workdir/counts.txt" | awk '$2 > 1' | tee "$workdir/dups.txt" | wc -l)
  missing=$(join -v1 "$workdir/new.txt" "$workdir/counts.txt" | tee "$workdir/missing.txt" | wc -l)
  [ "$missing" -eq 0 ]
}
wait_for "every new file in a replica's log" tally || true
while read -r f n; do log "written $n times: $f"; done <"$workdir/dups.txt"
while read -r f; do log "in no replica's log: $f"; done <"$workdir/missing.txt"
replicas_used=$(awk -v list="$workdir/new.txt" 'BEGIN{while((getline l < list)>0) want[l]=1} ($2 in want){print $1}' \
  "$workdir/writes-rel.txt" | sort -u | wc -l)
log "writes by replica: $(awk '{print $1}' "$workdir/writes-rel.txt" | sort | uniq -c | tr '\n' ' ')"
if [ "$dups" -eq 0 ] && [ "$missing" -eq 0 ] && [ "$n_new" -gt 0 ]; then
  pass "each of $n_new new files written exactly once"
else
  fail "after scaling: $dups files written more than once, $missing not seen in any replica's log"
fi
if [ "$replicas_used" -ge 2 ]; then pass "work shared by $replicas_used replicas"
else fail "only $replicas_used replica(s) wrote the new files"; fi

restarts=0
for id in $(containers); do
  r="$(docker inspect -f '{{.RestartCount}}' "$id")"
  [ "$r" = 0 ] || { restarts=$((restarts + r)); log "$(docker inspect -f '{{.Name}}' "$id") restarted $r times"; }
done
if [ "$restarts" = 0 ]; then pass "no container restarted"; else fail "$restarts container restarts"; fi

log "timings: engine $((t_engine - t0))s, base image $((t_base - t_engine))s, build $((t_build - t_base))s, healthy $((t_healthy - t_build))s, checks $(( $(date +%s) - t_healthy ))s"
[ "$failed" = 0 ]
