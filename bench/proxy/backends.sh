# shellcheck shell=bash
# What bench/proxy/run.sh and bench/proxy/instructions.sh share: the nginx backends and the sgd
# group in front of them. Sourced after ../common.sh.

# nginx_http_common DIR: the start of an http block run from DIR (nginx needs its temp paths
# inside the prefix too: never touch the system config), no access log, long keep-alive.
nginx_http_common() {
  cat <<EOF2
  access_log off;
  client_body_temp_path $1/body;
  proxy_temp_path $1/proxy;
  fastcgi_temp_path $1/fastcgi;
  uwsgi_temp_path $1/uwsgi;
  scgi_temp_path $1/scgi;
  keepalive_requests 10000000;
  keepalive_timeout 300s;
EOF2
}

# start_ok_backends DIR CPU: one nginx master (worker_processes 1) pinned on CPU, three listen
# ports answering 200 "ok\n" (and /health 200). Any path ending in /sse answers a chunked
# text/event-stream instead: SSE_CHUNKS (default 4) events of ~20 bytes, each its own chunk
# (nginx's SSI includes of internal subrequests: no known length, so nginx chunks, one chunk per
# include): "14\r\nid: 1\ndata: tick 1\n\n\r\n" ... "0\r\n\r\n". SSE_BODY is the decoded body.
# Sets B1 B2 B3, SSE_BODY and BACKEND_PID; dies on failure.
start_ok_backends() {
  local dir=$1 cpu=$2 p ssi
  free_port B1; free_port B2; free_port B3
  mkdir -p "$dir"
  # The SSI page itself comes from "return" (a file under the 0700 temp dir would be unreadable
  # for nginx's unprivileged worker).
  SSE_BODY=""; ssi=""
  for (( p = 1; p <= ${SSE_CHUNKS:-4}; p++ )); do
    ssi+="<!--# include virtual=\\\"/_ev/$p\\\" -->"
    SSE_BODY+="id: $p"$'\n'"data: tick $p"$'\n\n'
  done
  {
    nginx_main_conf "$dir"
    echo "http {"
    nginx_http_common "$dir"
    cat <<EOF2
  server {
    listen 127.0.0.1:$B1;
    listen 127.0.0.1:$B2;
    listen 127.0.0.1:$B3;
    location / { default_type text/plain; return 200 "ok\n"; }
    location /health { return 200; }
    location ~ /sse\$ {
      default_type text/event-stream; ssi on; ssi_types text/event-stream;
      return 200 "$ssi";
    }
    location ~ ^/_ev/(\d+)\$ {
      internal; default_type text/event-stream; return 200 "id: \$1\ndata: tick \$1\n\n";
    }
  }
}
EOF2
  } >"$dir/nginx.conf"
  bench_start backends "$dir/out.log" \
    taskset -c "$cpu" nginx -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf"
  BACKEND_PID=$BENCH_LAST_PID
  for p in $B1 $B2 $B3; do wait_port "$p" 10 "$BACKEND_PID" || die "backend on $p did not start"; done
}

# register_bench_group ADMIN_PORT DIR: group "bench" (round robin) on sgd's admin port with the
# three backends as nodes, each answered 201 and healthy. Non-zero with a log line otherwise (the
# answers stay in DIR).
register_bench_group() {
  local admin=$1 dir=$2 code i=0 b
  code=$(curl -s -o "$dir/put.json" -w '%{http_code}' -X PUT \
    "http://127.0.0.1:$admin/api/server-groups/bench" \
    -d '{"strategy":"round_robin","healthCheck":{"intervalMs":1000,"timeoutMs":500}}')
  [[ $code == 2?? ]] || { log "group PUT answered $code: $(cat "$dir/put.json")"; return 1; }
  for b in $B1 $B2 $B3; do
    i=$((i + 1))
    code=$(curl -s -o "$dir/node$i.json" -w '%{http_code}' -X POST \
      "http://127.0.0.1:$admin/api/server-groups/bench/nodes" \
      -d "{\"name\":\"n$i\",\"baseUrl\":\"http://127.0.0.1:$b\"}")
    [[ $code == 201 ]] && grep -q '"status":"healthy"' "$dir/node$i.json" ||
      { log "node n$i registration answered $code: $(cat "$dir/node$i.json")"; return 1; }
  done
}
