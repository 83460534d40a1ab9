#!/usr/bin/env bash
# Proxy hot-path benchmark: HAProxy vs nginx vs sgd, side by side in one run.
#
# Three nginx backends (one nginx master, worker_processes 1, three listen ports, "ok\n")
# sit on the load core together with wrk. Each proxy runs alone on the proxy core and balances
# round robin over the three with keep-alive upstream connections. Per proxy and round: a short
# warm-up, then `wrk -t1 -c64 -d$DURATION --latency`; the proxy's own CPU time (utime+stime from
# /proc, all its processes) over the wrk run gives CPU µs per request. Rounds are interleaved
# (haproxy, nginx, sgd, ...; each round starts one further along the list) and the medians are
# reported.
#
# Cases (CASE=small|chunked|post16k|all, default small; "all" runs the three one after the
# other, each its own rotation and its own report, same format):
#   small    GET, the backend answers 200 "ok\n" with Content-Length (the original case).
#   chunked  GET .../sse, the backend answers text/event-stream with Transfer-Encoding: chunked,
#            SSE_CHUNKS (4) events of ~20 bytes, one chunk each (nginx SSI, see backends.sh).
#            Round 1 also records the raw bytes each proxy sends for one answer and prints their
#            framing (chunk count, anything after the last chunk, e.g. a doubled 0\r\n\r\n).
#   post16k  POST with a POST_BYTES (16384) body, Content-Length framing (wrk -s with a Lua
#            script setting wrk.method/wrk.body), to the "ok\n" backend.
# Each case checks one answer through each proxy with curl before measuring.
#
# Env: CASE (small)  POST_BYTES (16384)  SSE_CHUNKS (4)
#      DURATION (s, default 10)  ROUNDS (3)  WARMUP (s, 2)  CONNS (64)
#      SGD (binary, default build/apps/sgd)  SGD_FLAGS (extra sgd flags, word-split)
#      PROXY_CPU (0)  LOAD_CPU (1)  KEEP_TMP=1 keeps the temp dir
#      PROXIES ("haproxy nginx sgd sgd-nometrics"; sgd-nometrics is sgd with --metrics off, which
#      shows what the per-request metric updates cost)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=../common.sh
. "$HERE/../common.sh"
# shellcheck source=backends.sh
. "$HERE/backends.sh"

DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-2}
CONNS=${CONNS:-64}
SGD=${SGD:-$ROOT/build/apps/sgd}
PROXIES=${PROXIES:-haproxy nginx sgd sgd-nometrics}
CASE=${CASE:-small}
POST_BYTES=${POST_BYTES:-16384}
SSE_CHUNKS=${SSE_CHUNKS:-4}
case $CASE in
  all) CASES=(small chunked post16k) ;;
  small|chunked|post16k) CASES=("$CASE") ;;
  *) die "CASE must be small, chunked, post16k or all (not '$CASE')" ;;
esac
read -r -a SGD_EXTRA <<<"${SGD_FLAGS:-}"

need wrk haproxy nginx curl taskset awk ss getconf
cpus_for_pinning
trap bench_cleanup EXIT
trap 'exit 130' INT TERM
bench_mktemp
T=$BENCH_TMP
sgd_snapshot "$SGD"
log "sgd: $SGD_DESC"
log "temp dir $T; proxy core $PROXY_CPU, load core $LOAD_CPU"

free_port P_HAPROXY; free_port P_NGINX; free_port P_SGD; free_port A_SGD

# --- backends --------------------------------------------------------------------------------
start_ok_backends "$T/backend" "$LOAD_CPU"

# --- haproxy ---------------------------------------------------------------------------------
cat >"$T/haproxy.cfg" <<EOF
global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  timeout http-keep-alive 30s
  option http-keep-alive
frontend fe
  bind 127.0.0.1:$P_HAPROXY
  default_backend be
backend be
  balance roundrobin
  http-reuse always
  server b1 127.0.0.1:$B1
  server b2 127.0.0.1:$B2
  server b3 127.0.0.1:$B3
