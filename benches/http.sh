#!/usr/bin/env bash
# The HTTP door against a web server: gemhole answering a post as HTML over plain HTTP/1.1
# (keep-alive, default config) against Debian's nginx serving `gemhole build --html`'s static
# copy of the same capsule, under wrk, in one run, alternating (the order turns every round).
# nginx runs twice over: with its access log off, and with it on (written to a file), since
# gemhole writes an access-log line per request (its stderr goes to a file, as does nginx's
# log). Then the Gemini side: gemhole's Gemini req/s for the same post with and without the
# HTTP listener, under gemload, alternating. Prints req/s, server CPU per request (for nginx,
# master and workers added up) and wrk's latency per run, then medians, min–max, and the
# ratios. Loopback only; every server is stopped by its PID.
#
# Usage: benches/http.sh [GEMHOLE_BINARY] [ROUNDS] [SECONDS] [CONCURRENCY...]
#   e.g. benches/http.sh target/release/gemhole 5 5 8 64
# Needs wrk and nginx (Debian: `apt-get install wrk nginx`); gemload is built from the
# workspace (target/release/gemload). HTTP_PATH: the path asked for (default the post below).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "${1:-target/release/gemhole}")
ROUNDS=${2:-5}; SECONDS_PER_RUN=${3:-5}
shift $(( $# < 3 ? $# : 3 ))
POST=${HTTP_PATH:-/posts/crystal-radio-coil.gmi}

NGINX=$(command -v nginx || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true)
missing=()
command -v wrk >/dev/null || missing+=(wrk)
[ -n "$NGINX" ] || missing+=(nginx)
command -v curl >/dev/null || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
  echo "http.sh: needs ${missing[*]} (Debian: apt-get install ${missing[*]}); nothing was run" >&2
  exit 2
fi
[ -x "$BIN" ] || { echo "http.sh: no gemhole binary at $BIN (cargo build --release)" >&2; exit 2; }
source benches/load-common.sh

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
spread() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s–%s", lo, hi }'; }

# The static copy nginx serves.
"$BIN" build --out "$WORK/html" --html --capsule capsule > "$WORK/build.log" 2>&1 \
  || { cat "$WORK/build.log" >&2; exit 1; }

CAPSULE=$(realpath capsule)
# start_gemhole NAME [ARGS...]: a gemhole serving the capsule from its own empty folder (no
# config.toml: the defaults), stderr appended to NAME.log; sets PID_<NAME>, GEMINI_<NAME> and,
# with --http-listen, HTTP_<NAME>.
start_gemhole() {
  local name=$1 dir="$WORK/$1"; shift
  mkdir -p "$dir"
  (cd "$dir" && exec "$BIN" serve --listen 127.0.0.1:0 --capsule "$CAPSULE" --certs "$dir/certs" \
    "$@" 2>> "$WORK/$name.log") &
  local pid=$!
  PIDS+=("$pid")
  for _ in $(seq 300); do grep -q 'listening on 127\.0\.0\.1:[0-9]*$' "$WORK/$name.log" 2>/dev/null && break; sleep 0.1; done
  local gemini http
  gemini=$(grep -m1 -o 'listening on 127\.0\.0\.1:[0-9]*$' "$WORK/$name.log" | sed 's/.*://') \
    || { echo "http.sh: gemhole $name did not start" >&2; cat "$WORK/$name.log" >&2; exit 1; }
  printf -v "PID_$name" %s "$pid"; printf -v "GEMINI_$name" %s "$gemini"
  if [[ " $* " == *" --http-listen "* ]]; then
    for _ in $(seq 50); do grep -q ' (http)$' "$WORK/$name.log" && break; sleep 0.1; done
    http=$(grep -m1 -o 'listening on 127\.0\.0\.1:[0-9]* (http)$' "$WORK/$name.log" | sed 's/.*:\([0-9]*\) .*/\1/')
    printf -v "HTTP_$name" %s "$http"
  fi
}
start_gemhole withhttp --http-listen 127.0.0.1:0
start_gemhole gemonly

# nginx, as this user, with two servers on the same root: access log off, and on.
PORT_NGINX=$(free_port); PORT_NGINXLOG=$(free_port)
mkdir -p "$WORK/nginx/tmp"
{
  [ "$(id -u)" -eq 0 ] && echo "user root;"
  cat <<EOF
worker_processes auto;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 1024; }
http {
  types { text/html html gmi; text/css css; application/atom+xml xml; text/plain txt; }
  default_type application/octet-stream;
  sendfile on;
  tcp_nopush on;
  client_body_temp_path $WORK/nginx/tmp/body;
  proxy_temp_path $WORK/nginx/tmp/proxy;
  fastcgi_temp_path $WORK/nginx/tmp/fastcgi;
  uwsgi_temp_path $WORK/nginx/tmp/uwsgi;
  scgi_temp_path $WORK/nginx/tmp/scgi;
  charset utf-8;
  charset_types text/css application/atom+xml;  # text/html is always in
  server {
    listen 127.0.0.1:$PORT_NGINX;
    root $WORK/html;
    index index.html;
    access_log off;
  }
  server {
    listen 127.0.0.1:$PORT_NGINXLOG;
    root $WORK/html;
    index index.html;
    access_log $WORK/nginx/access.log;
  }
}
EOF
} > "$WORK/nginx/nginx.conf"
"$NGINX" -p "$WORK/nginx" -e "$WORK/nginx/error.log" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' &
PID_NGINX=$!; PIDS+=("$PID_NGINX")
for _ in $(seq 100); do
  curl -s -o /dev/null "http://127.0.0.1:$PORT_NGINX/" && break
  kill -0 "$PID_NGINX" 2>/dev/null || { echo "http.sh: nginx did not start" >&2; cat "$WORK/nginx/error.log" >&2; exit 1; }
  sleep 0.1
done
nginx_pids() { echo "$PID_NGINX" $(ps -o pid= --ppid "$PID_NGINX"); }
NGINX_WORKERS=$(ps -o pid= --ppid "$PID_NGINX" | wc -l)

# Both must answer the post with 200 and HTML, and the same page.
for target in "gemhole $HTTP_withhttp" "nginx $PORT_NGINX" "nginx-log $PORT_NGINXLOG"; do
  read -r name port <<<"$target"
  got=$(curl -s -o "$WORK/$name.body" -w '%{http_code} %{content_type}' "http://127.0.0.1:$port$POST")
  printf '%-10s http://127.0.0.1:%s%s: %s, %s bytes\n' "$name" "$port" "$POST" "$got" "$(wc -c < "$WORK/$name.body")"
  [[ "$got" == "200 text/html"* ]] || { echo "http.sh: $name does not answer 200 text/html" >&2; exit 1; }
done
if cmp -s "$WORK/gemhole.body" "$WORK/nginx.body"; then echo "bodies: identical"
else echo "bodies: differ ($(cmp "$WORK/gemhole.body" "$WORK/nginx.body" 2>&1 | head -1))"; fi
echo "nginx: master $PID_NGINX and $NGINX_WORKERS worker(s); gemhole HTTP $PID_withhttp; $(nproc) CPU(s)"
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg) (others N%: the machine's CPU taken by other programs during a run)"
echo

sum_ticks() { local t=0 p; for p in "$@"; do t=$((t + $(cpu_ticks "$p"))); done; echo "$t"; }
# Busy and all ticks of the machine; this shell's finished children's ticks (wrk's, once waited).
machine_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat; }
children_ticks() { awk '{ print $16 + $17 }' "/proc/$$/stat"; }

