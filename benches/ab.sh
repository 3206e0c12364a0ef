#!/usr/bin/env bash
# A/B of two gemhole builds under the same load, in one run, alternating: each round runs
# gemload against A, then B (order swapped every round), with the access log on and written to
# a pipe (as under systemd). Prints req/s and server CPU per request per run, then medians and
# the ratio B/A. Loopback only; every server is stopped by its PID.
#
# Usage: benches/ab.sh A_BINARY B_BINARY [ROUNDS] [SECONDS] [CONCURRENCY...]
#   e.g. benches/ab.sh /tmp/old/gemhole target/release/gemhole 6 10 8 64
# gemload is built from the workspace (target/release/gemload).
# AB_PATH: the path asked for (default `/`). AB_CONFIG_B: a config file B runs with (copied
# into its folder as config.toml, beside the capsule); AB_TEMPLATES_B: a folder copied there
# as `templates` (for a config that says `templates = "templates"`).
set -euo pipefail
cd "$(dirname "$0")/.."
A=$(realpath "$1"); B=$(realpath "$2")
ROUNDS=${3:-6}; SECONDS_PER_RUN=${4:-10}
shift $(( $# < 4 ? $# : 4 ))
source benches/load-common.sh

# start NAME BINARY: a server on a free port in its own folder; sets PORT_<NAME>, PID_<NAME>.
# Its log goes into a pipe that is read to the end (only the port is kept), as a log collector
# would.
start() {
  local name=$1 bin=$2 dir="$WORK/$1"
  mkdir -p "$dir"; cp -r capsule "$dir/capsule"
  if [ "$name" = B ]; then
    if [ -n "${AB_CONFIG_B:-}" ]; then cp "$AB_CONFIG_B" "$dir/config.toml"; fi
    if [ -n "${AB_TEMPLATES_B:-}" ]; then cp -r "$AB_TEMPLATES_B" "$dir/templates"; fi
  fi
  (cd "$dir" && exec "$bin" serve --listen 127.0.0.1:0 \
    2> >({ grep -m1 -o 'listening on 127\.0\.0\.1:[0-9]*$' | sed 's/.*://' > "$dir/port"; \
      cat > /dev/null; })) &
  local pid=$!
  PIDS+=("$pid")
  for _ in $(seq 300); do [ -s "$dir/port" ] && break; sleep 0.1; done
  [ -s "$dir/port" ] || { echo "ab: $name did not start" >&2; exit 1; }
  printf -v "PORT_$name" %s "$(cat "$dir/port")"; printf -v "PID_$name" %s "$pid"
}

start A "$A"; start B "$B"
declare -A RESULTS
for c in "${CONCURRENCY[@]}"; do
  for round in $(seq "$ROUNDS"); do
    order=(A B); [ $((round % 2)) -eq 0 ] && order=(B A)
    for name in "${order[@]}"; do
      port_var="PORT_$name"; pid_var="PID_$name"
      measure "${!pid_var}" "${!port_var}" "${AB_PATH:-/}" "$c"
      printf 'c=%-3s round %s %s: %8.0f req/s, %6s µs CPU/request, %s failed\n' "$c" "$round" "$name" "$rps" "$cpu_us" "$failed"
      RESULTS[$c,$name,rps]+="$rps "; RESULTS[$c,$name,cpu]+="$cpu_us "
    done
  done
done

echo
echo "A = $A"
echo "B = $B"
for c in "${CONCURRENCY[@]}"; do
  ra=$(median <<<"${RESULTS[$c,A,rps]}"); rb=$(median <<<"${RESULTS[$c,B,rps]}")
  ca=$(median <<<"${RESULTS[$c,A,cpu]}"); cb=$(median <<<"${RESULTS[$c,B,cpu]}")
  awk -v c="$c" -v ra="$ra" -v rb="$rb" -v ca="$ca" -v cb="$cb" 'BEGIN {
    printf "c=%s: median req/s A %.0f, B %.0f (B/A %.2f×); CPU µs/request A %.1f, B %.1f (B/A %.2f×)\n",
      c, ra, rb, rb / ra, ca, cb, cb / ca }'
done
