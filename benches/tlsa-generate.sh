#!/usr/bin/env bash
# Whole-process time of `dane tlsa generate` (3 1 1 from one certificate) against the
# reference tools on the same certificate: ldns-dane (ldnsutils), danetool (gnutls-bin) and
# hash-slinger's `tlsa`. Uses hyperfine when installed, else a `date +%s%N` loop.
# A release build in its own target dir (override with CARGO_TARGET_DIR).
# Usage: benches/tlsa-generate.sh [RUNS]   (prints a markdown table for BENCHMARKS.md)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-200}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-bench-tlsa}
if [ -z "${DANE_BIN:-}" ]; then # DANE_BIN: use an already-built release binary
  cargo build --release --locked -p dane-cli --quiet
fi
DANE=${DANE_BIN:-$CARGO_TARGET_DIR/release/dane}
CERT=fixtures/pki/leaf-rsa.pem
HOST=mx1.example.test

declare -a NAMES CMDS
add() { NAMES+=("$1"); CMDS+=("$2"); }
add "dane tlsa generate" "$DANE tlsa generate --cert $CERT --name $HOST"
command -v ldns-dane >/dev/null && add "ldns-dane create" "ldns-dane -c $CERT create $HOST 25 3 1 1"
command -v danetool >/dev/null && add "danetool --tlsa-rr" "danetool --tlsa-rr --load-certificate $CERT --host $HOST --port 25"
# hash-slinger: --certificate makes it read the file instead of connecting (offline).
command -v tlsa >/dev/null && add "tlsa --create (hash-slinger)" "tlsa --create --certificate $CERT --port 25 --usage 3 --selector 1 --mtype 1 $HOST"

# Every tool must agree on the record before its speed means anything.
want=$($DANE tlsa generate --cert $CERT | awk '{print tolower($4)}')
for i in "${!CMDS[@]}"; do
  got=$(${CMDS[$i]} 2>/dev/null | grep -oiE '[0-9a-f]{64}' | head -1 | tr A-F a-f)
  [ "$got" = "$want" ] || { echo "MISMATCH: ${NAMES[$i]} gave $got, dane gave $want" >&2; exit 1; }
done

mean_ms=()
if command -v hyperfine >/dev/null; then
  json=$(mktemp)
  args=()
  for i in "${!CMDS[@]}"; do args+=(-n "${NAMES[$i]}" "${CMDS[$i]}"); done
  hyperfine -N --warmup 10 --runs "$RUNS" --export-json "$json" "${args[@]}" >&2
  while read -r m; do mean_ms+=("$m"); done < <(python3 -c '
import json,sys
for r in json.load(open(sys.argv[1]))["results"]:
    print("%.2f" % (r["mean"]*1000))' "$json")
  rm -f "$json"
else
  for i in "${!CMDS[@]}"; do
    start=$(date +%s%N)
    for _ in $(seq "$RUNS"); do ${CMDS[$i]} >/dev/null 2>&1; done
    end=$(date +%s%N)
    mean_ms+=("$(awk -v a="$start" -v b="$end" -v n="$RUNS" 'BEGIN{printf "%.2f", (b-a)/n/1e6}')")
  done
fi

echo "| command | mean (ms) | vs dane |"
echo "|---|---:|---:|"
for i in "${!CMDS[@]}"; do
  ratio=$(awk -v a="${mean_ms[$i]}" -v b="${mean_ms[0]}" 'BEGIN{printf "%.1fx", a/b}')
  echo "| \`${CMDS[$i]/$DANE/dane}\` | ${mean_ms[$i]} | $ratio |"
done
