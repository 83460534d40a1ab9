#!/usr/bin/env bash
# Registry write benchmark: sgd controllers against etcd, side by side in one run, loopback only.
#
#   A. Durable writes at CLIENTS concurrent clients (wrk -cN -t min(N,2) --latency, one Lua
#      script per side building a new body per request), four setups running at once and measured
#      one after the other per client count (the order flips with every count):
#        sgd-1    one controller: PATCH /api/server-groups/bench/nodes/{id} of one of NODES (64)
#                 pre-registered nodes, a new weight and metadata every request (journaled and
#                 fdatasync'ed before the 200)
#        sgd-3    three clustered controllers (--cluster-listen/--peers/--cluster-secret), the same
#                 PATCH, all clients at controller 1 (the answer comes once both peers journaled
#                 the delta: X-Sgd-Replicas: 3, checked before measuring)
#        etcd-1   one etcd member: POST /v3/kv/put (JSON gateway), base64 key and value, a new key
#                 per request (answered after the raft entry is fsync'ed)
#        etcd-3   three etcd members (static --initial-cluster), all clients at the leader (the
#                 best case for etcd: no forwarding hop; answered after a quorum fsync)
#      plus registrations (POST .../nodes with a new name each, each answered after its first
#      health check) at REG_CLIENTS (16) clients on sgd-1 and sgd-3.
#   B. The same with every fsync/fdatasync made to cost FSYNC_DELAY_US (2000) µs more, on both
#      sides: each sgd controller and etcd member runs under
#        strace -f -qq -o /dev/null --seccomp-bpf -e trace=fsync,fdatasync \
#               -e inject=fsync,fdatasync:delay_exit=US
#      (-e trace=none would inject nothing: strace 6.1 only tampers with traced calls).
#   C. Registration cost from 0 to N nodes on one fresh controller: REG_CLIENTS_C (8) parallel
#      curl streams (keep-alive, one curl per stream and slice), NGROUPS (1000) groups with hourly
#      health checks, the wall time of each 10 % slice; then a second pass with N_ONE_GROUP
#      (10000) nodes in one group. Reports last slice / first slice (target <= 1.2).
#
# Every node's healthUrl is one nginx (nginx-light) answering /health 200; the groups check once
# an hour, so checks do not weigh on the writes (a registration still does its one check).
# Data dirs are in the bench temp dir (TMPDIR, default /tmp): both sides fsync to the same disk.
# Nothing is pinned (the load generator shares the 2 cores with the servers); compare the ratios,
# not the absolute figures. Only processes this script started are stopped, by pid.
#
# Env: DURATION (s, 10)  WARMUP (s, 1)  CLIENTS ("1 4 16 64")  REG_CLIENTS (16)  NODES (64)
#      N (100000)  NGROUPS (1000)  N_ONE_GROUP (10000; 0 skips)  REG_CLIENTS_C (8)
#      SKIP_FSYNC_DELAY (0; 1 skips B)  SKIP_C (0; 1 skips C)  ONLY_C (0; 1 runs C alone)  FSYNC_DELAY_US (2000)
#      SGD (binary, default build/apps/sgd)  ETCD (etcd)  KEEP_TMP=1 keeps the temp dir
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=../common.sh
. "$HERE/../common.sh"
# shellcheck source=../proxy/backends.sh
. "$HERE/../proxy/backends.sh"

DURATION=${DURATION:-10}
WARMUP=${WARMUP:-1}
CLIENTS=${CLIENTS:-1 4 16 64}
REG_CLIENTS=${REG_CLIENTS:-16}
NODES=${NODES:-64}
N=${N:-100000}
NGROUPS=${NGROUPS:-1000}
N_ONE_GROUP=${N_ONE_GROUP:-10000}
REG_CLIENTS_C=${REG_CLIENTS_C:-8}
SKIP_FSYNC_DELAY=${SKIP_FSYNC_DELAY:-0}
SKIP_C=${SKIP_C:-0}
ONLY_C=${ONLY_C:-0}
FSYNC_DELAY_US=${FSYNC_DELAY_US:-2000}
SGD_SRC=${SGD:-$ROOT/build/apps/sgd}
ETCD=${ETCD:-etcd}
SECRET=bench-registry-secret
TARGET_CLIENTS=16      # the issue's target: sgd >= etcd in writes/s and <= in p99 at 16 clients
C_TARGET=1.2