# wrk_measure PORT C PID...: one wrk run; sets rps, requests, errors, p50, p99, cpu_us (the
# CPU of the PIDs per request) and others (the share of the machine's CPU that neither the
# server nor wrk took: other programs, which make req/s noisy).
wrk_measure() {
  local port=$1 c=$2; shift 2
  local before after out busy0 all0 busy1 all1 wrk0 wrk1
  read -r busy0 all0 < <(machine_ticks); wrk0=$(children_ticks)
  before=$(sum_ticks "$@")
  out=$(wrk -t2 -c"$c" -d"${SECONDS_PER_RUN}s" --latency "http://127.0.0.1:$port$POST")
  after=$(sum_ticks "$@")
  read -r busy1 all1 < <(machine_ticks); wrk1=$(children_ticks)
  others=$(awk -v b=$((busy1 - busy0)) -v a=$((all1 - all0)) -v s=$((after - before)) -v w=$((wrk1 - wrk0)) \
    'BEGIN { o = a ? 100 * (b - s - w) / a : 0; printf "%.0f", o < 0 ? 0 : o }')
  rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
  requests=$(awk '/ requests in / { print $1 }' <<<"$out")
  errors=$(awk '/Non-2xx/ { n += $NF } /Socket errors/ { gsub(/,/, ""); n += $4 + $6 + $8 + $10 } END { print n + 0 }' <<<"$out")
  p50=$(awk '$1 == "50%" { print $2 }' <<<"$out"); p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
  cpu_us=$(awk -v t=$((after - before)) -v hz="$HZ" -v n="$requests" 'BEGIN { printf "%.1f", n ? t / hz * 1e6 / n : 0 }')
}

