#!/usr/bin/env bash
# Real Gopher clients against the real server: curl (bytes as sent) and lynx (as rendered)
# fetch the home menu, a series menu and a post from the bundled capsule on a loopback port.
# Usage: tests/interop/gopher-clients.sh [path/to/gemhole]   (default: target/debug/gemhole)
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:-target/debug/gemhole}
[ -x "$BIN" ] || cargo build --locked
BIN=$(realpath "$BIN")
for tool in curl lynx; do
  command -v "$tool" >/dev/null || { echo "interop: $tool is not installed" >&2; exit 1; }
done

WORK=$(mktemp -d)
PID=
cleanup() {
  if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
cp -r capsule "$WORK/capsule"
printf '[watch]\nmode = "off"\n' > "$WORK/config.toml"
(cd "$WORK" && exec "$BIN" serve --listen 127.0.0.1:0 --gopher-listen 127.0.0.1:0 \
  2>"$WORK/log") &
PID=$!

# The port the Gopher listener got, from its log line (within 30 s).
PORT=
for _ in $(seq 300); do
  PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\) (gopher)$/\1/p' "$WORK/log" | head -1)
  [ -n "$PORT" ] && break
  kill -0 "$PID" 2>/dev/null || { cat "$WORK/log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$PORT" ] || { echo "interop: the server did not start" >&2; cat "$WORK/log" >&2; exit 1; }
URL="gopher://127.0.0.1:$PORT"
failures=0

# expect NAME TEXT PATTERN: the text must contain the (fixed-string) pattern.
expect() {
  if grep -qF -- "$3" <<<"$2"; then
    echo "ok   $1: has '$3'"
  else
    echo "FAIL $1: no '$3' in:" >&2
    printf '%s\n' "$2" | head -40 >&2
    failures=$((failures + 1))
  fi
}

curl -sS --max-time 10 -o "$WORK/home" "$URL/1/"
home=$(cat "$WORK/home")
expect "curl home menu" "$home" $'1Building a Crystal Radio (5 parts)\t/series/building-a-crystal-radio/\tlocalhost\t'"$PORT"
expect "curl home menu" "$home" $'0About this capsule\t/about.txt\t'
[ "$(tail -c 3 "$WORK/home" | od -An -c | tr -d ' ')" = '.\r\n' ] \
  && echo "ok   curl home menu: ends with .CRLF" \
  || { echo "FAIL curl home menu: does not end with .CRLF" >&2; failures=$((failures + 1)); }

series=$(curl -sS --max-time 10 "$URL/1/series/building-a-crystal-radio/")
expect "curl series menu" "$series" $'Part 1: Why Build a Crystal Radio?\t/posts/crystal-radio-why.txt\tlocalhost\t'"$PORT"
expect "curl series menu" "$series" $'Part 5: First Signal\t/posts/crystal-radio-first-signal.txt\t'

post=$(curl -sS --max-time 10 "$URL/0/posts/crystal-radio-coil.txt")
expect "curl post" "$post" $'Winding the Coil\r\n================'
expect "curl post" "$post" "[1] gopher://localhost:$PORT/1/series/building-a-crystal-radio/"

home=$(lynx -dump -width=100 "$URL/1/")
expect "lynx home menu" "$home" "(DIR) "
expect "lynx home menu" "$home" "Building a Crystal Radio (5 parts)"
expect "lynx home menu" "$home" "gopher://localhost:$PORT/0/posts/crystal-radio-coil.txt"

series=$(lynx -dump -width=100 "$URL/1/series/building-a-crystal-radio/")
expect "lynx series menu" "$series" "(FILE) "
expect "lynx series menu" "$series" "Part 2: Winding the Coil"

post=$(lynx -dump -width=100 "$URL/0/posts/crystal-radio-coil.txt")
expect "lynx post" "$post" "Winding the Coil"
expect "lynx post" "$post" "Links:"

if [ "$failures" -ne 0 ]; then
  echo "interop: $failures check(s) failed" >&2
  exit 1
fi
echo "interop: curl and lynx read the gopherhole"
