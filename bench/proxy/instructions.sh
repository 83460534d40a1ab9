#!/usr/bin/env bash
# User-space instructions per proxied request, counted by valgrind's callgrind: a figure the
# machine's noise does not move (CPU time per request drifts by 20 % within minutes on a shared
# machine; this repeats to within ~1 %). It complements bench/proxy/run.sh, it does not replace
# it: the kernel's share (about 70 % of sgd's CPU time here) is not counted.
#
# One nginx backend (three ports, "ok\n") and sgd under callgrind; wrk warms up, the counters are
# zeroed, wrk runs DURATION seconds, the counters are dumped. Instructions / requests is printed.
# Under callgrind sgd runs ~50x slower, so the request count is small but the per-request figure
# is exact for that binary. Give several binaries to compare them in one run.
#
# Usage: bench/proxy/instructions.sh [SGD_BINARY...]   (default build/apps/sgd)
# Env: DURATION (s, default 5)  CONNS (64)  KEEP_TMP=1 keeps the temp dir
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=../common.sh
. "$HERE/../common.sh"
# shellcheck source=backends.sh
. "$HERE/backends.sh"

DURATION=${DURATION:-5}
CONNS=${CONNS:-64}
BINARIES=("$@")
(( ${#BINARIES[@]} )) || BINARIES=("$ROOT/build/apps/sgd")

need wrk nginx curl valgrind callgrind_control callgrind_annotate taskset
cpus_for_pinning
trap bench_cleanup EXIT
trap 'exit 130' INT TERM
bench_mktemp
T=$BENCH_TMP

start_ok_backends "$T/backend" "$LOAD_CPU"

echo "== user-space instructions per request (callgrind), wrk -t1 -c$CONNS -d${DURATION}s =="
for bin in "${BINARIES[@]}"; do
  [[ -x $bin ]] || die "no sgd binary at $bin"
  free_port P; free_port A
  rm -rf "$T/data"
  out=$T/callgrind.out
  rm -f "$out"*
  bench_start sgd "$T/sgd.log" taskset -c "$PROXY_CPU" valgrind --tool=callgrind \
    --callgrind-out-file="$out" "$bin" --admin "127.0.0.1:$A" --listen "127.0.0.1:$P" \
    --data-dir "$T/data" --threads 1 --log-level warn --drain-grace 0
  SGD_PID=$BENCH_LAST_PID
  wait_port "$A" 120 "$SGD_PID" && wait_port "$P" 120 "$SGD_PID" || die "sgd did not start"
  register_bench_group "$A" "$T" || die "sgd did not take the bench group (logs in $T)"
  URL=http://127.0.0.1:$P/groups/bench/
  taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d2s "$URL" >/dev/null
  callgrind_control -z "$SGD_PID" >/dev/null
  reqs=$(taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${DURATION}s" "$URL" |
    awk '/requests in/ { print $1 }')
  callgrind_control -d "$SGD_PID" >/dev/null
  for (( w = 0; w < 100; w++ )); do [[ -s $out.1 ]] && break; sleep 0.1; done
  bench_stop "$SGD_PID" 30
  ir=$(callgrind_annotate "$out.1" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
  [[ -n $ir && ${reqs:-0} -gt 0 ]] || die "no count for $bin (logs in $T; KEEP_TMP=1)"
  printf '%-50s requests %7d  instructions/request %7d\n' "$bin" "$reqs" $((ir / reqs))
done
