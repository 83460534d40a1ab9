#!/usr/bin/env bash
# Streamed-upload benchmark: one large PUT (curl -T), directly to a backend and through sgd.
#
# The backend is sgd's own test node (build/tests/test_node): it streams the body through
# SHA-256 and answers JSON with bodyBytes and bodySha256, so the upload through sgd is also
# checked byte for byte against `sha256sum` of the file. Without the test node, an nginx that
# reads and discards the body is used instead (no integrity check then).
# Rounds are interleaved (direct, sgd, direct, sgd, ...). Reported: MB/s (1 MB = 10^6 bytes)
# from curl's %{speed_upload} and from wall time, the ratio sgd/direct, and sgd's RSS before
# the first upload, after the last one, and its peak (VmHWM).
#
# Env: SIZE_MB (MiB uploaded, default 1024)  ROUNDS (3)  SGD (binary)  SGD_FLAGS (extra flags)
#      TEST_NODE (binary, default build/tests/test_node)  PROXY_CPU (0)  LOAD_CPU (1)
#      DATA (random|zero, default random)  KEEP_TMP=1 keeps the temp dir
# Targets: sgd/direct >= 0.8; sgd's RSS grows by < 64 MiB.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=../common.sh
. "$HERE/../common.sh"

SIZE_MB=${SIZE_MB:-1024}
ROUNDS=${ROUNDS:-3}
SGD=${SGD:-$ROOT/build/apps/sgd}
TEST_NODE=${TEST_NODE:-$ROOT/build/tests/test_node}
DATA=${DATA:-random}
read -r -a SGD_EXTRA <<<"${SGD_FLAGS:-}"

need curl taskset awk ss getconf sha256sum
cpus_for_pinning
trap bench_cleanup EXIT
trap 'exit 130' INT TERM
bench_mktemp
T=$BENCH_TMP
sgd_snapshot "$SGD"
log "sgd: $SGD_DESC"
log "temp dir $T; sgd core $PROXY_CPU, curl and backend core $LOAD_CPU"

# --- the payload, created once -----------------------------------------------------------------
FILE=$T/payload.bin
BYTES=$(( SIZE_MB * 1024 * 1024 ))
if [[ $DATA == zero ]]; then src=/dev/zero; else src=/dev/urandom; fi
head -c "$BYTES" "$src" >"$FILE"
SHA=$(sha256sum "$FILE" | awk '{ print $1 }')
cat "$FILE" >/dev/null   # in the page cache for every round
log "payload: $SIZE_MB MiB from $src, sha256 $SHA"

# --- backend -----------------------------------------------------------------------------------
free_port A_SGD; free_port P_SGD
if [[ -x $TEST_NODE ]]; then
  BACKEND=test_node
  bench_start test_node "$T/node.log" taskset -c "$LOAD_CPU" "$TEST_NODE" --port 0 --name up \
    --ready-file "$T/node.ready"
  NODE_PID=$BENCH_LAST_PID
  wait_file "$T/node.ready" 10 || die "test node did not write its ready file ($T/node.log)"
  BPORT=$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$T/node.ready")
  [[ -n $BPORT ]] || die "no port in $(cat "$T/node.ready")"
else
  BACKEND=nginx
  need nginx
  log "no test node at $TEST_NODE: falling back to nginx (body read and discarded, no sha check)"
  free_port BPORT
  mkdir -p "$T/nginx"
  {
    nginx_main_conf "$T/nginx" 1024
    cat <<EOF
http {
  access_log off;
  client_body_temp_path $T/nginx/body;
  proxy_temp_path $T/nginx/proxy;
  fastcgi_temp_path $T/nginx/fastcgi;
  uwsgi_temp_path $T/nginx/uwsgi;
  scgi_temp_path $T/nginx/scgi;
  client_max_body_size 0;
  server {
    listen 127.0.0.1:$BPORT;
    location /health { return 200; }
    location / { default_type application/json; return 200 "{}\n"; }
  }
}
EOF
  } >"$T/nginx/nginx.conf"
  bench_start nginx-backend "$T/nginx/out.log" taskset -c "$LOAD_CPU" \
    nginx -p "$T/nginx" -e "$T/nginx/error.log" -c "$T/nginx/nginx.conf"
  NODE_PID=$BENCH_LAST_PID
fi
wait_port "$BPORT" 10 "$NODE_PID" || die "backend did not open port $BPORT"

