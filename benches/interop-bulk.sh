#!/usr/bin/env bash
# The bulk benchmark of the interop issue, reference side: N signed domains (default 500),
# each with an MX host and a matching 3 1 1 record, sharing two Postfix servers, inside the
# interop environment (dane_testenv::Interop::start_bulk). Times a sequential
# posttls-finger loop (one DANE run per domain, IPv4) and reports domains per second and
# CPU seconds per domain (user + sys of the loop and its children). The `dane verify`
# side is to be added next to it when that command exists. Needs root.
# Usage: benches/interop-bulk.sh [N]
set -euo pipefail
n=${1:-500}
cd "$(dirname "$0")/.."
cargo build -q --locked -p dane-testenv --example interop-shell
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
'
