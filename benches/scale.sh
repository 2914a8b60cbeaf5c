#!/usr/bin/env bash
# The 1,000,000-target run of issue 27 (BENCHMARKS.md, "dane scan at 1,000,000 targets"):
# a synthetic survey, most targets an insecure NXDOMAIN (tI.insecure.test: an unsigned zone
# delegated without DS from the signed test.) and one in 20 a signed NXDOMAIN
# (tI.nsec.test, NSEC), all answered by NSD on a loopback port serving the DNSSEC fixtures
# (dane-testenv's serve-fixtures; nothing leaves the machine, nothing is probed).
#
# The run is killed with SIGKILL once 40% of the results are written, then resumed with
# --resume into the same file (a last line cut by the kill removed first, as
# examples/slurm/dane-scan.sbatch does); examples/slurm/merge.sh then checks that every
# target line has exactly one result. Prints targets/s and peak RSS (/usr/bin/time -v) of
# both runs.
#
# Usage: benches/scale.sh [N] [DANE FLAGS...]   (N default 1000000; DANE_BIN: the dane
# binary, default target/release/dane; the work directory is kept, its path printed)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
[ $# -gt 0 ] && shift
dane=${DANE_BIN:-target/release/dane}
[ -x "$dane" ] || { echo "scale.sh: no $dane: cargo build --release -p dane-cli" >&2; exit 2; }
cargo build -q -p dane-testenv --example serve-fixtures
work=$(mktemp -d /tmp/dane-scale.XXXXXX)
echo "scale.sh: $n targets in $work" >&2

# NSD until this script ends (serve-fixtures stops it when its stdin closes).
exec 3> >(exec target/debug/examples/serve-fixtures > "$work/nsd.out")
for _ in $(seq 100); do grep -q '^nsd ' "$work/nsd.out" 2>/dev/null && break; sleep 0.1; done
port=$(awk '/^nsd /{print $2}' "$work/nsd.out")
[ -n "$port" ] || { echo "scale.sh: NSD did not start" >&2; exit 2; }

awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++) printf "t%d.%s\n", i, (i % 20 == 7 ? "nsec.test" : "insecure.test") }' > "$work/targets.txt"
flags=(--resolver "127.0.0.1:$port" --no-iterate --trust-anchor fixtures/dns/anchors/root.ds
  --at 2026-12-01T00:00:00Z "$@")
part=$work/results.ndjson
: > "$part"
timed() { # LABEL: dane scan with /usr/bin/time -v into $work/LABEL.time, appending to $part
  # shellcheck disable=SC2094 # dane reads all of --resume before it writes a result
  /usr/bin/time -v -o "$work/$1.time" "$dane" scan "$work/targets.txt" --resume "$part" "${flags[@]}" >> "$part" 2> "$work/$1.err"
}

# Run 1, killed at 40%.
timed killed &
timer=$!
until [ "$(wc -l < "$part")" -ge $((n * 4 / 10)) ]; do
  kill -0 "$timer" 2>/dev/null || { echo "scale.sh: run 1 ended before the kill" >&2; exit 1; }
  sleep 0.2
done
# $timer is the subshell running /usr/bin/time (or time itself), whose child is dane.
victim=$timer
for _ in 1 2 3; do
  [ "$(cat "/proc/$victim/comm")" = dane ] && break
  victim=$(awk '{ print $1 }' "/proc/$victim/task/$victim/children")
done
[ "$(cat "/proc/$victim/comm")" = dane ] || { echo "scale.sh: dane not found under $timer" >&2; exit 1; }
kill -KILL "$victim"
wait "$timer" || true
before=$(wc -l < "$part")
if [ -n "$(tail -c 1 "$part")" ]; then
  torn=$(tail -n 1 "$part" | wc -c)
  truncate -s "-$torn" "$part"
  echo "scale.sh: removed a line cut by the kill ($torn bytes)" >&2
fi

# Run 2, resumed.
timed resumed || true
examples/slurm/merge.sh "$work/targets.txt" "$work/merged.ndjson" "$part"

field() { sed -n "s/^[[:space:]]*$2: //p" "$work/$1.time"; }
seconds() { # h:mm:ss or m:ss.cc -> seconds
  awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }' <<< "$1"
}
w1=$(seconds "$(field killed 'Elapsed (wall clock) time (h:mm:ss or m:ss)')")
w2=$(seconds "$(field resumed 'Elapsed (wall clock) time (h:mm:ss or m:ss)')")
after=$(wc -l < "$part")
for run in killed resumed; do
  echo "$run: wall $(field $run 'Elapsed (wall clock) time (h:mm:ss or m:ss)')," \
    "user $(field $run 'User time (seconds)') s, sys $(field $run 'System time (seconds)') s," \
    "peak RSS $(field $run 'Maximum resident set size (kbytes)') KiB"
done
grep -h 'target(s) in\|already in --resume\|peak RSS' "$work"/*.err || true
awk -v n="$n" -v w="$w1 + $w2" -v b="$before" -v a="$after" -v w1="$w1" -v w2="$w2" 'BEGIN {
  printf "%d targets: %d written before SIGKILL, %d after resume; %.0f targets/s over both runs (%.1f s + %.1f s)\n",
    n, b, a, n / (w1 + w2), w1, w2 }'
