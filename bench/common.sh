# shellcheck shell=bash
# Helpers shared by the benchmarks under bench/. Source it: `. "$(dirname "$0")/../common.sh"`.
# Only bash, coreutils, ss/awk are used (no python: fresh machines lack it).
# Every process started through bench_start is remembered and stopped by bench_cleanup, which
# the caller installs with `trap bench_cleanup EXIT`. Nothing is ever killed by name.

BENCH_PIDS=()          # pids started by this script, in start order
BENCH_TMP=""           # temp dir of this run (removed by bench_cleanup unless KEEP_TMP=1)
BENCH_CLK_TCK=$(getconf CLK_TCK)
BENCH_USED_PORTS=" "

die() { echo "bench: $*" >&2; exit 1; }
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

bench_mktemp() {
  BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/sgd-bench.XXXXXX") || die "mktemp failed"
}

# True if something listens on 127.0.0.1:$1 (or any address on that port).
port_listening() {
  ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
}

# True if a TCP connect to 127.0.0.1:$1 succeeds (bash /dev/tcp, no extra tools).
port_connectable() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# free_port VAR: set VAR to a TCP port nobody uses, below the kernel's ephemeral range (so no
# outgoing connection can hold it), starting from a random base. Ports handed out earlier in
# this run are skipped, so consecutive calls never collide. (Call it directly, not in $(...):
# the list of handed-out ports lives in this shell.)
free_port() {
  local lo span base i p
  read -r lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || lo=32768
  (( lo > 12000 )) || lo=32768
  span=$(( lo - 11000 ))
  base=$(( (RANDOM * 32768 + RANDOM) % span ))
  for (( i = 0; i < 3000; i++ )); do
    p=$(( 10000 + (base + i * 7) % span ))
    [[ $BENCH_USED_PORTS == *" $p "* ]] && continue
    if ! ss -Htan "( sport = :$p or dport = :$p )" 2>/dev/null | grep -q . && ! port_connectable "$p"; then
      BENCH_USED_PORTS+="$p "
      printf -v "$1" '%s' "$p"
      return 0
    fi
  done
  die "no free port found"
}

# wait_port PORT [TIMEOUT_S] [PID]: wait until 127.0.0.1:PORT accepts connections.
# Fails early if PID (when given) died meanwhile.
wait_port() {
  local port=$1 timeout=${2:-10} pid=${3:-} i
  for (( i = 0; i < timeout * 20; i++ )); do
    port_connectable "$port" && return 0
    if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
      echo "bench: pid $pid exited before port $port opened" >&2
      return 1
    fi
    sleep 0.05
  done
  echo "bench: port $port not open after ${timeout}s" >&2
  return 1
}

# wait_file FILE [TIMEOUT_S]: wait until FILE exists and is non-empty.
wait_file() {
  local f=$1 timeout=${2:-10} i
  for (( i = 0; i < timeout * 20; i++ )); do
    [[ -s $f ]] && return 0
    sleep 0.05
  done
  return 1
}

# bench_start NAME LOGFILE CMD...: start CMD in the background (stdout+stderr to LOGFILE),
# remember its pid, and set BENCH_LAST_PID. Use `taskset -c N` inside CMD to pin it: taskset
# execs the program, so the pid is the program's own.
bench_start() {
  local name=$1 logf=$2; shift 2
  "$@" >"$logf" 2>&1 &
  BENCH_LAST_PID=$!
  BENCH_PIDS+=("$BENCH_LAST_PID")
  log "started $name pid $BENCH_LAST_PID"
}

# bench_stop PID [TIMEOUT_S]: SIGTERM, wait, then SIGKILL if still alive. Only our own pids.
# Sets BENCH_STOP_RC to the exit status (143 = ended by SIGTERM, 134 SIGABRT, 139 SIGSEGV,
# 137 needed SIGKILL; "" if the process was already gone and reaped).
bench_stop() {
  local pid=$1 timeout=${2:-5} i
  BENCH_STOP_RC=""
  if ! kill -0 "$pid" 2>/dev/null; then
    wait "$pid" 2>/dev/null && BENCH_STOP_RC=0 || BENCH_STOP_RC=$?
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null
  for (( i = 0; i < timeout * 20; i++ )); do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" 2>/dev/null && BENCH_STOP_RC=0 || BENCH_STOP_RC=$?
      return 0
    fi
    sleep 0.05
  done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null && BENCH_STOP_RC=0 || BENCH_STOP_RC=$?
  return 0
}