need wrk curl nginx "$ETCD" awk ss sort getconf
(( SKIP_FSYNC_DELAY == 1 )) || need strace
trap bench_cleanup EXIT
trap 'exit 130' INT TERM
bench_mktemp
T=$BENCH_TMP
sgd_snapshot "$SGD_SRC"
ETCD_DESC=$("$ETCD" --version 2>/dev/null | head -1)
# The build's source dir (a build of a snapshot, e.g. git archive HEAD, is not the repo the binary
# sits in: sgd_snapshot's "uncommitted changes" note is then about the repo, not the binary).
SGD_SRC_DIR=$(awk -F= '/^CMAKE_HOME_DIRECTORY:/ { print $2 }' "$(dirname "$SGD_SRC")/../CMakeCache.txt" 2>/dev/null || true)
log "sgd: $SGD_DESC${SGD_SRC_DIR:+, built from $SGD_SRC_DIR}"
log "etcd: $ETCD_DESC; temp dir $T ($(df -T "$T" | awk 'NR == 2 { print $2 " on " $1 }'))"

now_us() { local t=$EPOCHREALTIME; echo "${t/./}"; }

# Drop a pid from BENCH_PIDS once stopped (a reused pid must never get bench_cleanup's SIGTERM).
forget_pid() {
  local p keep=()
  for p in "${BENCH_PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
  BENCH_PIDS=("${keep[@]}")
}

# --- process start/stop, optionally under strace ---------------------------------------------
# WRAP is empty (phase A) or the strace prefix (phase B).
WRAP=()
# shellcheck disable=SC2054  # the commas are strace syntax
STRACE_WRAP=(strace -f -qq -o /dev/null --seccomp-bpf -e trace=fsync,fdatasync
             -e "inject=fsync,fdatasync:delay_exit=$FSYNC_DELAY_US")

