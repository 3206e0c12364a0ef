# What the load scripts share (sourced by benches/ab.sh and benches/cgi.sh, from the repository
# root): gemload built, a work folder removed at the end with every server started (by PID),
# the concurrencies from the remaining arguments, and medians.
CONCURRENCY=("${@:-8 64}")
[ ${#CONCURRENCY[@]} -eq 1 ] && read -r -a CONCURRENCY <<<"${CONCURRENCY[0]}"
cargo build --quiet --release --package gemload --bins
GEMLOAD=target/release/gemload
HZ=$(getconf CLK_TCK)

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# CPU ticks a process spent, with the children it waited for (programs it ran).
cpu_ticks() { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$1/stat"; }

# measure PID PORT PATH CONCURRENCY: one gemload run against the server PID listening on PORT;
# sets rps, ok, failed and cpu_us (the server's CPU per answered request).
measure() {
  local pid=$1 port=$2 path=$3 c=$4 before after json
  before=$(cpu_ticks "$pid")
  json=$("$GEMLOAD" gemini "gemini://localhost:$port$path" --connect "127.0.0.1:$port" \
    -c "$c" -d "$SECONDS_PER_RUN" --json)
  after=$(cpu_ticks "$pid")
  rps=$(sed -n 's/.*"rps":\([0-9.]*\).*/\1/p' <<<"$json")
  ok=$(sed -n 's/.*"ok":\([0-9]*\).*/\1/p' <<<"$json")
  failed=$(sed -n 's/.*"failed":\([0-9]*\).*/\1/p' <<<"$json")
  cpu_us=$(awk -v t=$((after - before)) -v hz="$HZ" -v n="$ok" 'BEGIN { printf "%.1f", n ? t / hz * 1e6 / n : 0 }')
}