# bench_cleanup: stop every process we started (newest first) and remove the temp dir.
bench_cleanup() {
  local i
  for (( i = ${#BENCH_PIDS[@]} - 1; i >= 0; i-- )); do
    bench_stop "${BENCH_PIDS[i]}"
  done
  BENCH_PIDS=()
  if [[ -n $BENCH_TMP && -d $BENCH_TMP && ${KEEP_TMP:-0} != 1 ]]; then
    rm -rf "$BENCH_TMP"
  fi
}

# cpu_ticks PID: utime+stime of PID (all its threads) in clock ticks, from /proc/PID/stat.
# Fields 14 and 15; the command name (field 2) may contain spaces, so cut after the last ')'.
cpu_ticks() {
  local stat rest
  stat=$(<"/proc/$1/stat") || return 1
  rest=${stat##*) }
  # rest starts at field 3 (state); utime is field 14 -> index 11 here, stime index 12.
  awk '{ print $12 + $13 }' <<<"$rest"
}

# cpu_seconds PID: utime+stime of PID in seconds.
cpu_seconds() {
  local t
  t=$(cpu_ticks "$1") || return 1
  awk -v t="$t" -v hz="$BENCH_CLK_TCK" 'BEGIN { printf "%.3f\n", t / hz }'
}

# ticks_to_seconds TICKS
ticks_to_seconds() {
  awk -v t="$1" -v hz="$BENCH_CLK_TCK" 'BEGIN { printf "%.3f\n", t / hz }'
}

# proc_status_kb PID FIELD: a kB value from /proc/PID/status (VmRSS, VmHWM, ...).
proc_status_kb() {
  awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

# median of the numbers given as arguments (mean of the two middle ones for an even count).
median() {
  printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END {
    if (NR == 0) { print "nan"; exit }
    if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# to_us VALUE: convert a wrk duration (e.g. 812.00us, 1.23ms, 2.01s) to microseconds.
to_us() {
  awk -v v="$1" 'BEGIN {
    n = v + 0
    if (v ~ /us$/) m = 1; else if (v ~ /ms$/) m = 1000; else if (v ~ /m$/) m = 60e6;
    else if (v ~ /s$/) m = 1e6; else m = 1
    printf "%.1f\n", n * m }'
}

# ratio A B: A/B with 2 decimals ("n/a" if B is 0 or not a number).
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "n/a"; else printf "%.2f\n", a / b }'
}

# need CMD...: die unless every command exists.
need() {
  local c
  for c in "$@"; do command -v "$c" >/dev/null 2>&1 || die "missing $c (scripts/deps.sh bench)"; done
}

# cpus_for_pinning: sets PROXY_CPU and LOAD_CPU (cores 0 and 1 unless overridden).
cpus_for_pinning() {
  PROXY_CPU=${PROXY_CPU:-0}
  LOAD_CPU=${LOAD_CPU:-1}
  local n; n=$(nproc)
  (( n >= 2 )) || log "warning: only $n CPU; proxy and load generator share it"
  (( n >= 2 )) || LOAD_CPU=$PROXY_CPU
}

# machine_info: one line per fact, for the reports.
machine_info() {
  echo "nproc: $(nproc)"
  echo "cpu: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
  echo "kernel: $(uname -sr)"
  echo "load average at start: $(cut -d" " -f1-3 /proc/loadavg)"
}

# sgd_snapshot SRC: copy the sgd binary into the temp dir (a rebuild during the run then cannot
# swap it), set SGD to the copy, SGD_DESC to what was measured, and SGD_BASE_FLAGS to flags this
# build needs for a quick stop (--drain-grace 0 when it has that flag: SIGTERM otherwise keeps
# answering for 10 s before closing).
sgd_snapshot() {
  local src=$1 root head dirty=""
  # a build may be relinking it right now: wait (up to 3 min) for a binary untouched for 10 s
  local i
  for (( i = 0; i < 180; i++ )); do
    [[ -x $src ]] && (( $(date +%s) - $(stat -c %Y "$src" 2>/dev/null || echo 0) >= 10 )) && break
    sleep 1
  done
  [[ -x $src ]] || die "sgd binary not found at $src (ninja -C build sgd)"
  cp "$src" "$BENCH_TMP/sgd" || die "cannot copy $src"
  SGD=$BENCH_TMP/sgd
  "$SGD" --version >/dev/null 2>&1 || die "$src does not run"
  root=$(cd "$(dirname "$src")" && git rev-parse --show-toplevel 2>/dev/null) || root=""
  if [[ -n $root ]]; then
    head=$(git -C "$root" rev-parse --short HEAD 2>/dev/null)
    git -C "$root" diff --quiet HEAD -- . ':!tests' ':!bench' ':!docs' 2>/dev/null || dirty=" (uncommitted source changes outside tests/, bench/, docs/)"
  fi
  SGD_DESC="$("$SGD" --version 2>/dev/null | head -1), binary built $(date -u -r "$src" '+%Y-%m-%d %H:%M:%SZ'), HEAD ${head:-?}$dirty"
  SGD_BASE_FLAGS=()
  if "$SGD" --help 2>&1 | grep -q -- '--drain-grace'; then SGD_BASE_FLAGS+=(--drain-grace 0); fi
}

# nginx_main_conf DIR [WORKER_CONNECTIONS]: the top of an nginx.conf run from DIR (foreground, pid
# and error log inside DIR: never the system config). The caller appends its http block.
nginx_main_conf() {
  cat <<EOF
worker_processes 1;
daemon off;
pid $1/nginx.pid;
error_log $1/error.log warn;
events { worker_connections ${2:-4096}; }
EOF
}