# start_proc NAME LOG EXE ARGS...: starts EXE (under WRAP if set). Sets PROC_PID to the pid of the
# program itself (strace's child when wrapped: the one to signal and watch) and PROC_WRAP to
# strace's pid ("" when not wrapped). Under strace the child is also put into BENCH_PIDS after
# strace, so bench_cleanup (newest first) stops the program before its tracer.
start_proc() {
  local name=$1 logf=$2 exe=$3 i kid want
  shift 3
  bench_start "$name" "$logf" "${WRAP[@]}" "$exe" "$@"
  PROC_WRAP="" PROC_PID=$BENCH_LAST_PID
  (( ${#WRAP[@]} )) || return 0
  PROC_WRAP=$BENCH_LAST_PID
  want=$(basename "$exe"); want=${want:0:15}
  for (( i = 0; i < 200; i++ )); do
    kid=$(cat "/proc/$PROC_WRAP/task/$PROC_WRAP/children" 2>/dev/null || true)
    kid=${kid%% *}
    # strace forks, then the child execs the program: wait for the exec, not just the fork
    if [[ -n $kid && $(cat "/proc/$kid/comm" 2>/dev/null) == "$want" ]]; then
      PROC_PID=$kid
      BENCH_PIDS+=("$kid")
      log "  $name runs as pid $kid under strace pid $PROC_WRAP"
      return 0
    fi
    kill -0 "$PROC_WRAP" 2>/dev/null || die "$name: strace exited (log $logf)"
    sleep 0.05
  done
  die "$name: no '$want' child under strace pid $PROC_WRAP"
}

# stop_proc PID WRAP: SIGTERM to the program itself (not to strace: strace would pass it on and
# detach, and could exit before the program has), then wait for strace to exit with it.
# STOP_RC: the program's exit status (143 = ended by SIGTERM).
stop_proc() {
  local pid=$1 wrap=$2 i
  if [[ -z $wrap ]]; then
    bench_stop "$pid" 15; STOP_RC=$BENCH_STOP_RC; forget_pid "$pid"; return 0
  fi
  bench_stop "$pid" 15          # not our child: its status comes from strace below
  for (( i = 0; i < 100; i++ )); do kill -0 "$wrap" 2>/dev/null || break; sleep 0.05; done
  bench_stop "$wrap" 5; STOP_RC=$BENCH_STOP_RC
  forget_pid "$pid"; forget_pid "$wrap"
}

# --- ports -----------------------------------------------------------------------------------
declare -A P   # P[name] = port
for k in s1a s1p c1a c1p c1c c2a c2p c2c c3a c3p c3c cc_a cc_p \
         e1c e1p f1c f1p f2c f2p f3c f3p; do
  free_port "P[$k]"
done
CPEERS="127.0.0.1:${P[c1c]},127.0.0.1:${P[c2c]},127.0.0.1:${P[c3c]}"

start_ok_backends "$T/backend" "0-$(( $(nproc) - 1 ))"
HEALTH_URL=http://127.0.0.1:$B1/health
BASE_URL=http://127.0.0.1:$B1
curl -sf -o /dev/null "$HEALTH_URL" || die "backend $HEALTH_URL does not answer"

# --- sgd ---------------------------------------------------------------------------------------
declare -A PID WPID  # per server name: program pid and strace pid

start_sgd() {  # start_sgd NAME ADMIN PROXY [CLUSTER_PORT]  (data dir $T/NAME)
  local name=$1 a=$2 p=$3 c=${4:-}
  rm -rf "${T:?}/${name:?}"; mkdir -p "$T/$name"
  local args=(--admin "127.0.0.1:$a" --listen "127.0.0.1:$p" --data-dir "$T/$name/data"
              --ready-file "$T/$name/ready.json" --log-level warn "${SGD_BASE_FLAGS[@]}")
  [[ -z $c ]] || args+=(--cluster-listen "127.0.0.1:$c" --peers "$CPEERS" --cluster-secret "$SECRET")
  start_proc "$name" "$T/$name$LOGSFX.log" "$SGD" "${args[@]}"
  PID[$name]=$PROC_PID WPID[$name]=$PROC_WRAP
}
wait_sgd() {  # wait_sgd NAME ADMIN
  wait_file "$T/$1/ready.json" 30 || die "$1 not ready (log $T/$1$LOGSFX.log)"
  wait_port "$2" 10 "${PID[$1]}" || die "$1: admin port $2 closed"
}
connected() { curl -s --max-time 5 "http://127.0.0.1:$1/api/cluster" | grep -o '"state":"connected"' | wc -l || true; }

# put_group ADMIN NAME: a group with hourly health checks.
put_group() {
  local code
  code=$(curl -s -o "$T/put.json" -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
    --data '{"healthCheck":{"intervalMs":3600000,"timeoutMs":1000}}' "http://127.0.0.1:$1/api/server-groups/$2")
  [[ $code == 20? ]] || die "PUT group $2 on :$1 answered $code: $(cat "$T/put.json")"
}

# register_nodes ADMIN GROUP COUNT IDFILE: COUNT nodes n0..n(COUNT-1) over one keep-alive curl;
# their nodeIds into IDFILE.
register_nodes() {
  local a=$1 g=$2 cnt=$3 ids=$4 cfg
  cfg=$T/reg-$g.curl
  awk -v u="http://127.0.0.1:$a/api/server-groups/$g/nodes" -v n="$cnt" -v b="$BASE_URL" -v h="$HEALTH_URL" 'BEGIN {
    for (i = 0; i < n; i++) {
      if (i) print "next"
      printf "url = \"%s\"\nheader = \"Content-Type: application/json\"\n", u
      printf "data = \"{\\\"name\\\":\\\"n%d\\\",\\\"baseUrl\\\":\\\"%s\\\",\\\"healthUrl\\\":\\\"%s\\\"}\"\n", i, b, h
      printf "write-out = \"\\n=%%{http_code}\\n\"\n"
    } }' >"$cfg"
  curl -s -K "$cfg" >"$T/reg-$g.out" || die "registering $cnt nodes in $g: curl failed"
  local ok bad
  ok=$(grep -c '^=201$' "$T/reg-$g.out" || true)
  bad=$(grep -c '"status":"healthy"' "$T/reg-$g.out" || true)
  (( ok == cnt && bad == cnt )) || die "registering $cnt nodes in $g: $ok answered 201, $bad healthy ($T/reg-$g.out)"
  grep -o '"nodeId":"[^"]*"' "$T/reg-$g.out" | cut -d'"' -f4 >"$ids"
}

# --- etcd --------------------------------------------------------------------------------------
start_etcd() {  # start_etcd NAME CLIENT_PORT PEER_PORT INITIAL_CLUSTER TOKEN
  local name=$1 cp=$2 pp=$3
  rm -rf "${T:?}/${name:?}"; mkdir -p "$T/$name"
  start_proc "$name" "$T/$name$LOGSFX.log" "$ETCD" --name "$name" --data-dir "$T/$name/data" \
    --listen-client-urls "http://127.0.0.1:$cp" --advertise-client-urls "http://127.0.0.1:$cp" \
    --listen-peer-urls "http://127.0.0.1:$pp" --initial-advertise-peer-urls "http://127.0.0.1:$pp" \
    --initial-cluster "$4" --initial-cluster-state new --initial-cluster-token "$5" \
    --logger zap --log-level warn
  PID[$name]=$PROC_PID WPID[$name]=$PROC_WRAP
}
etcd_post() { curl -s --max-time 5 -X POST -d "$3" "http://127.0.0.1:$1$2" || true; }
etcd_leader_of() { etcd_post "$1" /v3/maintenance/status '{}' | grep -o '"leader":"[0-9]*"' | cut -d'"' -f4 || true; }
etcd_member_of() { etcd_post "$1" /v3/maintenance/status '{}' | grep -o '"member_id":"[0-9]*"' | cut -d'"' -f4 || true; }
etcd_revision() { etcd_post "$1" /v3/kv/range '{"key":"eA=="}' | grep -o '"revision":"[0-9]*"' | cut -d'"' -f4 || true; }

# --- wrk scripts -------------------------------------------------------------------------------
# Each wrk thread gets its own number (setup runs in the main Lua state, init in the thread's).
lua_common='local next_tid = 1
function setup(thread) thread:set("tid", next_tid); next_tid = next_tid + 1 end
'
cat >"$T/sgd_patch.lua" <<EOF
$lua_common
-- args: IDFILE GROUP TAG. A PATCH of one of the nodes, weight and metadata new every request.
function init(args)
  ids = {}
  for l in io.lines(args[1]) do ids[#ids + 1] = l end
  group, tag, n = args[2], args[3], 0
  hdr = { ["Content-Type"] = "application/json" }
end
function request()
  n = n + 1
  local id = ids[(n * 2 + tid) % #ids + 1]
  local body = string.format('{"weight":%d,"metadata":{"seq":"%s-%d-%d"}}', n % 1000 + 1, tag, tid, n)
  return wrk.format("PATCH", "/api/server-groups/" .. group .. "/nodes/" .. id, hdr, body)
end
EOF
cat >"$T/sgd_register.lua" <<EOF
$lua_common
-- args: GROUP TAG BASEURL HEALTHURL. A registration with a new name every request.
function init(args)
  group, tag, base, health, n = args[1], args[2], args[3], args[4], 0
  hdr = { ["Content-Type"] = "application/json" }
end
function request()
  n = n + 1
  local body = string.format('{"name":"r%s-%d-%d","baseUrl":"%s","healthUrl":"%s"}', tag, tid, n, base, health)
  return wrk.format("POST", "/api/server-groups/" .. group .. "/nodes", hdr, body)
end
EOF
cat >"$T/etcd_put.lua" <<EOF
$lua_common
-- args: TAG. A put of a new key with a new value every request (base64, as the gateway wants).
local b64c = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function b64(s)
  local out, i = {}, 1
  while i <= #s do
    local a, b, c = s:byte(i, i + 2)
    local x = a * 65536 + (b or 0) * 256 + (c or 0)
    local c1, c2 = math.floor(x / 262144) % 64, math.floor(x / 4096) % 64
    local c3, c4 = math.floor(x / 64) % 64, x % 64
    out[#out + 1] = b64c:sub(c1 + 1, c1 + 1) .. b64c:sub(c2 + 1, c2 + 1) ..
      (b and b64c:sub(c3 + 1, c3 + 1) or "=") .. (c and b64c:sub(c4 + 1, c4 + 1) or "=")
    i = i + 3
  end
  return table.concat(out)
end
function init(args)
  tag, n = args[1], 0
  hdr = { ["Content-Type"] = "application/json" }
end
function request()
  n = n + 1
  local k = b64(string.format("bench/%s/%d/%d", tag, tid, n))
  local v = b64(string.format('{"weight":%d,"seq":"%s-%d-%d"}', n % 1000 + 1, tag, tid, n))
  return wrk.format("POST", "/v3/kv/put", hdr, '{"key":"' .. k .. '","value":"' .. v .. '"}')
end
EOF

# --- the setups of phases A and B ---------------------------------------------------------------
# Sets URL_<setup> (the admin/client base URL the clients use) and checks one write on each.
declare -A URL
start_setups() {  # start_setups PHASE
  local ph=$1 i m l leader_port="" code hdr
  start_sgd s1 "${P[s1a]}" "${P[s1p]}"
  for i in 1 2 3; do start_sgd "c$i" "${P[c${i}a]}" "${P[c${i}p]}" "${P[c${i}c]}"; done
  start_etcd e1 "${P[e1c]}" "${P[e1p]}" "e1=http://127.0.0.1:${P[e1p]}" "bench-e1-$ph"
  local ic="f1=http://127.0.0.1:${P[f1p]},f2=http://127.0.0.1:${P[f2p]},f3=http://127.0.0.1:${P[f3p]}"
  for i in 1 2 3; do start_etcd "f$i" "${P[f${i}c]}" "${P[f${i}p]}" "$ic" "bench-f-$ph"; done

  wait_sgd s1 "${P[s1a]}"
  for i in 1 2 3; do wait_sgd "c$i" "${P[c${i}a]}"; done
  for (( i = 0; i < 400; i++ )); do
    (( $(connected "${P[c1a]}") == 2 && $(connected "${P[c2a]}") == 2 && $(connected "${P[c3a]}") == 2 )) && break
    sleep 0.05
  done
  (( i < 400 )) || die "the three sgd controllers did not connect"
  wait_port "${P[e1c]}" 30 "${PID[e1]}" || die "etcd e1 did not start (log $T/e1$LOGSFX.log)"
  for i in 1 2 3; do wait_port "${P[f${i}c]}" 30 "${PID[f$i]}" || die "etcd f$i did not start (log $T/f$i$LOGSFX.log)"; done
  for (( i = 0; i < 400; i++ )); do
    l=$(etcd_leader_of "${P[f1c]}")
    if [[ -n $l && $l != 0 ]]; then
      for m in 1 2 3; do [[ $(etcd_member_of "${P[f${m}c]}") == "$l" ]] && leader_port=${P[f${m}c]}; done
      [[ -n $leader_port ]] && break
    fi
    sleep 0.05
  done
  [[ -n $leader_port ]] || die "the 3-member etcd cluster has no leader"
  log "[$ph] all up; etcd-3 leader at :$leader_port"

  for s in s1 c1; do
    local a=${P[${s}a]}
    put_group "$a" bench; put_group "$a" reg
    register_nodes "$a" bench "$NODES" "$T/ids-$s.txt"
  done
  URL[sgd-1]=http://127.0.0.1:${P[s1a]} URL[sgd-3]=http://127.0.0.1:${P[c1a]}
  URL[etcd-1]=http://127.0.0.1:${P[e1c]} URL[etcd-3]=http://127.0.0.1:$leader_port
  # one write of each kind, checked
  for s in sgd-1 sgd-3; do
    local ids=$T/ids-s1.txt want=1
    [[ $s == sgd-3 ]] && ids=$T/ids-c1.txt want=3
    hdr=$(curl -s -i -X PATCH -H 'Content-Type: application/json' --data '{"weight":7,"metadata":{"seq":"check"}}' \
      "${URL[$s]}/api/server-groups/bench/nodes/$(head -1 "$ids")" | tr -d '\r')
    code=$(awk 'NR == 1 { print $2 }' <<<"$hdr")
    [[ $code == 200 ]] || die "$s: check PATCH answered: $hdr"
    grep -qi "^x-sgd-replicas: $want\$" <<<"$hdr" || die "$s: check PATCH not on $want controllers: $hdr"
  done
  for s in etcd-1 etcd-3; do
    etcd_post "${URL[$s]#http://127.0.0.1:}" /v3/kv/put '{"key":"Y2hlY2s=","value":"MQ=="}' | grep -q '"revision"' ||
      die "$s: check put failed"
  done
}
stop_setups() {
  local s
  for s in f3 f2 f1 e1 c3 c2 c1 s1; do
    stop_proc "${PID[$s]}" "${WPID[$s]}"
    [[ -z $STOP_RC || $STOP_RC == 0 || $STOP_RC == 143 ]] || PROBLEMS+="$s exited with status $STOP_RC on SIGTERM; "
  done
}

# --- one wrk run ---------------------------------------------------------------------------------
RESULTS=$T/results.tsv   # phase setup op clients rps p50us p99us requests errors
: >"$RESULTS"
PROBLEMS=""
run_wrk() {  # run_wrk PHASE SETUP OP CLIENTS
  local ph=$1 s=$2 op=$3 c=$4 th script url args=() out rev0="" rev1="" reqs rps p50 p99 non2xx sockerr tag
  th=$(( c < 2 ? c : 2 ))
  tag="${ph//[^A-Za-z0-9]/}x${c}x$RANDOM"   # node names allow [A-Za-z0-9._-] only
  url=${URL[$s]}
  case $s/$op in
    sgd-1/patch) script=sgd_patch; args=("$T/ids-s1.txt" bench "$tag") ;;
    sgd-3/patch) script=sgd_patch; args=("$T/ids-c1.txt" bench "$tag") ;;
    sgd-?/register) script=sgd_register; args=(reg "$tag" "$BASE_URL" "$HEALTH_URL") ;;
    etcd-?/put) script=etcd_put; args=("$tag") ;;
  esac
  if (( WARMUP > 0 )); then
    wrk -t"$th" -c"$c" -d"${WARMUP}s" --timeout 30s -s "$T/$script.lua" "$url" -- "${args[@]/%$tag/${tag}w}" >/dev/null 2>&1 || true
  fi
  [[ $s == etcd-* ]] && rev0=$(etcd_revision "${url#http://127.0.0.1:}")
  out=$T/wrk-$ph-$s-$op-$c.txt
  wrk -t"$th" -c"$c" -d"${DURATION}s" --timeout 30s --latency -s "$T/$script.lua" "$url" -- "${args[@]}" >"$out" 2>&1 ||
    PROBLEMS+="$ph $s $op c=$c: wrk exit status $?; "
  reqs=$(awk '/requests in/ { print $1; exit }' "$out"); reqs=${reqs:-0}
  rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out"); rps=${rps:-0}
  p50=$(to_us "$(awk '$1 == "50%" { print $2; exit }' "$out")")
  p99=$(to_us "$(awk '$1 == "99%" { print $2; exit }' "$out")")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out"); non2xx=${non2xx:-0}
  sockerr=$(awk '/Socket errors:/ { gsub(",", ""); print $4 + $6 + $8 + $10 }' "$out"); sockerr=${sockerr:-0}
  if [[ -n $rev0 ]]; then
    # every answered put is a new revision: the gateway really wrote (in-flight ones may add up to c)
    rev1=$(etcd_revision "${url#http://127.0.0.1:}")
    if (( rev1 - rev0 < reqs - non2xx || rev1 - rev0 > reqs + c )); then
      PROBLEMS+="$ph $s c=$c: $reqs answers but the revision moved by $(( rev1 - rev0 )); "
    fi
  fi
  if (( non2xx + sockerr > 0 )); then
    PROBLEMS+="$ph $s $op c=$c: non-2xx $non2xx, socket errors $sockerr ($(grep 'Socket errors' "$out" || true)); "
  fi
  (( reqs > 0 )) || PROBLEMS+="$ph $s $op c=$c: no request answered ($out); "
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$ph" "$s" "$op" "$c" "$rps" "$p50" "$p99" "$reqs" \
    $(( non2xx + sockerr )) >>"$RESULTS"
  log "[$ph] $s $op c=$c: $rps/s p50 ${p50}us p99 ${p99}us, $reqs answers, non-2xx $non2xx, socket errors $sockerr"
}

run_phase() {  # run_phase PHASE
  local ph=$1 c k=0 order s
  LOGSFX=-${ph//[^A-Za-z0-9]/}
  start_setups "$ph"
  for c in $CLIENTS; do
    if (( k++ % 2 )); then order="etcd-3 sgd-3 etcd-1 sgd-1"; else order="sgd-1 etcd-1 sgd-3 etcd-3"; fi
    for s in $order; do
      if [[ $s == sgd-* ]]; then run_wrk "$ph" "$s" patch "$c"; else run_wrk "$ph" "$s" put "$c"; fi
      for p in s1 c1 c2 c3 e1 f1 f2 f3; do
        kill -0 "${PID[$p]}" 2>/dev/null || die "$p died during the $ph run (log $T/$p$LOGSFX.log)"
      done
    done
  done
  for s in sgd-1 sgd-3; do run_wrk "$ph" "$s" register "$REG_CLIENTS"; done
  stop_setups
}

log "machine:"; machine_info >&2
PHASES=()
if (( ONLY_C != 1 )); then PHASES+=(native); run_phase native; fi
if (( SKIP_FSYNC_DELAY != 1 && ONLY_C != 1 )); then
  WRAP=("${STRACE_WRAP[@]}")
  PHASES+=(fsync+2ms)
  run_phase fsync+2ms
  WRAP=()
fi

# --- C: registration cost from 0 to N ------------------------------------------------------------
LOGSFX=""
C_RESULTS=$T/c.tsv   # pass slice regs wall_us bad
: >"$C_RESULTS"
reg_pass() {  # reg_pass PASS NODES GROUPS
  local pass=$1 n=$2 ng=$3 a=${P[cc_a]} g s c lo hi t0 t1 pids=() bad
  start_sgd "cc-$pass" "$a" "${P[cc_p]}"
  wait_sgd "cc-$pass" "$a"
  # the groups, over one keep-alive curl
  awk -v u="http://127.0.0.1:$a/api/server-groups/" -v n="$ng" 'BEGIN {
    for (g = 0; g < n; g++) {
      if (g) print "next"
      printf "url = \"%sg%d\"\nrequest = \"PUT\"\nheader = \"Content-Type: application/json\"\n", u, g
      print "data = \"{\\\"healthCheck\\\":{\\\"intervalMs\\\":3600000,\\\"timeoutMs\\\":1000}}\""
      print "output = \"/dev/null\"\nwrite-out = \"%{http_code}\\n\""
    } }' >"$T/c-groups.curl"
  curl -s -K "$T/c-groups.curl" >"$T/c-groups.out" || true
  bad=$(grep -vc '^201$' "$T/c-groups.out" || true)
  (( bad == 0 )) || die "C $pass: $bad of $ng group PUTs did not answer 201"
  log "C $pass: $ng groups; registering $n nodes, $REG_CLIENTS_C streams, 10 slices"
  for (( s = 0; s < 10; s++ )); do
    lo=$(( n * s / 10 )); hi=$(( n * (s + 1) / 10 ))
    pids=()
    for (( c = 0; c < REG_CLIENTS_C; c++ )); do
      awk -v u="http://127.0.0.1:$a/api/server-groups/g" -v lo="$lo" -v hi="$hi" -v c="$c" -v k="$REG_CLIENTS_C" \
          -v ng="$ng" -v b="$BASE_URL" -v h="$HEALTH_URL" 'BEGIN {
        first = 1
        for (i = lo; i < hi; i++) {
          if (i % k != c) continue
          if (!first) print "next"; first = 0
          printf "url = \"%s%d/nodes\"\nheader = \"Content-Type: application/json\"\n", u, i % ng
          printf "data = \"{\\\"name\\\":\\\"n%d\\\",\\\"baseUrl\\\":\\\"%s\\\",\\\"healthUrl\\\":\\\"%s\\\"}\"\n", i, b, h
          print "output = \"/dev/null\"\nwrite-out = \"%{http_code}\\n\""
        } }' >"$T/c-$c.curl"
    done
    t0=$(now_us)
    for (( c = 0; c < REG_CLIENTS_C; c++ )); do
      if [[ -s $T/c-$c.curl ]]; then curl -s -K "$T/c-$c.curl" >"$T/c-$c.out" & pids+=($!); else : >"$T/c-$c.out"; fi
    done
    for p in "${pids[@]}"; do wait "$p" || true; done
    t1=$(now_us)
    bad=$(cat "$T"/c-*.out | grep -vc '^201$' || true)
    (( bad == 0 )) || PROBLEMS+="C $pass slice $(( s + 1 )): $bad registrations not answered 201; "
    printf '%s\t%d\t%d\t%d\t%d\n' "$pass" $(( s + 1 )) $(( hi - lo )) $(( t1 - t0 )) "$bad" >>"$C_RESULTS"
    log "C $pass slice $(( s + 1 ))/10: $(( hi - lo )) registrations in $(( (t1 - t0) / 1000 )) ms (non-201: $bad)"
    kill -0 "${PID[cc-$pass]}" 2>/dev/null || die "C $pass: sgd died (log $T/cc-$pass$LOGSFX.log)"
  done
  C_RSS[$pass]=$(proc_status_kb "${PID[cc-$pass]}" VmHWM)
  stop_proc "${PID[cc-$pass]}" "${WPID[cc-$pass]}"
  [[ -z $STOP_RC || $STOP_RC == 0 || $STOP_RC == 143 ]] || PROBLEMS+="C $pass: sgd exited with status $STOP_RC; "
}
declare -A C_RSS
C_PASSES=()
if (( SKIP_C != 1 )); then
  C_PASSES+=("${N}x${NGROUPS}g"); reg_pass "${N}x${NGROUPS}g" "$N" "$NGROUPS"
  if (( N_ONE_GROUP > 0 )); then C_PASSES+=("${N_ONE_GROUP}x1g"); reg_pass "${N_ONE_GROUP}x1g" "$N_ONE_GROUP" 1; fi
