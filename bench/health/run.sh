#!/usr/bin/env bash
# Health-check load: NODES nodes (default 10,000) in one group, checked every INTERVAL_MS
# (default 1000 ms). All nodes point at one nginx that answers /health with 200, so what is
# measured is sgd's own cost: its CPU share (CPU seconds per wall second over DURATION s), its
# resident memory before registration and with all nodes checked, and the checks per second it
# actually performed (from sgd_health_checks_total).
#
# Env: NODES (10000)  INTERVAL_MS (1000)  DURATION (30)  SGD (binary)  THREADS (sgd --threads, 2)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../common.sh"
trap bench_cleanup EXIT
need curl nginx awk

NODES=${NODES:-10000}
INTERVAL_MS=${INTERVAL_MS:-1000}
DURATION=${DURATION:-30}
THREADS=${THREADS:-2}
bench_mktemp
sgd_snapshot "${SGD:-$here/../../build/apps/sgd}"

# One nginx answering every health check.
free_port np
mkdir -p "$BENCH_TMP/nginx/logs"
cat >"$BENCH_TMP/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $BENCH_TMP/nginx/nginx.pid;
error_log $BENCH_TMP/nginx/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  server { listen 127.0.0.1:$np; location / { return 200 "ok\n"; } }
}
CONF
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
  printf 'url = "http://127.0.0.1:%s/api/server-groups/bench/nodes"\ndata = "{\\"name\\":\\"n%s\\",\\"baseUrl\\":\\"http://127.0.0.1:%s\\"}"\noutput = "/dev/null"\nnext\n' \
    "$ap" "$i" "$np"
done >"$cfg"
sed -i '$ d' "$cfg"  # no "next" after the last entry
t0=$(date +%s.%N)
curl -s --parallel --parallel-max 32 -K "$cfg" >/dev/null
t1=$(date +%s.%N)
sleep 2  # the last registrations' first checks
healthy=$(curl -s "http://127.0.0.1:$ap/api/server-groups" |
  awk 'match($0, /"healthy":[0-9]+/) { print substr($0, RSTART + 10, RLENGTH - 10); exit }')
log "registered $NODES nodes in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s; healthy: $healthy"

checks() {
  curl -s "http://127.0.0.1:$ap/metrics" |
    awk '/^sgd_health_checks_total/ { s += $NF } END { printf "%.0f\n", s }'
}
sleep 5  # let the jittered schedule settle
c0=$(checks); k0=$(cpu_ticks "$sgd_pid"); w0=$(date +%s.%N)
sleep "$DURATION"
c1=$(checks); k1=$(cpu_ticks "$sgd_pid"); w1=$(date +%s.%N)
rss_full=$(proc_status_kb "$sgd_pid" VmRSS)
hwm=$(proc_status_kb "$sgd_pid" VmHWM)

wall=$(awk -v a="$w0" -v b="$w1" 'BEGIN{print b-a}')
cpu=$(ticks_to_seconds $((k1 - k0)))
echo
echo "health checks: $NODES nodes, interval ${INTERVAL_MS} ms, sgd --threads $THREADS, ${DURATION} s measured"
echo "sgd: $SGD_DESC"
awk -v cpu="$cpu" -v wall="$wall" -v c0="$c0" -v c1="$c1" -v n="$NODES" -v iv="$INTERVAL_MS" \
    -v re="$rss_empty" -v rf="$rss_full" -v hwm="$hwm" -v healthy="$healthy" 'BEGIN {
  rate = (c1 - c0) / wall
  printf "%-34s %12s\n", "figure", "value"
  printf "%-34s %12d\n", "nodes healthy after registration", healthy
  printf "%-34s %12.0f\n", "checks per second (expected)", n * 1000 / iv
  printf "%-34s %12.0f\n", "checks per second (measured)", rate
  printf "%-34s %11.1f%%\n", "sgd CPU share (of one core)", 100 * cpu / wall
  printf "%-34s %12.1f\n", "sgd CPU us per check", (rate > 0 ? 1e6 * cpu / wall / rate : 0)
  printf "%-34s %9.1f MiB\n", "sgd RSS, no nodes", re / 1024
  printf "%-34s %9.1f MiB\n", "sgd RSS, all nodes checked", rf / 1024
  printf "%-34s %9.1f KiB\n", "RSS per node", (rf - re) / n
  printf "%-34s %9.1f MiB\n", "sgd peak RSS (VmHWM)", hwm / 1024
}'