EOF
haproxy -c -f "$T/haproxy.cfg" >/dev/null || die "bad haproxy config"

# --- nginx as a proxy ------------------------------------------------------------------------
mkdir -p "$T/nginxp"
{
  nginx_main_conf "$T/nginxp"
  echo "http {"
  nginx_http_common "$T/nginxp"
  cat <<EOF
  upstream be {
    server 127.0.0.1:$B1;
    server 127.0.0.1:$B2;
    server 127.0.0.1:$B3;
    keepalive 64;
    keepalive_requests 10000000;
  }
  server {
    listen 127.0.0.1:$P_NGINX;
    # post16k: keep request bodies in memory (with the default buffer size a 16 KiB body goes
    # to a temp file, which the unprivileged worker cannot even create in the 0700
    # temp dir). No effect on GETs.
    client_body_buffer_size 64k;
    location / {
      proxy_pass http://be;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
EOF
} >"$T/nginxp/nginx.conf"

start_proxy() {   # sets PROXY_PID and URL
  case $1 in
    haproxy)
      bench_start haproxy "$T/haproxy.log" taskset -c "$PROXY_CPU" haproxy -db -f "$T/haproxy.cfg"
      PROXY_PID=$BENCH_LAST_PID; URL=http://127.0.0.1:$P_HAPROXY/
      wait_port "$P_HAPROXY" 10 "$PROXY_PID" ;;
    nginx)
      bench_start nginx-proxy "$T/nginxp/out.log" taskset -c "$PROXY_CPU" \
        nginx -p "$T/nginxp" -e "$T/nginxp/error.log" -c "$T/nginxp/nginx.conf"
      PROXY_PID=$BENCH_LAST_PID; URL=http://127.0.0.1:$P_NGINX/
      wait_port "$P_NGINX" 10 "$PROXY_PID" ;;
    sgd|sgd-nometrics)
      local metrics=on
      [[ $1 == sgd-nometrics ]] && metrics=off
      rm -rf "$T/sgd-data"
      bench_start "$1" "$T/$1.log" taskset -c "$PROXY_CPU" "$SGD" --admin "127.0.0.1:$A_SGD" \
        --listen "127.0.0.1:$P_SGD" --data-dir "$T/sgd-data" --threads 1 --log-level warn \
        --metrics "$metrics" "${SGD_BASE_FLAGS[@]}" "${SGD_EXTRA[@]}"
      PROXY_PID=$BENCH_LAST_PID; URL=http://127.0.0.1:$P_SGD/groups/bench/
      wait_port "$A_SGD" 10 "$PROXY_PID" && wait_port "$P_SGD" 10 "$PROXY_PID" || return 1
      register_bench_group "$A_SGD" "$T" ;;
  esac
}

# Our proxy pid plus its children (nginx master + worker); all pids are ones we started.
proc_tree() {
  local p=$1 c
  echo "$p"
  for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do proc_tree "$c"; done
}
tree_ticks() {
  local sum=0 p t
  for p in $(proc_tree "$1"); do
    t=$(cpu_ticks "$p" 2>/dev/null) || continue
    sum=$((sum + t))
  done
  echo "$sum"
}

# --- the cases -------------------------------------------------------------------------------
# POST body for post16k: POST_BYTES of "x", Content-Length framing (wrk.format adds the header).
printf 'wrk.method = "POST"\nwrk.body = string.rep("x", %d)\nwrk.headers["Content-Type"] = "application/octet-stream"\n' \
  "$POST_BYTES" >"$T/post.lua"
head -c "$POST_BYTES" /dev/zero | tr '\0' x >"$T/post.body"