declare -A RESULTS
HTTP_TARGETS=(gemhole nginx nginx-log)
for c in "${CONCURRENCY[@]}"; do
  for round in $(seq "$ROUNDS"); do
    # The order turns each round, so that none is always first or last.
    shift_by=$(( (round - 1) % ${#HTTP_TARGETS[@]} ))
    order=("${HTTP_TARGETS[@]:$shift_by}" "${HTTP_TARGETS[@]:0:$shift_by}")
    for name in "${order[@]}"; do
      case $name in
        gemhole) wrk_measure "$HTTP_withhttp" "$c" "$PID_withhttp" ;;
        nginx) wrk_measure "$PORT_NGINX" "$c" $(nginx_pids) ;;
        nginx-log) wrk_measure "$PORT_NGINXLOG" "$c" $(nginx_pids) ;;
      esac
      printf 'http c=%-3s round %s %-10s %8.0f req/s, %6s µs CPU/request, p50 %8s, p99 %8s, %s errors, others %s%%\n' \
        "$c" "$round" "$name:" "$rps" "$cpu_us" "$p50" "$p99" "$errors" "$others"
      RESULTS[$c,$name,rps]+="$rps "; RESULTS[$c,$name,cpu]+="$cpu_us "
      # Keep the logs from filling the disk (both are opened for appending).
      : > "$WORK/withhttp.log"; : > "$WORK/nginx/access.log"
    done
  done
  for round in $(seq "$ROUNDS"); do
    order=(withhttp gemonly); [ $((round % 2)) -eq 0 ] && order=(gemonly withhttp)
    for name in "${order[@]}"; do
      pid_var="PID_$name"; port_var="GEMINI_$name"
      measure "${!pid_var}" "${!port_var}" "$POST" "$c"
      printf 'gemini c=%-3s round %s %-10s %8.0f req/s, %6s µs CPU/request, %s failed\n' "$c" "$round" "$name:" "$rps" "$cpu_us" "$failed"
      RESULTS[$c,gemini-$name,rps]+="$rps "; RESULTS[$c,gemini-$name,cpu]+="$cpu_us "
      : > "$WORK/$name.log"
    done
  done
done

echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "gemhole = $BIN; $ROUNDS round(s) of ${SECONDS_PER_RUN} s; wrk -t2; path $POST"
echo "median (min–max) over the rounds:"
for c in "${CONCURRENCY[@]}"; do
  for name in "${HTTP_TARGETS[@]}" gemini-withhttp gemini-gemonly; do
    r=$(median <<<"${RESULTS[$c,$name,rps]}"); u=$(median <<<"${RESULTS[$c,$name,cpu]}")
    printf 'c=%-3s %-16s %8.0f req/s (%s), %6.1f µs CPU/request (%s)\n' "$c" "$name" "$r" \
      "$(spread <<<"${RESULTS[$c,$name,rps]}" | awk -F– '{ printf "%.0f–%.0f", $1, $2 }')" "$u" \
      "$(spread <<<"${RESULTS[$c,$name,cpu]}")"
  done
done
echo
for c in "${CONCURRENCY[@]}"; do
  g=$(median <<<"${RESULTS[$c,gemhole,rps]}"); gu=$(median <<<"${RESULTS[$c,gemhole,cpu]}")
  for other in nginx nginx-log; do
    o=$(median <<<"${RESULTS[$c,$other,rps]}"); ou=$(median <<<"${RESULTS[$c,$other,cpu]}")
    awk -v c="$c" -v o="$other" -v g="$g" -v n="$o" -v gu="$gu" -v nu="$ou" 'BEGIN {
      printf "c=%s: gemhole HTTP ÷ %s: req/s %.2f× (goal ≥ 0.80: %s), CPU/request %.2f×\n",
        c, o, g / n, (g / n >= 0.8 ? "met" : "NOT met"), gu / nu }'
  done
  w=$(median <<<"${RESULTS[$c,gemini-withhttp,rps]}"); wo=$(median <<<"${RESULTS[$c,gemini-gemonly,rps]}")
  wu=$(median <<<"${RESULTS[$c,gemini-withhttp,cpu]}"); wou=$(median <<<"${RESULTS[$c,gemini-gemonly,cpu]}")
  awk -v c="$c" -v a="$w" -v b="$wo" -v au="$wu" -v bu="$wou" 'BEGIN {
    printf "c=%s: Gemini with the HTTP listener ÷ without: req/s %.2f×, CPU/request %.2f×\n", c, a / b, au / bu }'
done
