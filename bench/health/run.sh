#!/usr/bin/env bash
# Health-check load: NODES nodes (default 10,000) in one group, checked every INTERVAL_MS
# (default 1000 ms), by sgd and then, as the peer, by HAProxy (one backend of NODES servers with
# `check inter INTERVAL_MS`, nbthread THREADS). All nodes point at one nginx that answers /health
# with 200 and logs each check, so the checks per second actually done are counted the same way
# for both (nginx log lines over DURATION s). Measured per checker: CPU share (CPU seconds per
# wall second), CPU per check, resident memory with all nodes checked; for sgd also before
# registration, its registration time and its own check counter.
#
# Env: NODES (10000)  INTERVAL_MS (1000)  DURATION (30)  SGD (binary)  THREADS (2)
#      PEER (haproxy; "none" skips it)  FAIL_PCT (0: this percentage of the nodes is checked on a
#      path nginx answers with 503, for both checkers)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../common.sh"
trap bench_cleanup EXIT
PEER=${PEER:-haproxy}
need curl nginx awk
[[ $PEER == none ]] || need haproxy

NODES=${NODES:-10000}
INTERVAL_MS=${INTERVAL_MS:-1000}
DURATION=${DURATION:-30}
THREADS=${THREADS:-2}
FAIL_PCT=${FAIL_PCT:-0}
fails() { (( $1 % 100 < FAIL_PCT )); }  # node $1 is one of the failing ones
bench_mktemp
sgd_snapshot "${SGD:-$here/../../build/apps/sgd}"

# One nginx answering every health check.
free_port np
mkdir -p "$BENCH_TMP/nginx/logs"
{
  nginx_main_conf "$BENCH_TMP/nginx" 8192
  cat <<CONF
http {
  log_format tiny '.';
  access_log $BENCH_TMP/nginx/checks.log tiny buffer=64k flush=200ms;
  server { listen 127.0.0.1:$np backlog=4096; location / { return 200 "ok\n"; }
           location /fail { return 503 "down\n"; } }
}
CONF
} >"$BENCH_TMP/nginx/nginx.conf"
bench_start nginx "$BENCH_TMP/nginx.log" nginx -p "$BENCH_TMP/nginx" -c "$BENCH_TMP/nginx/nginx.conf"
wait_port "$np"

free_port ap; free_port pp
bench_start sgd "$BENCH_TMP/sgd.log" "$SGD" --admin "127.0.0.1:$ap" --listen "127.0.0.1:$pp" \
  --data-dir "$BENCH_TMP/data" --threads "$THREADS" --log-level warn "${SGD_BASE_FLAGS[@]}"
sgd_pid=$BENCH_LAST_PID
wait_port "$ap"
rss_empty=$(proc_status_kb "$sgd_pid" VmRSS)

curl -sf -X PUT "http://127.0.0.1:$ap/api/server-groups/bench" \
  -d "{\"healthCheck\":{\"intervalMs\":$INTERVAL_MS,\"timeoutMs\":500}}" >/dev/null

# Register all nodes with one curl process (parallel, keep-alive).
cfg=$BENCH_TMP/register.curl
for (( i = 1; i <= NODES; i++ )); do
  hu=""
  fails "$i" && hu=",\\\"healthUrl\\\":\\\"http://127.0.0.1:$np/fail\\\""
  printf 'url = "http://127.0.0.1:%s/api/server-groups/bench/nodes"\ndata = "{\\"name\\":\\"n%s\\",\\"baseUrl\\":\\"http://127.0.0.1:%s\\"%s}"\noutput = "/dev/null"\nheader = "Content-Type: application/json"\nnext\n' \
    "$ap" "$i" "$np" "$hu"
done >"$cfg"
sed -i '$ d' "$cfg"  # no "next" after the last entry
t0=$(date +%s.%N)
curl -s --no-progress-meter --parallel --parallel-max 32 -K "$cfg" >/dev/null
t1=$(date +%s.%N)
sleep 2  # the last registrations' first checks
healthy=$(curl -s "http://127.0.0.1:$ap/api/server-groups" |
  awk 'match($0, /"healthy":[0-9]+/) { print substr($0, RSTART + 10, RLENGTH - 10); exit }')
log "registered $NODES nodes in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s; healthy: $healthy"

checks() {  # all checks, and the failed ones
  curl -s "http://127.0.0.1:$ap/metrics" |
    awk '/^sgd_health_checks_total/ { s += $NF; if ($0 ~ /result="fail"/) f += $NF }
         END { printf "%.0f %.0f\n", s, f }'
}
seen() { wc -c <"$BENCH_TMP/nginx/checks.log"; }  # one byte + newline per check
sleep 5  # let the jittered schedule settle
read -r c0 f0 < <(checks); n0=$(seen); k0=$(cpu_ticks "$sgd_pid"); w0=$(date +%s.%N)
sleep "$DURATION"
read -r c1 f1 < <(checks); n1=$(seen); k1=$(cpu_ticks "$sgd_pid"); w1=$(date +%s.%N)
rss_full=$(proc_status_kb "$sgd_pid" VmRSS)
hwm=$(proc_status_kb "$sgd_pid" VmHWM)
bench_stop "$sgd_pid" 30