case_setup() {   # CASE: sets C_PATH (appended to the proxy's URL), C_EXPECT, C_WRK, C_CURL, C_TITLE
  C_PATH=""; C_EXPECT=ok; C_WRK=(); C_CURL=(); C_TITLE=""
  case $1 in
    chunked)
      C_PATH=sse; C_EXPECT=$(printf '%s' "$SSE_BODY")
      C_TITLE=", case chunked (GET, backend answers text/event-stream, Transfer-Encoding: chunked, ${SSE_CHUNKS} chunks of ${#SSE_BODY} bytes in all)" ;;
    post16k)
      C_WRK=(-s "$T/post.lua")
      C_CURL=(-H 'Content-Type: application/octet-stream' --data-binary @"$T/post.body")
      C_TITLE=", case post16k (POST, $POST_BYTES-byte body with Content-Length, answer \"ok\\n\")" ;;
  esac
}

# raw_answer PORT PATH: the bytes a proxy sends for one keep-alive GET, as they come (read for
# 1 s: a keep-alive answer does not end the connection), to see the framing wrk sees.
raw_answer() {
  ( exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nUser-Agent: bench\r\n\r\n' "$2" "$1" >&3
    timeout 1 cat <&3 || true )
}
# chunk_framing FILE: one line on a raw answer: Transfer-Encoding, the number of data chunks, and
# whatever follows the first last-chunk (e.g. a second "0\r\n\r\n"), escaped.
chunk_framing() {
  awk 'BEGIN { RS = "\r\n"; st = "head" }
    function hex(s,   i, c, v) { v = 0; s = tolower(s); sub(/;.*/, "", s)
      for (i = 1; i <= length(s); i++) { c = index("0123456789abcdef", substr(s, i, 1)); if (!c) break; v = v * 16 + c - 1 }
      return v }
    st == "head" { if ($0 == "") st = "size"; else if (tolower($0) ~ /^transfer-encoding:/) { te = $0; sub(/^[^:]*: */, "", te) }
                   else if (tolower($0) ~ /^content-length:/) { cl = $0; sub(/^[^:]*: */, "", cl) }; next }
    st == "size" { if (hex($0) == 0) st = "trailer"; else { n++; st = "data" }; next }
    st == "data" { st = "size"; next }
    st == "trailer" { if ($0 == "") st = "after"; next }
    st == "after" { gsub(/\n/, "\\n"); extra = extra $0 "\\r\\n" }
    END { if (te == "") te = "none"
      printf "transfer-encoding %s%s, %d data chunks, %s\n", te, (cl != "" ? ", content-length " cl : ""),
        n, (st == "after" ? (extra == "" ? "clean end" : "AFTER THE LAST CHUNK: " extra) : "no last chunk (state " st ")") }' "$1"
}

col() { awk -F'\t' -v p="$1" -v c="$2" '$1 == p { print $c }' "$RESULTS"; }
verdict() { awk -v x="$1" -v lim="$2" 'BEGIN { print (x + 0 <= lim) ? "meets target" : "ABOVE target" }'; }
# The machine's speed drifts within a run; each round's own ratio cancels what the two proxies
# of that round shared, and their median is the steadier figure.
per_round() {  # COLUMN: median over rounds of sgd's value / HAProxy's value
  local i a b rs=()
  for (( i = 1; i <= ROUNDS; i++ )); do
    a=$(awk -F'\t' -v r="$i" -v c="$1" '$1 == "sgd" && $2 == r { print $c }' "$RESULTS")
    b=$(awk -F'\t' -v r="$i" -v c="$1" '$1 == "haproxy" && $2 == r { print $c }' "$RESULTS")
    rs+=("$(ratio "$a" "$b")")
  done
  printf '%.2f' "$(median "${rs[@]}")"
}