# --- sgd ---------------------------------------------------------------------------------------
bench_start sgd "$T/sgd.log" taskset -c "$PROXY_CPU" "$SGD" --admin "127.0.0.1:$A_SGD" \
  --listen "127.0.0.1:$P_SGD" --data-dir "$T/sgd-data" --threads 1 --log-level warn \
  "${SGD_BASE_FLAGS[@]}" "${SGD_EXTRA[@]}"
SGD_PID=$BENCH_LAST_PID
wait_port "$A_SGD" 10 "$SGD_PID" && wait_port "$P_SGD" 10 "$SGD_PID" || die "sgd did not start ($T/sgd.log)"
code=$(curl -s -o "$T/put.json" -w '%{http_code}' -X PUT "http://127.0.0.1:$A_SGD/api/server-groups/bench" \
  -d '{"strategy":"round_robin","healthCheck":{"intervalMs":1000,"timeoutMs":500}}')
[[ $code == 2?? ]] || die "group PUT answered $code: $(cat "$T/put.json")"
code=$(curl -s -o "$T/node.json" -w '%{http_code}' -X POST "http://127.0.0.1:$A_SGD/api/server-groups/bench/nodes" \
  -d "{\"name\":\"up\",\"baseUrl\":\"http://127.0.0.1:$BPORT\"}")
[[ $code == 201 ]] && grep -q '"status":"healthy"' "$T/node.json" ||
  die "node registration answered $code: $(cat "$T/node.json")"
# one small request through, so the RSS "before" includes a warmed-up connection pool
curl -s -o /dev/null "http://127.0.0.1:$P_SGD/groups/bench/warm" || true
RSS_BEFORE=$(proc_status_kb "$SGD_PID" VmRSS)
CPU_BEFORE=$(cpu_ticks "$SGD_PID")

# --- the rounds --------------------------------------------------------------------------------
RESULTS=$T/results.tsv   # path round speed_MBps wall_s wall_MBps http_code sha_ok
: >"$RESULTS"
PROBLEMS=""
upload() {   # upload PATHNAME URL ROUND
  local name=$1 url=$2 r=$3 out t0 t1 speed code tt wall mbps sha_ok got
  t0=$(date +%s%N)
  # Expect: disabled so curl does not wait for "100 Continue"; -T sends Content-Length.
  out=$(taskset -c "$LOAD_CPU" curl -sS -T "$FILE" -H 'Expect:' -H 'Content-Type: application/octet-stream' \
    -o "$T/resp-$name-$r.json" -w '%{speed_upload} %{http_code} %{time_total}' "$url" 2>"$T/curl-$name-$r.err") || true
  t1=$(date +%s%N)
  read -r speed code tt <<<"$out"
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
  mbps=$(awk -v n="$BYTES" -v s="$wall" 'BEGIN { printf "%.1f", n / s / 1e6 }')
  speed=$(awk -v s="${speed:-0}" 'BEGIN { printf "%.1f", s / 1e6 }')
  sha_ok=n/a
  if [[ $BACKEND == test_node ]]; then
    got=$(sed -n 's/.*"bodySha256":"\([0-9a-f]*\)".*/\1/p' "$T/resp-$name-$r.json" 2>/dev/null || true)
    if [[ $got == "$SHA" ]]; then sha_ok=yes; else sha_ok=NO; fi
  fi
  printf '%s\t%d\t%s\t%s\t%s\t%s\t%s\n' "$name" "$r" "$speed" "$wall" "$mbps" "${code:-000}" "$sha_ok" >>"$RESULTS"
  log "round $r $name: HTTP ${code:-000}, curl ${speed} MB/s, wall ${wall}s = ${mbps} MB/s, sha256 match: $sha_ok"
  if [[ ${code:-000} != 200 || $sha_ok == NO ]]; then
    PROBLEMS+="$name round $r: HTTP ${code:-000}, sha256 match $sha_ok, curl: $(tr '\n' ' ' <"$T/curl-$name-$r.err"); "
  fi
}
for (( r = 1; r <= ROUNDS; r++ )); do
  upload direct "http://127.0.0.1:$BPORT/upload" "$r"
  upload sgd "http://127.0.0.1:$P_SGD/groups/bench/upload" "$r"
  kill -0 "$SGD_PID" 2>/dev/null || { PROBLEMS+="sgd died in round $r; "; break; }
