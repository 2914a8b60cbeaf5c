#!/usr/bin/env bash
# CPU per domain of `dane scan` on the interop bulk run (issue 27), one or more builds side
# by side in one interop environment (needs root): ROUNDS rounds, each running every binary
# of DANE_BINS over the N bulk domains (each its own zone, key and MX host) and the N
# shared-provider domains (one provider's four MX hosts), under
# `/usr/bin/time -f "%e %U %S %M"`: wall, user, sys (the process and its children) and
# peak RSS. CPU per domain is (user + sys) / N. Alternating the builds within a round
# spreads the machine's other load over all of them alike.
# Usage: DANE_BINS="/path/a /path/b" benches/survey-cpu.sh [N] [ROUNDS]
#   (DANE_BINS: default the release build, built first; PROFILE=FILE: then one more bulk
#   scan of the last binary under `perf record --call-graph dwarf` into FILE, for
#   `perf report -i FILE --no-children`; CACHEGRIND=M: then each binary once under
#   `valgrind --tool=cachegrind --cache-sim=no` (Debian valgrind) over the first M bulk
#   domains, for the user-space instructions per domain, a figure the machine's load does
#   not change)
set -euo pipefail
n=${1:-1000}
rounds=${2:-2}
cd "$(dirname "$0")/.."
cargo build -q --locked -p dane-testenv --example interop-shell
if [ -z "${DANE_BINS:-}" ]; then
  cargo build -q --locked --release -p dane-cli
  DANE_BINS=$PWD/target/release/dane
fi
export DANE_BINS ROUNDS=$rounds PROFILE=${PROFILE:-} CACHEGRIND=${CACHEGRIND:-}
# shellcheck disable=SC2016 # the script runs inside the environment, which sets its variables
target/debug/examples/interop-shell --bulk "$n" --shared "$n" bash -c '
  set -euo pipefail
  out=$(mktemp); t=$(mktemp)
  for round in $(seq 1 "$ROUNDS"); do
    for bin in $DANE_BINS; do
      for set in bulk shared; do
        file=$DANE_INTEROP_BULK; [ "$set" = shared ] && file=$DANE_INTEROP_SHARED
        domains=$(wc -l < "$file")
        /usr/bin/time -o "$t" -f "%e %U %S %M" "$bin" scan -4 -q --allow-private \
          --trust-anchor "$DANE_INTEROP_ANCHOR" "$file" > "$out" || true
        read -r wall user sys rss < "$t"
        ok=$(grep -c "\"verdict\":\"verified\"" "$out" || true)
        awk -v r="$round" -v b="$bin" -v s="$set" -v n="$domains" -v ok="$ok" -v w="$wall" \
          -v u="$user" -v y="$sys" -v m="$rss" -v l="$(cut -d" " -f1 /proc/loadavg)" "BEGIN {
          printf \"round %d %s %s: %d domains, %d verified, %.2f s wall, %.2f user + %.2f sys: %.3f ms CPU/domain (sys %.0f%%), peak RSS %d KiB, load %s\n\",
            r, b, s, n, ok, w, u, y, 1000 * (u + y) / n, 100 * y / (u + y), m, l }"
      done
    done
  done
  if [ -n "$PROFILE" ]; then
    last=${DANE_BINS##* }
    perf record -q -F 499 --call-graph dwarf,16384 -o "$PROFILE" -- "$last" scan -4 -q \
      --allow-private --trust-anchor "$DANE_INTEROP_ANCHOR" "$DANE_INTEROP_BULK" > "$out" 2>/dev/null || true
    echo "profile of $last (bulk): $PROFILE, $(grep -c "\"verdict\":\"verified\"" "$out" || true) verified"
  fi
  if [ -n "$CACHEGRIND" ]; then
    list=$(mktemp); head -n "$CACHEGRIND" "$DANE_INTEROP_BULK" > "$list"
    for bin in $DANE_BINS; do
      valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null "$bin" scan -4 -q \
        --allow-private --trust-anchor "$DANE_INTEROP_ANCHOR" "$list" > "$out" 2> "$t" || true
      ir=$(awk "/I *refs:/ { gsub(\",\", \"\", \$NF); print \$NF }" "$t")
      awk -v b="$bin" -v n="$CACHEGRIND" -v ok="$(grep -c "\"verdict\":\"verified\"" "$out" || true)" -v ir="$ir" "BEGIN {
        printf \"cachegrind %s bulk: %d domains, %d verified, %.0f instructions: %.2f M instructions/domain (user space)\n\", b, n, ok, ir, ir / n / 1e6 }"
    done
    rm -f "$list"
  fi
  rm -f "$out" "$t"
'