# run_case CASE: the rotation and the report of one case.
run_case() {
local cs=$1 tag="" hp r i px body t0 t1 w reqs rps p50 p99 non2xx sockerr cpu_s cpu_us c p q
case_setup "$cs"
[[ $cs == small ]] || tag="[$cs] "
# --- the rotation ----------------------------------------------------------------------------
RESULTS=$T/results.tsv   # proxy round rps p50us p99us cpu_us_per_req requests non2xx sockerr
[[ $cs == small ]] || RESULTS=$T/results-$cs.tsv
: >"$RESULTS"
SGD_PROBLEMS=""
FRAMING=""
read -r -a PX_LIST <<<"$PROXIES"
for (( r = 1; r <= ROUNDS; r++ )); do
  # Each round starts one further along the list: no proxy always runs right after the same one
  # (with a fixed order, sgd-nometrics, always right after sgd, measured 5-20 % slower than sgd
  # in every round although it does less; separate runs show it slightly faster).
  ORDER=()
  for (( i = 0; i < ${#PX_LIST[@]}; i++ )); do
    ORDER+=("${PX_LIST[(i + r - 1) % ${#PX_LIST[@]}]}")
  done
  for px in "${ORDER[@]}"; do
    start_proxy "$px" || die "$px did not start (logs in $T; rerun with KEEP_TMP=1)"
    URL+=$C_PATH
    body=$(curl -s --max-time 5 "${C_CURL[@]}" "$URL") || true
    [[ $body == "$C_EXPECT" ]] || die "$px answered '$body' instead of '$C_EXPECT' at $URL"
    if [[ $cs == chunked && $r == 1 ]]; then
      hp=${URL#http://127.0.0.1:}
      raw_answer "${hp%%/*}" "/${hp#*/}" >"$T/raw-$px.txt" 2>/dev/null || true
      curl -s --raw -i --max-time 5 "$URL" >"$T/curl-raw-$px.txt" 2>/dev/null || true
      FRAMING+="  $(printf '%-13s' "$px") socket:     $(chunk_framing "$T/raw-$px.txt")"$'\n'
      FRAMING+="  $(printf '%-13s' "") curl --raw: $(chunk_framing "$T/curl-raw-$px.txt")"$'\n'
      log "${tag}$px framing: $(chunk_framing "$T/raw-$px.txt")"
    fi
    taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${WARMUP}s" "${C_WRK[@]}" "$URL" >"$T/warm-$cs-$px-$r.txt" 2>&1
    t0=$(tree_ticks "$PROXY_PID")
    taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "${C_WRK[@]}" "$URL" >"$T/wrk-$cs-$px-$r.txt" 2>&1
    t1=$(tree_ticks "$PROXY_PID")
    kill -0 "$PROXY_PID" 2>/dev/null || SGD_PROBLEMS+="$px died during round $r; "
    w=$T/wrk-$cs-$px-$r.txt
    reqs=$(awk '/requests in/ { print $1; exit }' "$w")
    rps=$(awk '/^Requests\/sec:/ { print $2 }' "$w")
    p50=$(to_us "$(awk '$1 == "50%" { print $2; exit }' "$w")")
    p99=$(to_us "$(awk '$1 == "99%" { print $2; exit }' "$w")")
    non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$w"); non2xx=${non2xx:-0}
    sockerr=$(awk '/Socket errors:/ { gsub(",", ""); print $4 + $6 + $8 + $10 }' "$w"); sockerr=${sockerr:-0}
    cpu_s=$(ticks_to_seconds $((t1 - t0)))
    cpu_us=$(awk -v c="$cpu_s" -v n="${reqs:-0}" 'BEGIN { if (n > 0) printf "%.2f", c * 1e6 / n; else print "nan" }')
    printf '%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$px" "$r" "$rps" "$p50" "$p99" "$cpu_us" \
      "$reqs" "$non2xx" "$sockerr" >>"$RESULTS"
    log "${tag}round $r $px: $rps req/s, p50 ${p50}us, p99 ${p99}us, cpu ${cpu_s}s = ${cpu_us}us/req, non-2xx $non2xx, socket errors $sockerr"
    if [[ $non2xx != 0 || $sockerr != 0 ]]; then
      SGD_PROBLEMS+="$px round $r: non-2xx $non2xx, socket errors $sockerr ($(grep 'Socket errors' "$w" || true)); "
    fi
    bench_stop "$PROXY_PID" 15
    if [[ -n $BENCH_STOP_RC && $BENCH_STOP_RC != 0 && $BENCH_STOP_RC != 143 ]]; then
      SGD_PROBLEMS+="$px round $r: exit status $BENCH_STOP_RC on SIGTERM after the run; "
      log "$px exited with status $BENCH_STOP_RC on SIGTERM"
    fi
  done
done

# --- report ----------------------------------------------------------------------------------
echo
echo "== proxy benchmark${C_TITLE}: wrk -t1 -c$CONNS -d${DURATION}s, $ROUNDS interleaved rounds, medians =="
machine_info | sed 's/^/# /'
echo "# sgd: $SGD_DESC"
echo "# sgd flags: --threads 1 --log-level warn ${SGD_BASE_FLAGS[*]:-} ${SGD_EXTRA[*]:-}"
echo
echo "per round:"
printf '  %-13s %5s %10s %9s %9s %10s %9s %8s\n' proxy round req/s p50_us p99_us cpu_us/req non2xx sockerr
awk -F'\t' '{ printf "  %-13s %5s %10.0f %9.1f %9.1f %10.2f %9s %8s\n", $1, $2, $3, $4, $5, $6, $8, $9 }' "$RESULTS"
if [[ -n $FRAMING ]]; then
  echo
  echo "framing of one answer through each proxy (round 1; socket: the raw bytes of a keep-alive GET
  read for 1 s; curl --raw: what curl -s --raw -i keeps of it):"
  printf '%s' "$FRAMING"
fi
echo
printf '| %-13s | %10s | %9s | %9s | %15s |\n' proxy "req/s" "p50 µs" "p99 µs" "CPU µs/request"
printf '|%s|%s|%s|%s|%s|\n' ---------------  ------------ ----------- ----------- -----------------
declare -A MRPS MP50 MP99 MCPU
for px in $PROXIES; do
  # shellcheck disable=SC2046
  {
    MRPS[$px]=$(median $(col "$px" 3)); MP50[$px]=$(median $(col "$px" 4))
    MP99[$px]=$(median $(col "$px" 5)); MCPU[$px]=$(median $(col "$px" 6))
  }
  printf '| %-13s | %10.0f | %9.1f | %9.1f | %15.2f |\n' "$px" "${MRPS[$px]}" "${MP50[$px]}" \
    "${MP99[$px]}" "${MCPU[$px]}"
done
if [[ " $PROXIES " == *" sgd "* && " $PROXIES " == *" haproxy "* ]]; then
  echo
  c=$(ratio "${MCPU[sgd]}" "${MCPU[haproxy]}")
  p=$(ratio "${MP99[sgd]}" "${MP99[haproxy]}")
  q=$(ratio "${MRPS[sgd]}" "${MRPS[haproxy]}")
  echo "sgd/HAProxy CPU µs per request: $c  (target <= 0.90: $(verdict "$c" 0.9))"
  echo "  median of per-round ratios:   $(per_round 6)  (rounds: $ROUNDS)"
  echo "sgd/HAProxy p99 latency:        $p  (target <= 1.00: $(verdict "$p" 1.0))"
  echo "  median of per-round ratios:   $(per_round 5)"
  echo "sgd/HAProxy requests/s:         $q  (higher is better)"
  if [[ " $PROXIES " == *" nginx "* ]]; then
    echo "sgd/nginx   CPU µs per request: $(ratio "${MCPU[sgd]}" "${MCPU[nginx]}")"
  fi
fi
if [[ " $PROXIES " == *" sgd "* && " $PROXIES " == *" sgd-nometrics "* ]]; then
  echo "sgd metrics on/off CPU µs per request: $(ratio "${MCPU[sgd]}" "${MCPU[sgd-nometrics]}")  (1.00 = metrics cost nothing measurable)"
  echo "sgd metrics on/off p99 latency:        $(ratio "${MP99[sgd]}" "${MP99[sgd-nometrics]}")"
fi
if [[ -n $SGD_PROBLEMS ]]; then
  echo
  echo "PROBLEMS: $SGD_PROBLEMS"
fi
}

for cs in "${CASES[@]}"; do run_case "$cs"; done
if [[ ${KEEP_TMP:-0} == 1 ]]; then echo "raw wrk outputs kept in $T"; fi