# The peer: HAProxy checking the same NODES servers at the same interval.
hp_cpu=0 hp_wall=1 hp_seen=0 hp_rss=0
if [[ $PEER != none ]]; then
  free_port hp_port  # HAProxy refuses to start without a listener
  {
    printf 'global\n  nbthread %s\n  maxconn 2000\n' "$THREADS"
    printf 'defaults\n  mode http\n  timeout connect 500ms\n  timeout check 500ms\n'
    printf '  timeout client 30s\n  timeout server 30s\n'
    printf 'frontend fe\n  bind 127.0.0.1:%s\n  default_backend bench\n' "$hp_port"
    printf 'backend bench\n  option httpchk GET /health\n'
    printf '  default-server check inter %s fall 3 rise 1\n' "$INTERVAL_MS"
    for (( i = 1; i <= NODES; i++ )); do fails "$i" || printf '  server n%s 127.0.0.1:%s\n' "$i" "$np"; done
    if (( FAIL_PCT > 0 )); then
      printf 'backend bench_fail\n  option httpchk GET /fail\n'
      printf '  default-server check inter %s fall 3 rise 1\n' "$INTERVAL_MS"
      for (( i = 1; i <= NODES; i++ )); do fails "$i" && printf '  server n%s 127.0.0.1:%s\n' "$i" "$np"; done
    fi
  } >"$BENCH_TMP/haproxy.cfg"
  haproxy -c -q -f "$BENCH_TMP/haproxy.cfg" || die "bad haproxy config"
  bench_start haproxy "$BENCH_TMP/haproxy.log" haproxy -db -f "$BENCH_TMP/haproxy.cfg"
  hp_pid=$BENCH_LAST_PID
  sleep $((5 + INTERVAL_MS / 1000))  # first round of checks, spread over the interval
  n2=$(seen); k2=$(cpu_ticks "$hp_pid"); w2=$(date +%s.%N)
  sleep "$DURATION"
  n3=$(seen); k3=$(cpu_ticks "$hp_pid"); w3=$(date +%s.%N)
  hp_rss=$(proc_status_kb "$hp_pid" VmRSS)
  hp_cpu=$(ticks_to_seconds $((k3 - k2)))
  hp_wall=$(awk -v a="$w2" -v b="$w3" 'BEGIN{print b-a}')
  hp_seen=$(( (n3 - n2) / 2 ))
  bench_stop "$hp_pid" 10
fi

wall=$(awk -v a="$w0" -v b="$w1" 'BEGIN{print b-a}')
cpu=$(ticks_to_seconds $((k1 - k0)))
echo
echo "health checks: $NODES nodes ($FAIL_PCT % failing), interval ${INTERVAL_MS} ms, ${THREADS} threads each, ${DURATION} s measured"
echo "sgd: $SGD_DESC"
[[ $PEER == none ]] || echo "peer: $(haproxy -v | head -1)"
awk -v cpu="$cpu" -v wall="$wall" -v c0="$c0" -v c1="$c1" -v f0="$f0" -v f1="$f1" -v seen=$(( (n1 - n0) / 2 )) \
    -v n="$NODES" -v iv="$INTERVAL_MS" -v re="$rss_empty" -v rf="$rss_full" -v hwm="$hwm" \
    -v healthy="$healthy" -v hcpu="$hp_cpu" -v hwall="$hp_wall" -v hseen="$hp_seen" \
    -v hrss="$hp_rss" -v peer="$PEER" 'BEGIN {
  rate = seen / wall; hrate = hseen / hwall
  us = rate > 0 ? 1e6 * cpu / wall / rate : 0
  hus = hrate > 0 ? 1e6 * hcpu / hwall / hrate : 0
  printf "%-34s %12s %12s\n", "figure", "sgd", (peer == "none" ? "" : "haproxy")
  printf "%-34s %12.0f %12.0f\n", "checks per second (expected)", n * 1000 / iv, n * 1000 / iv
  printf "%-34s %12.0f %12.0f\n", "checks per second (seen by nginx)", rate, hrate
  printf "%-34s %12.0f\n", "checks per second (sgd counter)", (c1 - c0) / wall
  printf "%-34s %12.0f\n", "  of which failed (sgd counter)", (f1 - f0) / wall
  printf "%-34s %11.1f%% %11.1f%%\n", "CPU share (of one core)", 100 * cpu / wall, 100 * hcpu / hwall
  printf "%-34s %12.1f %12.1f\n", "CPU us per check", us, hus
  printf "%-34s %8.1f MiB %8.1f MiB\n", "RSS, all nodes checked", rf / 1024, hrss / 1024
  printf "%-34s %8.1f KiB\n", "sgd RSS per node", (rf - re) / n
  printf "%-34s %8.1f MiB\n", "sgd RSS, no nodes", re / 1024
  printf "%-34s %8.1f MiB\n", "sgd peak RSS (VmHWM)", hwm / 1024
  printf "%-34s %12d\n", "nodes healthy after registration", healthy
  if (peer != "none" && hus > 0) {
    printf "\nsgd/HAProxy CPU per check: %.2f\n", us / hus
    printf "sgd/HAProxy RSS:           %.2f\n", (hrss > 0 ? rf / hrss : 0)
  }
}'
