#!/usr/bin/env bash
# A program's answers: gemhole running a CGI "hello" (a shell script) against Jetforce running
# the same script, and against gemhole's own static page, in one run, alternating. Prints req/s
# and CPU per request (the server and the programs it waited for) per run, then medians and
# the ratios. Loopback only; every server is stopped by its PID.
#
# Usage: benches/cgi.sh [GEMHOLE_BINARY] [ROUNDS] [SECONDS] [CONCURRENCY...]
#   e.g. benches/cgi.sh target/release/gemhole 3 5 8 64
# Jetforce (`pip install jetforce`) is run when `jetforce` is on the PATH, else left out.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "${1:-target/release/gemhole}")
ROUNDS=${2:-3}; SECONDS_PER_RUN=${3:-5}
shift $(( $# < 3 ? $# : 3 ))
source benches/load-common.sh

mkdir -p "$WORK/capsule/cgi-bin"
printf '# Home\n\nA static page.\n' > "$WORK/capsule/index.gmi"
printf '#!/bin/sh\nprintf "20 text/gemini\\r\\n# Hello\\n\\nFrom a program.\\n"\n' > "$WORK/capsule/cgi-bin/hello"
chmod +x "$WORK/capsule/cgi-bin/hello"
printf 'capsule = "capsule"\n[[path]]\nmatch = "/cgi-bin/"\ncgi = true\n' > "$WORK/config.toml"

(cd "$WORK" && exec "$BIN" serve --config config.toml --listen 127.0.0.1:0 \
  2> >({ grep -m1 -o 'listening on 127\.0\.0\.1:[0-9]*$' | sed 's/.*://' > "$WORK/port"; cat > /dev/null; })) &
PID_G=$!; PIDS+=("$PID_G")
for _ in $(seq 300); do [ -s "$WORK/port" ] && break; sleep 0.1; done
PORT_G=$(cat "$WORK/port")

TARGETS=("gemhole-static $PID_G $PORT_G /index.gmi" "gemhole-cgi $PID_G $PORT_G /cgi-bin/hello")
if command -v jetforce >/dev/null; then
  PORT_J=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  (cd "$WORK" && exec jetforce --host 127.0.0.1 --port "$PORT_J" --dir capsule --cgi-dir cgi-bin \
    > "$WORK/jetforce.log" 2>&1) &
  PID_J=$!; PIDS+=("$PID_J")
  for _ in $(seq 300); do
    "$GEMLOAD" gemini "gemini://localhost:$PORT_J/" -n 1 --json >/dev/null 2>&1 && break; sleep 0.1
  done
  TARGETS+=("jetforce-cgi $PID_J $PORT_J /cgi-bin/hello")
fi

declare -A RESULTS
for c in "${CONCURRENCY[@]}"; do
  for round in $(seq "$ROUNDS"); do
    for target in "${TARGETS[@]}"; do
      read -r name pid port path <<<"$target"
      measure "$pid" "$port" "$path" "$c"
      printf 'c=%-3s round %s %-15s %8.0f req/s, %8s µs CPU/request, %s failed\n' "$c" "$round" "$name:" "$rps" "$cpu_us" "$failed"
      RESULTS[$c,$name,rps]+="$rps "; RESULTS[$c,$name,cpu]+="$cpu_us "
    done
  done
done

echo
for c in "${CONCURRENCY[@]}"; do
  line="c=$c:"
  for target in "${TARGETS[@]}"; do
    read -r name _ <<<"$target"
    r=$(median <<<"${RESULTS[$c,$name,rps]}"); u=$(median <<<"${RESULTS[$c,$name,cpu]}")
    line+=$(printf ' %s %.0f req/s %.0f µs;' "$name" "$r" "$u")
  done
  echo "$line"
  cgi=$(median <<<"${RESULTS[$c,gemhole-cgi,rps]}"); static=$(median <<<"${RESULTS[$c,gemhole-static,rps]}")
  awk -v a="$cgi" -v b="$static" -v c="$c" 'BEGIN { printf "c=%s: gemhole CGI ÷ gemhole static %.2f×\n", c, a / b }'
  if [ -n "${RESULTS[$c,jetforce-cgi,rps]:-}" ]; then
    j=$(median <<<"${RESULTS[$c,jetforce-cgi,rps]}")
    awk -v a="$cgi" -v b="$j" -v c="$c" 'BEGIN { printf "c=%s: gemhole CGI ÷ Jetforce CGI %.2f×\n", c, a / b }'
  fi
done
