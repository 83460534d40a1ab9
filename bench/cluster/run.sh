#!/usr/bin/env bash
# Cluster replication benchmark: three sgd controllers on 127.0.0.1.
#   1. WRITES registrations spread round robin over the three; per write the ack latency (curl's
#      time_total: the answer comes once every connected peer journaled the delta) and, for every
#      VIS_EVERY-th write, the visibility latency: from just before the write until a GET of the
#      node answers 200 on both other controllers (one curl for both, polled without sleeping).
#   2. The registry is filled up to SYNC_NODES nodes, then a fourth controller starts on an empty
#      data dir: time from its start until its registryDigest equals the others'.
#      The fill is spread over FILL_GROUPS groups (one group of 10,000 nodes is far slower: every
#      change to a group republishes its whole routing snapshot).
# Plain bash + curl + awk (no python). Only processes this script started are stopped.
# Env: WRITES (1000) VIS_EVERY (5) SYNC_NODES (10000) FILL_GROUPS (10) THREADS (sgd --threads;
#      default: sgd's own, one per core) SGD (build/apps/sgd) KEEP_TMP.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../common.sh
. "$here/../common.sh"

WRITES=${WRITES:-1000}
VIS_EVERY=${VIS_EVERY:-5}
SYNC_NODES=${SYNC_NODES:-10000}
FILL_GROUPS=${FILL_GROUPS:-10}
THREADS=${THREADS:-}
SGD_SRC=${SGD:-$here/../../build/apps/sgd}
SECRET=bench-cluster-secret

need curl awk ss sort
bench_mktemp
trap bench_cleanup EXIT
sgd_snapshot "$SGD_SRC"

# now_us: wall clock in microseconds (bash 5 EPOCHREALTIME, no fork).
now_us() { local t=$EPOCHREALTIME; echo "${t/./}"; }

# pct FILE P: the P-th percentile (nearest rank) of the numbers in FILE, one per line.
pct() {
  sort -g "$1" | awk -v p="$2" '{ a[NR] = $1 } END {
    if (NR == 0) { print "nan"; exit }
    r = int((p / 100) * NR + 0.999999); if (r < 1) r = 1; if (r > NR) r = NR; print a[r] }'
}
stats() {  # stats FILE: "n=.. p50=.. p99=.. max=.. mean=.."
  printf 'n=%s p50=%s p99=%s max=%s mean=%s' "$(wc -l <"$1")" "$(pct "$1" 50)" "$(pct "$1" 99)" \
    "$(pct "$1" 100)" "$(awk '{ s += $1 } END { printf "%.2f", NR ? s / NR : 0 }' "$1")"
}

# Four controllers' ports; the fourth starts only for the sync test but is in every peer list
# from the start (a configured replacement controller: the others retry it with backoff).
declare -a ADMIN PROXY CL
for i in 1 2 3 4; do
  free_port "ADMIN[$i]"; free_port "PROXY[$i]"; free_port "CL[$i]"
done
PEERS="127.0.0.1:${CL[1]},127.0.0.1:${CL[2]},127.0.0.1:${CL[3]},127.0.0.1:${CL[4]}"
declare -a PID

start_ctl() {  # start_ctl I
  local i=$1
  mkdir -p "$BENCH_TMP/d$i"
  rm -f "$BENCH_TMP/ready$i.json"
  bench_start "sgd$i" "$BENCH_TMP/sgd$i.log" "$SGD" --admin "127.0.0.1:${ADMIN[$i]}" \
    --listen "127.0.0.1:${PROXY[$i]}" --data-dir "$BENCH_TMP/d$i" --ready-file "$BENCH_TMP/ready$i.json" \
    --cluster-listen "127.0.0.1:${CL[$i]}" --peers "$PEERS" --cluster-secret "$SECRET" \
    ${THREADS:+--threads "$THREADS"} --log-level warn "${SGD_BASE_FLAGS[@]}"
  PID[$i]=$BENCH_LAST_PID
}
api() { echo "http://127.0.0.1:${ADMIN[$1]}$2"; }
cluster_json() { curl -s --max-time 5 "$(api "$1" /api/cluster)" || true; }
digest() { cluster_json "$1" | grep -o '"registryDigest":"[0-9a-f]*"' | cut -d'"' -f4 || true; }
records() { cluster_json "$1" | grep -o '"records":[0-9]*' | cut -d: -f2 || true; }
connected_count() { cluster_json "$1" | grep -o '"state":"connected"' | wc -l || true; }

