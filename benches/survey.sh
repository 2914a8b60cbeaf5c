#!/usr/bin/env bash
# The survey benchmarks of issue 27, side by side in one interop environment (needs root):
#  1. N domains with their own MX host each (bulk1.test ..): `dane scan -4` against a
#     sequential and an 8-way parallel posttls-finger loop: domains/s and CPU per domain.
#  2. N domains behind one provider's four MX hosts (shared1.test .., mx1..mx4.provider.test
#     on the rsa and ec Postfix): `dane scan -4` with the probe cache (the default) and
#     without (--probe-cache-ttl 0): TLS handshakes the servers logged (their "TLS
#     connection established" lines) and CPU per domain. Goal: one handshake per (server,
#     SNI, algorithm) per run, here 4.
# CPU is user + sys of the command and its children (bash's `time`), divided by N.
# Usage: benches/survey.sh [N]   (DANE_BIN: the dane binary; default the release build)
set -euo pipefail
n=${1:-1000}
cd "$(dirname "$0")/.."
cargo build -q --locked -p dane-testenv --example interop-shell
if [ -z "${DANE_BIN:-}" ]; then
  cargo build -q --locked --release -p dane-cli
  DANE_BIN=$PWD/target/release/dane
fi
export DANE_BIN
target/debug/examples/interop-shell --bulk "$n" --shared "$n" bash -c '
  set -euo pipefail
  TIMEFORMAT="%R %U %S"
  report() { # LABEL DOMAINS VERIFIED TIMEFILE [EXTRA]
    read -r real user sys < "$4"
    awk -v l="$1" -v n="$2" -v ok="$3" -v r="$real" -v u="$user" -v s="$sys" -v x="${5:-}" "BEGIN {
      printf \"%s: %d domains, %d verified, %.2f s wall, %.2f s CPU: %.1f domains/s, %.3f ms CPU/domain%s\n\",
        l, n, ok, r, u + s, n / r, 1000 * (u + s) / n, x }"
  }
  mapfile -t bulk < "$DANE_INTEROP_BULK"
  t=$(mktemp); out=$(mktemp)

  echo "== 1. ${#bulk[@]} domains, each its own MX host"
  { time "$DANE_BIN" scan -4 -q --allow-private --trust-anchor "$DANE_INTEROP_ANCHOR" "$DANE_INTEROP_BULK" > "$out" || true ; } 2> "$t"
  report "dane scan -4 (-j 64)" "${#bulk[@]}" "$(grep -c "\"verdict\":\"verified\"" "$out" || true)" "$t"
  finger() { posttls-finger -a ipv4 -t 30 -T 30 -l dane -c -L routine -o smtp_dns_support_level=dnssec "$1" 2>&1 | grep -c "Verified TLS connection" || true; }
  export -f finger
  for par in 1 8; do
    { time (printf "%s\n" "${bulk[@]}" | xargs -P "$par" -I{} bash -c "finger {}" > "$out") ; } 2> "$t"
    report "posttls-finger, $par at a time" "${#bulk[@]}" "$(grep -cx 1 "$out" || true)" "$t"
  done

  echo "== 2. $(wc -l < "$DANE_INTEROP_SHARED") domains behind mx1..mx4.provider.test"
  handshakes() { cat "$DANE_INTEROP_MAILLOG_RSA" "$DANE_INTEROP_MAILLOG_EC" | grep -c " TLS connection established from " || true; }
  for mode in cache no-cache; do
    flags=(); [ "$mode" = no-cache ] && flags=(--probe-cache-ttl 0)
    before=$(handshakes)
    { time "$DANE_BIN" scan -4 -q --allow-private --trust-anchor "$DANE_INTEROP_ANCHOR" "${flags[@]}" "$DANE_INTEROP_SHARED" > "$out" || true ; } 2> "$t"
    sleep 2 # the log service writes asynchronously
    made=$(( $(handshakes) - before ))
    report "dane scan -4, $mode" "$(wc -l < "$DANE_INTEROP_SHARED")" "$(grep -c "\"verdict\":\"verified\"" "$out" || true)" "$t" ", $made TLS handshakes logged by the servers"
  done
  rm -f "$t" "$out"
'
