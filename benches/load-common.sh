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