fi

# --- report ---------------------------------------------------------------------------------------
get() {  # get PHASE SETUP OP CLIENTS COLUMN
  awk -F'\t' -v a="$1" -v b="$2" -v o="$3" -v c="$4" -v k="$5" '$1 == a && $2 == b && $3 == o && $4 == c { print $k }' "$RESULTS"
}
echo
echo "== registry write benchmark: wrk -t min(N,2) -cN -d${DURATION}s --latency (warm-up ${WARMUP}s), loopback =="
machine_info | sed 's/^/# /'
echo "# sgd: $SGD_DESC"
[[ -z $SGD_SRC_DIR ]] || echo "# sgd built from the source dir $SGD_SRC_DIR"
echo "# etcd: $ETCD_DESC; data dirs on $(df -T "$T" | awk 'NR == 2 { print $2 " " $1 }')"
echo "# sgd-1: 1 controller; sgd-3: 3 clustered controllers, all clients at controller 1;"
echo "#   write = PATCH of one of $NODES nodes (new weight+metadata), reg = POST of a new node (first check included)"
echo "# etcd-1: 1 member; etcd-3: 3 members, all clients at the leader; write = put of a new key via /v3/kv/put"
echo "# fsync+2ms: every fsync/fdatasync of sgd and etcd delayed by ${FSYNC_DELAY_US} µs (strace inject)"
echo "# ratio = sgd/etcd writes/s (target >= 1 at $TARGET_CLIENTS clients), p99 ratio = sgd/etcd p99 (target <= 1)"
echo
printf '| %-9s | %-6s | %-8s | %7s | %9s | %9s | %9s | %6s | %9s | %9s | %-6s |\n' \
  phase setup op clients "writes/s" "p50 ms" "p99 ms" errors "ratio" "p99 ratio" target