done
if kill -0 "$SGD_PID" 2>/dev/null; then
  RSS_AFTER=$(proc_status_kb "$SGD_PID" VmRSS)
  HWM=$(proc_status_kb "$SGD_PID" VmHWM)
  CPU_AFTER=$(cpu_ticks "$SGD_PID")
else
  RSS_AFTER=nan; HWM=nan; CPU_AFTER=$CPU_BEFORE
fi

# --- report ------------------------------------------------------------------------------------
col() { awk -F'\t' -v p="$1" -v c="$2" '$1 == p { print $c }' "$RESULTS"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
echo
echo "== upload benchmark: $SIZE_MB MiB PUT (curl -T), $ROUNDS interleaved rounds, backend $BACKEND =="
machine_info | sed 's/^/# /'
echo "# sgd: $SGD_DESC"
echo "# sgd flags: --threads 1 --log-level warn ${SGD_BASE_FLAGS[*]:-} ${SGD_EXTRA[*]:-}; MB = 10^6 bytes"
echo
echo "per round:"
printf '  %-7s %5s %12s %8s %12s %5s %7s\n' path round curl_MB/s wall_s wall_MB/s http sha_ok
awk -F'\t' '{ printf "  %-7s %5s %12s %8s %12s %5s %7s\n", $1, $2, $3, $4, $5, $6, $7 }' "$RESULTS"
echo
# shellcheck disable=SC2046
D_SPEED=$(median $(col direct 3)); S_SPEED=$(median $(col sgd 3))
# shellcheck disable=SC2046
D_WALL=$(median $(col direct 5)); S_WALL=$(median $(col sgd 5))
printf '| %-6s | %14s | %14s |\n' path "curl MB/s" "wall MB/s"
printf '|%s|%s|%s|\n' -------- ---------------- ----------------
printf '| %-6s | %14.1f | %14.1f |\n' direct "$D_SPEED" "$D_WALL"
printf '| %-6s | %14.1f | %14.1f |\n' sgd "$S_SPEED" "$S_WALL"
echo
R1=$(ratio "$S_SPEED" "$D_SPEED"); R2=$(ratio "$S_WALL" "$D_WALL")
ok() { awk -v x="$1" -v lim="$2" 'BEGIN { print (x + 0 >= lim) ? "meets target" : "BELOW target" }'; }
echo "sgd/direct throughput: $R1 (curl speed), $R2 (wall)  (target >= 0.80: $(ok "$R2" 0.8))"
GROW_PEAK=$(awk -v a="$HWM" -v b="$RSS_BEFORE" 'BEGIN { printf "%.1f", (a - b) / 1024 }')
GROW_END=$(awk -v a="$RSS_AFTER" -v b="$RSS_BEFORE" 'BEGIN { printf "%.1f", (a - b) / 1024 }')
echo "sgd RSS: before $(mib "$RSS_BEFORE") MiB, after $(mib "$RSS_AFTER") MiB, peak (VmHWM) $(mib "$HWM") MiB"
echo "sgd RSS growth: peak-before $GROW_PEAK MiB, after-before $GROW_END MiB  (target < 64 MiB: $(
  awk -v g="$GROW_PEAK" 'BEGIN { print (g + 0 < 64) ? "meets target" : "ABOVE target" }'))"
CPU_S=$(ticks_to_seconds $((CPU_AFTER - CPU_BEFORE)))
echo "sgd CPU: ${CPU_S}s for $ROUNDS x $SIZE_MB MiB = $(awk -v c="$CPU_S" -v r="$ROUNDS" -v m="$SIZE_MB" \
  'BEGIN { printf "%.2f", c / (r * m / 1024) }') s per GiB"
if [[ $BACKEND == test_node ]]; then
  echo "integrity: $(awk -F'\t' '$7 == "yes"' "$RESULTS" | wc -l)/$(wc -l <"$RESULTS") uploads matched sha256 $SHA"
fi
bench_stop "$SGD_PID" 15
if [[ -n $BENCH_STOP_RC && $BENCH_STOP_RC != 0 && $BENCH_STOP_RC != 143 ]]; then
  PROBLEMS+="sgd exit status $BENCH_STOP_RC on SIGTERM after the run; "
fi
if [[ -n $PROBLEMS ]]; then
  echo
  echo "PROBLEMS: $PROBLEMS"
fi
