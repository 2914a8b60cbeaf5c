#!/usr/bin/env bash
# The bulk benchmark of the interop issue, reference side: N signed domains (default 500),
# each with an MX host and a matching 3 1 1 record, sharing two Postfix servers, inside the
# interop environment (dane_testenv::Interop::start_bulk). Times a sequential
# posttls-finger loop (one DANE run per domain, IPv4) and reports domains per second and
# CPU seconds per domain (user + sys of the loop and its children); then the same domains
# with `dane verify` (release build; its own DNSSEC validation from the private root, every
# address of every host), one process per domain, sequentially and eight at a time, and
# eight posttls-finger processes at a time. Needs root.
# Usage: benches/interop-bulk.sh [N]
set -euo pipefail
n=${1:-500}
cd "$(dirname "$0")/.."
cargo build -q --locked -p dane-testenv --example interop-shell
cargo build -q --locked --release -p dane-cli
export DANE_BIN=$PWD/target/release/dane
target/debug/examples/interop-shell --bulk "$n" bash -c '
  set -euo pipefail
  mapfile -t domains < "$DANE_INTEROP_BULK"
  log=$(mktemp)
  TIMEFORMAT="%R %U %S"
  { time (
      for d in "${domains[@]}"; do
        posttls-finger -a ipv4 -t 30 -T 30 -l dane -c -L routine \
          -o smtp_dns_support_level=dnssec "$d" 2>&1 | grep -c "Verified TLS connection" || true
      done > "$log"
    ) ; } 2> "$log.time"
  read -r real user sys < "$log.time"
  verified=$(awk "\$1 == 1" "$log" | wc -l)
  awk -v n="${#domains[@]}" -v ok="$verified" -v r="$real" -v u="$user" -v s="$sys" "BEGIN {
    printf \"posttls-finger loop: %d domains, %d verified, %.2f s wall, %.2f s CPU: %.1f domains/s, %.4f CPU s/domain\n\",
      n, ok, r, u + s, n / r, (u + s) / n }"
  rm -f "$log" "$log.time"
  [ "$verified" -eq "${#domains[@]}" ]

  # row: label, command run once per domain (the domain is appended), parallelism
  row() {
    local label=$1 par=$2; shift 2
    local out; out=$(mktemp)
    { time (printf "%s\n" "${domains[@]}" | xargs -P "$par" -n 1 "$@" > "$out" 2>/dev/null || true) ; } 2> "$out.time"
    read -r real user sys < "$out.time"
    local ok; ok=$(grep -c "$OK_PATTERN" "$out" || true)
    awk -v l="$label" -v n="${#domains[@]}" -v ok="$ok" -v r="$real" -v u="$user" -v s="$sys" "BEGIN {
      printf \"%s: %d domains, %d verified, %.2f s wall, %.2f s CPU: %.1f domains/s, %.4f CPU s/domain\n\",
        l, n, ok, r, u + s, n / r, (u + s) / n }"
    rm -f "$out" "$out.time"
  }
  OK_PATTERN=": VERIFIED:" row "dane verify, one process per domain, sequential" 1 \
    "$DANE_BIN" verify -4 --trust-anchor "$DANE_INTEROP_ANCHOR"
  OK_PATTERN=": VERIFIED:" row "dane verify, one process per domain, 8 in parallel" 8 \
    "$DANE_BIN" verify -4 --trust-anchor "$DANE_INTEROP_ANCHOR"
  # dane scan: one process, one shared DNSSEC cache, every domain concurrently (-j 64),
  # at most 2 connections at once per server address (the default --per-address 2).
  out=$(mktemp)
  { time "$DANE_BIN" scan -4 --trust-anchor "$DANE_INTEROP_ANCHOR" "$DANE_INTEROP_BULK" > "$out" 2> "$out.err" || true ; } 2> "$out.time"
  read -r real user sys < "$out.time"
  ok=$(grep -c "\"verdict\":\"verified\"" "$out" || true)
  awk -v n="${#domains[@]}" -v ok="$ok" -v r="$real" -v u="$user" -v s="$sys" "BEGIN {
    printf \"dane scan -4 (one process, -j 64): %d domains, %d verified, %.2f s wall, %.2f s CPU: %.1f domains/s, %.4f CPU s/domain\n\",
      n, ok, r, u + s, n / r, (u + s) / n }"
  grep -i "peak rss" "$out.err" || true
  rm -f "$out" "$out.err" "$out.time"
  # The same scan resolving from the private root itself (--iterate --root-hints, issue 11).
  out=$(mktemp)
  { time "$DANE_BIN" scan -4 --iterate --root-hints "$DANE_INTEROP_ROOT_HINTS" --trust-anchor "$DANE_INTEROP_ANCHOR" "$DANE_INTEROP_BULK" > "$out" 2> "$out.err" || true ; } 2> "$out.time"
  read -r real user sys < "$out.time"
  ok=$(grep -c "\"verdict\":\"verified\"" "$out" || true)
  awk -v n="${#domains[@]}" -v ok="$ok" -v r="$real" -v u="$user" -v s="$sys" "BEGIN {
    printf \"dane scan -4 --iterate (one process, -j 64): %d domains, %d verified, %.2f s wall, %.2f s CPU: %.1f domains/s, %.4f CPU s/domain\n\",
      n, ok, r, u + s, n / r, (u + s) / n }"
  rm -f "$out" "$out.err" "$out.time"
  OK_PATTERN="Verified TLS connection" row "posttls-finger, 8 in parallel" 8 \
    posttls-finger -a ipv4 -t 30 -T 30 -l dane -c -L routine -o smtp_dns_support_level=dnssec
'