printf '|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n' ----------- -------- ---------- --------- ----------- \
  ----------- ----------- -------- ----------- ----------- --------
for ph in "${PHASES[@]}"; do
  for pair in "sgd-1 etcd-1" "sgd-3 etcd-3"; do
    read -r s e <<<"$pair"
    items=()
    for c in $CLIENTS; do items+=("$s:patch:$c" "$e:put:$c"); done
    items+=("$s:register:$REG_CLIENTS")
    for item in "${items[@]}"; do
        IFS=: read -r who op c <<<"$item"
        rps=$(get "$ph" "$who" "$op" "$c" 5); [[ -n $rps ]] || continue
        p50=$(get "$ph" "$who" "$op" "$c" 6); p99=$(get "$ph" "$who" "$op" "$c" 7)
        errs=$(get "$ph" "$who" "$op" "$c" 9)
        r="" pr="" v=""
        if [[ $who == sgd-* ]]; then
          # the etcd figure to compare with: the put at the same client count
          erps=$(get "$ph" "$e" put "$c" 5); ep99=$(get "$ph" "$e" put "$c" 7)
          eerr=$(get "$ph" "$e" put "$c" 9)
          if [[ -n $erps ]]; then
            r=$(ratio "$rps" "$erps"); pr=$(ratio "$p99" "$ep99")
            if (( errs + ${eerr:-0} > 0 )); then v=ERRORS
            elif [[ $c == "$TARGET_CLIENTS" ]]; then
              v=$(awk -v a="$r" -v b="$pr" 'BEGIN { print (a >= 1 && b <= 1) ? "PASS" : "MISS" }')
              [[ $op == register ]] && v="($v)"
            fi
          fi
        fi
        if (( errs > 0 )); then rps_s="ERR"; else rps_s=$(printf '%.0f' "$rps"); fi
        printf '| %-9s | %-6s | %-8s | %7s | %9s | %9.2f | %9.2f | %6s | %9s | %9s | %-6s |\n' "$ph" "$who" \
          "$([[ $op == patch || $op == put ]] && echo write || echo reg)" "$c" "$rps_s" \
          "$(awk -v x="$p50" 'BEGIN { print x / 1000 }')" "$(awk -v x="$p99" 'BEGIN { print x / 1000 }')" \
          "$errs" "${r:--}" "${pr:--}" "${v:--}"
    done
  done