log "machine:"; machine_info >&2
log "sgd: $SGD_DESC"
for i in 1 2 3; do start_ctl "$i"; done
for i in 1 2 3; do
  wait_file "$BENCH_TMP/ready$i.json" 20 || die "sgd$i not ready (log $BENCH_TMP/sgd$i.log)"
done
for (( t = 0; t < 200; t++ )); do
  ok=1
  for i in 1 2 3; do (( $(connected_count "$i") == 2 )) || ok=0; done
  (( ok )) && break
  sleep 0.05
done
(( ok )) || die "controllers did not connect: $(cluster_json 1)"
log "3 controllers connected"

# Health checks once an hour: the bench measures the registry, not 10,000 probes.
hc='{"healthCheck":{"intervalMs":3600000,"timeoutMs":1000}}'
for g in bench; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
    --data "$hc" "$(api 1 "/api/server-groups/$g")")
  [[ $code == 201 ]] || die "PUT group $g: $code"
done
sleep 0.3

# ---- 1. writes ------------------------------------------------------------------------------
ACK=$BENCH_TMP/ack_ms.txt VIS=$BENCH_TMP/vis_ms.txt VISACK=$BENCH_TMP/vis_after_ack_ms.txt VISPOLL=$BENCH_TMP/vis_polls.txt
: >"$ACK.raw"; : >"$VIS.raw"; : >"$VISPOLL"
bad=0 weak=0
log "phase 1: $WRITES writes round robin, visibility sampled every $VIS_EVERY"
t_phase=$(now_us)
for (( w = 0; w < WRITES; w++ )); do
  c=$(( w % 3 + 1 ))
  o1=$(( (c % 3) + 1 )); o2=$(( ((c + 1) % 3) + 1 ))
  # No forks between the write and the polls except curl itself (bash regexes only), so the
  # visibility figure holds little besides the two curl runs.
  t0=$(now_us)
  out=$(curl -s -i -w '\n%{http_code} %{time_total}' -X POST \
    -H 'Content-Type: application/json' \
    --data "{\"name\":\"w$w\",\"baseUrl\":\"http://127.0.0.1:1\"}" \
    "$(api "$c" /api/server-groups/bench/nodes)") || { rc=$?; log "write w$w at sgd$c: curl exit $rc"; bad=$(( bad + 1 )); continue; }
  t_ack=$(now_us)
  [[ $out =~ ([0-9]{3})\ ([0-9.]+)$ ]] || { bad=$(( bad + 1 )); continue; }
  code=${BASH_REMATCH[1]} ttotal=${BASH_REMATCH[2]}
  if [[ $code != 201 && $code != 200 ]]; then bad=$(( bad + 1 )); continue; fi
  [[ $out =~ [Xx]-[Ss]gd-[Rr]eplicas:\ ([0-9]+) ]] && rep=${BASH_REMATCH[1]} || rep=0
  [[ $rep == 3 ]] || weak=$(( weak + 1 ))
  echo "$ttotal" >>"$ACK.raw"
  if (( w % VIS_EVERY == 0 )); then
    [[ $out =~ \"nodeId\":\"([^\"]*)\" ]] || die "no nodeId in the answer to w$w"
    id=${BASH_REMATCH[1]}
    polls=0
    while :; do
      polls=$(( polls + 1 ))
      seen=$(curl -s -o /dev/null -o /dev/null -w '%{http_code} ' "$(api "$o1" "/api/server-groups/bench/nodes/$id")" \
        "$(api "$o2" "/api/server-groups/bench/nodes/$id")")
      [[ $seen == "200 200 " ]] && break
      (( polls < 2000 )) || die "w$w ($id) never visible on $o1/$o2: last answers $seen"
    done
    t1=$(now_us)
    echo "$(( t1 - t0 )) $(( t1 - t_ack ))" >>"$VIS.raw"
    echo "$polls" >>"$VISPOLL"
  fi
done
awk '{ printf "%.3f\n", $1 * 1000 }' "$ACK.raw" >"$ACK"
awk '{ printf "%.3f\n", $1 / 1000 }' "$VIS.raw" >"$VIS"
awk '{ printf "%.3f\n", $2 / 1000 }' "$VIS.raw" >"$VISACK"
t_phase_end=$(now_us)
phase1_s=$(awk -v d=$(( t_phase_end - t_phase )) 'BEGIN { printf "%.1f", d / 1e6 }')

# The floor of the visibility figure: one curl GETting an existing node on two controllers.
FLOOR=$BENCH_TMP/floor_ms.txt; : >"$FLOOR"
body0=$(curl -s "$(api 1 /api/server-groups/bench/nodes)" || true)
[[ $body0 =~ \"nodeId\":\"([^\"]*)\" ]] || die "no node listed at sgd1"
id0=${BASH_REMATCH[1]}
for (( k = 0; k < 100; k++ )); do
  t0=$(now_us)
  curl -s -o /dev/null -o /dev/null "$(api 2 "/api/server-groups/bench/nodes/$id0")" "$(api 3 "/api/server-groups/bench/nodes/$id0")"
  t1=$(now_us)
  awk -v d=$(( t1 - t0 )) 'BEGIN { printf "%.3f\n", d / 1000 }' >>"$FLOOR"
done

# ---- 2. full sync to a fresh controller -----------------------------------------------------
have=$(( WRITES - bad ))
fill=$(( SYNC_NODES - have ))
log "phase 2: filling the registry with $fill more nodes in $FILL_GROUPS group(s) (3 parallel streams)"
for (( g = 0; g < FILL_GROUPS; g++ )); do
  code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
    --data "$hc" "$(api 1 "/api/server-groups/sync$g")")
  [[ $code == 201 ]] || die "PUT group sync$g: $code"
done
sleep 0.3
t_fill=$(now_us)
if (( fill > 0 )); then
  for c in 1 2 3; do
    cfg=$BENCH_TMP/fill$c.curl; : >"$cfg"
    for (( k = c - 1; k < fill; k += 3 )); do
      (( k < 3 )) || echo next >>"$cfg"
      printf 'url = "%s"\nheader = "Content-Type: application/json"\ndata = "{\\"name\\":\\"s%d\\",\\"baseUrl\\":\\"http://127.0.0.1:1\\"}"\noutput = "/dev/null"\nwrite-out = "%%{http_code} %%{time_total}\\n"\n' \
        "$(api "$c" "/api/server-groups/sync$(( k % FILL_GROUPS ))/nodes")" "$k" >>"$cfg"
    done
    curl -s -K "$cfg" >"$BENCH_TMP/fill$c.out" &
    fillpids[$c]=$!
  done
  for c in 1 2 3; do wait "${fillpids[$c]}" || true; done
fi
t_fill_end=$(now_us)
cat "$BENCH_TMP"/fill?.out >"$BENCH_TMP/fill.all"
fill_bad=$(awk '$1 != 201 && $1 != 200' "$BENCH_TMP/fill.all" | wc -l)
awk '{ printf "%.3f\n", $2 * 1000 }' "$BENCH_TMP/fill.all" >"$BENCH_TMP/fill_ms.txt"
# the last 300 answers of each stream: latency once the registry is nearly full
for c in 1 2 3; do tail -n 300 "$BENCH_TMP/fill$c.out"; done | awk '{ printf "%.3f\n", $2 * 1000 }' >"$BENCH_TMP/fill_late_ms.txt"
fill_s=$(awk -v d=$(( t_fill_end - t_fill )) 'BEGIN { printf "%.1f", d / 1e6 }')
for (( t = 0; t < 600; t++ )); do
  d1=$(digest 1); d2=$(digest 2); d3=$(digest 3)
  [[ -n $d1 && $d1 == "$d2" && $d1 == "$d3" ]] && break
  sleep 0.1
done
[[ -n $d1 && $d1 == "$d2" && $d1 == "$d3" ]] || die "the three controllers did not converge after the fill"
rec=$(records 1)
nodes_total=$(( rec - 1 - FILL_GROUPS ))
jbytes=$(stat -c %s "$BENCH_TMP/d1/registry.journal" 2>/dev/null || echo "?")
log "registry: $rec records ($nodes_total nodes), digest $d1; starting the fresh controller"

t_start=$(now_us)
start_ctl 4
ready_ms="" sync_ms="" full_ms="" api_misses=0
for (( t = 0; t < 6000; t++ )); do  # up to ~10 min
  if [[ -z $ready_ms && -s $BENCH_TMP/ready4.json ]]; then
    ready_ms=$(( ($(now_us) - t_start) / 1000 ))
  fi
  if [[ -n $ready_ms ]]; then
    j4=$(curl -s --max-time 1 "$(api 4 /api/cluster)" || true)
    if [[ $j4 =~ \"registryDigest\":\"([0-9a-f]*)\" ]]; then
      [[ $j4 =~ \"records\":([0-9]+) ]] && r4=${BASH_REMATCH[1]}
      if [[ -z $full_ms && ${r4:-0} == "$rec" ]]; then full_ms=$(( ($(now_us) - t_start) / 1000 )); fi
      [[ $j4 =~ \"registryDigest\":\"([0-9a-f]*)\" ]]
      if [[ ${BASH_REMATCH[1]} == "$d1" ]]; then sync_ms=$(( ($(now_us) - t_start) / 1000 )); break; fi
    else
      api_misses=$(( api_misses + 1 ))  # no answer within 1 s
    fi
  fi
  kill -0 "${PID[4]}" 2>/dev/null || die "sgd4 exited (log $BENCH_TMP/sgd4.log)"
  sleep 0.05
done
[[ -n $sync_ms ]] || die "fresh controller did not converge: $(cluster_json 4)"
rec4=$(records 4)
rss4=$(proc_status_kb "${PID[4]}" VmHWM)
# Links of the others to the newcomer come up with their backoff (at most 5 s).
back_ms=""
for (( t = 0; t < 150; t++ )); do
  ok=1
  for i in 1 2 3; do (( $(connected_count "$i") == 3 )) || ok=0; done
  if (( ok )); then back_ms=$(( ($(now_us) - t_start) / 1000 )); break; fi
  sleep 0.1
done
# Is the newcomer's group list served, and how long does it take to stop (SIGTERM)?
t0=$(now_us)
glist=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 30 "$(api 4 /api/server-groups)" || true)
bench_stop "${PID[4]}" 300
stop4_ms=$(( ($(now_us) - t0) / 1000 ))
stop4_rc=$BENCH_STOP_RC

# ---- report -----------------------------------------------------------------------------------
cat <<EOF2

== sgd cluster benchmark ==
$SGD_DESC
$(machine_info)
controllers: 3 (+1 fresh for the sync), sgd flags: ${THREADS:+--threads $THREADS }(I/O threads default: one per core), loopback, secret set, log-level warn

1. $WRITES writes (POST node, round robin over 3 controllers), one curl per write, sequential
   phase wall time: ${phase1_s} s; non-2xx: $bad; answers with X-Sgd-Replicas != 3: $weak
   ack latency ms (curl time_total):        $(stats "$ACK")
   visibility ms (write start -> 200 on both others, every ${VIS_EVERY}th write):
                                            $(stats "$VIS")
   visibility ms counted from the ack:      $(stats "$VISACK")
   polls needed per visibility sample:      $(stats "$VISPOLL")
   floor: one curl GET on the two others:   $(stats "$FLOOR")
   (visibility = write curl + the polling curls: with 1 poll it is ack + floor + fork costs)

2. full sync: registry of $nodes_total nodes in $(( FILL_GROUPS + 1 )) groups ($rec records; journal $jbytes bytes at controller 1)
   fill: $fill registrations in ${fill_s} s over 3 parallel curl streams; non-2xx: $fill_bad
   fill ack latency ms, all:                $(stats "$BENCH_TMP/fill_ms.txt")
   fill ack latency ms, last 300 per stream: $(stats "$BENCH_TMP/fill_late_ms.txt")
   fresh controller (empty data dir), from process start:
     ready file after ${ready_ms} ms; all $rec records after ${full_ms:-?} ms;
     registryDigest equal to the others' after ${sync_ms} ms; records $rec4;
     /api/cluster polls without an answer within 1 s: $api_misses; VmHWM ${rss4} kB
     all three others list it connected after ${back_ms:-"> 15000"} ms
     then GET /api/server-groups: ${glist:-none} (code, s); SIGTERM -> exit ${stop4_ms} ms (status $stop4_rc)
EOF2