done
echo "(reg lines compare a registration with etcd's put at the same client count; their verdict is in parentheses: informative)"
if (( ${#C_PASSES[@]} )); then
  echo
  echo "C. registrations from 0 to N on one controller, $REG_CLIENTS_C parallel curl streams (keep-alive), wall time per 10 % slice"
  printf '| %-14s |' pass; for s in 1 2 3 4 5 6 7 8 9 10; do printf ' %6s |' "${s}0%"; done; printf ' %9s | %8s | %-6s |\n' "last/first" "VmHWM MB" target
  printf '|%s|' ----------------; for s in 1 2 3 4 5 6 7 8 9 10; do printf '%s|' --------; done; printf '%s|%s|%s|\n' ----------- ---------- --------
  for pass in "${C_PASSES[@]}"; do
    printf '| %-14s |' "$pass"
    # per slice: µs per registration (wall time / registrations in the slice)
    awk -F'\t' -v p="$pass" '$1 == p { printf " %6.0f |", $4 / $3 }' "$C_RESULTS"
    cr=$(awk -F'\t' -v p="$pass" '$1 == p && $2 == 1 { f = $4 / $3 } $1 == p && $2 == 10 { l = $4 / $3 } END { printf "%.2f", l / f }' "$C_RESULTS")
    cbad=$(awk -F'\t' -v p="$pass" '$1 == p { s += $5 } END { print s + 0 }' "$C_RESULTS")
    v=$(awk -v x="$cr" -v t="$C_TARGET" 'BEGIN { print (x <= t) ? "PASS" : "MISS" }'); (( cbad == 0 )) || v=ERRORS
    printf ' %9s | %8.0f | %-6s |\n' "$cr" "$(awk -v k="${C_RSS[$pass]:-0}" 'BEGIN { print k / 1024 }')" "$v"
  done
  echo "(µs of wall time per registration in each slice; last/first target <= $C_TARGET; total registrations/s:"
  for pass in "${C_PASSES[@]}"; do
    awk -F'\t' -v p="$pass" '$1 == p { n += $3; t += $4 } END { printf "  %s: %d in %.1f s = %.0f/s\n", p, n, t / 1e6, n * 1e6 / t }' "$C_RESULTS"
  done
  echo ")"
fi
if [[ -n $PROBLEMS ]]; then
  echo
  echo "PROBLEMS: $PROBLEMS"
fi
if [[ ${KEEP_TMP:-0} == 1 ]]; then echo "raw outputs kept in $T"; fi
